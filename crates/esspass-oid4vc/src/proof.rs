//! The `jwt` key proof of OpenID4VCI 1.0 (Appendix F.1): the wallet proves possession of the key a
//! credential will be bound to.
//!
//! Checked here: `typ: openid4vci-proof+jwt`, ES256, exactly a public P-256 `jwk` in the header
//! (`kid` and `x5c` are refused for now), the signature, `aud` = the credential issuer identifier
//! (exact string), `iat` within a window of now, and a `nonce`. Whether the nonce is one we issued
//! and still unused is the caller's check: it gets the nonce back to look up and burn.

use crate::jwt::{self, IatWindow, JwtError};
use crate::vci::{ErrorCode, ErrorResponse};
use esspass_credential::Jwk;
use serde_json::Value;
use std::collections::HashSet;

/// The `typ` of a key proof.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Why a key proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error("the proof names its key by {0}; only an embedded jwk is supported")]
    KeyReferenceNotSupported(&'static str),
    #[error("the proof's aud {found:?} is not the credential issuer {expected}")]
    WrongAudience { expected: String, found: Option<String> },
    #[error("the proof has no nonce; get a c_nonce from the nonce endpoint")]
    MissingNonce,
    #[error("two proofs use the same key; each credential needs its own key")]
    DuplicateKey,
    #[error("{count} proofs exceed the batch size {batch_size}")]
    BatchTooLarge { count: usize, batch_size: u32 },
}

impl ProofError {
    /// The credential endpoint error code.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::BatchTooLarge { .. } => ErrorCode::InvalidCredentialRequest,
            _ => ErrorCode::InvalidProof,
        }
    }

    /// The error response body.
    pub fn to_response(&self) -> ErrorResponse {
        ErrorResponse::new(self.error_code(), self.to_string())
    }
}

/// What a valid key proof gives the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProof {
    /// The holder key to bind the credential to (`cnf.jwk`).
    pub jwk: Jwk,
    /// The `c_nonce` to check and burn (a wrong one is `invalid_nonce`).
    pub nonce: String,
    pub iat: i64,
}

/// Validate one `jwt` key proof for `credential_issuer` at `now` (Unix seconds).
pub fn validate_jwt_proof(proof: &str, credential_issuer: &str, now: i64, window: IatWindow) -> Result<KeyProof, ProofError> {
    let jws = jwt::parse_typed(proof, PROOF_TYP)?;
    for reference in ["kid", "x5c"] {
        if jws.header.contains_key(reference) {
            return Err(ProofError::KeyReferenceNotSupported(reference));
        }
    }
    let signed = jwt::verify_with_header_jwk(jws)?;
    match signed.payload.get("aud") {
        Some(Value::String(a)) if a == credential_issuer => {}
        other => {
            return Err(ProofError::WrongAudience {
                expected: credential_issuer.to_owned(),
                found: other.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
            });
        }
    }
    let iat = jwt::numeric_date(&signed.payload, "iat")?;
    window.check(iat, now)?;
    let nonce = jwt::string_claim(&signed.payload, "nonce").map_err(|_| ProofError::MissingNonce)?;
    Ok(KeyProof { jwk: signed.jwk, nonce, iat })
}

