//! DPoP proofs (RFC 9449 §4.3): sender-constrained access tokens, as HAIP requires.
//!
//! Checked here: `typ: dpop+jwt`, ES256, a public P-256 `jwk` header, the signature, `htm`, `htu`
//! (compared after [`normalize_htu`], query and fragment ignored), `iat` within a window, `jti`
//! present, `ath` when an access token is presented, and the server nonce when one is required.
//! Recording the `jti` against replay is the caller's job (the database); it gets `jti` and `iat`
//! back, and the key thumbprint (`jkt`) to bind tokens to or to compare with `cnf.jkt`.
//!
//! Validate DPoP *before* consuming a pre-authorized code, counting a `tx_code` attempt or burning a
//! `c_nonce`: after `use_dpop_nonce` the Animo client resends the identical request.

use crate::jwt::{self, IatWindow, JwtError};
use crate::vci::{ErrorCode, ErrorResponse};
use esspass_credential::{Jwk, b64, sha256};
use serde_json::Value;

/// The `typ` of a DPoP proof.
pub const DPOP_TYP: &str = "dpop+jwt";
/// Longest `jti` accepted (it goes into the replay table).
pub const MAX_JTI_LEN: usize = 256;

/// Why a DPoP proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error("the DPoP proof's htm {found:?} is not the request method {expected}")]
    WrongMethod { expected: String, found: Option<String> },
    #[error("the DPoP proof's htu {found:?} is not the request URL {expected}")]
    WrongUrl { expected: String, found: Option<String> },
    #[error("not an absolute http(s) URL: {0}")]
    BadUrl(String),
    #[error("the DPoP proof's jti is missing or longer than 256 characters")]
    BadJti,
    #[error("an access token was presented but the DPoP proof has no ath")]
    MissingAth,
    #[error("the DPoP proof's ath is not the hash of the presented access token")]
    WrongAth,
    /// The proof lacks the server's current nonce: answer `use_dpop_nonce` with a fresh `DPoP-Nonce`.
    #[error("the DPoP proof does not carry the server's current nonce")]
    UseNonce,
}

impl DpopError {
    /// `use_dpop_nonce` for [`DpopError::UseNonce`], `invalid_dpop_proof` otherwise.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::UseNonce => ErrorCode::UseDpopNonce,
            _ => ErrorCode::InvalidDpopProof,
        }
    }

    /// The error response body.
    pub fn to_response(&self) -> ErrorResponse {
        ErrorResponse::new(self.error_code(), self.to_string())
    }
}

/// The request a DPoP proof came with.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// The HTTP method (`POST`, …), compared exactly.
    pub method: &'a str,
    /// The request URL as the server names itself (scheme, host, port, path).
    pub url: &'a str,
    /// The access token presented with `Authorization: DPoP …`, if any (then `ath` is required).
    pub access_token: Option<&'a str>,
    /// Nonces the server currently accepts; empty when no nonce is required.
    pub accepted_nonces: &'a [&'a str],
    /// Now, in Unix seconds.
    pub now: i64,
    pub window: IatWindow,
}

/// What a valid DPoP proof gives the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    /// RFC 7638 thumbprint of the proof key: `cnf.jkt` of the tokens bound to it.
    pub jkt: String,
    pub jwk: Jwk,
    /// To record for replay detection until `iat` leaves the window.
    pub jti: String,
    pub iat: i64,
}

