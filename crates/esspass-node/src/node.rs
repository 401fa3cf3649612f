//! Starting a node: load keys, connect and migrate the database, make sure the status list exists
//! and is signed, serve HTTPS, and keep the list tokens fresh in the background.

use crate::config::NodeConfig;
use crate::http::{AppState, Metrics, router};
use crate::services::issuance::Issuer;
use crate::services::status::StatusService;
use esspass_core::{Clock, SystemClock};
use std::net::SocketAddr;
use std::sync::Arc;

/// A running node.
pub struct RunningNode {
    pub addr: SocketAddr,
    pub state: AppState,
    server: tokio::task::JoinHandle<()>,
    republisher: tokio::task::JoinHandle<()>,
}

impl RunningNode {
    /// Stop serving (connections in flight are dropped).
    pub fn stop(self) {
        self.server.abort();
        self.republisher.abort();
    }
}

/// Start the node. With `listener` the given socket is used (tests bind port 0 first so that the
/// public URL can name the port); otherwise `cfg.listen` is bound.
pub async fn start(cfg: NodeConfig, listener: Option<std::net::TcpListener>) -> Result<RunningNode, String> {
    start_with_clock(cfg, listener, Arc::new(SystemClock)).await
}

/// As [`start`], with the clock the node reads "now" from (tests move it to expire things).
pub async fn start_with_clock(cfg: NodeConfig, listener: Option<std::net::TcpListener>, clock: Arc<dyn Clock>) -> Result<RunningNode, String> {
    cfg.check_for_serving()?;
    let state = build_state(cfg, clock.clone()).await?;
    let cfg = state.cfg.clone();
    let status = state.status.clone();
    let tls = crate::tls::tls_config(&cfg.institution.tls_chain, &cfg.institution.tls_key)?;
    let listener = match listener {
        Some(l) => l,
        None => std::net::TcpListener::bind(cfg.listen).map_err(|e| format!("bind {}: {e}", cfg.listen))?,
    };
    let (addr, server) = crate::tls::serve_listener_with(listener, tls, router(state.clone()), crate::tls::ServeLimits::from(&cfg.limits))?;
    let bg = state.clone();
    let republisher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            let now = clock.now().unix_timestamp();
            // Errors are retried on the next tick; the served token stays valid until its exp.
            let _ = status.publish_all(now).await;
            let _ = crate::services::audit::checkpoint(&bg.issuer.store, bg.issuer.signer.as_ref(), &bg.issuer.chain, &bg.cfg.institution.id.to_string(), bg.cfg.audit.checkpoint_file.as_deref(), now).await;
            // What strangers made (nonces, DPoP jtis, pushed requests, codes, rate-limit windows)
            // goes once it has expired.
            let _ = bg.issuer.store.purge_expired(now - 60, now - bg.cfg.sign_in.window.max(60) * 2).await;
            bg.limiter.forget_before(now - 120);
            if let Some(v) = bg.pid_sign_in.clone() {
                // The PID providers' status lists kept fresh; the PIDs' claims dropped once the
                // sign-in is long over.
                let keep = v.cfg.verification.keep_claims_seconds;
                let _ = v.store.drop_verification_claims(now - keep).await;
                v.refresh_lists(now).await;
                let _ = tokio::task::spawn_blocking(move || v.status.refresh_due(&v.chains, now, 30)).await;
            }
        }
    });
    // The outbox worker: due messages delivered every few seconds (several processes of one
    // institution share the outbox; each claims with a lease).
    if let (Some(ap), Some(e)) = (state.eessi.clone(), cfg.eessi.clone()) {
        let clock = state.clock.clone();
        let every = e.deliver_every_seconds.max(1);
        let timers_every = e.timers_every_seconds.max(1);
        let worker = tokio::spawn(async move {
            let period = std::time::Duration::from_secs(every);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            // The BUCs' clocks (reminders, automatic closures) run at start and then every
            // `timers_every_seconds`.
            let mut timers_at = i64::MIN;
            loop {
                tick.tick().await;
                let now = clock.now().unix_timestamp();
                ap.refresh_repository(now).await;
                if now.saturating_sub(timers_at) >= timers_every {
                    timers_at = now;
                    let run = ap.run_case_timers(now).await;
                    if run != crate::eessi::TimerRun::default() {
                        tracing::info!(target: "esspass::eessi", reminders = run.reminders, closed = run.closed, "case timers");
                    }
                }
                ap.deliver_due(now).await;
            }
        });
        let republisher_and_worker = tokio::spawn(async move {
            let _ = tokio::join!(republisher, worker);
        });
        return Ok(RunningNode { addr, state, server, republisher: republisher_and_worker });
    }
    Ok(RunningNode { addr, state, server, republisher })
}

