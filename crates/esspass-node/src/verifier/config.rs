//! The verifier role's configuration (`role = "verifier"` in `esspass.toml`): who the verifier is
//! (its id in the Verifier Trusted List, its request-signing key and certificate), what it trusts
//! (the trust operator's root, the Issuer and Verifier Trusted Lists), and its profiles — each a
//! purpose with the claims it asks for and the policy it accepts under. Relative paths are resolved
//! against the file's directory.

use crate::config::{ApiKeyConfig, LimitsConfig};
use esspass_core::CredentialType;
use esspass_credential::type_metadata::Selector;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How the wallet sends its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum ResponseMode {
    /// Encrypted to the transaction's ephemeral key (HAIP's mode).
    #[serde(rename = "direct_post.jwt")]
    DirectPostJwt,
    /// A plain form post (only where the profile allows it).
    #[serde(rename = "direct_post")]
    DirectPost,
}

impl ResponseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectPostJwt => "direct_post.jwt",
            Self::DirectPost => "direct_post",
        }
    }
}

/// The client identifier prefix the verifier's requests carry (OpenID4VP 1.0 §5.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientIdPrefix {
    /// `x509_hash:` + base64url SHA-256 of the request-signing certificate (HAIP's choice).
    X509Hash,
    /// `x509_san_dns:` + a DNS name in the certificate's subjectAltName.
    X509SanDns,
}

/// A verification purpose.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// `ehic-healthcare`, `pda1-inspection`, …
    pub name: String,
    pub credential_type: CredentialType,
    /// The claim paths asked for (each a JSON array of names, e.g. `["issuing_authority"]`).
    pub claims: Vec<Vec<Selector>>,
    /// The version of the acceptance policy, written into every verification proof.
    pub policy_version: String,
    /// What the purpose is, shown to the holder.
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default = "default_mode")]
    pub response_mode: ResponseMode,
}

