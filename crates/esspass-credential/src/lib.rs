//! The credential core of esspass: JOSE (ES256 only), X.509 path validation for `x5c`, SD-JWT
//! (RFC 9901) and SD-JWT VC, Type Metadata, the Token Status List, signed trusted lists, and the
//! verification pipeline that ties them together.
//!
//! What lives here is pure: no files, no sockets, no system clock, no async. Time enters through
//! `esspass_core::Clock`, signing through [`Signer`], status lists through [`status::StatusListSource`].
//! Randomness (salts, `jti`, decoys) comes from aws-lc-rs's system RNG.

pub mod b64;
pub mod jose;
pub mod json;
pub mod sdjwt;
pub mod signer;
pub mod status;
pub mod trust;
pub mod type_metadata;
pub mod vc;
pub mod verify;
pub mod x509;

pub use jose::Jwk;
pub use signer::{EcdsaP256Signer, Signer};

/// A failure with a stable code and a detail sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Error {
    pub code: esspass_core::ErrorCode,
    pub detail: String,
}

impl Error {
    pub fn new(code: esspass_core::ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Fresh random bytes from the system RNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // aws-lc-rs's RNG does not fail in practice; on failure we fall back to a hash of the
    // address-space randomness rather than zeros, so salts never repeat across calls.
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        let seed = format!("{:p}{:?}", &b, std::time::Instant::now());
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, seed.as_bytes());
        for (o, i) in b.iter_mut().zip(d.as_ref().iter().cycle()) {
            *o = *i;
        }
    }
    b
}

/// SHA-256 digest.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}
