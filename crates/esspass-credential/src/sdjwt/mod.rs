//! SD-JWT (RFC 9901): the compact serialisation, disclosures, issuance with decoys, the holder's
//! presentation with a KB-JWT, and the verifier's processing (§7.1).

pub mod disclosure;
pub mod issue;
pub mod present;
pub mod process;

pub use disclosure::Disclosure;

use crate::{Error, Result};
use esspass_core::ErrorCode;

/// Largest SD-JWT (with disclosures and KB-JWT) accepted from outside.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;

/// An SD-JWT split at `~`: issuer-signed JWT, disclosures (as the base64url strings given), and the
/// KB-JWT if one follows the last `~`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdJwt {
    pub jwt: String,
    pub disclosures: Vec<String>,
    pub kb_jwt: Option<String>,
}

impl SdJwt {
    /// Split a compact SD-JWT or SD-JWT+KB. Refuses oversized input and the JWS JSON serialisation.
    pub fn parse(s: &str) -> Result<Self> {
        if s.len() > MAX_INPUT_BYTES {
            return Err(Error::new(ErrorCode::InputTooLarge, format!("{} bytes; at most {MAX_INPUT_BYTES}", s.len())));
        }
        let s = s.trim_matches(|c: char| c == '\n' || c == '\r' || c == ' ');
        if s.starts_with('{') {
            return Err(Error::new(ErrorCode::Malformed, "only the compact serialisation is accepted"));
        }
        if !s.contains('~') {
            return Err(Error::new(ErrorCode::Malformed, "an SD-JWT has at least one ~ (after the issuer-signed JWT)"));
        }
        let mut parts: Vec<&str> = s.split('~').collect();
        let last = parts.pop().unwrap_or_default();
        let Some((jwt, disclosures)) = parts.split_first() else {
            return Err(Error::new(ErrorCode::Malformed, "no issuer-signed JWT"));
        };
        if jwt.is_empty() || jwt.split('.').count() != 3 {
            return Err(Error::new(ErrorCode::Malformed, "the issuer-signed JWT is not a compact JWS"));
        }
        if disclosures.iter().any(|d| d.is_empty()) {
            return Err(Error::new(ErrorCode::Malformed, "empty disclosure between two ~"));
        }
        let kb_jwt = if last.is_empty() { None } else { Some(last.to_owned()) };
        if kb_jwt.as_ref().is_some_and(|k| k.split('.').count() != 3) {
            return Err(Error::new(ErrorCode::Malformed, "the part after the last ~ is neither empty nor a KB-JWT"));
        }
        Ok(Self { jwt: (*jwt).to_owned(), disclosures: disclosures.iter().map(|d| (*d).to_owned()).collect(), kb_jwt })
    }

    /// `<jwt>~<d1>~…~<dn>~` — the SD-JWT without KB-JWT, over which `sd_hash` is computed.
    pub fn without_kb(&self) -> String {
        let mut s = self.jwt.clone();
        s.push('~');
        for d in &self.disclosures {
            s.push_str(d);
            s.push('~');
        }
        s
    }

    /// The serialisation (with the KB-JWT when present).
    pub fn serialize(&self) -> String {
        let mut s = self.without_kb();
        if let Some(kb) = &self.kb_jwt {
            s.push_str(kb);
        }
        s
    }
}

impl std::fmt::Display for SdJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.serialize())
    }
}

/// `sd_hash`: base64url SHA-256 over the US-ASCII presentation without the KB-JWT.
pub fn sd_hash(sd_jwt_without_kb: &str) -> String {
    crate::b64::encode(crate::sha256(sd_jwt_without_kb.as_bytes()))
}