/// Load keys, connect and migrate the database, make sure the status list exists and is signed:
/// everything a node (or a CLI command acting for it) needs, without serving.
pub async fn build_state(cfg: NodeConfig, clock: Arc<dyn Clock>) -> Result<AppState, String> {
    let cfg = Arc::new(cfg);
    let signer = Arc::new(esspass_keys::files::load_signer(&cfg.institution.signing_key).map_err(|e| e.to_string())?);
    let chain = Arc::new(esspass_keys::files::load_chain(&cfg.institution.chain).map_err(|e| e.to_string())?);
    // What every verifier will check of what this node signs is checked before it starts: the key
    // is the chain's leaf key, the chain is linked without the anchor, the leaf may sign credentials
    // and names the public URL (the credential issuer identifier) as a subjectAltName URI.
    esspass_credential::producer::check_signing_setup(signer.as_ref(), &chain, Some(&cfg.public_url), true, clock.now().unix_timestamp())
        .map_err(|e| format!("{} ({}, {}): {}", e.code, cfg.institution.signing_key.display(), cfg.institution.chain.display(), e.detail))?;
    let secret = read_or_create_secret(&cfg.secret_file)?;
    let store = esspass_store::Store::connect(&cfg.database).await.map_err(|e| format!("database: {e}"))?.with_secret(&secret);
    let status = StatusService { store: store.clone(), signer: signer.clone(), chain: chain.clone(), cfg: cfg.status.clone(), base_url: cfg.public_url.clone() };
    status.ensure_list(clock.now().unix_timestamp()).await.map_err(|e| e.to_string())?;
    let dpop_secret = match cfg.issuance.dpop_nonce_secret_file.as_deref() {
        Some(f) => read_or_create_secret(f)?,
        // Derived from the node secret, so every process of the institution agrees.
        None => {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
            let tag = aws_lc_rs::hmac::sign(&key, b"esspass dpop nonce");
            let mut out = [0u8; 32];
            out.copy_from_slice(tag.as_ref().get(..32).unwrap_or(&[0u8; 32]));
            out
        }
    };
    let wallet_providers = crate::attestation::load_providers(&cfg.wallet_providers)?;
    let limiter = Arc::new(crate::limits::RateLimiter::new(cfg.limits.requests_per_minute));
    let pid_sign_in = crate::authorize::pid::build(&cfg, store.clone(), clock.clone()).await?;
    let eessi = match &cfg.eessi {
        None => None,
        Some(e) => {
            let anchors = esspass_credential::x509::Certificate::all_from_pem(&std::fs::read_to_string(&e.trust_anchor).map_err(|x| format!("{}: {x}", e.trust_anchor.display()))?).map_err(|x| x.detail)?;
            let chains = esspass_credential::x509::ChainValidator::new(anchors.clone());
            let client = reqwest::Client::builder().tls_certs_merge(anchors.iter().filter_map(|c| reqwest::Certificate::from_der(&c.der).ok()).collect::<Vec<_>>()).timeout(std::time::Duration::from_secs(10)).build().map_err(|x| x.to_string())?;
            let repository = crate::trusted_lists::load_list(&e.repository, &chains, &client, clock.now().unix_timestamp()).await.map_err(|x| format!("eessi.repository: {x}"))?;
            let transport = Box::new(crate::eessi::HttpsTransport::new(&anchors)?);
            let ap = crate::eessi::AccessPoint::new(store.clone(), cfg.institution.id.to_string(), signer.clone(), chain.clone(), chains, repository, transport).map_err(|x| format!("eessi: {x}"))?;
            Some(Arc::new(ap.refreshing(e.repository.clone(), client, e.refresh_seconds, clock.now().unix_timestamp())))
        }
    };
    let issuer = Issuer { store, status: status.clone(), signer, chain, cfg: cfg.clone(), dpop_secret: Arc::new(dpop_secret), eessi: eessi.clone() };
    let portal_cookie = crate::portal::session::cookie_name(&cfg.institution.id.to_string());
    Ok(AppState { issuer, status, cfg, metrics: Arc::new(Metrics::default()), clock, limiter, wallet_providers: Arc::new(wallet_providers), pid_sign_in, eessi, portal_cookie })
}

/// A 32-byte secret from a file (base64url), created with 32 random bytes and mode 0600 if missing.
pub fn read_or_create_secret(path: &std::path::Path) -> Result<[u8; 32], String> {
    if !path.exists() {
        let secret = esspass_credential::random_bytes::<32>();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        match opts.open(path) {
            Ok(mut f) => std::io::Write::write_all(&mut f, esspass_credential::b64::encode(secret).as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = esspass_credential::b64::decode(text.trim()).map_err(|e| format!("{}: {}", path.display(), e.detail))?;
    bytes.try_into().map_err(|_| format!("{}: the secret must be 32 bytes (base64url)", path.display()))
}
