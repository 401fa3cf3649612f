//! Token endpoint (OpenID4VCI 1.0 §6, RFC 6749 §4.1.3): the form-encoded request and the response.

use super::error::{ErrorCode, ErrorResponse};
use super::offer::{AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_CODE_GRANT};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The grant a token request redeems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenGrant {
    /// `urn:ietf:params:oauth:grant-type:pre-authorized_code`.
    PreAuthorizedCode {
        pre_authorized_code: String,
        /// From `tx_code`, or from `user_pin` (the Animo client sends both with the same value).
        tx_code: Option<String>,
    },
    /// `authorization_code`.
    AuthorizationCode { code: String, code_verifier: Option<String>, redirect_uri: Option<String> },
}

/// A parsed token request. Unknown parameters are ignored (RFC 6749 §3.2).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRequest {
    pub grant: TokenGrant,
    pub client_id: Option<String>,
    /// RFC 8707; the Animo client sends the credential issuer identifier.
    pub resource: Option<String>,
    pub authorization_details: Option<Vec<AuthorizationDetail>>,
}

impl TokenRequest {
    /// Parse an `application/x-www-form-urlencoded` body.
    pub fn from_form(body: &[u8]) -> Result<Self, ErrorResponse> {
        Self::from_pairs(url::form_urlencoded::parse(body))
    }

    /// Parse decoded form pairs. A parameter sent twice is refused, one sent empty counts as
    /// absent (RFC 6749 §3.2).
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Self, ErrorResponse>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut p: Map<String, Value> = Map::new();
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            if v.is_empty() {
                continue;
            }
            if p.insert(k.to_owned(), Value::String(v.to_owned())).is_some() {
                return Err(invalid(format!("the parameter {k} is repeated")));
            }
        }
        let take = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
        let grant_type = take("grant_type").ok_or_else(|| invalid("grant_type is missing"))?;
        let tx_code = match (take("tx_code"), take("user_pin")) {
            (Some(a), Some(b)) if a != b => return Err(invalid("tx_code and user_pin differ")),
            (a, b) => a.or(b),
        };
        let grant = match grant_type.as_str() {
            PRE_AUTHORIZED_CODE_GRANT => TokenGrant::PreAuthorizedCode {
                pre_authorized_code: take("pre-authorized_code").ok_or_else(|| invalid("pre-authorized_code is missing"))?,
                tx_code,
            },
            AUTHORIZATION_CODE_GRANT => {
                if tx_code.is_some() {
                    return Err(invalid("tx_code is only used with the pre-authorized code grant"));
                }
                TokenGrant::AuthorizationCode {
                    code: take("code").ok_or_else(|| invalid("code is missing"))?,
                    code_verifier: take("code_verifier"),
                    redirect_uri: take("redirect_uri"),
                }
            }
            other => {
                return Err(ErrorResponse::new(ErrorCode::UnsupportedGrantType, format!("grant_type {other} is not supported")));
            }
        };
        let authorization_details = match take("authorization_details") {
            None => None,
            Some(s) => Some(parse_authorization_details(&s)?),
        };
        Ok(Self { grant, client_id: take("client_id"), resource: take("resource"), authorization_details })
    }
}

fn invalid(d: impl AsRef<str>) -> ErrorResponse {
    ErrorResponse::new(ErrorCode::InvalidRequest, d)
}

/// Parse the `authorization_details` parameter (RFC 9396): a non-empty JSON array of objects; each
/// of type `openid_credential` needs a `credential_configuration_id`.
pub fn parse_authorization_details(s: &str) -> Result<Vec<AuthorizationDetail>, ErrorResponse> {
    let v = esspass_credential::json::parse(s.as_bytes(), "authorization_details").map_err(|e| invalid(e.detail))?;
    let details: Vec<AuthorizationDetail> =
        serde_json::from_value(v).map_err(|e| invalid(format!("authorization_details is not an array of authorization details: {e}")))?;
    if details.is_empty() {
        return Err(invalid("authorization_details is empty"));
    }
    if details.iter().any(|d| d.r#type == OPENID_CREDENTIAL && d.credential_configuration_id.is_none()) {
        return Err(invalid("an openid_credential authorization detail needs a credential_configuration_id"));
    }
    Ok(details)
}

/// The authorization details type of OpenID4VCI (§5.1.1).
pub const OPENID_CREDENTIAL: &str = "openid_credential";