fn default_mode() -> ResponseMode {
    ResponseMode::DirectPostJwt
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierIdentity {
    /// The verifier's id in the Verifier Trusted List (`ES-HULP`).
    pub id: String,
    pub name: String,
    /// The key that signs request objects and verification proofs, and its chain (leaf first).
    pub signing_key: PathBuf,
    pub chain: PathBuf,
    pub tls_key: PathBuf,
    pub tls_chain: PathBuf,
    #[serde(default = "default_prefix")]
    pub client_id_prefix: ClientIdPrefix,
}

fn default_prefix() -> ClientIdPrefix {
    ClientIdPrefix::X509Hash
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// The trust operator's root certificate(s), PEM.
    pub anchor: PathBuf,
    /// The signed Issuer Trusted List: a file or an https URL (fetched trusting `anchor`), read at
    /// start-up and every `refresh_seconds`.
    pub issuer_list: String,
    /// The signed Verifier Trusted List: a file or an https URL.
    pub verifier_list: String,
    /// The offline trust bundle directory (`esspass bundle fetch`, refreshed daily): revocation data
    /// for paper credentials (`POST /api/v1/verifications/paper`). Re-read when its manifest changes.
    #[serde(default)]
    pub offline_bundle: Option<PathBuf>,
    /// The oldest bundle accepted, in seconds since it was issued.
    #[serde(default = "default_bundle_age")]
    pub max_bundle_age: i64,
    /// Read both trusted lists again (file or URL) after this many seconds.
    #[serde(default = "default_refresh")]
    pub refresh_seconds: i64,
}

fn default_refresh() -> i64 {
    300
}

fn default_bundle_age() -> i64 {
    48 * 3600
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerificationConfig {
    /// Seconds a transaction waits for the wallet's answer.
    pub transaction_seconds: i64,
    /// The longest a cached status list is used when its issuer cannot be reached (seconds).
    pub status_max_age: i64,
    /// Refetch a status list after this many seconds when its token gives no `ttl`.
    pub status_default_ttl: i64,
    /// Seconds the disclosed claims of a finished verification are kept (then only the proof and
    /// the checks remain).
    pub keep_claims_seconds: i64,
}

impl Default for VerificationConfig {
    fn default() -> Self {
        Self { transaction_seconds: 300, status_max_age: 86_400, status_default_ttl: 300, keep_claims_seconds: 3_600 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierConfig {
    pub role: crate::config::Role,
    pub listen: SocketAddr,
    /// `https://host:port`, no trailing slash: the base of the request and response URIs.
    pub public_url: String,
    pub database: String,
    #[serde(default = "default_secret")]
    pub secret_file: PathBuf,
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    pub verifier: VerifierIdentity,
    pub trust: TrustConfig,
    #[serde(default)]
    pub verification: VerificationConfig,
    pub profiles: Vec<ProfileConfig>,
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    #[serde(default)]
    pub limits: LimitsConfig,
}

fn default_secret() -> PathBuf {
    PathBuf::from("node.secret")
}

fn default_body() -> usize {
    // A direct_post.jwt answer carries an encrypted presentation: room for a few credentials.
    256 * 1024
}

impl VerifierConfig {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut c: VerifierConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut c.secret_file);
        fix(&mut c.verifier.signing_key);
        fix(&mut c.verifier.chain);
        fix(&mut c.verifier.tls_key);
        fix(&mut c.verifier.tls_chain);
        fix(&mut c.trust.anchor);
        if let Some(b) = c.trust.offline_bundle.as_mut() {
            fix(b);
        }
        for l in [&mut c.trust.issuer_list, &mut c.trust.verifier_list] {
            if !l.contains("://") && Path::new(l.as_str()).is_relative() {
                *l = base.join(l.as_str()).to_string_lossy().into_owned();
            }
        }
        if let Some(rest) = c.database.strip_prefix("sqlite:")
            && !rest.starts_with('/')
            && !rest.starts_with(':')
        {
            c.database = format!("sqlite:{}", base.join(rest).display());
        }
        c.check()?;
        Ok(c)
    }

    /// What can be checked without the keys and lists.
    pub fn check(&self) -> Result<(), String> {
        if self.role != crate::config::Role::Verifier {
            return Err("a verifier configuration needs role = \"verifier\"".into());
        }
        if !self.public_url.starts_with("https://") || self.public_url.ends_with('/') {
            return Err("public_url must be https://host[:port] without a trailing slash".into());
        }
        if self.profiles.is_empty() {
            return Err("at least one [[profiles]] entry is needed".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for p in &self.profiles {
            if !names.insert(p.name.as_str()) {
                return Err(format!("profile {} is defined twice", p.name));
            }
            if p.claims.is_empty() {
                return Err(format!("profile {} asks for no claims", p.name));
            }
        }
        if self.trust.refresh_seconds < 10 {
            return Err("trust.refresh_seconds must be at least 10".into());
        }
        if self.verification.transaction_seconds < 30 || self.verification.transaction_seconds > 3_600 {
            return Err("verification.transaction_seconds must be between 30 and 3600".into());
        }
        for k in &self.api_keys {
            if k.role != crate::config::ApiRole::Verifier {
                return Err(format!("api key {}: a verifier node has only keys of role \"verifier\"", k.name));
            }
        }
        Ok(())
    }

    pub fn profile(&self, name: &str) -> Option<&ProfileConfig> {
        self.profiles.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_documented_example_loads() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verifier.example.toml");
        let c = VerifierConfig::load(&p).unwrap();
        assert_eq!(c.verifier.id, "ES-HULP");
        assert_eq!(c.profiles.len(), 1);
        assert_eq!(c.profiles[0].response_mode, ResponseMode::DirectPostJwt);
        assert!(c.verifier.signing_key.is_absolute() && c.database.starts_with("sqlite:/"));
    }

    #[test]
    fn an_institution_file_is_not_a_verifier_and_keys_are_verifier_keys() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/esspass.example.toml");
        assert!(VerifierConfig::load(&p).is_err());
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verifier.example.toml")).unwrap();
        let dir = std::env::temp_dir().join(format!("esspass-vcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("v.toml"), text.replace("role = \"verifier\"\nsha256", "role = \"back_office\"\nsha256")).unwrap();
        assert!(VerifierConfig::load(&dir.join("v.toml")).unwrap_err().contains("verifier"));
        std::fs::write(dir.join("v.toml"), text.replace("transaction_seconds = 300", "transaction_seconds = 5")).unwrap();
        assert!(VerifierConfig::load(&dir.join("v.toml")).is_err());
    }
}
