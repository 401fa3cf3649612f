//! Protocol error responses: the OAuth 2.0 / OpenID4VCI error codes, serialised as
//! `{"error", "error_description"}`, each with its HTTP status.

use serde::{Deserialize, Serialize};

/// The endpoint an error is answered from; a few codes change status with it (RFC 9449 §7.1 and
/// RFC 6750 §3: protected resources answer 401 with `WWW-Authenticate`, the token endpoint 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    PushedAuthorization,
    Credential,
    Deferred,
    Notification,
}

impl Endpoint {
    /// Credential, deferred and notification endpoints are protected resources (access token + DPoP).
    pub fn is_protected_resource(self) -> bool {
        matches!(self, Self::Credential | Self::Deferred | Self::Notification)
    }
}

/// Every error code a client of our issuer can see. The wire spelling never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Token (and PAR) endpoint: RFC 6749 §5.2, RFC 9449.
    InvalidRequest,
    InvalidGrant,
    InvalidClient,
    UnsupportedGrantType,
    UseDpopNonce,
    InvalidDpopProof,
    // Credential endpoint: OpenID4VCI §8.3.1, RFC 6750.
    InvalidCredentialRequest,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
    InvalidProof,
    InvalidNonce,
    InvalidEncryptionParameters,
    CredentialRequestDenied,
    InvalidToken,
    // Deferred credential endpoint: OpenID4VCI §9.3.
    InvalidTransactionId,
    IssuancePending,
    // Notification endpoint: OpenID4VCI §11.3.
    InvalidNotificationId,
    InvalidNotificationRequest,
}