/// An authorization details object (RFC 9396), as OpenID4VCI uses it in requests and token responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationDetail {
    #[serde(rename = "type")]
    pub r#type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_configuration_id: Option<String>,
    /// Token response only: the datasets the access token can obtain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_identifiers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<Value>>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenType {
    /// What esspass issues (HAIP): sender-constrained to the DPoP key.
    DPoP,
    Bearer,
}

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: TokenType,
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<Vec<AuthorizationDetail>>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl TokenResponse {
    /// A DPoP-bound access token.
    pub fn dpop(access_token: impl Into<String>, expires_in: u64) -> Self {
        Self { access_token: access_token.into(), token_type: TokenType::DPoP, expires_in, authorization_details: None, other: Map::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: &str) -> Result<TokenRequest, ErrorResponse> {
        TokenRequest::from_form(body.as_bytes())
    }

    #[test]
    fn spec_pre_authorized_request() {
        let r = parse(
            "grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code&pre-authorized_code=SplxlOBeZQQYbYS6WxSbIA&tx_code=493536\
             &authorization_details=%5B%7B%22type%22%3A%20%22openid_credential%22%2C%20%22credential_configuration_id%22%3A%20%22UniversityDegreeCredential%22%7D%5D",
        )
        .unwrap();
        assert_eq!(r.grant, TokenGrant::PreAuthorizedCode { pre_authorized_code: "SplxlOBeZQQYbYS6WxSbIA".into(), tx_code: Some("493536".into()) });
        let d = r.authorization_details.unwrap();
        assert_eq!(d[0].credential_configuration_id.as_deref(), Some("UniversityDegreeCredential"));
    }

    #[test]
    fn spec_authorization_code_request() {
        let r = parse("grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&redirect_uri=https%3A%2F%2Fwallet.example.org%2Fcb").unwrap();
        assert_eq!(
            r.grant,
            TokenGrant::AuthorizationCode {
                code: "SplxlOBeZQQYbYS6WxSbIA".into(),
                code_verifier: Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()),
                redirect_uri: Some("https://wallet.example.org/cb".into()),
            }
        );
    }

    #[test]
    fn animo_request_with_user_pin_and_resource() {
        let r = parse("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=abc&tx_code=1234&user_pin=1234&resource=https%3A%2F%2F127.0.0.1%3A8443%2Fsi").unwrap();
        assert_eq!(r.grant, TokenGrant::PreAuthorizedCode { pre_authorized_code: "abc".into(), tx_code: Some("1234".into()) });
        assert_eq!(r.resource.as_deref(), Some("https://127.0.0.1:8443/si"));
        let only_pin = parse("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=abc&user_pin=42").unwrap();
        assert_eq!(only_pin.grant, TokenGrant::PreAuthorizedCode { pre_authorized_code: "abc".into(), tx_code: Some("42".into()) });
    }

    #[test]
    fn token_request_errors() {
        let pre = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code";
        for (body, code) in [
            ("", ErrorCode::InvalidRequest),
            ("pre-authorized_code=abc", ErrorCode::InvalidRequest),
            ("grant_type=password&username=a", ErrorCode::UnsupportedGrantType),
            ("grant_type=client_credentials", ErrorCode::UnsupportedGrantType),
            (pre, ErrorCode::InvalidRequest),
            (&format!("{pre}&pre-authorized_code="), ErrorCode::InvalidRequest),
            (&format!("{pre}&pre-authorized_code=a&pre-authorized_code=b"), ErrorCode::InvalidRequest),
            (&format!("{pre}&pre-authorized_code=a&tx_code=1&user_pin=2"), ErrorCode::InvalidRequest),
            (&format!("{pre}&pre-authorized_code=a&authorization_details=%7B%7D"), ErrorCode::InvalidRequest),
            (&format!("{pre}&pre-authorized_code=a&authorization_details=%5B%5D"), ErrorCode::InvalidRequest),
            (&format!("{pre}&pre-authorized_code=a&authorization_details=%5B%7B%22type%22%3A%22openid_credential%22%7D%5D"), ErrorCode::InvalidRequest),
            ("grant_type=authorization_code", ErrorCode::InvalidRequest),
            ("grant_type=authorization_code&code=x&tx_code=1", ErrorCode::InvalidRequest),
        ] {
            let e = parse(body).unwrap_err();
            assert_eq!(e.error, code, "{body}: {e}");
            assert!(e.error_description.is_some());
        }
    }

    #[test]
    fn spec_token_response_round_trips() {
        let text = r#"{
  "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6Ikp..sHQ",
  "token_type": "Bearer",
  "expires_in": 86400,
  "authorization_details": [
    {
      "type": "openid_credential",
      "credential_configuration_id": "UniversityDegreeCredential",
      "credential_identifiers": [
        "CivilEngineeringDegree-2023",
        "ElectricalEngineeringDegree-2023"
      ]
    }
  ]
}"#;
        let r: TokenResponse = serde_json::from_str(text).unwrap();
        assert_eq!(r.token_type, TokenType::Bearer);
        assert_eq!(serde_json::to_value(&r).unwrap(), serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(
            serde_json::to_value(TokenResponse::dpop("tok", 300)).unwrap(),
            json!({"access_token": "tok", "token_type": "DPoP", "expires_in": 300})
        );
    }
}
