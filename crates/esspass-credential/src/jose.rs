//! Compact JWS with ES256 only, and EC P-256 JWKs. `alg: none`, symmetric algorithms and every other
//! algorithm are refused before any key is looked at.

use crate::{Error, Result, b64};
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use esspass_core::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An EC P-256 public key as a JWK (RFC 7517/7518).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
}

impl Jwk {
    /// From an uncompressed SEC1 point (0x04 || x || y).
    pub fn from_point(point: &[u8]) -> Result<Self> {
        match point {
            [0x04, rest @ ..] if rest.len() == 64 => {
                let (x, y) = rest.split_at(32);
                Ok(Self { kty: "EC".into(), crv: "P-256".into(), x: b64::encode(x), y: b64::encode(y) })
            }
            _ => Err(Error::new(ErrorCode::KeyInvalid, "not an uncompressed P-256 point")),
        }
    }

    /// Read a public JWK from JSON; refuses private keys, other curves and malformed coordinates.
    pub fn from_value(v: &Value) -> Result<Self> {
        let Value::Object(m) = v else { return Err(Error::new(ErrorCode::KeyInvalid, "a JWK must be a JSON object")) };
        if m.contains_key("d") {
            return Err(Error::new(ErrorCode::KeyInvalid, "the JWK contains a private key (d)"));
        }
        let get = |k: &str| m.get(k).and_then(Value::as_str).ok_or_else(|| Error::new(ErrorCode::KeyInvalid, format!("JWK without {k}")));
        let (kty, crv, x, y) = (get("kty")?, get("crv")?, get("x")?, get("y")?);
        if kty != "EC" || crv != "P-256" {
            return Err(Error::new(ErrorCode::KeyInvalid, format!("unsupported JWK {kty}/{crv}; only EC P-256")));
        }
        let jwk = Self { kty: kty.into(), crv: crv.into(), x: x.into(), y: y.into() };
        jwk.point()?;
        Ok(jwk)
    }

    /// The uncompressed SEC1 point.
    pub fn point(&self) -> Result<Vec<u8>> {
        let x = b64::decode(&self.x)?;
        let y = b64::decode(&self.y)?;
        if x.len() != 32 || y.len() != 32 {
            return Err(Error::new(ErrorCode::KeyInvalid, "P-256 coordinates must be 32 bytes"));
        }
        let mut p = Vec::with_capacity(65);
        p.push(0x04);
        p.extend_from_slice(&x);
        p.extend_from_slice(&y);
        Ok(p)
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// RFC 7638 thumbprint (base64url SHA-256 of the canonical members).
    pub fn thumbprint(&self) -> String {
        let canonical = format!(r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#, self.crv, self.kty, self.x, self.y);
        b64::encode(crate::sha256(canonical.as_bytes()))
    }
}

/// Verify a raw (r || s) ES256 signature with an uncompressed P-256 point.
pub fn verify_es256(point: &[u8], message: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, sig).is_ok()
}

/// A compact JWS split into its parts; nothing is trusted yet.
#[derive(Debug, Clone)]
pub struct CompactJws {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    /// `base64url(header) . base64url(payload)`: what the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

impl CompactJws {
    /// Split and decode a compact JWS whose payload is a JSON object. Checks `alg` (ES256 only) and
    /// refuses `crit`. Does not verify the signature.
    pub fn parse(s: &str) -> Result<Self> {
        let mut parts = s.split('.');
        let (Some(h), Some(p), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(Error::new(ErrorCode::MalformedJws, "a compact JWS has exactly three dot-separated parts"));
        };
        let header = crate::json::parse_object(&b64::decode(h)?, "JWS header")?;
        match header.get("alg").and_then(Value::as_str) {
            Some("ES256") => {}
            Some(other) => return Err(Error::new(ErrorCode::AlgorithmNotAllowed, format!("alg {other:?} is not allowed; only ES256"))),
            None => return Err(Error::new(ErrorCode::AlgorithmNotAllowed, "the JWS header has no alg")),
        }
        if header.contains_key("crit") {
            return Err(Error::new(ErrorCode::MalformedJws, "crit header parameters are not understood"));
        }
        let payload = crate::json::parse_object(&b64::decode(p)?, "JWS payload")?;
        let signature = b64::decode(sig)?;
        if signature.len() != 64 {
            return Err(Error::new(ErrorCode::MalformedJws, "an ES256 signature is 64 bytes"));
        }
        let signing_input = s.get(..h.len() + 1 + p.len()).unwrap_or_default().to_owned();
        Ok(Self { header, payload, signing_input, signature })
    }

