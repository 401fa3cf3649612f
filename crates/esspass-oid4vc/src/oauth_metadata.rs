//! OAuth 2.0 Authorization Server Metadata (RFC 8414) as the Animo `@openid4vc/oauth2` client needs
//! it, and the Pushed Authorization Request response (RFC 9126 §2.2).

use crate::vci::offer::{AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_CODE_GRANT};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// Compared by clients as an exact string, trailing slash included.
    pub issuer: String,
    pub token_endpoint: String,
    /// When present the Animo client always uses PAR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// Without it the Animo client sends no PKCE.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// `["none"]`; otherwise the Animo client tries `client_secret_basic`.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(rename = "pre-authorized_grant_anonymous_access_supported", default)]
    pub pre_authorized_grant_anonymous_access_supported: bool,
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// RFC 9207.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl AuthorizationServerMetadata {
    /// The metadata esspass publishes: S256 PKCE, ES256 DPoP, public clients (`none`), anonymous
    /// pre-authorized access, `iss` in authorization responses. The authorization code grant and
    /// response type `code` are listed only when an authorization endpoint is given.
    pub fn esspass(issuer: impl Into<String>, token_endpoint: impl Into<String>, authorization_endpoint: Option<String>, par_endpoint: Option<String>) -> Self {
        let code_flow = authorization_endpoint.is_some();
        let mut grants = vec![PRE_AUTHORIZED_CODE_GRANT.to_owned()];
        if code_flow {
            grants.push(AUTHORIZATION_CODE_GRANT.to_owned());
        }
        Self {
            issuer: issuer.into(),
            token_endpoint: token_endpoint.into(),
            pushed_authorization_request_endpoint: par_endpoint,
            authorization_endpoint,
            code_challenge_methods_supported: vec![crate::pkce::S256.to_owned()],
            dpop_signing_alg_values_supported: vec!["ES256".to_owned()],
            token_endpoint_auth_methods_supported: vec!["none".to_owned()],
            pre_authorized_grant_anonymous_access_supported: true,
            grant_types_supported: grants,
            response_types_supported: vec!["code".to_owned()],
            authorization_response_iss_parameter_supported: true,
            other: Map::new(),
        }
    }
}

/// The well-known URL of a metadata document for an issuer identifier: the well-known segment goes
/// between the host and the path (RFC 8414 §3.1, OpenID4VCI §12.2.2), e.g.
/// `https://h/tenant` + `openid-credential-issuer` → `https://h/.well-known/openid-credential-issuer/tenant`.
pub fn well_known_url(identifier: &str, well_known: &str) -> Option<String> {
    let mut u = url::Url::parse(identifier).ok()?;
    if u.query().is_some() || u.fragment().is_some() || u.cannot_be_a_base() {
        return None;
    }
    let path = u.path().trim_end_matches('/').to_owned();
    u.set_path(&format!("/.well-known/{well_known}{path}"));
    Some(u.to_string())
}

/// The PAR response (RFC 9126 §2.2); `expires_in` must be an integer for the Animo client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParResponse {
    pub request_uri: String,
    pub expires_in: u64,
}

/// The `request_uri` prefix RFC 9126 recommends.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn esspass_metadata_has_what_animo_needs() {
        let m = AuthorizationServerMetadata::esspass(
            "https://127.0.0.1:8443/si",
            "https://127.0.0.1:8443/si/token",
            Some("https://127.0.0.1:8443/si/authorize".into()),
            Some("https://127.0.0.1:8443/si/par".into()),
        );
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(v["dpop_signing_alg_values_supported"], json!(["ES256"]));
        assert_eq!(v["token_endpoint_auth_methods_supported"], json!(["none"]));
        assert_eq!(v["pre-authorized_grant_anonymous_access_supported"], json!(true));
        assert_eq!(v["authorization_response_iss_parameter_supported"], json!(true));
        assert_eq!(v["response_types_supported"], json!(["code"]));
        assert_eq!(v["grant_types_supported"], json!(["urn:ietf:params:oauth:grant-type:pre-authorized_code", "authorization_code"]));
        assert_eq!(v["pushed_authorization_request_endpoint"], "https://127.0.0.1:8443/si/par");
        let back: AuthorizationServerMetadata = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
        let pre_only = AuthorizationServerMetadata::esspass("https://x", "https://x/token", None, None);
        let v = serde_json::to_value(&pre_only).unwrap();
        assert_eq!(v["grant_types_supported"], json!(["urn:ietf:params:oauth:grant-type:pre-authorized_code"]));
        assert!(v.get("pushed_authorization_request_endpoint").is_none());
        assert!(v.get("authorization_endpoint").is_none());
    }

    #[test]
    fn rfc8414_fields_round_trip() {
        // RFC 8414 §3.2 example (subset of members plus unknown ones kept in `other`).
        let v = json!({
            "issuer": "https://server.example.com",
            "authorization_endpoint": "https://server.example.com/authorize",
            "token_endpoint": "https://server.example.com/token",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
            "userinfo_endpoint": "https://server.example.com/userinfo",
            "jwks_uri": "https://server.example.com/jwks.json",
            "registration_endpoint": "https://server.example.com/register",
            "scopes_supported": ["openid", "profile", "email", "address", "phone", "offline_access"],
            "response_types_supported": ["code", "code token"],
            "service_documentation": "http://server.example.com/service_documentation.html",
            "ui_locales_supported": ["en-US", "en-GB", "en-CA", "fr-FR", "fr-CA"],
            "code_challenge_methods_supported": [],
            "dpop_signing_alg_values_supported": [],
            "pre-authorized_grant_anonymous_access_supported": false,
            "grant_types_supported": [],
            "authorization_response_iss_parameter_supported": false
        });
        let m: AuthorizationServerMetadata = serde_json::from_value(v.clone()).unwrap();
        assert!(m.other.contains_key("jwks_uri"));
        assert_eq!(serde_json::to_value(&m).unwrap(), v);
    }

    #[test]
    fn spec_par_response_round_trips() {
        let v = json!({ "request_uri": "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c", "expires_in": 60 });
        let p: ParResponse = serde_json::from_value(v.clone()).unwrap();
        assert!(p.request_uri.starts_with(REQUEST_URI_PREFIX));
        assert_eq!(serde_json::to_value(&p).unwrap(), v);
        assert!(serde_json::from_value::<ParResponse>(json!({"request_uri": "u", "expires_in": 60.5})).is_err());
    }

    #[test]
    fn well_known_urls() {
        assert_eq!(
            well_known_url("https://issuer.example.com/tenant", "openid-credential-issuer").as_deref(),
            Some("https://issuer.example.com/.well-known/openid-credential-issuer/tenant")
        );
        assert_eq!(
            well_known_url("https://tenant.issuer.example.com", "openid-credential-issuer").as_deref(),
            Some("https://tenant.issuer.example.com/.well-known/openid-credential-issuer")
        );
        assert_eq!(
            well_known_url("https://127.0.0.1:8443/si", "oauth-authorization-server").as_deref(),
            Some("https://127.0.0.1:8443/.well-known/oauth-authorization-server/si")
        );
        assert_eq!(well_known_url("https://x/?q=1", "openid-credential-issuer"), None);
    }
}
