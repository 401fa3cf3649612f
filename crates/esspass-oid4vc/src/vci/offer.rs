//! Credential Offer (OpenID4VCI 1.0 §4.1) and the `openid-credential-offer://` links that carry it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The grant type identifier of the Pre-Authorized Code Flow.
pub const PRE_AUTHORIZED_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// The grant type identifier of the Authorization Code Flow.
pub const AUTHORIZATION_CODE_GRANT: &str = "authorization_code";
/// The custom URL scheme used when the wallet's offer endpoint is unknown (§12.1.1).
pub const OFFER_SCHEME: &str = "openid-credential-offer://";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialOffer {
    pub credential_issuer: String,
    pub credential_configuration_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Grants>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Grants {
    #[serde(rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code", default, skip_serializing_if = "Option::is_none")]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeGrant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuthorizedCodeGrant {
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: String,
    /// Present (even empty) when the token request must carry a transaction code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TxCode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<InputMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// At most 300 characters (§4.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    Numeric,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthorizationCodeGrant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

impl CredentialOffer {
    /// An offer of the given configurations with a pre-authorized code (and a transaction code
    /// requirement when `tx_code` is given).
    pub fn pre_authorized(credential_issuer: impl Into<String>, configuration_ids: Vec<String>, code: impl Into<String>, tx_code: Option<TxCode>) -> Self {
        Self {
            credential_issuer: credential_issuer.into(),
            credential_configuration_ids: configuration_ids,
            grants: Some(Grants {
                pre_authorized_code: Some(PreAuthorizedCodeGrant { pre_authorized_code: code.into(), tx_code, authorization_server: None }),
                authorization_code: None,
            }),
            other: Map::new(),
        }
    }

    /// `openid-credential-offer://?credential_offer=<percent-encoded JSON>` (offer by value).
    pub fn to_link(&self) -> String {
        // Serialising a struct of strings and maps cannot fail; an empty object is the fallback.
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        format!("{OFFER_SCHEME}?credential_offer={}", percent_encode(&json))
    }
}

/// `openid-credential-offer://?credential_offer_uri=<percent-encoded URI>` (offer by reference).
pub fn offer_uri_link(credential_offer_uri: &str) -> String {
    format!("{OFFER_SCHEME}?credential_offer_uri={}", percent_encode(credential_offer_uri))
}

/// Percent-encode every byte except the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`);
/// spaces become `%20`, never `+`, so both form decoders and `decodeURIComponent` read it back.
pub fn percent_encode(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(text: &str) -> CredentialOffer {
        let original: Value = serde_json::from_str(text).unwrap();
        let offer: CredentialOffer = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_value(&offer).unwrap(), original);
        offer
    }

    #[test]
    fn spec_offer_examples_round_trip() {
        // examples/credential_offer_multiple_credentials.json
        let o = round_trip(
            r#"{
  "credential_issuer": "https://credential-issuer.example.com",
  "credential_configuration_ids": [
    "UniversityDegreeCredential",
    "org.iso.18013.5.1.mDL"
  ],
  "grants": {
    "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
      "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5",
      "tx_code": {
        "length": 4,
        "input_mode": "numeric",
        "description": "Please provide the one-time code that was sent via e-mail"
      }
    }
  },
  "issuer_redirect_uri": "https://credential-issuer.example.com/redirect"
}"#,
        );
        let g = o.grants.unwrap().pre_authorized_code.unwrap();
        assert_eq!(g.tx_code.unwrap().input_mode, Some(InputMode::Numeric));
        // examples/credential_offer_by_reference.json: an empty tx_code object still requires a code.
        let o = round_trip(
            r#"{
  "credential_issuer": "https://credential-issuer.example.com",
  "credential_configuration_ids": [
    "UniversityDegree_LDP_VC"
  ],
  "grants": {
    "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
      "pre-authorized_code": "adhjhdjajkdkhjhdj",
      "tx_code": {}
    }
  }
}"#,
        );
        assert_eq!(o.grants.unwrap().pre_authorized_code.unwrap().tx_code, Some(TxCode::default()));
        let o = round_trip(
            r#"{"credential_issuer": "https://credential-issuer.example.com",
                "credential_configuration_ids": ["UniversityDegreeCredential"],
                "grants": {"authorization_code": {"issuer_state": "eyJhbGciOiJSU0Et...FYUaBy"}}}"#,
        );
        assert_eq!(o.grants.unwrap().authorization_code.unwrap().issuer_state.as_deref(), Some("eyJhbGciOiJSU0Et...FYUaBy"));
    }

    #[test]
    fn link_by_value_decodes_back() {
        let offer = CredentialOffer::pre_authorized(
            "https://127.0.0.1:8443/si",
            vec!["ehic".into()],
            "c0de+/=",
            Some(TxCode { input_mode: Some(InputMode::Numeric), length: Some(6), description: Some("Code sent by SMS & mail".into()) }),
        );
        let link = offer.to_link();
        let query = link.strip_prefix("openid-credential-offer://?").unwrap();
        assert!(!query.contains(['{', '"', ' ', '+', '&', '/']), "{query}");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].0, "credential_offer");
        let back: CredentialOffer = serde_json::from_str(&pairs[0].1).unwrap();
        assert_eq!(back, offer);
        assert_eq!(
            serde_json::to_value(&offer).unwrap()["grants"][PRE_AUTHORIZED_CODE_GRANT]["tx_code"],
            json!({"input_mode": "numeric", "length": 6, "description": "Code sent by SMS & mail"})
        );
    }

    #[test]
    fn link_by_reference() {
        assert_eq!(
            offer_uri_link("https://server.example.com/credential-offer/GkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM"),
            "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fserver.example.com%2Fcredential-offer%2FGkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM"
        );
        assert_eq!(percent_encode("a b~é"), "a%20b~%C3%A9");
    }

    #[test]
    fn offer_without_configurations_is_refused() {
        assert!(serde_json::from_value::<CredentialOffer>(json!({"credential_issuer": "https://x"})).is_err());
        assert!(serde_json::from_value::<TxCode>(json!({"input_mode": "alphanumeric"})).is_err());
    }
}