/// A batch of proofs: at most `batch_size` (1 when the issuer does not advertise batch issuance),
/// and every key distinct (one credential per key).
pub fn check_batch(proofs: &[KeyProof], batch_size: u32) -> Result<(), ProofError> {
    if proofs.len() > usize::try_from(batch_size).unwrap_or(usize::MAX) {
        return Err(ProofError::BatchTooLarge { count: proofs.len(), batch_size });
    }
    let mut seen = HashSet::new();
    if proofs.iter().all(|p| seen.insert(p.jwk.thumbprint())) { Ok(()) } else { Err(ProofError::DuplicateKey) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::test_support::{jwk_value, sign, tamper, unsigned};
    use esspass_credential::EcdsaP256Signer;
    use serde_json::json;

    const ISSUER: &str = "https://127.0.0.1:8443/si";
    const NOW: i64 = 1_764_000_000;

    fn good(s: &EcdsaP256Signer) -> (serde_json::Value, serde_json::Value) {
        (
            json!({"typ": PROOF_TYP, "jwk": jwk_value(s)}),
            json!({"aud": ISSUER, "iat": NOW - 5, "nonce": "n-1", "iss": "wallet"}),
        )
    }

    fn check(token: &str) -> Result<KeyProof, ProofError> {
        validate_jwt_proof(token, ISSUER, NOW, IatWindow::default())
    }

    #[test]
    fn a_good_proof_gives_key_and_nonce() {
        let s = EcdsaP256Signer::generate().unwrap();
        let (h, p) = good(&s);
        let k = check(&sign(&s, h, p)).unwrap();
        assert_eq!(k.jwk, esspass_credential::Signer::public_jwk(&s));
        assert_eq!(k.nonce, "n-1");
        assert_eq!(k.iat, NOW - 5);
        let (_, p) = good(&s);
        let long_typ = sign(&s, json!({"typ": "application/openid4vci-proof+jwt", "jwk": jwk_value(&s)}), p);
        assert!(check(&long_typ).is_ok());
    }

    #[test]
    fn header_rules() {
        let s = EcdsaP256Signer::generate().unwrap();
        let (_, p) = good(&s);
        let e = check(&sign(&s, json!({"typ": "JWT", "jwk": jwk_value(&s)}), p.clone())).unwrap_err();
        assert!(matches!(e, ProofError::Jwt(JwtError::Type { .. })), "{e}");
        let e = check(&sign(&s, json!({"jwk": jwk_value(&s)}), p.clone())).unwrap_err();
        assert!(matches!(e, ProofError::Jwt(JwtError::Type { found: None, .. })), "{e}");
        let e = check(&sign(&s, json!({"typ": "dpop+jwt", "jwk": jwk_value(&s)}), p.clone())).unwrap_err();
        assert!(matches!(e, ProofError::Jwt(JwtError::Type { .. })), "{e}");
        let e = check(&unsigned(json!({"alg": "none", "typ": PROOF_TYP, "jwk": jwk_value(&s)}), p.clone(), b"")).unwrap_err();
        assert!(matches!(e, ProofError::Jwt(JwtError::Algorithm(_))), "{e}");
        let e = check(&unsigned(json!({"alg": "HS256", "typ": PROOF_TYP, "jwk": jwk_value(&s)}), p.clone(), &[7; 32])).unwrap_err();
        assert!(matches!(e, ProofError::Jwt(JwtError::Algorithm(_))), "{e}");
        let mut private = jwk_value(&s);
        private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
        let e = check(&sign(&s, json!({"typ": PROOF_TYP, "jwk": private}), p.clone())).unwrap_err();
        assert!(matches!(e, ProofError::Jwt(JwtError::Key(_))), "{e}");
        let e = check(&sign(&s, json!({"typ": PROOF_TYP, "kid": "did:example:1#k"}), p.clone())).unwrap_err();
        assert_eq!(e, ProofError::KeyReferenceNotSupported("kid"));
        assert!(e.to_string().contains("only an embedded jwk"), "{e}");
        let e = check(&sign(&s, json!({"typ": PROOF_TYP}), p.clone())).unwrap_err();
        assert!(matches!(e, ProofError::Jwt(JwtError::Key(_))), "{e}");
        let e = check(&sign(&s, json!({"typ": PROOF_TYP, "jwk": jwk_value(&s), "kid": "k1"}), p.clone())).unwrap_err();
        assert_eq!(e, ProofError::KeyReferenceNotSupported("kid"));
        let e = check(&sign(&s, json!({"typ": PROOF_TYP, "jwk": jwk_value(&s), "x5c": ["MIIB"]}), p.clone())).unwrap_err();
        assert_eq!(e, ProofError::KeyReferenceNotSupported("x5c"));
        let e = check(&sign(&s, json!({"typ": PROOF_TYP, "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}}), p)).unwrap_err();
        assert!(matches!(e, ProofError::Jwt(JwtError::Key(_))), "{e}");
        assert!(e.to_string().contains("jwk") || e.to_string().contains("JWK"), "{e}");
    }

    #[test]
    fn signature_must_verify_with_the_header_key() {
        let s = EcdsaP256Signer::generate().unwrap();
        let other = EcdsaP256Signer::generate().unwrap();
        let (h, p) = good(&s);
        assert_eq!(check(&tamper(&sign(&s, h.clone(), p.clone()))).unwrap_err(), ProofError::Jwt(JwtError::Signature));
        // Signed by another key than the one in the header.
        assert_eq!(check(&sign(&other, h, p)).unwrap_err(), ProofError::Jwt(JwtError::Signature));
    }

    #[test]
    fn payload_rules() {
        let s = EcdsaP256Signer::generate().unwrap();
        let (h, p) = good(&s);
        let with = |k: &str, v: serde_json::Value| {
            let mut p = p.clone();
            p[k] = v;
            check(&sign(&s, h.clone(), p))
        };
        let without = |k: &str| {
            let mut p = p.clone();
            p.as_object_mut().unwrap().remove(k);
            check(&sign(&s, h.clone(), p))
        };
        assert!(matches!(with("aud", json!("https://127.0.0.1:8443/si/")), Err(ProofError::WrongAudience { .. })));
        assert!(matches!(with("aud", json!("https://evil.example")), Err(ProofError::WrongAudience { .. })));
        assert!(matches!(with("aud", json!([ISSUER])), Err(ProofError::WrongAudience { .. })));
        assert!(matches!(without("aud"), Err(ProofError::WrongAudience { found: None, .. })));
        assert_eq!(without("nonce").unwrap_err(), ProofError::MissingNonce);
        assert_eq!(with("nonce", json!("")).unwrap_err(), ProofError::MissingNonce);
        assert_eq!(with("nonce", json!(5)).unwrap_err(), ProofError::MissingNonce);
        assert_eq!(without("iat").unwrap_err(), ProofError::Jwt(JwtError::MissingClaim("iat")));
        assert!(matches!(with("iat", json!(NOW - 301)), Err(ProofError::Jwt(JwtError::Stale { .. }))));
        assert!(matches!(with("iat", json!(NOW + 61)), Err(ProofError::Jwt(JwtError::FromTheFuture { .. }))));
        assert!(with("iat", json!(NOW + 60)).is_ok());
        assert_eq!(without("nonce").unwrap_err().error_code(), ErrorCode::InvalidProof);
    }

    #[test]
    fn batches() {
        let a = EcdsaP256Signer::generate().unwrap();
        let b = EcdsaP256Signer::generate().unwrap();
        let proof = |s: &EcdsaP256Signer| {
            let (h, p) = good(s);
            check(&sign(s, h, p)).unwrap()
        };
        let (pa, pb, pa2) = (proof(&a), proof(&b), proof(&a));
        assert!(check_batch(&[pa.clone(), pb.clone()], 2).is_ok());
        assert!(check_batch(std::slice::from_ref(&pa), 1).is_ok());
        let e = check_batch(&[pa.clone(), pb], 1).unwrap_err();
        assert_eq!(e, ProofError::BatchTooLarge { count: 2, batch_size: 1 });
        assert_eq!(e.to_response().error, ErrorCode::InvalidCredentialRequest);
        assert_eq!(check_batch(&[pa, pa2], 10).unwrap_err(), ProofError::DuplicateKey);
    }
}