impl ErrorCode {
    /// The wire spelling (`invalid_grant`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidClient => "invalid_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::InvalidCredentialRequest => "invalid_credential_request",
            Self::UnknownCredentialConfiguration => "unknown_credential_configuration",
            Self::UnknownCredentialIdentifier => "unknown_credential_identifier",
            Self::InvalidProof => "invalid_proof",
            Self::InvalidNonce => "invalid_nonce",
            Self::InvalidEncryptionParameters => "invalid_encryption_parameters",
            Self::CredentialRequestDenied => "credential_request_denied",
            Self::InvalidToken => "invalid_token",
            Self::InvalidTransactionId => "invalid_transaction_id",
            Self::IssuancePending => "issuance_pending",
            Self::InvalidNotificationId => "invalid_notification_id",
            Self::InvalidNotificationRequest => "invalid_notification_request",
        }
    }

    /// The HTTP status to answer with at `at`.
    ///
    /// `invalid_client` and `invalid_token` are 401 everywhere. `use_dpop_nonce` and
    /// `invalid_dpop_proof` are 400 at the token and PAR endpoints (the client retries on the JSON
    /// error) and 401 at protected resources, where the Animo client retries only on a 401 carrying
    /// `WWW-Authenticate: DPoP error="use_dpop_nonce"` (see [`ErrorResponse::www_authenticate`]).
    /// Everything else is 400.
    pub fn http_status(self, at: Endpoint) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::UseDpopNonce | Self::InvalidDpopProof if at.is_protected_resource() => 401,
            _ => 400,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error response body: `{"error": "...", "error_description": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}{}", .error_description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct ErrorResponse {
    pub error: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ErrorResponse {
    /// An error with a description; characters the specifications do not allow in
    /// `error_description` (outside `%x20-21 / %x23-5B / %x5D-7E`) are replaced.
    pub fn new(error: ErrorCode, description: impl AsRef<str>) -> Self {
        Self { error, error_description: Some(sanitize_description(description.as_ref())) }
    }

    /// An error without a description.
    pub fn bare(error: ErrorCode) -> Self {
        Self { error, error_description: None }
    }

    /// The HTTP status at `at` (see [`ErrorCode::http_status`]).
    pub fn http_status(&self, at: Endpoint) -> u16 {
        self.error.http_status(at)
    }

    /// The `WWW-Authenticate` header value for errors answered from a protected resource with 401
    /// (RFC 6750 §3, RFC 9449 §7.1): `DPoP error="…", error_description="…", algs="ES256"`.
    /// `None` where the answer is a plain JSON body.
    pub fn www_authenticate(&self, at: Endpoint) -> Option<String> {
        if !at.is_protected_resource() || self.http_status(at) != 401 {
            return None;
        }
        let mut v = format!("DPoP error=\"{}\"", self.error.as_str());
        if let Some(d) = &self.error_description {
            v.push_str(&format!(", error_description=\"{d}\""));
        }
        v.push_str(", algs=\"ES256\"");
        Some(v)
    }
}

/// Replace characters outside `%x20-21 / %x23-5B / %x5D-7E` (RFC 6749 §5.2): `"` becomes `'`,
/// anything else `?`.
pub fn sanitize_description(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_error_examples_round_trip() {
        for code in ["invalid_request", "unknown_credential_configuration", "invalid_transaction_id", "invalid_notification_id"] {
            let v = json!({ "error": code });
            let e: ErrorResponse = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(e.error.as_str(), code);
            assert_eq!(serde_json::to_value(&e).unwrap(), v);
        }
    }

    #[test]
    fn every_code_serialises_as_its_wire_name() {
        use ErrorCode::*;
        for c in [
            InvalidRequest, InvalidGrant, InvalidClient, UnsupportedGrantType, UseDpopNonce, InvalidDpopProof,
            InvalidCredentialRequest, UnknownCredentialConfiguration, UnknownCredentialIdentifier, InvalidProof,
            InvalidNonce, InvalidEncryptionParameters, CredentialRequestDenied, InvalidToken, InvalidTransactionId,
            IssuancePending, InvalidNotificationId, InvalidNotificationRequest,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
            assert_eq!(serde_json::from_value::<ErrorCode>(json!(c.as_str())).unwrap(), c);
        }
        assert!(serde_json::from_value::<ErrorCode>(json!("no_such_error")).is_err());
    }

    #[test]
    fn statuses() {
        assert_eq!(ErrorCode::InvalidGrant.http_status(Endpoint::Token), 400);
        assert_eq!(ErrorCode::InvalidClient.http_status(Endpoint::Token), 401);
        assert_eq!(ErrorCode::InvalidToken.http_status(Endpoint::Credential), 401);
        assert_eq!(ErrorCode::UseDpopNonce.http_status(Endpoint::Token), 400);
        assert_eq!(ErrorCode::UseDpopNonce.http_status(Endpoint::PushedAuthorization), 400);
        assert_eq!(ErrorCode::UseDpopNonce.http_status(Endpoint::Credential), 401);
        assert_eq!(ErrorCode::InvalidDpopProof.http_status(Endpoint::Notification), 401);
        assert_eq!(ErrorCode::InvalidProof.http_status(Endpoint::Credential), 400);
        assert_eq!(ErrorCode::InvalidTransactionId.http_status(Endpoint::Deferred), 400);
    }

    #[test]
    fn www_authenticate_only_for_protected_401() {
        let e = ErrorResponse::new(ErrorCode::UseDpopNonce, "send the \"DPoP-Nonce\"");
        assert_eq!(
            e.www_authenticate(Endpoint::Credential).unwrap(),
            r#"DPoP error="use_dpop_nonce", error_description="send the 'DPoP-Nonce'", algs="ES256""#
        );
        assert_eq!(e.www_authenticate(Endpoint::Token), None);
        assert_eq!(ErrorResponse::bare(ErrorCode::InvalidProof).www_authenticate(Endpoint::Credential), None);
    }

    #[test]
    fn descriptions_are_sanitised() {
        let e = ErrorResponse::new(ErrorCode::InvalidRequest, "bad \"x\" \\ é\n");
        assert_eq!(e.error_description.as_deref(), Some("bad 'x' ? ??"));
        assert_eq!(e.to_string(), "invalid_request: bad 'x' ? ??");
    }
}
