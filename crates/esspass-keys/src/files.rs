//! Reading and writing key and certificate files.

use crate::KeyError;
use esspass_credential::signer::{pem_blocks, to_pem};
use esspass_credential::{EcdsaP256Signer, Jwk};
use std::io::Write;
use std::path::Path;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.display().to_string(), source }
}

/// Read a text file.
pub fn read_text(path: &Path) -> Result<String, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| bad(path, "is binary, not PEM or JSON text: a DER key converts with `openssl pkcs8 -topk8 -nocrypt -inform DER -in KEY -out key.pem`, a DER certificate with `openssl x509 -inform DER -in CERT -out cert.pem`")),
        Err(e) => Err(KeyError::Io { path: path.display().to_string(), source: e }),
    }
}

fn bad(path: &Path, what: &str) -> KeyError {
    KeyError::Credential(esspass_credential::Error::new(esspass_core::ErrorCode::KeyInvalid, format!("{} {what}", path.display())))
}

/// Why a PEM text is not a PKCS#8 P-256 private key, with how to fix it (`None` if it is one).
fn not_a_pkcs8_key(text: &str) -> Option<&'static str> {
    if text.contains("-----BEGIN PRIVATE KEY-----") {
        None
    } else if text.contains("-----BEGIN EC PRIVATE KEY-----") {
        Some("holds a SEC1 (\"EC PRIVATE KEY\") key: convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem`")
    } else if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        Some("holds an encrypted key: decrypt it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem`")
    } else if text.contains("-----BEGIN CERTIFICATE-----") {
        Some("holds a certificate, not a private key: give the key file (PKCS#8 PEM, `-----BEGIN PRIVATE KEY-----`)")
    } else if text.contains("-----BEGIN PUBLIC KEY-----") {
        Some("holds a public key: signing needs the private key (PKCS#8 PEM)")
    } else if text.trim_start().starts_with('{') {
        Some("holds JSON (a JWK?): give the private key as PKCS#8 PEM (`esspass pki new-key` writes one)")
    } else {
        Some("is not a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`)")
    }
}

/// Write a private key as PKCS#8 PEM, readable by the owner only (mode 0600), created anew.
pub fn write_private_key(path: &Path, pkcs8_der: &[u8]) -> Result<(), KeyError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let _ = std::fs::remove_file(path);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(to_pem("PRIVATE KEY", pkcs8_der).as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Write a public file (certificates, lists).
pub fn write_public(path: &Path, content: &str) -> Result<(), KeyError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, content).map_err(io(path))
}

/// Load an ES256 signer from a PKCS#8 PEM file.
pub fn load_signer(path: &Path) -> Result<EcdsaP256Signer, KeyError> {
    let text = read_text(path)?;
    if let Some(why) = not_a_pkcs8_key(&text) {
        return Err(bad(path, why));
    }
    EcdsaP256Signer::from_pkcs8_pem(&text).map_err(|e| bad(path, &format!("is not a usable P-256 private key ({}); ES256 needs a P-256 (prime256v1) key", e.detail)))
}

/// Load a PEM chain (leaf first) as DER certificates.
pub fn load_chain(path: &Path) -> Result<Vec<Vec<u8>>, KeyError> {
    let text = read_text(path)?;
    let chain = pem_blocks(&text, "CERTIFICATE");
    if chain.is_empty() {
        let hint = if text.contains("PRIVATE KEY-----") { ": it holds a private key; give the certificate chain (PEM, leaf first)" } else { ": give the certificate chain as PEM, leaf first" };
        return Err(KeyError::Credential(esspass_credential::Error::new(esspass_core::ErrorCode::CertificateUnparsable, format!("{} holds no certificate{hint}", path.display()))));
    }
    Ok(chain)
}

/// Load a public JWK from a JSON file (a bare JWK, or `{"jwk": …}`), or derive it from a PKCS#8 PEM key.
pub fn load_jwk(path: &Path) -> Result<Jwk, KeyError> {
    let text = read_text(path)?;
    if text.contains("-----BEGIN") {
        use esspass_credential::Signer;
        return Ok(load_signer(path)?.public_jwk());
    }
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| KeyError::Credential(esspass_credential::Error::new(esspass_core::ErrorCode::InvalidJson, format!("{} is neither a JWK (JSON: {e}) nor a PKCS#8 PEM key", path.display()))))?;
    let v = v.get("jwk").cloned().unwrap_or(v);
    Ok(Jwk::from_value(&v)?)
}
