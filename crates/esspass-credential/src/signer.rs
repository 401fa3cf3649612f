//! The [`Signer`] trait through which every signature is made, and the in-memory ES256 signer.
//! Keys that live in files or HSMs are loaded by `esspass-keys`; this crate never reads a file.

use crate::{Error, Jwk, Result};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use esspass_core::ErrorCode;

/// Something that makes JWS signatures.
pub trait Signer: Send + Sync {
    /// The JWS `alg`.
    fn algorithm(&self) -> &'static str {
        "ES256"
    }
    /// Sign the JWS signing input; the result is the raw JWS signature (r || s for ES256).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
    /// The public key.
    fn public_jwk(&self) -> Jwk;
}

/// An ES256 key pair held in memory (aws-lc-rs).
pub struct EcdsaP256Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for EcdsaP256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "EcdsaP256Signer({})", self.public_jwk().thumbprint())
    }
}

impl EcdsaP256Signer {
    /// A fresh random key pair.
    pub fn generate() -> Result<Self> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|e| Error::new(ErrorCode::KeyInvalid, e.to_string()))?;
        Ok(Self { pair, rng: SystemRandom::new() })
    }

    /// From PKCS#8 DER (also accepts the SEC1-in-PKCS#8 that rcgen and OpenSSL write).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| Error::new(ErrorCode::KeyInvalid, "not a PKCS#8 P-256 private key"))?;
        Ok(Self { pair, rng: SystemRandom::new() })
    }

    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let der = pem_blocks(pem, "PRIVATE KEY").into_iter().next().ok_or_else(|| Error::new(ErrorCode::KeyInvalid, "no PRIVATE KEY block in the PEM"))?;
        Self::from_pkcs8_der(&der)
    }

    /// The PKCS#8 DER of this key (for writing a new key to disk).
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>> {
        self.pair.to_pkcs8v1().map(|d| d.as_ref().to_vec()).map_err(|e| Error::new(ErrorCode::KeyInvalid, e.to_string()))
    }
}

impl Signer for EcdsaP256Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| Error::new(ErrorCode::Internal, "signing failed"))
    }

    fn public_jwk(&self) -> Jwk {
        Jwk::from_point(self.pair.public_key().as_ref()).unwrap_or(Jwk { kty: "EC".into(), crv: "P-256".into(), x: String::new(), y: String::new() })
    }
}

/// Decode every PEM block with the given label (`CERTIFICATE`, `PRIVATE KEY`, …).
pub fn pem_blocks(pem: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(&begin) {
        let after = rest.get(start + begin.len()..).unwrap_or_default();
        let Some(stop) = after.find(&end) else { break };
        let body: String = after.get(..stop).unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(der) = crate::b64::decode_std(&body) {
            out.push(der);
        }
        rest = after.get(stop + end.len()..).unwrap_or_default();
    }
    out
}

/// Encode DER as a PEM block.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let b = crate::b64::encode_std(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}
