//! Wallet attestations (HAIP): OAuth 2.0 attestation-based client authentication
//! (draft-ietf-oauth-attestation-based-client-auth). A wallet sends two headers:
//! - `OAuth-Client-Attestation`: a JWT (`typ` `oauth-client-attestation+jwt`) signed by its wallet
//!   provider, with `iss` (the provider), `sub` (the wallet's `client_id`), `exp` and `cnf.jwk`
//!   (the wallet instance's key);
//! - `OAuth-Client-Attestation-PoP`: a JWT (`typ` `oauth-client-attestation-pop+jwt`) signed with
//!   that key, with `aud` (this issuer), `jti` (single use) and `iat` (and, if present, `iss` =
//!   the `client_id`).
//!
//! The node accepts attestations of the configured wallet providers only (their keys as JWK
//! files). Where the headers are present they are verified; a client registered with
//! `require_attestation` must send them.

use crate::config::WalletProviderConfig;
use esspass_credential::Jwk;
use esspass_credential::jose::CompactJws;
use serde_json::Value;

pub const ATTESTATION_HEADER: &str = "oauth-client-attestation";
pub const POP_HEADER: &str = "oauth-client-attestation-pop";
pub const ATTESTATION_TYP: &str = "oauth-client-attestation+jwt";
pub const POP_TYP: &str = "oauth-client-attestation-pop+jwt";
/// Seconds a PoP's `iat` may be in the past (and 60 s in the future).
pub const POP_MAX_AGE: i64 = 300;

/// A configured wallet provider with its key.
#[derive(Debug, Clone)]
pub struct WalletProvider {
    pub name: String,
    pub point: Vec<u8>,
}

/// Load the configured providers' keys.
pub fn load_providers(cfg: &[WalletProviderConfig]) -> Result<Vec<WalletProvider>, String> {
    let mut out = Vec::with_capacity(cfg.len());
    for p in cfg {
        let text = std::fs::read_to_string(&p.jwk).map_err(|e| format!("wallet provider {}: {}: {e}", p.name, p.jwk.display()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("wallet provider {}: {}: {e}", p.name, p.jwk.display()))?;
        let jwk = Jwk::from_value(&v).map_err(|e| format!("wallet provider {}: {}", p.name, e.detail))?;
        let point = jwk.point().map_err(|e| format!("wallet provider {}: {}", p.name, e.detail))?;
        out.push(WalletProvider { name: p.name.clone(), point });
    }
    Ok(out)
}

/// What a verified attestation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    pub provider: String,
    pub client_id: String,
    /// The PoP's `jti`, for the caller's replay check.
    pub jti: String,
    pub exp: i64,
}

