//! The verifier role of `esspass serve` (`role = "verifier"`): a hospital or a labour inspectorate
//! verifying PDA1s and EHICs in real time over OpenID4VP 1.0 (HAIP: signed request objects by
//! reference with an `x509_hash` client id, DCQL, `direct_post.jwt`), each verification ending in a
//! report limited to what the profile allows and a signed verification proof.

pub mod config;
pub mod http;
pub mod protocol;
pub mod service;

use config::VerifierConfig;
use esspass_core::{Clock, Date, SystemClock};
use esspass_credential::status::{CachePolicy, StatusCache, StatusListSource};
use esspass_credential::trust::ListBody;
use esspass_credential::x509::{Certificate, ChainValidator, EKU_RELYING_PARTY};
use service::VerifierState;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

/// A running verifier node.
pub struct RunningVerifier {
    pub addr: SocketAddr,
    pub state: Arc<VerifierState>,
    server: tokio::task::JoinHandle<()>,
    refresher: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RunningVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningVerifier").field("addr", &self.addr).finish()
    }
}

impl RunningVerifier {
    pub fn stop(self) {
        self.server.abort();
        self.refresher.abort();
    }
}

/// Status lists over HTTPS, trusting the trust anchors for TLS as well. `fetch` is called from the
/// blocking threads the verification runs on; it drives the async client on the node's runtime.
struct HttpsSource {
    client: reqwest::Client,
    handle: tokio::runtime::Handle,
}

impl StatusListSource for HttpsSource {
    fn fetch(&self, uri: &str) -> Result<String, String> {
        if !uri.starts_with("https://") {
            return Err(format!("{uri}: status lists are fetched over https only"));
        }
        self.handle.block_on(async {
            let resp = self.client.get(uri).header("Accept", "application/statuslist+jwt").send().await.map_err(|e| format!("GET {uri}: {e}"))?;
            if !resp.status().is_success() {
                return Err(format!("GET {uri}: HTTP {}", resp.status()));
            }
            resp.text().await.map_err(|e| format!("GET {uri}: {e}"))
        })
    }
}


/// A client for trusted lists and status lists: the anchors trusted for TLS, short timeouts, no
/// redirects, one connection per fetch (a closed server shows at once).
fn fetch_client(anchors: &[Certificate]) -> Result<reqwest::Client, String> {
    let cas: Vec<reqwest::Certificate> = anchors.iter().filter_map(|c| reqwest::Certificate::from_der(&c.der).ok()).collect();
    reqwest::Client::builder().tls_certs_merge(cas).timeout(std::time::Duration::from_secs(5)).pool_max_idle_per_host(0).redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())
}

/// Load keys and lists, check the registration, connect the database; nothing served yet.
pub async fn build_state(cfg: VerifierConfig, clock: Arc<dyn Clock>) -> Result<Arc<VerifierState>, String> {
    let secret = crate::node::read_or_create_secret(&cfg.secret_file)?;
    let store = esspass_store::Store::connect(&cfg.database).await.map_err(|e| format!("database: {e}"))?.with_secret(&secret);
    build_state_on(cfg, store, clock).await
}

