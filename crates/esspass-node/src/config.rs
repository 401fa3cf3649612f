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
    /// A relying party (hospital, labour inspectorate): OpenID4VP transactions, verification proofs
    /// (`crate::verifier`).
    Verifier,
    /// A PID provider: the institution node issuing only PIDs (`urn:eudi:pid:1`) to the people of
    /// its register, with which institutions then sign them in.
    #[serde(alias = "pid-provider")]
    PidProvider,
    /// The trust operator's publication point: trusted lists, Institution Repository, offline
    /// bundle (`crate::trust`).
    Trust,
    /// The single entry point: procedure and country → the competent institution's portal
    /// (`crate::gateway`).
    Gateway,
    /// The web wallet for people without an EUDI wallet app (`crate::webwallet`).
    Wallet,
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
    /// A verifier's own systems (the hospital desk, the inspector's device): start a verification,
    /// read its result and proof.
    Verifier,
}

impl ApiRole {
    /// The role as the configuration names it (`back_office`, `case_worker`, …).
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
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
    /// Share of a list (percent) handed out before the next list starts: random indexes stay cheap
    /// to find and a list never fills up.
    pub max_fill_percent: u8,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self { list_size: 1_048_576, bits: 2, ttl: 300, token_lifetime: 86_400, max_fill_percent: 50 }
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

/// The EESSI access point: where the Institution Repository comes from and what is trusted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EessiConfig {
    /// The trust operator's root certificate(s), PEM: the repository's signer, other access points'
    /// messages, receipts and TLS chain to it.
    pub trust_anchor: PathBuf,
    /// The signed Institution Repository: a file or an https URL.
    pub repository: String,
    /// Seconds between two runs of the outbox worker.
    #[serde(default = "default_eessi_interval")]
    pub deliver_every_seconds: u64,
    /// Read the repository again after this many seconds.
    #[serde(default = "default_repository_refresh")]
    pub refresh_seconds: i64,
    /// Seconds between two runs of the case timers (reminders and automatic closures).
    #[serde(default = "default_timers_interval")]
    pub timers_every_seconds: i64,
}

fn default_timers_interval() -> i64 {
    3600
}

fn default_repository_refresh() -> i64 {
    300
}

fn default_eessi_interval() -> u64 {
    2
}

/// Sign-in with a PID: the institution runs its own OpenID4VP transaction (as a relying party in the
/// Verifier Trusted List, with a request-signing certificate of its own) and matches the presented
/// PID to its record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PidSignInConfig {
    /// The institution's id in the Verifier Trusted List.
    pub verifier_id: String,
    /// The key that signs the request objects, and its chain (relying-party certificate, leaf first).
    pub signing_key: PathBuf,
    pub chain: PathBuf,
    /// The trust operator's root certificate(s), PEM.
    pub trust_anchor: PathBuf,
    /// The signed Issuer Trusted List (which PID providers are trusted) and Verifier Trusted List.
    pub issuer_list: PathBuf,
    pub verifier_list: PathBuf,
    /// Seconds the person has to present the PID.
    #[serde(default = "default_pid_seconds")]
    pub transaction_seconds: i64,
}

fn default_pid_seconds() -> i64 {
    300
}

/// The authorization-code flow's sign-in: with a PID over OpenID4VP (`[sign_in.pid]`) and, as a
/// clearly marked fallback for demonstrations, the demo eID form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignInConfig {
    /// Sign people in with a PID from their wallet.
    pub pid: Option<PidSignInConfig>,
    /// Offer the demo eID form (names, birth date, personal number). Off unless asked: `esspass
    /// demo` turns it on beside the PID sign-in.
    pub demo_eid: bool,
    /// Sign-in attempts per client address in one window.
    pub max_attempts_per_address: i64,
    /// Sign-in attempts per personal number in one window.
    pub max_attempts_per_person: i64,
    /// The window, in seconds; a locked-out address or number waits for the next one.
    pub window: i64,
}

impl Default for SignInConfig {
    fn default() -> Self {
        Self { pid: None, demo_eid: false, max_attempts_per_address: 20, max_attempts_per_person: 5, window: 900 }
    }
}

/// A wallet known to the node: only these may use the authorization-code flow, and only with
/// their registered redirect URIs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    /// Require an OAuth client attestation (HAIP wallet attestation) from one of the configured
    /// `wallet_providers` at the PAR and token endpoints.
    #[serde(default)]
    pub require_attestation: bool,
}

/// A wallet provider whose client attestations (`OAuth-Client-Attestation`) the node accepts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletProviderConfig {
    pub name: String,
    /// The provider's attestation-signing public key as a JWK file (P-256).
    pub jwk: PathBuf,
}