/// Verify an attestation and its proof of possession for `client_id` at the issuer `audience`.
/// The caller records `jti` as single use.
pub fn verify(providers: &[WalletProvider], attestation: &str, pop: &str, client_id: &str, audience: &str, now: i64) -> Result<Attested, String> {
    let a = CompactJws::parse(attestation).map_err(|e| format!("client attestation: {}", e.detail))?;
    if a.typ() != Some(ATTESTATION_TYP) {
        return Err(format!("client attestation: typ must be {ATTESTATION_TYP}"));
    }
    let provider = providers.iter().find(|p| a.verify_with_point(&p.point)).ok_or("client attestation: not signed by a wallet provider this node accepts")?;
    let claim = |k: &str| a.payload.get(k).and_then(Value::as_str);
    if claim("sub") != Some(client_id) {
        return Err("client attestation: sub is not the client_id".into());
    }
    if claim("iss").is_none() {
        return Err("client attestation: iss is missing".into());
    }
    let exp = a.payload.get("exp").and_then(Value::as_i64).ok_or("client attestation: exp is missing")?;
    if exp <= now {
        return Err("client attestation: expired".into());
    }
    if a.payload.get("nbf").and_then(Value::as_i64).is_some_and(|n| n > now + 60) {
        return Err("client attestation: not yet valid".into());
    }
    let cnf = a.payload.get("cnf").and_then(|c| c.get("jwk")).ok_or("client attestation: cnf.jwk is missing")?;
    let key = Jwk::from_value(cnf).and_then(|j| j.point()).map_err(|e| format!("client attestation: cnf.jwk: {}", e.detail))?;
    let p = CompactJws::parse(pop).map_err(|e| format!("client attestation PoP: {}", e.detail))?;
    if p.typ() != Some(POP_TYP) {
        return Err(format!("client attestation PoP: typ must be {POP_TYP}"));
    }
    if !p.verify_with_point(&key) {
        return Err("client attestation PoP: not signed with the attested key".into());
    }
    let aud_ok = match p.payload.get("aud") {
        Some(Value::String(s)) => s == audience,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(format!("client attestation PoP: aud must be {audience}"));
    }
    if p.payload.get("iss").is_some_and(|i| i.as_str() != Some(client_id)) {
        return Err("client attestation PoP: iss is not the client_id".into());
    }
    let iat = p.payload.get("iat").and_then(Value::as_i64).ok_or("client attestation PoP: iat is missing")?;
    if iat > now + 60 || iat < now - POP_MAX_AGE {
        return Err("client attestation PoP: iat is outside the accepted window".into());
    }
    let jti = p.payload.get("jti").and_then(Value::as_str).filter(|j| !j.is_empty() && j.len() <= 256).ok_or("client attestation PoP: jti is missing")?;
    Ok(Attested { provider: provider.name.clone(), client_id: client_id.to_owned(), jti: jti.to_owned(), exp })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use esspass_credential::jose::sign_compact;
    use esspass_credential::{EcdsaP256Signer, Signer};
    use serde_json::{Map, json};

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn make(provider: &EcdsaP256Signer, wallet: &EcdsaP256Signer, client: &str, aud: &str, now: i64) -> (String, String) {
        let cnf = wallet.public_jwk().to_value();
        let a = sign_compact(provider, obj(json!({"typ": ATTESTATION_TYP})), &obj(json!({"iss": "https://provider.example", "sub": client, "exp": now + 3600, "cnf": {"jwk": cnf}}))).unwrap();
        let p = sign_compact(wallet, obj(json!({"typ": POP_TYP})), &obj(json!({"aud": aud, "jti": "j-1", "iat": now}))).unwrap();
        (a, p)
    }

    #[test]
    fn a_configured_providers_attestation_verifies_and_others_do_not() {
        let provider = EcdsaP256Signer::generate().unwrap();
        let wallet = EcdsaP256Signer::generate().unwrap();
        let stranger = EcdsaP256Signer::generate().unwrap();
        let providers = vec![WalletProvider { name: "demo".into(), point: provider.public_jwk().point().unwrap() }];
        let (a, p) = make(&provider, &wallet, "wallet-1", "https://issuer", 1000);
        let ok = verify(&providers, &a, &p, "wallet-1", "https://issuer", 1000).unwrap();
        assert_eq!(ok.provider, "demo");
        assert!(verify(&providers, &a, &p, "wallet-2", "https://issuer", 1000).is_err(), "other client");
        assert!(verify(&providers, &a, &p, "wallet-1", "https://other", 1000).is_err(), "other audience");
        assert!(verify(&providers, &a, &p, "wallet-1", "https://issuer", 1000 + 4000).is_err(), "expired");
        let (a2, p2) = make(&stranger, &wallet, "wallet-1", "https://issuer", 1000);
        assert!(verify(&providers, &a2, &p2, "wallet-1", "https://issuer", 1000).is_err(), "unknown provider");
        // A PoP signed by another key than the attested one.
        let (_, p3) = make(&provider, &stranger, "wallet-1", "https://issuer", 1000);
        assert!(verify(&providers, &a, &p3, "wallet-1", "https://issuer", 1000).is_err(), "PoP of another key");
        assert!(verify(&providers, &p, &a, "wallet-1", "https://issuer", 1000).is_err(), "swapped");
    }
}
