//! The wallet file: the holder's credentials, one private key per credential, and the issuances
//! still pending, encrypted at rest under a key derived from a passphrase.
//!
//! Format (JSON, one file, written through a temporary file and a rename, mode 0600):
//! `{"format": "esspass-wallet", "version": 1, "kdf": {"alg": "argon2id", "m_kib", "t", "p", "salt"},
//! "nonce", "ciphertext"}` — AES-256-GCM under Argon2id(passphrase, salt), the associated data being
//! the file's header (`format`, `version`, `kdf`) so that no parameter can be swapped. The plaintext is
//! [`Contents`]. A wrong passphrase and a damaged file are the same error: the tag does not verify.

use crate::WalletError;
use esspass_credential::b64;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Argon2id parameters: OWASP's first recommended set (46 MiB, one pass, one lane).
pub const KDF_M_KIB: u32 = 47_104;
pub const KDF_T: u32 = 1;
pub const KDF_P: u32 = 1;
const FORMAT: &str = "esspass-wallet";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Kdf {
    alg: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    format: String,
    version: u32,
    kdf: Kdf,
    nonce: String,
    ciphertext: String,
}

/// A credential held, with its own key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredCredential {
    /// The wallet's id for it (`c-` + 8 hex digits).
    pub id: String,
    pub vct: String,
    /// The credential issuer's URL.
    pub issuer: String,
    pub received_at: i64,
    /// The SD-JWT VC as issued, with every disclosure.
    pub sd_jwt: String,
    /// The holder key (PKCS#8 DER, base64url) bound in the credential's `cnf`.
    pub key: String,
}

/// An issuance the issuer decides later (deferred), to collect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoredPending {
    pub id: String,
    pub issuer: String,
    pub transaction_id: String,
    pub interval: u64,
    pub deferred_endpoint: String,
    pub access_token: String,
    #[serde(default)]
    pub dpop_nonce: Option<String>,
    /// The DPoP key the access token is bound to (PKCS#8 DER, base64url).
    pub dpop_key: String,
    /// The holder keys the credentials will be bound to.
    pub holder_keys: Vec<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contents {
    pub credentials: Vec<StoredCredential>,
    pub pending: Vec<StoredPending>,
}

/// An open wallet.
#[derive(Debug)]
pub struct WalletFile {
    path: PathBuf,
    kdf: Kdf,
    key: [u8; 32],
    pub contents: Contents,
}

fn derive(passphrase: &str, kdf: &Kdf) -> Result<[u8; 32], WalletError> {
    if kdf.alg != "argon2id" {
        return Err(WalletError::Store(format!("key derivation {} is not supported", kdf.alg)));
    }
    // Bounds: a file cannot make opening it cost more than 1 GiB or 10 passes.
    if kdf.m_kib > 1 << 20 || kdf.t > 10 || kdf.p > 8 || kdf.m_kib < 8 * kdf.p {
        return Err(WalletError::Store("the wallet's key derivation parameters are out of bounds".into()));
    }
    let salt = b64::decode(&kdf.salt).map_err(|_| WalletError::Store("the wallet's salt is not base64url".into()))?;
    let params = argon2::Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32)).map_err(|e| WalletError::Store(format!("key derivation: {e}")))?;
    let mut key = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &salt, &mut key)
        .map_err(|e| WalletError::Store(format!("key derivation: {e}")))?;
    Ok(key)
}

fn random<const N: usize>() -> Result<[u8; N], WalletError> {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| WalletError::Store("no randomness".into()))?;
    Ok(b)
}

fn aad(kdf: &Kdf) -> Result<Vec<u8>, WalletError> {
    serde_json::to_vec(&serde_json::json!({"format": FORMAT, "version": 1, "kdf": kdf})).map_err(|e| WalletError::Store(e.to_string()))
}

impl WalletFile {
    /// Make a new, empty wallet at `path` (refused if the file exists).
    pub fn create(path: &Path, passphrase: &str) -> Result<Self, WalletError> {
        if path.exists() {
            return Err(WalletError::Store(format!("{} exists: a wallet is not replaced", path.display())));
        }
        if passphrase.chars().count() < 8 {
            return Err(WalletError::Store("the passphrase must have at least 8 characters".into()));
        }
        let kdf = Kdf { alg: "argon2id".into(), m_kib: KDF_M_KIB, t: KDF_T, p: KDF_P, salt: b64::encode(random::<16>()?) };
        let key = derive(passphrase, &kdf)?;
        let w = Self { path: path.to_path_buf(), kdf, key, contents: Contents::default() };
        w.save()?;
        Ok(w)
    }