/// Limits for strangers: connections, timeouts and the rate of unauthenticated requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Unauthenticated requests (OpenID4VCI, sign-in, offers, status) per client address per
    /// minute; more get 429 with `Retry-After`.
    pub requests_per_minute: u32,
    /// Open connections at once; more are closed at accept.
    pub max_connections: usize,
    /// Seconds a client has to send the request headers (also while a kept-alive connection idles).
    pub header_read_timeout: u64,
    /// Seconds a request may take, body included.
    pub request_timeout: u64,
    /// Seconds a connection may stay open in all.
    pub connection_lifetime: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self { requests_per_minute: 600, max_connections: 512, header_read_timeout: 10, request_timeout: 30, connection_lifetime: 300 }
    }
}

/// The audit trail's checkpoints outside the database.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// A file the node appends every signed checkpoint to (one JSON line each), outside the
    /// database: `esspass audit verify --checkpoints FILE` holds the database against it.
    pub checkpoint_file: Option<PathBuf>,
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
    /// The node secret (32 random bytes, base64url; created with mode 0600 if missing): single-use
    /// values are stored as HMACs under it. Kept outside the database; every process of one
    /// institution shares it. Default: `node.secret` beside the configuration file.
    #[serde(default = "default_secret_file")]
    pub secret_file: PathBuf,
    #[serde(default)]
    pub sign_in: SignInConfig,
    /// The EESSI access point (absent: the node exchanges no SEDs).
    #[serde(default)]
    pub eessi: Option<EessiConfig>,
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    #[serde(default)]
    pub wallet_providers: Vec<WalletProviderConfig>,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub audit: AuditConfig,
    /// The institution's staff who sign in with their PID (`[sign_in.pid]` needed): each a role of
    /// the API for the length of a session (`crate::staff`).
    #[serde(default)]
    pub staff: Vec<StaffConfig>,
    /// One API identity per staff member (`staff:{name}`), made at load: what a staff session
    /// token authorizes as.
    #[serde(skip)]
    pub staff_keys: Vec<ApiKeyConfig>,
}

/// A member of staff who signs in with a PID: matched on the PID's personal number, names (after
/// Unicode normalisation) and birth date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffConfig {
    /// Who, in the audit trail (`staff:{name}`): letters, digits, `.`, `-`, `_`.
    pub name: String,
    /// `back_office`, `case_worker` or `auditor`.
    pub role: ApiRole,
    /// The PID's `personal_administrative_number`.
    pub personal_number: String,
    pub family_name: String,
    pub given_name: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
}

