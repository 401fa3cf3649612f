//! The JWT checks key proofs (OpenID4VCI Appendix F.1) and DPoP proofs (RFC 9449) share: explicit
//! `typ`, ES256 only, a public P-256 `jwk` in the header, the signature, and `iat` freshness
//! (RFC 7519, RFC 8725).

use esspass_credential::Jwk;
use esspass_credential::jose::CompactJws;
use serde_json::{Map, Value};

/// Why a proof JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the proof is not a compact JWS: {0}")]
    Malformed(String),
    #[error("the proof's algorithm is not allowed: {0}")]
    Algorithm(String),
    #[error("the proof's typ must be {expected}, not {found:?}")]
    Type { expected: &'static str, found: Option<String> },
    #[error("the proof's key: {0}")]
    Key(String),
    #[error("the proof's signature does not verify with its header jwk")]
    Signature,
    #[error("the proof has no valid {0} claim")]
    MissingClaim(&'static str),
    #[error("the proof was issued at {iat}, more than {max_age}s before now ({now})")]
    Stale { iat: i64, now: i64, max_age: i64 },
    #[error("the proof was issued at {iat}, more than {leeway}s after now ({now})")]
    FromTheFuture { iat: i64, now: i64, leeway: i64 },
}

/// How far `iat` may lie from "now" (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IatWindow {
    /// Oldest accepted age in seconds.
    pub max_age: i64,
    /// Clock skew tolerated for an `iat` in the future, in seconds.
    pub leeway: i64,
}

impl Default for IatWindow {
    /// Five minutes back, one minute ahead.
    fn default() -> Self {
        Self { max_age: 300, leeway: 60 }
    }
}

impl IatWindow {
    /// Check `iat` against `now`.
    pub fn check(&self, iat: i64, now: i64) -> Result<(), JwtError> {
        if iat < now.saturating_sub(self.max_age) {
            return Err(JwtError::Stale { iat, now, max_age: self.max_age });
        }
        if iat > now.saturating_add(self.leeway) {
            return Err(JwtError::FromTheFuture { iat, now, leeway: self.leeway });
        }
        Ok(())
    }
}

/// A proof JWT whose `typ`, algorithm, header key and signature passed.
#[derive(Debug, Clone)]
pub struct SignedByHeaderKey {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    pub jwk: Jwk,
}

/// Parse `token` and require alg ES256 (refused otherwise before anything else is looked at) and
/// `typ` = `expected_typ` (case-insensitive, `application/` prefix allowed). Nothing is trusted yet.
pub fn parse_typed(token: &str, expected_typ: &'static str) -> Result<CompactJws, JwtError> {
    let jws = CompactJws::parse(token).map_err(|e| {
        if e.code == esspass_core::ErrorCode::AlgorithmNotAllowed { JwtError::Algorithm(e.detail) } else { JwtError::Malformed(e.detail) }
    })?;
    match jws.typ() {
        Some(t) if t.eq_ignore_ascii_case(expected_typ) => Ok(jws),
        other => Err(JwtError::Type { expected: expected_typ, found: other.map(str::to_owned) }),
    }
}

/// Require a public EC P-256 `jwk` header and a signature that verifies with it.
pub fn verify_with_header_jwk(jws: CompactJws) -> Result<SignedByHeaderKey, JwtError> {
    let Some(jwk_value) = jws.header.get("jwk") else { return Err(JwtError::Key("the header has no jwk".into())) };
    let jwk = Jwk::from_value(jwk_value).map_err(|e| JwtError::Key(e.detail))?;
    let point = jwk.point().map_err(|e| JwtError::Key(e.detail))?;
    if !jws.verify_with_point(&point) {
        return Err(JwtError::Signature);
    }
    Ok(SignedByHeaderKey { header: jws.header, payload: jws.payload, jwk })
}

/// A NumericDate claim as whole seconds (fractions are truncated).
pub fn numeric_date(payload: &Map<String, Value>, name: &'static str) -> Result<i64, JwtError> {
    let v = payload.get(name).ok_or(JwtError::MissingClaim(name))?;
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        #[allow(clippy::cast_possible_truncation)]
        Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(f.trunc() as i64),
        _ => Err(JwtError::MissingClaim(name)),
    }
}

/// A non-empty string claim.
pub fn string_claim(payload: &Map<String, Value>, name: &'static str) -> Result<String, JwtError> {
    match payload.get(name).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(JwtError::MissingClaim(name)),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Building proofs for the tests of `proof` and `dpop`, including ones a signer would refuse.
    use esspass_credential::jose::sign_compact;
    use esspass_credential::{EcdsaP256Signer, Signer, b64};
    use serde_json::{Map, Value};

    pub fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    pub fn sign(s: &EcdsaP256Signer, header: Value, payload: Value) -> String {
        sign_compact(s, obj(header), &obj(payload)).unwrap()
    }

    /// A token with an arbitrary header and a signature that is not ES256 (for alg none/HS256).
    pub fn unsigned(header: Value, payload: Value, signature: &[u8]) -> String {
        format!("{}.{}.{}", b64::encode(header.to_string()), b64::encode(payload.to_string()), b64::encode(signature))
    }

    /// Flip one character of the signature part.
    pub fn tamper(token: &str) -> String {
        let (rest, sig) = token.rsplit_once('.').unwrap();
        let mut sig = sig.to_owned();
        let first = if sig.starts_with('A') { "B" } else { "A" };
        sig.replace_range(0..1, first);
        format!("{rest}.{sig}")
    }

    pub fn jwk_value(s: &EcdsaP256Signer) -> Value {
        s.public_jwk().to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iat_window() {
        let w = IatWindow::default();
        assert!(w.check(1000, 1000).is_ok());
        assert!(w.check(700, 1000).is_ok());
        assert!(matches!(w.check(699, 1000), Err(JwtError::Stale { .. })));
        assert!(w.check(1060, 1000).is_ok());
        assert!(matches!(w.check(1061, 1000), Err(JwtError::FromTheFuture { .. })));
        assert!(w.check(i64::MIN, 0).is_err());
    }

    #[test]
    fn numeric_dates() {
        let p = test_support::obj(json!({"a": 5, "b": 5.9, "c": "5", "d": 1e300}));
        assert_eq!(numeric_date(&p, "a"), Ok(5));
        assert_eq!(numeric_date(&p, "b"), Ok(5));
        assert!(numeric_date(&p, "c").is_err());
        assert!(numeric_date(&p, "d").is_err());
        assert!(numeric_date(&p, "e").is_err());
    }
}
