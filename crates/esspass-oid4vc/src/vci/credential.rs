//! Nonce, credential, deferred credential and notification endpoints (OpenID4VCI 1.0 §7–§11):
//! request parsing with the specification's error codes, and the responses.

use super::error::{ErrorCode, ErrorResponse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::num::NonZeroU64;

/// Nonce response (§7.2): `{"c_nonce": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceResponse {
    pub c_nonce: String,
}

/// A credential request as it travels (§8.2). Use [`CredentialRequest::parse`] on untrusted input:
/// it returns a [`CheckedCredentialRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_configuration_id: Option<String>,
    /// Exactly one proof type, mapped to a non-empty array of proofs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proofs: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<Value>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// What a credential request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialTarget {
    ConfigurationId(String),
    /// A dataset named in the token response's `authorization_details`.
    Identifier(String),
}

/// A credential request that passed the structural checks: one target and one or more `jwt` proofs
/// (not yet validated: see [`crate::proof`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCredentialRequest {
    pub target: CredentialTarget,
    pub jwt_proofs: Vec<String>,
}

impl CredentialRequest {
    /// Parse an `application/json` credential request body and check its structure.
    pub fn parse(body: &[u8]) -> Result<CheckedCredentialRequest, ErrorResponse> {
        let v = esspass_credential::json::parse(body, "the credential request").map_err(|e| request_error(e.detail))?;
        let r: Self = serde_json::from_value(v).map_err(|e| request_error(format!("malformed credential request: {e}")))?;
        r.check()
    }

    /// The structural checks: exactly one of `credential_configuration_id` / `credential_identifier`;
    /// `proofs` (plural) with exactly one proof type, which must be `jwt`, holding a non-empty array of
    /// strings; no singular `proof`; no response encryption (not supported).
    pub fn check(&self) -> Result<CheckedCredentialRequest, ErrorResponse> {
        if self.other.contains_key("proof") {
            return Err(request_error("the singular proof parameter is not supported; send proofs: {jwt: [...]}"));
        }
        let target = match (&self.credential_configuration_id, &self.credential_identifier) {
            (Some(c), None) => CredentialTarget::ConfigurationId(c.clone()),
            (None, Some(i)) => CredentialTarget::Identifier(i.clone()),
            (Some(_), Some(_)) => return Err(request_error("send either credential_configuration_id or credential_identifier, not both")),
            (None, None) => return Err(request_error("credential_configuration_id or credential_identifier is required")),
        };
        if self.credential_response_encryption.is_some() {
            return Err(ErrorResponse::new(ErrorCode::InvalidEncryptionParameters, "credential response encryption is not supported"));
        }
        let Some(proofs) = &self.proofs else {
            return Err(ErrorResponse::new(ErrorCode::InvalidProof, "proofs is missing"));
        };
        let mut types = proofs.iter();
        let (Some((kind, list)), None) = (types.next(), types.next()) else {
            return Err(request_error("proofs must contain exactly one proof type"));
        };
        if kind != "jwt" {
            return Err(ErrorResponse::new(ErrorCode::InvalidProof, format!("proof type {kind} is not supported; use jwt")));
        }
        let Value::Array(items) = list else { return Err(request_error("proofs.jwt must be an array")) };
        if items.is_empty() {
            return Err(ErrorResponse::new(ErrorCode::InvalidProof, "proofs.jwt is empty"));
        }
        let jwt_proofs = items
            .iter()
            .map(|p| p.as_str().map(str::to_owned).ok_or_else(|| ErrorResponse::new(ErrorCode::InvalidProof, "each jwt proof is a string")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CheckedCredentialRequest { target, jwt_proofs })
    }
}

fn request_error(d: impl AsRef<str>) -> ErrorResponse {
    ErrorResponse::new(ErrorCode::InvalidCredentialRequest, d)
}

/// One issued credential: a string for `dc+sd-jwt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedCredential {
    pub credential: Value,
}

/// Credential and deferred credential responses (§8.3, §9.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CredentialResponse {
    /// HTTP 200.
    Issued {
        credentials: Vec<IssuedCredential>,
        /// The Animo 0.4.6 client rejects a *deferred* answer carrying both `credentials` and
        /// `notification_id`: leave it out there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notification_id: Option<String>,
    },
    /// HTTP 202.
    Pending {
        transaction_id: String,
        /// Seconds the wallet waits before asking again; a positive integer.
        interval: NonZeroU64,
    },
}

impl CredentialResponse {
    /// Issued SD-JWT VCs (compact serialisations).
    pub fn issued(credentials: impl IntoIterator<Item = String>, notification_id: Option<String>) -> Self {
        Self::Issued { credentials: credentials.into_iter().map(|c| IssuedCredential { credential: Value::String(c) }).collect(), notification_id }
    }