    /// The `typ` header, with an `application/` prefix removed (RFC 7515 §4.1.9: `application/dc+sd-jwt`
    /// and `dc+sd-jwt` name the same type).
    pub fn typ(&self) -> Option<&str> {
        let t = self.header.get("typ").and_then(Value::as_str)?;
        match t.get(..12) {
            Some(p) if p.eq_ignore_ascii_case("application/") => t.get(12..),
            _ => Some(t),
        }
    }

    /// Verify the signature with an uncompressed P-256 point.
    pub fn verify_with_point(&self, point: &[u8]) -> bool {
        verify_es256(point, self.signing_input.as_bytes(), &self.signature)
    }

    /// The `x5c` header as DER certificates (leaf first).
    pub fn x5c(&self) -> Result<Vec<Vec<u8>>> {
        let Some(v) = self.header.get("x5c") else { return Err(Error::new(ErrorCode::MissingX5c, "no x5c header")) };
        let Value::Array(items) = v else { return Err(Error::new(ErrorCode::MissingX5c, "x5c must be an array")) };
        if items.is_empty() {
            return Err(Error::new(ErrorCode::MissingX5c, "x5c is empty"));
        }
        items
            .iter()
            .map(|c| c.as_str().ok_or_else(|| Error::new(ErrorCode::CertificateUnparsable, "x5c entries are strings")).and_then(b64::decode_std))
            .collect()
    }
}

/// Sign a compact JWS with the given header (its `alg` is set to the signer's) and payload.
pub fn sign_compact(signer: &dyn crate::Signer, mut header: Map<String, Value>, payload: &Map<String, Value>) -> Result<String> {
    let mut h = Map::new();
    h.insert("alg".into(), Value::String(signer.algorithm().into()));
    header.remove("alg");
    h.extend(header);
    let hb = serde_json::to_vec(&h).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
    let pb = serde_json::to_vec(payload).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
    let input = format!("{}.{}", b64::encode(hb), b64::encode(pb));
    let sig = signer.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", b64::encode(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EcdsaP256Signer, Signer};
    use serde_json::json;

    #[test]
    fn sign_and_verify_roundtrip() {
        let s = EcdsaP256Signer::generate().unwrap();
        let payload = json!({"a": 1}).as_object().unwrap().clone();
        let jws = sign_compact(&s, json!({"typ": "x"}).as_object().unwrap().clone(), &payload).unwrap();
        let parsed = CompactJws::parse(&jws).unwrap();
        assert!(parsed.verify_with_point(&s.public_jwk().point().unwrap()));
        assert_eq!(parsed.typ(), Some("x"));
        let long = sign_compact(&s, json!({"typ": "application/dc+sd-jwt"}).as_object().unwrap().clone(), &payload).unwrap();
        assert_eq!(CompactJws::parse(&long).unwrap().typ(), Some("dc+sd-jwt"));
        let other = EcdsaP256Signer::generate().unwrap();
        assert!(!parsed.verify_with_point(&other.public_jwk().point().unwrap()));
    }

    #[test]
    fn refuses_none_and_hmac() {
        for alg in ["none", "HS256", "RS256", "ES384"] {
            let h = b64::encode(format!(r#"{{"alg":"{alg}"}}"#));
            let p = b64::encode("{}");
            let e = CompactJws::parse(&format!("{h}.{p}.")).unwrap_err();
            assert_eq!(e.code, ErrorCode::AlgorithmNotAllowed, "{alg}");
        }
    }

    #[test]
    fn jwk_checks() {
        let s = EcdsaP256Signer::generate().unwrap();
        let mut v = s.public_jwk().to_value();
        assert!(Jwk::from_value(&v).is_ok());
        v["d"] = json!("AAAA");
        assert!(Jwk::from_value(&v).is_err());
        assert!(Jwk::from_value(&json!({"kty": "OKP", "crv": "Ed25519", "x": "AA", "y": "AA"})).is_err());
    }
}
