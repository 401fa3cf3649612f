//! Sign-in with a PID: the institution is a relying party of its own. For each sign-in it opens an
//! OpenID4VP transaction (profile [`PROFILE`], signed request object by reference, `x509_hash`,
//! DCQL for `urn:eudi:pid:1` with the PID providers of the Issuer Trusted List as trusted
//! authorities, `direct_post.jwt`) and shows its link as a QR code and a same-device link. The
//! wallet answers at this node's `/response/{id}`; the person then continues, and the verified PID
//! (names, birth date, personal number) is matched to the record as the demo sign-in is.

use crate::config::{NodeConfig, PidSignInConfig, Role};
use crate::verifier::config::{ClientIdPrefix, ProfileConfig, ResponseMode, TrustConfig, VerificationConfig, VerifierConfig, VerifierIdentity};
use crate::verifier::service::VerifierState;
use esspass_core::{Clock, CredentialType};
use esspass_credential::type_metadata::Selector;
use serde_json::Value;
use std::sync::Arc;

/// The profile of every PID sign-in transaction.
pub const PROFILE: &str = "pid-sign-in";
/// The acceptance policy written into the sign-in's verification proof.
pub const POLICY_VERSION: &str = "pid-sign-in/1";
/// The PID claims a sign-in asks for: what the record is matched on, nothing more.
pub const CLAIMS: [&str; 4] = ["family_name", "given_name", "birthdate", "personal_administrative_number"];

/// The verifier configuration of an institution's PID sign-in.
pub fn verifier_config(cfg: &NodeConfig, p: &PidSignInConfig) -> VerifierConfig {
    VerifierConfig {
        role: Role::Verifier,
        listen: cfg.listen,
        public_url: cfg.public_url.clone(),
        database: cfg.database.clone(),
        secret_file: cfg.secret_file.clone(),
        max_body_bytes: cfg.max_body_bytes.max(256 * 1024),
        verifier: VerifierIdentity {
            id: p.verifier_id.clone(),
            name: cfg.institution.name.clone(),
            signing_key: p.signing_key.clone(),
            chain: p.chain.clone(),
            tls_key: cfg.institution.tls_key.clone(),
            tls_chain: cfg.institution.tls_chain.clone(),
            client_id_prefix: ClientIdPrefix::X509Hash,
        },
        trust: TrustConfig {
            anchor: p.trust_anchor.clone(),
            issuer_list: p.issuer_list.to_string_lossy().into_owned(),
            verifier_list: p.verifier_list.to_string_lossy().into_owned(),
            offline_bundle: None,
            max_bundle_age: 0,
            refresh_seconds: 300,
        },
        verification: VerificationConfig { transaction_seconds: p.transaction_seconds, ..VerificationConfig::default() },
        profiles: vec![ProfileConfig {
            name: PROFILE.into(),
            credential_type: CredentialType::Pid,
            claims: CLAIMS.iter().map(|c| vec![Selector::Key((*c).into())]).collect(),
            policy_version: POLICY_VERSION.into(),
            purpose: Some(format!("Sign in to {} with your person identification data", cfg.institution.name)),
            response_mode: ResponseMode::DirectPostJwt,
        }],
        api_keys: Vec::new(),
        limits: cfg.limits.clone(),
    }
}

/// The sign-in's verifier, when `[sign_in.pid]` is configured: keys and lists loaded, the
/// registration checked against the Verifier Trusted List (a node asking more than it is registered
/// for does not start), transactions kept in the institution's database.
pub async fn build(cfg: &NodeConfig, store: esspass_store::Store, clock: Arc<dyn Clock>) -> Result<Option<Arc<VerifierState>>, String> {
    let Some(p) = &cfg.sign_in.pid else { return Ok(None) };
    if !(60..=3600).contains(&p.transaction_seconds) {
        return Err("sign_in.pid.transaction_seconds must be 60–3600".into());
    }
    crate::verifier::build_state_on(verifier_config(cfg, p), store, clock).await.map(Some).map_err(|e| format!("sign_in.pid: {e}"))
}

/// What the person entered, as the demo sign-in's matching expects it, from a verified PID's
/// disclosed claims.
pub fn as_sign_in(claims: &Value) -> Result<super::matching::SignIn, &'static str> {
    let s = |k: &str| claims.get(k).and_then(Value::as_str);
    super::matching::validate(s("family_name"), s("given_name"), s("birthdate"), s("personal_administrative_number")).map_err(|_| "the PID lacks a name, the birth date or the personal number")
}
