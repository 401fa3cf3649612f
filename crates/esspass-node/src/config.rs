//! The node's configuration file (`esspass.toml`). Relative paths are resolved against the file's
//! directory. Every key is documented in the README's example configuration.

use esspass_core::{Country, CredentialType, InstitutionId};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Institution,
}

/// Who an API key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiRole {
    /// The institution's own back-office systems.
    BackOffice,
    /// An employer's payroll system: only its own workers.
    Employer,
    CaseWorker,
    Auditor,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    pub name: String,
    pub role: ApiRole,
    /// base64url SHA-256 of the key (`esspass_store::hash_secret`); the key itself is never stored.
    pub sha256: String,
    #[serde(default)]
    pub employer_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionConfig {
    pub id: InstitutionId,
    pub name: String,
    pub country: Country,
    /// The competent institution's full name (`authentic_source.name`); defaults to `name`.
    #[serde(default)]
    pub source_name: Option<String>,
    pub signing_key: PathBuf,
    pub chain: PathBuf,
    pub tls_key: PathBuf,
    pub tls_chain: PathBuf,
    pub credential_types: Vec<CredentialType>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusConfig {
    pub list_size: u64,
    pub bits: u8,
    /// Seconds verifiers may cache a list.
    pub ttl: i64,
    /// Seconds a signed list token is valid; it is re-signed at half-life.
    pub token_lifetime: i64,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self { list_size: 1_048_576, bits: 2, ttl: 300, token_lifetime: 86_400 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuanceConfig {
    pub offer_lifetime: i64,
    pub access_token_lifetime: i64,
    pub c_nonce_lifetime: i64,
    pub tx_code_length: u32,
    pub max_tx_code_attempts: i64,
    pub batch_size: u32,
    /// Credential validity (`exp`) in days.
    pub credential_days: i64,
    /// Require DPoP server nonces (RFC 9449 §8) at the token, credential and notification endpoints.
    pub require_dpop_nonce: bool,
    /// A file with the secret DPoP nonces are derived from (shared by every process of one
    /// institution; created with 32 random bytes, mode 0600, if missing). Without it each process
    /// draws its own secret at start.
    pub dpop_nonce_secret_file: Option<PathBuf>,
}

impl Default for IssuanceConfig {
    fn default() -> Self {
        Self {
            offer_lifetime: 900,
            access_token_lifetime: 300,
            c_nonce_lifetime: 300,
            tx_code_length: 6,
            max_tx_code_attempts: 5,
            batch_size: 4,
            credential_days: 365,
            require_dpop_nonce: true,
            dpop_nonce_secret_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub role: Role,
    pub listen: SocketAddr,
    /// The credential issuer identifier: `https://host:port`, no trailing slash.
    pub public_url: String,
    /// `sqlite:PATH` or `postgres://…`.
    pub database: String,
    pub institution: InstitutionConfig,
    #[serde(default)]
    pub status: StatusConfig,
    #[serde(default)]
    pub issuance: IssuanceConfig,
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_body_limit")]
    pub max_body_bytes: usize,
}

fn default_body_limit() -> usize {
    64 * 1024
}

impl NodeConfig {
    /// Read and check a configuration file; paths become absolute.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut c: NodeConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(p) = c.issuance.dpop_nonce_secret_file.as_mut().filter(|p| p.is_relative()) {
            *p = base.join(&*p);
        }
        for p in [&mut c.institution.signing_key, &mut c.institution.chain, &mut c.institution.tls_key, &mut c.institution.tls_chain] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(rest) = c.database.strip_prefix("sqlite:") {
            let p = Path::new(rest.split('?').next().unwrap_or(rest));
            if p.is_relative() {
                c.database = format!("sqlite:{}", base.join(rest).display());
            }
        }
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), String> {
        if !self.public_url.starts_with("https://") || self.public_url.ends_with('/') {
            return Err("public_url must be an https URL without a trailing slash".into());
        }
        if !matches!(self.status.bits, 1 | 2 | 4 | 8) || self.status.list_size == 0 || !self.status.list_size.is_multiple_of(8) {
            return Err("status.bits must be 1, 2, 4 or 8 and status.list_size a positive multiple of 8".into());
        }
        if self.issuance.batch_size == 0 || !(4..=8).contains(&self.issuance.tx_code_length) {
            return Err("issuance.batch_size ≥ 1 and issuance.tx_code_length 4–8".into());
        }
        if self.institution.credential_types.is_empty() {
            return Err("institution.credential_types is empty".into());
        }
        for k in &self.api_keys {
            if (k.role == ApiRole::Employer) != k.employer_id.is_some() {
                return Err(format!("api key {}: employer_id is required for, and only for, the employer role", k.name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_loads() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/esspass.example.toml");
        let c = NodeConfig::load(&p).unwrap();
        assert_eq!(c.institution.id.to_string(), "SI:ZZZS");
        assert_eq!(c.status.list_size, 1_048_576);
        assert_eq!(c.api_keys.len(), 2);
        assert!(c.institution.signing_key.is_absolute());
        assert!(c.database.starts_with("sqlite:/"));
        // The README shows the same file.
        let example = std::fs::read_to_string(&p).unwrap();
        let readme = include_str!("../../../README.md");
        assert!(readme.contains(example.trim()), "README.md and docs/esspass.example.toml differ");
    }

    #[test]
    fn bad_configurations_are_refused() {
        let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/esspass.example.toml")).unwrap();
        let dir = std::env::temp_dir().join(format!("esspass-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (from, to) in [
            ("public_url = \"https://127.0.0.1:8442\"", "public_url = \"http://127.0.0.1:8442\""),
            ("bits = 2", "bits = 3"),
            ("role = \"auditor\"", "role = \"employer\""),
            ("tx_code_length = 6", "tx_code_length = 2"),
            ("ttl = 300", "ttl = 300\nunknown_key = 1"),
        ] {
            let p = dir.join("c.toml");
            std::fs::write(&p, base.replace(from, to)).unwrap();
            assert!(NodeConfig::load(&p).is_err(), "accepted: {to}");
        }
    }
}
