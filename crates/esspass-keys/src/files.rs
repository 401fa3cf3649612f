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
    std::fs::read_to_string(path).map_err(io(path))
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
    Ok(EcdsaP256Signer::from_pkcs8_pem(&read_text(path)?)?)
}

/// Load a PEM chain (leaf first) as DER certificates.
pub fn load_chain(path: &Path) -> Result<Vec<Vec<u8>>, KeyError> {
    let chain = pem_blocks(&read_text(path)?, "CERTIFICATE");
    if chain.is_empty() {
        return Err(KeyError::Credential(esspass_credential::Error::new(esspass_core::ErrorCode::CertificateUnparsable, format!("{}: no certificate", path.display()))));
    }
    Ok(chain)
}

/// Load a public JWK from a JSON file (a bare JWK, or `{"jwk": …}`), or derive it from a PKCS#8 PEM key.
pub fn load_jwk(path: &Path) -> Result<Jwk, KeyError> {
    let text = read_text(path)?;
    if text.contains("-----BEGIN PRIVATE KEY-----") {
        use esspass_credential::Signer;
        return Ok(EcdsaP256Signer::from_pkcs8_pem(&text)?.public_jwk());
    }
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| KeyError::Credential(esspass_credential::Error::new(esspass_core::ErrorCode::InvalidJson, format!("{}: {e}", path.display()))))?;
    let v = v.get("jwk").cloned().unwrap_or(v);
    Ok(Jwk::from_value(&v)?)
}