    /// 200 for issued credentials, 202 for a pending transaction.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Issued { .. } => 200,
            Self::Pending { .. } => 202,
        }
    }
}

/// Deferred credential request (§9.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeferredCredentialRequest {
    pub transaction_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<Value>,
}

impl DeferredCredentialRequest {
    /// Parse an `application/json` deferred credential request body.
    pub fn parse(body: &[u8]) -> Result<Self, ErrorResponse> {
        let v = esspass_credential::json::parse(body, "the deferred credential request").map_err(|e| request_error(e.detail))?;
        let r: Self = serde_json::from_value(v).map_err(|e| request_error(format!("malformed deferred credential request: {e}")))?;
        if r.transaction_id.is_empty() {
            return Err(ErrorResponse::new(ErrorCode::InvalidTransactionId, "transaction_id is empty"));
        }
        if r.credential_response_encryption.is_some() {
            return Err(ErrorResponse::new(ErrorCode::InvalidEncryptionParameters, "credential response encryption is not supported"));
        }
        Ok(r)
    }
}

/// Notification events (§11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    CredentialAccepted,
    CredentialFailure,
    CredentialDeleted,
}

/// Notification request (§11.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRequest {
    pub notification_id: String,
    pub event: NotificationEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_description: Option<String>,
}

impl NotificationRequest {
    /// Parse an `application/json` notification body; anything malformed (unknown event, missing
    /// `notification_id`, a non-ASCII description) is `invalid_notification_request`.
    pub fn parse(body: &[u8]) -> Result<Self, ErrorResponse> {
        let bad = |d: String| ErrorResponse::new(ErrorCode::InvalidNotificationRequest, d);
        let v = esspass_credential::json::parse(body, "the notification request").map_err(|e| bad(e.detail))?;
        let r: Self = serde_json::from_value(v).map_err(|e| bad(format!("malformed notification request: {e}")))?;
        if r.notification_id.is_empty() {
            return Err(bad("notification_id is empty".into()));
        }
        if let Some(d) = &r.event_description
            && d.chars().any(|c| !matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
        {
            return Err(bad("event_description has characters outside the allowed ASCII set".into()));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trips<T: Serialize + serde::de::DeserializeOwned>(text: &str) -> T {
        let t: T = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_value(&t).unwrap(), serde_json::from_str::<Value>(text).unwrap());
        t
    }

    #[test]
    fn spec_examples_round_trip() {
        let n: NonceResponse = round_trips(r#"{ "c_nonce": "wKI4LT17ac15ES9bw8ac4" }"#);
        assert_eq!(n.c_nonce, "wKI4LT17ac15ES9bw8ac4");
        let r: CredentialResponse = round_trips(r#"{ "credentials": [ { "credential": "LUpixVCWJk0eOt4CXQe1NXK....WZwmhmn9OQp6YxX0a2L" } ] }"#);
        assert_eq!(r.http_status(), 200);
        let r: CredentialResponse = round_trips(
            r#"{ "credentials": [ { "credential": "LUpixVCWJk0eOt4CXQe1NXK....WZwmhmn9OQp6YxX0a2L" },
                 { "credential": "YXNkZnNhZGZkamZqZGFza23....29tZTIzMjMyMzIzMjMy" } ], "notification_id": "3fwe98js" }"#,
        );
        assert!(matches!(r, CredentialResponse::Issued { ref credentials, notification_id: Some(_) } if credentials.len() == 2));
        let r: CredentialResponse = round_trips(r#"{ "transaction_id": "8xLOxBtZp8", "interval" : 3600 }"#);
        assert_eq!(r.http_status(), 202);
        let _: CredentialResponse = round_trips(r#"{ "transaction_id": "8xLOxBtZp8", "interval": 86400 }"#);
        let d: DeferredCredentialRequest = round_trips(r#"{ "transaction_id": "8xLOxBtZp8" }"#);
        assert_eq!(DeferredCredentialRequest::parse(br#"{ "transaction_id": "8xLOxBtZp8" }"#).unwrap(), d);
        let _: NotificationRequest = round_trips(r#"{ "notification_id": "3fwe98js", "event": "credential_accepted" }"#);
        let text = r#"{ "notification_id": "3fwe98js", "event": "credential_failure", "event_description": "Could not store the Credential. Out of storage." }"#;
        let n: NotificationRequest = round_trips(text);
        assert_eq!(NotificationRequest::parse(text.as_bytes()).unwrap(), n);
        let text = r#"{ "credential_configuration_id": "org.iso.18013.5.1.mDL",
            "proofs": { "jwt": [ "eyJraWQiOiJkaWQ6ZXhhbXBsZTplYmZlYjFmNzEyZWJjNmYxYzI3NmUxMmVjMjEva2V5cy8xIiwiYWxnIjoiRVMyNTYiLCJ0eXAiOiJKV1QifQ" ] } }"#;
        let _: CredentialRequest = round_trips(text);
        let c = CredentialRequest::parse(text.as_bytes()).unwrap();
        assert_eq!(c.target, CredentialTarget::ConfigurationId("org.iso.18013.5.1.mDL".into()));
        assert_eq!(c.jwt_proofs.len(), 1);
        let c = CredentialRequest::parse(br#"{"credential_identifier": "CivilEngineeringDegree-2023", "proofs": {"jwt": ["a", "b"]}}"#).unwrap();
        assert_eq!(c.target, CredentialTarget::Identifier("CivilEngineeringDegree-2023".into()));
        assert_eq!(c.jwt_proofs, vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn credential_request_errors() {
        for (body, code) in [
            (json!({"credential_configuration_id": "x", "proof": {"proof_type": "jwt", "jwt": "a"}}), ErrorCode::InvalidCredentialRequest),
            (json!({"credential_configuration_id": "x", "proof": {"proof_type": "jwt", "jwt": "a"}, "proofs": {"jwt": ["a"]}}), ErrorCode::InvalidCredentialRequest),
            (json!({"proofs": {"jwt": ["a"]}}), ErrorCode::InvalidCredentialRequest),
            (json!({"credential_configuration_id": "x", "credential_identifier": "y", "proofs": {"jwt": ["a"]}}), ErrorCode::InvalidCredentialRequest),
            (json!({"credential_configuration_id": 5, "proofs": {"jwt": ["a"]}}), ErrorCode::InvalidCredentialRequest),
            (json!({"credential_configuration_id": "x"}), ErrorCode::InvalidProof),
            (json!({"credential_configuration_id": "x", "proofs": {}}), ErrorCode::InvalidCredentialRequest),
            (json!({"credential_configuration_id": "x", "proofs": {"jwt": ["a"], "attestation": ["b"]}}), ErrorCode::InvalidCredentialRequest),
            (json!({"credential_configuration_id": "x", "proofs": {"di_vp": [{}]}}), ErrorCode::InvalidProof),
            (json!({"credential_configuration_id": "x", "proofs": {"jwt": "a"}}), ErrorCode::InvalidCredentialRequest),
            (json!({"credential_configuration_id": "x", "proofs": {"jwt": []}}), ErrorCode::InvalidProof),
            (json!({"credential_configuration_id": "x", "proofs": {"jwt": [1]}}), ErrorCode::InvalidProof),
            (
                json!({"credential_configuration_id": "x", "proofs": {"jwt": ["a"]}, "credential_response_encryption": {"jwk": {}, "enc": "A128GCM"}}),
                ErrorCode::InvalidEncryptionParameters,
            ),
            (json!([1]), ErrorCode::InvalidCredentialRequest),
        ] {
            let e = CredentialRequest::parse(body.to_string().as_bytes()).unwrap_err();
            assert_eq!(e.error, code, "{body}: {e}");
        }
        assert_eq!(CredentialRequest::parse(b"{not json").unwrap_err().error, ErrorCode::InvalidCredentialRequest);
    }

    #[test]
    fn interval_must_be_positive() {
        assert!(serde_json::from_value::<CredentialResponse>(json!({"transaction_id": "t", "interval": 0})).is_err());
        assert!(serde_json::from_value::<CredentialResponse>(json!({"transaction_id": "t", "interval": 1.5})).is_err());
        let p = CredentialResponse::Pending { transaction_id: "t".into(), interval: NonZeroU64::MIN };
        assert_eq!(serde_json::to_value(&p).unwrap(), json!({"transaction_id": "t", "interval": 1}));
        assert_eq!(
            serde_json::to_value(CredentialResponse::issued(["a~b~".to_owned()], None)).unwrap(),
            json!({"credentials": [{"credential": "a~b~"}]})
        );
    }

    #[test]
    fn deferred_and_notification_errors() {
        assert_eq!(DeferredCredentialRequest::parse(b"{}").unwrap_err().error, ErrorCode::InvalidCredentialRequest);
        assert_eq!(DeferredCredentialRequest::parse(br#"{"transaction_id": ""}"#).unwrap_err().error, ErrorCode::InvalidTransactionId);
        for body in [
            json!({"event": "credential_accepted"}),
            json!({"notification_id": "n"}),
            json!({"notification_id": "n", "event": "credential_lost"}),
            json!({"notification_id": "", "event": "credential_deleted"}),
            json!({"notification_id": "n", "event": "credential_deleted", "event_description": "gelöscht"}),
        ] {
            assert_eq!(NotificationRequest::parse(body.to_string().as_bytes()).unwrap_err().error, ErrorCode::InvalidNotificationRequest, "{body}");
        }
        let n = NotificationRequest::parse(br#"{"notification_id": "n", "event": "credential_deleted", "extra": 1}"#).unwrap();
        assert_eq!(n.event, NotificationEvent::CredentialDeleted);
    }
}