/// As [`build_state`] on a database already connected: an institution signing people in with a PID
/// keeps its transactions in its own database.
pub async fn build_state_on(cfg: VerifierConfig, store: esspass_store::Store, clock: Arc<dyn Clock>) -> Result<Arc<VerifierState>, String> {
    let now = clock.now().unix_timestamp();
    let signer = esspass_keys::files::load_signer(&cfg.verifier.signing_key).map_err(|e| e.to_string())?;
    let chain = esspass_keys::files::load_chain(&cfg.verifier.chain).map_err(|e| e.to_string())?;
    let leaf = Certificate::from_der(chain.first().ok_or("the verifier's chain is empty")?).map_err(|e| e.detail)?;
    if leaf.p256_point() != Some(esspass_credential::Signer::public_jwk(&signer).point().map_err(|e| e.detail)?.as_slice()) {
        return Err(format!("{}: the key is not the chain's leaf key", cfg.verifier.signing_key.display()));
    }
    if !leaf.has_eku(EKU_RELYING_PARTY) {
        return Err(format!("{}: the request-signing certificate lacks the relying-party key purpose (docs/pki.md)", cfg.verifier.chain.display()));
    }
    let anchors = Certificate::all_from_pem(&std::fs::read_to_string(&cfg.trust.anchor).map_err(|e| format!("{}: {e}", cfg.trust.anchor.display()))?).map_err(|e| e.detail)?;
    let chains = ChainValidator::new(anchors.clone());
    let client = fetch_client(&anchors)?;
    let issuers = crate::trusted_lists::load_list(&cfg.trust.issuer_list, &chains, &client, now).await?;
    let verifiers = crate::trusted_lists::load_list(&cfg.trust.verifier_list, &chains, &client, now).await?;
    if !matches!(issuers.body, ListBody::Issuers { .. }) || !matches!(verifiers.body, ListBody::Verifiers { .. }) {
        return Err("trust.issuer_list must be an Issuer and trust.verifier_list a Verifier Trusted List".into());
    }
    let entry = verifiers.verifier_for(&leaf).cloned().ok_or_else(|| format!("{} the request-signing certificate ({}) is not in the Verifier Trusted List", esspass_core::ErrorCode::ProfileBeyondRegistration.code(), leaf.subject_text))?;
    if entry.verifier_id != cfg.verifier.id {
        return Err(format!("verifier.id is {} but the Verifier Trusted List names this certificate {}", cfg.verifier.id, entry.verifier_id));
    }
    let today = Date::of_instant(clock.now());
    service::check_registration(&cfg, &entry, today)?;
    let client_id = service::client_id(cfg.verifier.client_id_prefix, &leaf)?;
    let status = StatusCache::new(Box::new(HttpsSource { client: client.clone(), handle: tokio::runtime::Handle::current() }), CachePolicy { default_ttl: cfg.verification.status_default_ttl, max_age: cfg.verification.status_max_age });
    let status = Arc::new(status);
    let (writer, results) = tokio::sync::mpsc::channel(4096);
    tokio::spawn(service::write_results(store.clone(), results));
    let mut pipeline = esspass_credential::verify::Verifier::new(ChainValidator::new(anchors.clone()), Some(issuers.clone()), None);
    pipeline.status = Some(status.clone());
    Ok(Arc::new(VerifierState {
        cfg: Arc::new(cfg),
        store,
        signer: Arc::new(signer),
        chain: Arc::new(chain),
        leaf,
        client_id,
        chains,
        issuers: Arc::new(RwLock::new(issuers)),
        verifier: RwLock::new(Arc::new(pipeline)),
        verifiers: Arc::new(RwLock::new(verifiers)),
        entry,
        status,
        clock,
        bundle: RwLock::new(None),
        writer,
        lists_client: client,
        lists_checked: std::sync::atomic::AtomicI64::new(now),
        open: service::PendingCache::default(),
    }))
}

pub async fn start(cfg: VerifierConfig, listener: Option<std::net::TcpListener>) -> Result<RunningVerifier, String> {
    start_with_clock(cfg, listener, Arc::new(SystemClock)).await
}

pub async fn start_with_clock(cfg: VerifierConfig, listener: Option<std::net::TcpListener>, clock: Arc<dyn Clock>) -> Result<RunningVerifier, String> {
    for k in &cfg.api_keys {
        if k.sha256.len() != 43 {
            return Err(format!("api key {}: sha256 must be the key's base64url SHA-256 (43 characters)", k.name));
        }
    }
    let tls = crate::tls::tls_config(&cfg.verifier.tls_chain, &cfg.verifier.tls_key)?;
    let limits = crate::tls::ServeLimits::from(&cfg.limits);
    let listener = match listener {
        Some(l) => l,
        None => std::net::TcpListener::bind(cfg.listen).map_err(|e| format!("bind {}: {e}", cfg.listen))?,
    };
    let state = build_state(cfg, clock.clone()).await?;
    let (addr, server) = crate::tls::serve_listener_with(listener, tls, http::router(state.clone()), limits)?;
    let bg = state.clone();
    let refresher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            let now = clock.now().unix_timestamp();
            // Status lists near the end of their ttl are fetched again before a verification needs
            // them; an unreachable issuer leaves the cached list in use up to the maximum age.
            let s = bg.clone();
            let _ = tokio::task::spawn_blocking(move || s.status.refresh_due(&s.chains, now, 30)).await;
            let _ = bg.store.drop_verification_claims(now - bg.cfg.verification.keep_claims_seconds).await;
            bg.refresh_lists(now).await;
        }
    });
    Ok(RunningVerifier { addr, state, server, refresher })
}