    /// Open the wallet at `path` with its passphrase.
    pub fn open(path: &Path, passphrase: &str) -> Result<Self, WalletError> {
        let text = std::fs::read_to_string(path).map_err(|e| WalletError::Store(format!("{}: {e}", path.display())))?;
        let sealed: Sealed = serde_json::from_str(&text).map_err(|e| WalletError::Store(format!("{}: not a wallet file: {e}", path.display())))?;
        if sealed.format != FORMAT || sealed.version != 1 {
            return Err(WalletError::Store(format!("{}: not an esspass wallet of version 1", path.display())));
        }
        let key = derive(passphrase, &sealed.kdf)?;
        let nonce = b64::decode(&sealed.nonce).map_err(|_| WalletError::Store("damaged wallet file".into()))?;
        let mut data = b64::decode(&sealed.ciphertext).map_err(|_| WalletError::Store("damaged wallet file".into()))?;
        let unbound = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &key).map_err(|_| WalletError::Store("key".into()))?;
        let nonce = aws_lc_rs::aead::Nonce::try_assume_unique_for_key(&nonce).map_err(|_| WalletError::Store("damaged wallet file".into()))?;
        let plain = aws_lc_rs::aead::LessSafeKey::new(unbound)
            .open_in_place(nonce, aws_lc_rs::aead::Aad::from(aad(&sealed.kdf)?), &mut data)
            .map_err(|_| WalletError::Passphrase)?;
        let contents: Contents = serde_json::from_slice(plain).map_err(|e| WalletError::Store(format!("wallet contents: {e}")))?;
        Ok(Self { path: path.to_path_buf(), kdf: sealed.kdf, key, contents })
    }

    /// Write the wallet: a new nonce, a temporary file (0600), a rename.
    pub fn save(&self) -> Result<(), WalletError> {
        let nonce = random::<12>()?;
        let mut data = serde_json::to_vec(&self.contents).map_err(|e| WalletError::Store(e.to_string()))?;
        let unbound = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &self.key).map_err(|_| WalletError::Store("key".into()))?;
        aws_lc_rs::aead::LessSafeKey::new(unbound)
            .seal_in_place_append_tag(aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce), aws_lc_rs::aead::Aad::from(aad(&self.kdf)?), &mut data)
            .map_err(|_| WalletError::Store("sealing failed".into()))?;
        let sealed = Sealed { format: FORMAT.into(), version: 1, kdf: self.kdf.clone(), nonce: b64::encode(nonce), ciphertext: b64::encode(&data) };
        let text = serde_json::to_string_pretty(&sealed).map_err(|e| WalletError::Store(e.to_string()))?;
        let io = |e: std::io::Error| WalletError::Store(format!("{}: {e}", self.path.display()));
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let tmp = self.path.with_extension("tmp");
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// A new wallet id for an item.
    pub fn new_id(prefix: &str) -> Result<String, WalletError> {
        Ok(format!("{prefix}-{}", random::<4>()?.iter().map(|b| format!("{b:02x}")).collect::<String>()))
    }

    /// The credential with this id (or a unique prefix of it).
    pub fn find(&self, id: &str) -> Option<&StoredCredential> {
        let mut hits = self.contents.credentials.iter().filter(|c| c.id == id || c.id.starts_with(id));
        match (hits.next(), hits.next()) {
            (Some(c), None) => Some(c),
            _ => self.contents.credentials.iter().find(|c| c.id == id),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("esspass-wallet-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.join("wallet.json")
    }

    #[test]
    fn round_trip_wrong_passphrase_tamper_and_no_plaintext_on_disk() {
        let p = tmp("rt");
        let mut w = WalletFile::create(&p, "correct horse battery").unwrap();
        w.contents.credentials.push(StoredCredential { id: "c-01".into(), vct: "urn:eudi:ehic:1".into(), issuer: "https://i".into(), received_at: 1, sd_jwt: "eyJ.SECRET-CLAIMS~".into(), key: "KEY".into() });
        w.save().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("SECRET-CLAIMS") && !text.contains("urn:eudi"), "nothing readable at rest");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = WalletFile::open(&p, "correct horse battery").unwrap();
        assert_eq!(again.contents, w.contents);
        assert!(matches!(WalletFile::open(&p, "wrong horse battery"), Err(WalletError::Passphrase)));
        // A weaker KDF swapped into the header: the tag no longer verifies.
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["kdf"]["t"] = serde_json::json!(2);
        std::fs::write(&p, v.to_string()).unwrap();
        assert!(matches!(WalletFile::open(&p, "correct horse battery"), Err(WalletError::Passphrase)));
        assert!(WalletFile::create(&p, "correct horse battery").is_err(), "an existing wallet is not replaced");
        assert!(WalletFile::create(&tmp("short"), "short").is_err());
    }
}
