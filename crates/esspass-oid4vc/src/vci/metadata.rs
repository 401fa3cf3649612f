//! Credential Issuer Metadata (OpenID4VCI 1.0 §12.2), served at
//! `/.well-known/openid-credential-issuer`.
//!
//! Parameters this crate does not model are kept in `other` so a document round-trips.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::num::NonZeroU32;

/// The credential format esspass issues.
pub const FORMAT_DC_SD_JWT: &str = "dc+sd-jwt";
/// The only signing algorithm esspass uses and accepts.
pub const ES256: &str = "ES256";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialIssuerMetadata {
    pub credential_issuer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_servers: Option<Vec<String>>,
    pub credential_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_credential_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_credential_issuance: Option<BatchCredentialIssuance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Vec<Display>>,
    pub credential_configurations_supported: BTreeMap<String, CredentialConfiguration>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCredentialIssuance {
    /// At least 2 per the specification; the type only rules out 0.
    pub batch_size: NonZeroU32,
}

/// A display entry (issuer, credential or claim display): every member but `name`/`locale` is
/// optional, unknown members are kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Display {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Display {
    /// A display entry with a name and a locale.
    pub fn named(name: impl Into<String>, locale: impl Into<String>) -> Self {
        Self { name: Some(name.into()), locale: Some(locale.into()), ..Self::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logo {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialConfiguration {
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cryptographic_binding_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_types_supported: Option<BTreeMap<String, ProofTypeMetadata>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_metadata: Option<CredentialMetadata>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl CredentialConfiguration {
    /// An SD-JWT VC configuration as esspass publishes it: `dc+sd-jwt`, the `vct`, a `scope`,
    /// `jwk` binding, ES256 for the credential and for `jwt` key proofs, and `credential_metadata`
    /// (without which the Animo client does not recognise OpenID4VCI 1.0).
    pub fn sd_jwt_vc(vct: impl Into<String>, scope: impl Into<String>, display: Vec<Display>, claims: Vec<ClaimDescription>) -> Self {
        let mut proof_types = BTreeMap::new();
        proof_types.insert(
            "jwt".to_owned(),
            ProofTypeMetadata { proof_signing_alg_values_supported: vec![ES256.to_owned()], key_attestations_required: None },
        );
        Self {
            format: FORMAT_DC_SD_JWT.to_owned(),
            scope: Some(scope.into()),
            cryptographic_binding_methods_supported: Some(vec!["jwk".to_owned()]),
            credential_signing_alg_values_supported: Some(vec![ES256.to_owned()]),
            proof_types_supported: Some(proof_types),
            vct: Some(vct.into()),
            credential_metadata: Some(CredentialMetadata {
                display: Some(display),
                claims: Some(claims),
                other: Map::new(),
            }),
            other: Map::new(),
        }
    }

    /// Why the Animo client (and our own wallet) would drop this configuration, if it would.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.format != FORMAT_DC_SD_JWT {
            p.push(format!("format is {:?}, not {FORMAT_DC_SD_JWT}", self.format));
        }
        if self.vct.as_deref().is_none_or(str::is_empty) {
            p.push("no vct".to_owned());
        }
        if self.scope.is_none() {
            p.push("no scope".to_owned());
        }
        if self.credential_metadata.is_none() {
            p.push("no credential_metadata".to_owned());
        }
        let jwt_es256 = self
            .proof_types_supported
            .as_ref()
            .and_then(|m| m.get("jwt"))
            .is_some_and(|j| j.proof_signing_alg_values_supported.iter().any(|a| a == ES256));
        if !jwt_es256 {
            p.push("proof_types_supported.jwt does not list ES256".to_owned());
        }
        p
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofTypeMetadata {
    pub proof_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_attestations_required: Option<Value>,
}

/// `credential_metadata`: how the wallet shows the credential and its claims.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CredentialMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Vec<Display>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimDescription>>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A claims description (§12.2.4 / Appendix B.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimDescription {
    pub path: Vec<ClaimPathElement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Vec<Display>>,
}

impl ClaimDescription {
    /// A claim at a path of object member names.
    pub fn at(path: &[&str], display: Vec<Display>) -> Self {
        Self {
            path: path.iter().map(|s| ClaimPathElement::Name((*s).to_owned())).collect(),
            mandatory: None,
            display: (!display.is_empty()).then_some(display),
        }
    }
}

/// A claims path pointer element: a member name, an array index, or `null` (every element).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClaimPathElement {
    Name(String),
    Index(u64),
    AllElements,
}

impl CredentialIssuerMetadata {
    /// Self-check before publishing: the issuer identifier is an `https` URL without query or
    /// fragment, and every configuration passes [`CredentialConfiguration::problems`].
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        match url::Url::parse(&self.credential_issuer) {
            Ok(u) if u.scheme() == "https" && u.query().is_none() && u.fragment().is_none() => {}
            _ => p.push(format!("credential_issuer {:?} is not an https URL without query and fragment", self.credential_issuer)),
        }
        if self.credential_configurations_supported.is_empty() {
            p.push("no credential configurations".to_owned());
        }
        for (id, c) in &self.credential_configurations_supported {
            p.extend(c.problems().into_iter().map(|m| format!("configuration {id}: {m}")));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// OpenID4VCI 1.0, examples/credential_issuer_metadata_sd_jwt_long.json.
    const SPEC_METADATA: &str = r##"{
  "credential_issuer": "https://credential-issuer.example.com",
  "authorization_servers": [
    "https://server.example.com"
  ],
  "credential_endpoint": "https://credential-issuer.example.com/credential",
  "nonce_endpoint": "https://credential-issuer.example.com/nonce",
  "deferred_credential_endpoint": "https://credential-issuer.example.com/deferred_credential",
  "notification_endpoint": "https://credential-issuer.example.com/notification",
  "credential_request_encryption": {
    "jwks": {
      "keys": [
        {
          "kty":"EC", "kid":"ac", "use":"enc", "crv":"P-256", "alg":"ECDH-ES",
          "x":"YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk",
          "y":"Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk"
        }
      ]
    },
    "enc_values_supported": ["A128GCM"],
    "zip_values_supported": ["DEF"],
    "encryption_required": true
  },
  "credential_response_encryption": {
    "alg_values_supported": ["ECDH-ES"],
    "enc_values_supported": ["A128GCM"],
    "zip_values_supported": ["DEF"],
    "encryption_required": true
  },
  "batch_credential_issuance": {
    "batch_size": 10
  },
  "display": [
    {
      "name": "Example University",
      "locale": "en-US",
      "logo": {
        "uri": "https://university.example.edu/public/logo.png",
        "alt_text":"a square logo of a university"
      }
    },
    {
      "name": "Example Université",
      "locale": "fr-FR",
      "logo": {
        "uri": "https://university.example.edu/public/logo.png",
        "alt_text":"Un logo universitaire carré"
      }
    }
  ],
  "credential_configurations_supported": {
    "SD_JWT_VC_example_in_OpenID4VCI": {
      "format": "dc+sd-jwt",
      "scope": "SD_JWT_VC_example_in_OpenID4VCI",
      "credential_signing_alg_values_supported": ["ES256"],
      "cryptographic_binding_methods_supported": ["jwk"],
      "proof_types_supported": {
        "jwt": {
          "proof_signing_alg_values_supported": ["ES256"],
          "key_attestations_required": {
            "key_storage": ["iso_18045_moderate"],
            "user_authentication": ["iso_18045_moderate"]
          }
        }
      },
      "vct": "SD_JWT_VC_example_in_OpenID4VCI",
      "credential_metadata": {
        "display": [
          {
            "name": "IdentityCredential",
            "locale": "en-US",
            "logo": {
              "uri": "https://university.example.edu/public/logo_credential.png",
              "alt_text": "a square logo of a university credential"
            },
            "description": "A credential that signals the membership of a university",
            "background_color": "#12107c",
            "text_color": "#FFFFFF"
          }
        ],
        "claims": [
          {
            "path": ["given_name"],
            "display": [
              {
                "name": "Given Name",
                "locale": "en-US"
              },
              {
                "name": "Vorname",
                "locale": "de-DE"
              }
            ]
          },
          {
            "path": ["family_name"],
            "display": [
              {
                "name": "Surname",
                "locale": "en-US"
              },
              {
                "name": "Nachname",
                "locale": "de-DE"
              }
            ]
          },
          {"path": ["email"]},
          {"path": ["phone_number"]},
          {
            "path": ["address"],
            "display": [
              {
                "name": "Place of residence",
                "locale": "en-US"
              },
              {
                "name": "Wohnsitz",
                "locale": "de-DE"
              }
            ]
          },
          {"path": ["address", "street_address"]},
          {"path": ["address", "locality"]},
          {"path": ["address", "region"]},
          {"path": ["address", "country"]},
          {"path": ["birthdate"]},
          {"path": ["is_over_18"]},
          {"path": ["is_over_21"]},
          {"path": ["is_over_65"]}
        ]
      }
    }
  }
}"##;

    #[test]
    fn spec_metadata_round_trips() {
        let original: Value = serde_json::from_str(SPEC_METADATA).unwrap();
        let m: CredentialIssuerMetadata = serde_json::from_str(SPEC_METADATA).unwrap();
        assert_eq!(m.batch_credential_issuance.unwrap().batch_size.get(), 10);
        let c = &m.credential_configurations_supported["SD_JWT_VC_example_in_OpenID4VCI"];
        assert_eq!(c.vct.as_deref(), Some("SD_JWT_VC_example_in_OpenID4VCI"));
        assert!(m.other.contains_key("credential_response_encryption"));
        assert_eq!(serde_json::to_value(&m).unwrap(), original);
        assert!(m.problems().is_empty(), "{:?}", m.problems());
    }

    #[test]
    fn built_configuration_has_what_the_animo_client_needs() {
        let c = CredentialConfiguration::sd_jwt_vc(
            "urn:eu.europa.ec.eessi:ehic:1",
            "ehic",
            vec![Display::named("EHIC", "en")],
            vec![ClaimDescription::at(&["personal_id"], vec![Display::named("Personal id", "en")])],
        );
        assert!(c.problems().is_empty());
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["format"], "dc+sd-jwt");
        assert_eq!(v["cryptographic_binding_methods_supported"], json!(["jwk"]));
        assert_eq!(v["credential_signing_alg_values_supported"], json!(["ES256"]));
        assert_eq!(v["proof_types_supported"], json!({"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}));
        assert_eq!(v["credential_metadata"]["claims"][0]["path"], json!(["personal_id"]));
        assert_eq!(v["credential_metadata"]["display"][0]["name"], "EHIC");
    }

    #[test]
    fn problems_are_found() {
        let mut c = CredentialConfiguration::sd_jwt_vc("urn:x", "x", vec![], vec![]);
        c.vct = None;
        c.credential_metadata = None;
        c.proof_types_supported = None;
        c.format = "mso_mdoc".into();
        assert_eq!(c.problems().len(), 4);
        let mut configs = BTreeMap::new();
        configs.insert("x".to_owned(), c);
        let m = CredentialIssuerMetadata {
            credential_issuer: "http://issuer.example/".into(),
            authorization_servers: None,
            credential_endpoint: "https://issuer.example/credential".into(),
            nonce_endpoint: None,
            deferred_credential_endpoint: None,
            notification_endpoint: None,
            batch_credential_issuance: None,
            display: None,
            credential_configurations_supported: configs,
            other: Map::new(),
        };
        assert_eq!(m.problems().len(), 5);
    }

    #[test]
    fn claim_paths_and_batch_size() {
        let p: Vec<ClaimPathElement> = serde_json::from_value(json!(["a", 0, null])).unwrap();
        assert_eq!(p, vec![ClaimPathElement::Name("a".into()), ClaimPathElement::Index(0), ClaimPathElement::AllElements]);
        assert_eq!(serde_json::to_value(&p).unwrap(), json!(["a", 0, null]));
        assert!(serde_json::from_value::<BatchCredentialIssuance>(json!({"batch_size": 0})).is_err());
    }
}