/// Validate a DPoP proof (the `DPoP` header value) for `req`.
pub fn validate_dpop_proof(proof: &str, req: &DpopRequest<'_>) -> Result<DpopProof, DpopError> {
    let signed = jwt::verify_with_header_jwk(jwt::parse_typed(proof, DPOP_TYP)?)?;
    let p = &signed.payload;
    match p.get("htm").and_then(Value::as_str) {
        Some(m) if m == req.method => {}
        found => return Err(DpopError::WrongMethod { expected: req.method.to_owned(), found: found.map(str::to_owned) }),
    }
    let expected_url = normalize_htu(req.url)?;
    let htu = p.get("htu").and_then(Value::as_str);
    if htu.and_then(|h| normalize_htu(h).ok()).as_deref() != Some(expected_url.as_str()) {
        return Err(DpopError::WrongUrl { expected: expected_url, found: htu.map(str::to_owned) });
    }
    let iat = jwt::numeric_date(p, "iat")?;
    req.window.check(iat, req.now)?;
    let jti = match p.get("jti").and_then(Value::as_str) {
        Some(j) if !j.is_empty() && j.len() <= MAX_JTI_LEN => j.to_owned(),
        _ => return Err(DpopError::BadJti),
    };
    if let Some(token) = req.access_token {
        match p.get("ath").and_then(Value::as_str) {
            None => return Err(DpopError::MissingAth),
            Some(a) if a != ath(token) => return Err(DpopError::WrongAth),
            Some(_) => {}
        }
    }
    if !req.accepted_nonces.is_empty() {
        let nonce = p.get("nonce").and_then(Value::as_str);
        if !nonce.is_some_and(|n| req.accepted_nonces.contains(&n)) {
            return Err(DpopError::UseNonce);
        }
    }
    Ok(DpopProof { jkt: signed.jwk.thumbprint(), jwk: signed.jwk, jti, iat })
}

/// `ath`: base64url(SHA-256(access token)).
pub fn ath(access_token: &str) -> String {
    b64::encode(sha256(access_token.as_bytes()))
}

