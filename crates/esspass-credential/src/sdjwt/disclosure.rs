//! Disclosures: `[salt, name, value]` for object properties, `[salt, value]` for array elements,
//! base64url-encoded; the digest is SHA-256 over the base64url string as it appears.

use crate::{Error, Result, b64};
use esspass_core::ErrorCode;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    /// The base64url string exactly as serialised (digests are computed over it).
    pub encoded: String,
    pub salt: String,
    /// `Some` for an object property, `None` for an array element.
    pub name: Option<String>,
    pub value: Value,
}

impl Disclosure {
    /// A new disclosure with a fresh 128-bit salt.
    pub fn new(name: Option<&str>, value: Value) -> Self {
        let salt = b64::encode(crate::random_bytes::<16>());
        Self::with_salt(&salt, name, value)
    }

    /// A disclosure with a given salt (for the RFC's examples).
    pub fn with_salt(salt: &str, name: Option<&str>, value: Value) -> Self {
        let arr = match name {
            Some(n) => Value::Array(vec![Value::String(salt.into()), Value::String(n.into()), value.clone()]),
            None => Value::Array(vec![Value::String(salt.into()), value.clone()]),
        };
        let json = serde_json::to_string(&arr).unwrap_or_default();
        Self { encoded: b64::encode(json), salt: salt.into(), name: name.map(str::to_owned), value }
    }

    /// Decode and check the structure of a received disclosure.
    pub fn parse(encoded: &str) -> Result<Self> {
        let bytes = b64::decode(encoded).map_err(|e| Error::new(ErrorCode::MalformedDisclosure, e.detail))?;
        let v = crate::json::parse(&bytes, "disclosure").map_err(|e| Error::new(if e.code == ErrorCode::NestingTooDeep { e.code } else { ErrorCode::MalformedDisclosure }, e.detail))?;
        let Value::Array(items) = v else { return Err(Error::new(ErrorCode::MalformedDisclosure, "a disclosure is a JSON array")) };
        let mut it = items.into_iter();
        let (salt, second, third, rest) = (it.next(), it.next(), it.next(), it.next());
        if rest.is_some() {
            return Err(Error::new(ErrorCode::MalformedDisclosure, "a disclosure has two or three elements"));
        }
        let Some(Value::String(salt)) = salt else { return Err(Error::new(ErrorCode::MalformedDisclosure, "the salt must be a string")) };
        match (second, third) {
            (Some(Value::String(name)), Some(value)) => {
                if name == "_sd" || name == "..." {
                    return Err(Error::new(ErrorCode::ForbiddenDisclosureName, format!("a disclosure may not be named {name:?}")));
                }
                Ok(Self { encoded: encoded.into(), salt, name: Some(name), value })
            }
            (Some(_), Some(_)) => Err(Error::new(ErrorCode::MalformedDisclosure, "the claim name must be a string")),
            (Some(value), None) => Ok(Self { encoded: encoded.into(), salt, name: None, value }),
            _ => Err(Error::new(ErrorCode::MalformedDisclosure, "a disclosure has two or three elements")),
        }
    }

    /// base64url SHA-256 of the encoded disclosure.
    pub fn digest(&self) -> String {
        digest_of(&self.encoded)
    }
}

/// base64url SHA-256 of a base64url disclosure string.
pub fn digest_of(encoded: &str) -> String {
    b64::encode(crate::sha256(encoded.as_bytes()))
}

/// A decoy digest: the digest of random bytes, indistinguishable from a real one.
pub fn decoy_digest() -> String {
    b64::encode(crate::sha256(&crate::random_bytes::<32>()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roundtrip_with_given_salt() {
        let d = Disclosure::with_salt("_26bc4LT-ac6q2KI6cBW5es", Some("family_name"), json!("Möbius"));
        let parsed = Disclosure::parse(&d.encoded).unwrap();
        assert_eq!(parsed, d);
        assert_eq!(parsed.digest(), digest_of(&d.encoded));
        let e = Disclosure::with_salt("s", None, json!({"a": [1]}));
        assert_eq!(Disclosure::parse(&e.encoded).unwrap().name, None);
    }

    #[test]
    fn refuses_reserved_names_and_bad_shapes() {
        for bad in [json!(["s", "_sd", 1]), json!(["s", "...", 1])] {
            let e = b64::encode(serde_json::to_string(&bad).unwrap());
            assert_eq!(Disclosure::parse(&e).unwrap_err().code, ErrorCode::ForbiddenDisclosureName);
        }
        for bad in [json!(["s"]), json!([1, "a", 2]), json!(["s", 1, 2]), json!(["s", "a", 1, 2]), json!({"a": 1})] {
            let e = b64::encode(serde_json::to_string(&bad).unwrap());
            assert_eq!(Disclosure::parse(&e).unwrap_err().code, ErrorCode::MalformedDisclosure, "{bad}");
        }
        assert_eq!(Disclosure::parse("!!").unwrap_err().code, ErrorCode::MalformedDisclosure);
    }
}
