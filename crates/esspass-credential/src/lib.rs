//! The credential core of esspass: JOSE (ES256 only), X.509 path validation for `x5c`, SD-JWT
//! (RFC 9901) and SD-JWT VC, Type Metadata, the Token Status List, signed trusted lists, and the
//! verification pipeline that ties them together.
//!
//! What lives here is pure: no files, no sockets, no system clock, no async. Time enters through
//! `esspass_core::Clock`, signing through [`Signer`], status lists through [`status::StatusListSource`].
//! Randomness (salts, `jti`, decoys) comes from aws-lc-rs's system RNG; an RNG failure aborts.

pub mod b64;
pub mod jose;
pub mod json;
pub mod jwe;
pub mod producer;
pub mod proof;
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
///
/// If the RNG fails the process aborts (`std::process::abort`): salts, decoys, `jti`, `sub`, status
/// indexes, nonces and codes must never be predictable, no caller could do anything sensible
/// with an error, and the workspace lints forbid panics. There is no fallback value.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    fill_or_fail(|b| aws_lc_rs::rand::fill(b).map_err(|_| ()), rng_failed)
}

/// What an RNG failure does: print one line and abort, without unwinding.
fn rng_failed() -> ! {
    eprintln!("esspass: the system random number generator failed; aborting rather than use predictable values");
    std::process::abort()
}

/// `N` bytes from `fill`; if `fill` fails, `on_failure` runs and never returns.
fn fill_or_fail<const N: usize>(fill: impl FnOnce(&mut [u8]) -> std::result::Result<(), ()>, on_failure: fn() -> !) -> [u8; N] {
    let mut b = [0u8; N];
    if fill(&mut b).is_err() {
        on_failure();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failure_path_taken() -> ! {
        panic!("the RNG failure path was taken")
    }

    /// A failing RNG never yields bytes (the old code returned a hash of a pointer and the time).
    #[test]
    #[should_panic(expected = "the RNG failure path was taken")]
    fn rng_failure_never_yields_bytes() {
        let b: [u8; 16] = fill_or_fail(|_| Err(()), failure_path_taken);
        // Unreachable when the failure path is honoured.
        assert_eq!(b.len(), 0, "bytes were returned after an RNG failure: {b:?}");
    }

    #[test]
    fn a_working_rng_fills_every_byte_position() {
        let b: [u8; 4] = fill_or_fail(|b| { b.fill(7); Ok(()) }, failure_path_taken);
        assert_eq!(b, [7; 4]);
        assert_ne!(random_bytes::<32>(), random_bytes::<32>());
    }
}