fn default_secret_file() -> PathBuf {
    PathBuf::from("node.secret")
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
        for p in [c.issuance.dpop_nonce_secret_file.as_mut(), c.audit.checkpoint_file.as_mut(), Some(&mut c.secret_file)].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(e) = c.eessi.as_mut() {
            if e.trust_anchor.is_relative() {
                e.trust_anchor = base.join(&e.trust_anchor);
            }
            if !e.repository.contains("://") && Path::new(&e.repository).is_relative() {
                e.repository = base.join(&e.repository).to_string_lossy().into_owned();
            }
        }
        if let Some(p) = c.sign_in.pid.as_mut() {
            for f in [&mut p.signing_key, &mut p.chain, &mut p.trust_anchor, &mut p.issuer_list, &mut p.verifier_list] {
                if f.is_relative() {
                    *f = base.join(&*f);
                }
            }
        }
        for w in &mut c.wallet_providers {
            if w.jwk.is_relative() {
                w.jwk = base.join(&w.jwk);
            }
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
        c.staff_keys = c.staff.iter().map(|m| ApiKeyConfig { name: format!("staff:{}", m.name), role: m.role, sha256: String::new(), employer_id: None }).collect();
        Ok(c)
    }

    /// What serving needs beyond a well-formed file: no placeholder left in an API key.
    pub fn check_for_serving(&self) -> Result<(), String> {
        for k in &self.api_keys {
            if k.sha256.starts_with("REPLACE") || k.sha256.len() != 43 {
                return Err(format!("api key {}: sha256 must be the key's base64url SHA-256 (43 characters; see the README), not {:?}", k.name, k.sha256));
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), String> {
        match self.role {
            Role::Institution if self.institution.credential_types.contains(&CredentialType::Pid) => {
                return Err("institution.credential_types: a social security institution does not issue PIDs (role = \"pid_provider\" does)".into());
            }
            Role::PidProvider if self.institution.credential_types != [CredentialType::Pid] => {
                return Err("a PID provider issues PIDs only: institution.credential_types = [\"pid\"]".into());
            }
            Role::Institution | Role::PidProvider => {}
            Role::Verifier | Role::Trust | Role::Gateway | Role::Wallet => return Err("this is not an institution configuration (role = \"institution\" or \"pid_provider\")".into()),
        }
        if !self.public_url.starts_with("https://") || self.public_url.ends_with('/') {
            return Err("public_url must be an https URL without a trailing slash".into());
        }
        if !matches!(self.status.bits, 1 | 2 | 4 | 8) || self.status.list_size == 0 || !self.status.list_size.is_multiple_of(8) {
            return Err("status.bits must be 1, 2, 4 or 8 and status.list_size a positive multiple of 8".into());
        }
        if !(1..=90).contains(&self.status.max_fill_percent) {
            return Err("status.max_fill_percent must be 1–90".into());
        }
        if self.issuance.batch_size == 0 || !(4..=8).contains(&self.issuance.tx_code_length) {
            return Err("issuance.batch_size ≥ 1 and issuance.tx_code_length 4–8".into());
        }
        for k in &self.api_keys {
            if k.name.starts_with("staff:") {
                return Err(format!("api key {}: names starting with staff: are kept for staff sessions", k.name));
            }
        }
        if !self.staff.is_empty() && self.sign_in.pid.is_none() {
            return Err("[[staff]] sign in with a PID: configure [sign_in.pid]".into());
        }
        let mut names = std::collections::HashSet::new();
        for m in &self.staff {
            if m.name.is_empty() || m.name.len() > 64 || !m.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
                return Err(format!("staff {:?}: name is 1 to 64 of A-Z a-z 0-9 . - _", m.name));
            }
            if !names.insert(m.name.as_str()) {
                return Err(format!("staff {}: listed twice", m.name));
            }
            if !matches!(m.role, ApiRole::BackOffice | ApiRole::CaseWorker | ApiRole::Auditor) {
                return Err(format!("staff {}: role is back_office, case_worker or auditor", m.name));
            }
            if m.personal_number.trim().is_empty() || m.family_name.trim().is_empty() || m.given_name.trim().is_empty() || esspass_core::Date::parse(&m.birth_date).is_none() {
                return Err(format!("staff {}: personal_number, family_name, given_name and birth_date (YYYY-MM-DD) are required", m.name));
            }
        }
        for c in &self.clients {
            if c.client_id.is_empty() || c.redirect_uris.is_empty() {
                return Err(format!("client {:?}: client_id and at least one redirect URI are required", c.client_id));
            }
            if c.require_attestation && self.wallet_providers.is_empty() {
                return Err(format!("client {}: require_attestation needs at least one wallet_providers entry", c.client_id));
            }
        }
        if self.sign_in.max_attempts_per_address < 1 || self.sign_in.max_attempts_per_person < 1 || self.sign_in.window < 1 {
            return Err("sign_in: the attempt limits and the window must be positive".into());
        }
        if self.limits.requests_per_minute == 0 || self.limits.max_connections == 0 || self.limits.header_read_timeout == 0 || self.limits.request_timeout == 0 {
            return Err("limits: every limit must be positive".into());
        }
        if self.institution.credential_types.is_empty() {
            return Err("institution.credential_types is empty".into());
        }
        for k in &self.api_keys {
            if (k.role == ApiRole::Employer) != k.employer_id.is_some() {
                return Err(format!("api key {}: employer_id is required for, and only for, the employer role", k.name));
            }
            if k.role == ApiRole::Verifier {
                return Err(format!("api key {}: the verifier role belongs to a verifier node", k.name));
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
        assert_eq!(c.api_keys.len(), 4);
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
        // Staff sign in with a PID: refused without [sign_in.pid]; an API key may not pose as staff.
        let staff = "\n[[staff]]\nname = \"anna.kos\"\nrole = \"case_worker\"\npersonal_number = \"SI1\"\nfamily_name = \"Kos\"\ngiven_name = \"Ana\"\nbirth_date = \"1979-06-14\"\n";
        let p = dir.join("c.toml");
        std::fs::write(&p, format!("{base}{staff}")).unwrap();
        assert!(NodeConfig::load(&p).unwrap_err().contains("[sign_in.pid]"));
        std::fs::write(&p, base.replacen("name = \"auditor\"", "name = \"staff:auditor\"", 1)).unwrap();
        assert!(NodeConfig::load(&p).unwrap_err().contains("staff:"));
    }
}
