//! PKCE (RFC 7636), S256 only: `plain` is refused, verifiers are checked against the grammar
//! (43–128 unreserved characters), and the challenge is compared in constant time.

use crate::vci::{ErrorCode, ErrorResponse};
use esspass_credential::{b64, sha256};

/// The only challenge method accepted.
pub const S256: &str = "S256";

/// Why PKCE failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method {0:?} is not supported; use S256")]
    UnsupportedMethod(Option<String>),
    #[error("the code_challenge is not a base64url SHA-256 value (43 characters)")]
    BadChallenge,
    #[error("the code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
    BadVerifier,
    #[error("the code_verifier does not match the code_challenge")]
    Mismatch,
}

impl PkceError {
    /// `invalid_grant` for a mismatch (RFC 7636 §4.6), `invalid_request` otherwise.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Mismatch => ErrorCode::InvalidGrant,
            _ => ErrorCode::InvalidRequest,
        }
    }

    /// The error response body.
    pub fn to_response(&self) -> ErrorResponse {
        ErrorResponse::new(self.error_code(), self.to_string())
    }
}

/// Check an authorization (or PAR) request's `code_challenge_method` and `code_challenge`.
pub fn check_challenge(method: Option<&str>, challenge: &str) -> Result<(), PkceError> {
    if method != Some(S256) {
        return Err(PkceError::UnsupportedMethod(method.map(str::to_owned)));
    }
    match b64::decode(challenge) {
        Ok(d) if d.len() == 32 => Ok(()),
        _ => Err(PkceError::BadChallenge),
    }
}

/// Check the verifier grammar: `43*128unreserved`.
pub fn check_verifier(verifier: &str) -> Result<(), PkceError> {
    let ok_len = (43..=128).contains(&verifier.len());
    let ok_chars = verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if ok_len && ok_chars { Ok(()) } else { Err(PkceError::BadVerifier) }
}

/// `BASE64URL(SHA256(ASCII(code_verifier)))`.
pub fn s256_challenge(verifier: &str) -> String {
    b64::encode(sha256(verifier.as_bytes()))
}

/// Verify a token request's `code_verifier` against the stored S256 `code_challenge`.
pub fn verify_s256(verifier: &str, challenge: &str) -> Result<(), PkceError> {
    check_verifier(verifier)?;
    if constant_time_eq(s256_challenge(verifier).as_bytes(), challenge.as_bytes()) { Ok(()) } else { Err(PkceError::Mismatch) }
}

/// Compare without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
        assert!(verify_s256(VERIFIER, CHALLENGE).is_ok());
        assert!(check_challenge(Some("S256"), CHALLENGE).is_ok());
    }

    #[test]
    fn mismatch_and_bad_verifiers() {
        let other = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(verify_s256(other, CHALLENGE), Err(PkceError::Mismatch));
        assert_eq!(verify_s256(VERIFIER, &CHALLENGE[..42]), Err(PkceError::Mismatch));
        assert_eq!(verify_s256(VERIFIER, ""), Err(PkceError::Mismatch));
        assert_eq!(PkceError::Mismatch.to_response().error, ErrorCode::InvalidGrant);
        for bad in [&VERIFIER[..42], &"a".repeat(129), "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk", "dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "ä".repeat(22).as_str(), ""] {
            assert_eq!(verify_s256(bad, CHALLENGE), Err(PkceError::BadVerifier), "{bad}");
        }
        assert!(check_verifier(&"~".repeat(128)).is_ok());
        assert!(check_verifier(&"a".repeat(43)).is_ok());
        assert_eq!(PkceError::BadVerifier.error_code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn only_s256() {
        assert_eq!(check_challenge(Some("plain"), CHALLENGE), Err(PkceError::UnsupportedMethod(Some("plain".into()))));
        assert_eq!(check_challenge(None, CHALLENGE), Err(PkceError::UnsupportedMethod(None)));
        assert_eq!(check_challenge(Some("s256"), CHALLENGE), Err(PkceError::UnsupportedMethod(Some("s256".into()))));
        assert_eq!(check_challenge(Some("S256"), &CHALLENGE[..42]), Err(PkceError::BadChallenge));
        assert_eq!(check_challenge(Some("S256"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"), Err(PkceError::BadChallenge));
        assert_eq!(check_challenge(Some("S256"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="), Err(PkceError::BadChallenge));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