/// Normalise an HTTP URL for `htu` comparison (RFC 9449 §4.3, RFC 3986 §6.2.2–6.2.3): scheme and
/// host lowercased, the default port dropped, dot segments resolved, query and fragment removed.
pub fn normalize_htu(url: &str) -> Result<String, DpopError> {
    let mut u = url::Url::parse(url).map_err(|e| DpopError::BadUrl(format!("{url}: {e}")))?;
    if !matches!(u.scheme(), "https" | "http") || u.host().is_none() {
        return Err(DpopError::BadUrl(url.to_owned()));
    }
    u.set_query(None);
    u.set_fragment(None);
    Ok(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::test_support::{jwk_value, sign, tamper, unsigned};
    use esspass_credential::{EcdsaP256Signer, Signer};
    use serde_json::json;

    const URL: &str = "https://127.0.0.1:8443/si/credential";
    const NOW: i64 = 1_764_000_000;
    const TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

    fn req<'a>(token: Option<&'a str>, nonces: &'a [&'a str]) -> DpopRequest<'a> {
        DpopRequest { method: "POST", url: URL, access_token: token, accepted_nonces: nonces, now: NOW, window: IatWindow::default() }
    }

    fn header(s: &EcdsaP256Signer) -> serde_json::Value {
        json!({"typ": "dpop+jwt", "jwk": jwk_value(s)})
    }

    fn payload() -> serde_json::Value {
        json!({"jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": URL, "iat": NOW, "ath": ath(TOKEN), "nonce": "srv-n1"})
    }

    fn with(k: &str, v: serde_json::Value) -> serde_json::Value {
        let mut p = payload();
        p[k] = v;
        p
    }

    fn without(k: &str) -> serde_json::Value {
        let mut p = payload();
        p.as_object_mut().unwrap().remove(k);
        p
    }

    #[test]
    fn a_good_proof_gives_jkt_jti_iat() {
        let s = EcdsaP256Signer::generate().unwrap();
        let d = validate_dpop_proof(&sign(&s, header(&s), payload()), &req(Some(TOKEN), &["old", "srv-n1"])).unwrap();
        assert_eq!(d.jkt, s.public_jwk().thumbprint());
        assert_eq!(d.jti, "e1j3V_bKic8-LAEB");
        assert_eq!(d.iat, NOW);
        // At the token endpoint: no access token, no nonce required.
        let p = json!({"jti": "x", "htm": "POST", "htu": "https://127.0.0.1:8443/si/token", "iat": NOW});
        let r = DpopRequest { url: "https://127.0.0.1:8443/si/token", ..req(None, &[]) };
        assert!(validate_dpop_proof(&sign(&s, header(&s), p), &r).is_ok());
    }

    #[test]
    fn rfc9449_ath_example() {
        // RFC 9449 §7.1: the access token and the ath of its example proof.
        assert_eq!(ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    }

    #[test]
    fn header_and_signature_rules() {
        let s = EcdsaP256Signer::generate().unwrap();
        let r = req(Some(TOKEN), &[]);
        let e = validate_dpop_proof(&sign(&s, json!({"typ": "JWT", "jwk": jwk_value(&s)}), payload()), &r).unwrap_err();
        assert!(matches!(e, DpopError::Jwt(JwtError::Type { .. })), "{e}");
        let e = validate_dpop_proof(&sign(&s, json!({"typ": "openid4vci-proof+jwt", "jwk": jwk_value(&s)}), payload()), &r).unwrap_err();
        assert!(matches!(e, DpopError::Jwt(JwtError::Type { .. })), "{e}");
        for (alg, sig) in [("none", &b""[..]), ("HS256", &[1u8; 32][..])] {
            let e = validate_dpop_proof(&unsigned(json!({"alg": alg, "typ": "dpop+jwt", "jwk": jwk_value(&s)}), payload(), sig), &r).unwrap_err();
            assert!(matches!(e, DpopError::Jwt(JwtError::Algorithm(_))), "{alg}: {e}");
        }
        let mut private = jwk_value(&s);
        private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
        let e = validate_dpop_proof(&sign(&s, json!({"typ": "dpop+jwt", "jwk": private}), payload()), &r).unwrap_err();
        assert!(matches!(e, DpopError::Jwt(JwtError::Key(_))), "{e}");
        let e = validate_dpop_proof(&sign(&s, json!({"typ": "dpop+jwt"}), payload()), &r).unwrap_err();
        assert!(matches!(e, DpopError::Jwt(JwtError::Key(_))), "{e}");
        let e = validate_dpop_proof(&tamper(&sign(&s, header(&s), payload())), &r).unwrap_err();
        assert_eq!(e, DpopError::Jwt(JwtError::Signature));
        let other = EcdsaP256Signer::generate().unwrap();
        let e = validate_dpop_proof(&sign(&other, header(&s), payload()), &r).unwrap_err();
        assert_eq!(e, DpopError::Jwt(JwtError::Signature));
        assert_eq!(e.error_code(), ErrorCode::InvalidDpopProof);
        assert!(matches!(validate_dpop_proof("a.b", &r), Err(DpopError::Jwt(JwtError::Malformed(_)))));
    }

    #[test]
    fn method_and_url_rules() {
        let s = EcdsaP256Signer::generate().unwrap();
        let check = |p: serde_json::Value| validate_dpop_proof(&sign(&s, header(&s), p), &req(Some(TOKEN), &[]));
        assert!(matches!(check(with("htm", json!("GET"))), Err(DpopError::WrongMethod { .. })));
        assert!(matches!(check(with("htm", json!("post"))), Err(DpopError::WrongMethod { .. })));
        assert!(matches!(check(without("htm")), Err(DpopError::WrongMethod { found: None, .. })));
        assert!(matches!(check(with("htu", json!("https://127.0.0.1:8443/si/token"))), Err(DpopError::WrongUrl { .. })));
        assert!(matches!(check(with("htu", json!("https://127.0.0.1:8443/other/credential"))), Err(DpopError::WrongUrl { .. })));
        assert!(matches!(check(with("htu", json!("https://127.0.0.1:9443/si/credential"))), Err(DpopError::WrongUrl { .. })));
        assert!(matches!(check(with("htu", json!("http://127.0.0.1:8443/si/credential"))), Err(DpopError::WrongUrl { .. })));
        assert!(matches!(check(with("htu", json!("not a url"))), Err(DpopError::WrongUrl { .. })));
        assert!(matches!(check(without("htu")), Err(DpopError::WrongUrl { found: None, .. })));
        // §4.3: query and fragment are ignored, scheme and host compare case-insensitively.
        assert!(check(with("htu", json!("https://127.0.0.1:8443/si/credential?x=1#f"))).is_ok());
        assert!(check(with("htu", json!("HTTPS://127.0.0.1:8443/si/credential"))).is_ok());
        let on_request_with_query = DpopRequest { url: "https://127.0.0.1:8443/si/credential?format=x", ..req(Some(TOKEN), &[]) };
        assert!(validate_dpop_proof(&sign(&s, header(&s), payload()), &on_request_with_query).is_ok());
    }

    #[test]
    fn default_port_equivalence() {
        let s = EcdsaP256Signer::generate().unwrap();
        let r = DpopRequest { url: "https://Issuer.Example/token", ..req(None, &[]) };
        let p = json!({"jti": "x", "htm": "POST", "htu": "https://issuer.example:443/token", "iat": NOW});
        assert!(validate_dpop_proof(&sign(&s, header(&s), p), &r).is_ok());
        let r = DpopRequest { url: "https://issuer.example:443/token", ..req(None, &[]) };
        let p = json!({"jti": "x", "htm": "POST", "htu": "https://issuer.example/token", "iat": NOW});
        assert!(validate_dpop_proof(&sign(&s, header(&s), p), &r).is_ok());
        let p = json!({"jti": "x", "htm": "POST", "htu": "https://issuer.example:8443/token", "iat": NOW});
        assert!(matches!(validate_dpop_proof(&sign(&s, header(&s), p), &r), Err(DpopError::WrongUrl { .. })));
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize_htu("HTTPS://Server.Example.COM:443/a/../token?x=1#frag").unwrap(), "https://server.example.com/token");
        assert_eq!(normalize_htu("http://server.example.com:80/x").unwrap(), "http://server.example.com/x");
        assert_eq!(normalize_htu("https://127.0.0.1:8443/si/").unwrap(), "https://127.0.0.1:8443/si/");
        assert_ne!(normalize_htu("https://127.0.0.1:8443/si/").unwrap(), normalize_htu("https://127.0.0.1:8443/si").unwrap());
        assert!(normalize_htu("ftp://x/y").is_err());
        assert!(normalize_htu("urn:x:y").is_err());
        assert!(normalize_htu("/token").is_err());
    }

    #[test]
    fn time_jti_ath_nonce_rules() {
        let s = EcdsaP256Signer::generate().unwrap();
        let check = |p: serde_json::Value, token: Option<&str>, nonces: &[&str]| validate_dpop_proof(&sign(&s, header(&s), p), &req(token, nonces));
        assert!(matches!(check(with("iat", json!(NOW - 301)), Some(TOKEN), &[]), Err(DpopError::Jwt(JwtError::Stale { .. }))));
        assert!(matches!(check(with("iat", json!(NOW + 61)), Some(TOKEN), &[]), Err(DpopError::Jwt(JwtError::FromTheFuture { .. }))));
        assert!(matches!(check(without("iat"), Some(TOKEN), &[]), Err(DpopError::Jwt(JwtError::MissingClaim("iat")))));
        assert_eq!(check(without("jti"), Some(TOKEN), &[]), Err(DpopError::BadJti));
        assert_eq!(check(with("jti", json!("")), Some(TOKEN), &[]), Err(DpopError::BadJti));
        assert_eq!(check(with("jti", json!("j".repeat(257))), Some(TOKEN), &[]), Err(DpopError::BadJti));
        assert_eq!(check(without("ath"), Some(TOKEN), &[]), Err(DpopError::MissingAth));
        assert_eq!(check(with("ath", json!(ath("another token"))), Some(TOKEN), &[]), Err(DpopError::WrongAth));
        assert!(check(without("ath"), None, &[]).is_ok());
        let e = check(with("nonce", json!("stale")), Some(TOKEN), &["srv-n2"]).unwrap_err();
        assert_eq!(e, DpopError::UseNonce);
        assert_eq!(e.error_code(), ErrorCode::UseDpopNonce);
        assert_eq!(e.to_response().error, ErrorCode::UseDpopNonce);
        assert_eq!(check(without("nonce"), Some(TOKEN), &["srv-n1"]), Err(DpopError::UseNonce));
        assert!(check(payload(), Some(TOKEN), &["srv-n1"]).is_ok());
    }
}
