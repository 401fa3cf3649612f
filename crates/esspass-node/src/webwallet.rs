//! The wallet role of `esspass serve` (`role = "wallet"`): a web wallet for people without an EUDI
//! wallet app. Each person's wallet is an `esspass-wallet` file (Argon2id-derived key, AES-256-GCM)
//! in `wallets`; opened with its passphrase, it stays unlocked in this process's memory for the
//! session only (never written unencrypted, never in a cookie). Pages: `crate::portal::wallet`.
//! The database holds the audit trail and the sessions' key (the node secret).

use crate::config::LimitsConfig;
use esspass_credential::trust::{ListBody, TrustedList};
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_wallet::Oid4vciClient;
use esspass_wallet::holder::Consent;
use esspass_wallet::store::WalletFile;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebWalletConfig {
    pub role: crate::config::Role,
    pub listen: SocketAddr,
    pub public_url: String,
    /// sqlite:PATH or postgres://… — the audit trail.
    pub database: String,
    #[serde(default = "default_secret")]
    pub secret_file: PathBuf,
    pub tls_chain: PathBuf,
    pub tls_key: PathBuf,
    /// The trust operator's root (PEM): verifiers' request signatures, and TLS of issuers and verifiers.
    pub trust_anchor: PathBuf,
    /// The Verifier Trusted List: a file or an https URL.
    pub verifier_list: String,
    /// The folder of the wallet files (created if missing).
    pub wallets: PathBuf,
    /// Minutes an opened wallet stays unlocked without use.
    #[serde(default = "default_idle")]
    pub idle_minutes: i64,
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    #[serde(default)]
    pub limits: LimitsConfig,
}

fn default_secret() -> PathBuf {
    PathBuf::from("wallet.secret")
}

fn default_idle() -> i64 {
    15
}

fn default_body() -> usize {
    64 * 1024
}

impl WebWalletConfig {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut c: WebWalletConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut c.secret_file, &mut c.tls_chain, &mut c.tls_key, &mut c.trust_anchor, &mut c.wallets] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if !c.verifier_list.contains("://") && Path::new(&c.verifier_list).is_relative() {
            c.verifier_list = base.join(&c.verifier_list).to_string_lossy().into_owned();
        }
        if let Some(rest) = c.database.strip_prefix("sqlite:")
            && !rest.starts_with('/')
            && !rest.starts_with(':')
        {
            c.database = format!("sqlite:{}", base.join(rest).display());
        }
        if c.role != crate::config::Role::Wallet {
            return Err(format!("{}: role must be \"wallet\"", path.display()));
        }
        if !c.public_url.starts_with("https://") || c.public_url.ends_with('/') {
            return Err("public_url must be https://host[:port] without a trailing slash".into());
        }
        Ok(c)
    }
}

/// An opened wallet, and the presentation waiting for the holder's consent.
pub struct Opened {
    pub name: String,
    pub file: Arc<tokio::sync::Mutex<WalletFile>>,
    pub consent: Option<Consent>,
    pub used: i64,
}

pub struct WebWalletState {
    pub cfg: WebWalletConfig,
    pub store: esspass_store::Store,
    pub client: Oid4vciClient,
    pub chains: ChainValidator,
    pub verifiers: RwLock<TrustedList>,
    /// Opened wallets by session id.
    pub open: Mutex<HashMap<String, Opened>>,
    pub cookie: String,
    pub name: String,
    /// Failed passphrases per wallet name: (count, first failure); a name is locked for
    /// [`LOCK_SECONDS`] after [`MAX_FAILURES`] (the Argon2id cost alone does not stop guessing).
    pub failures: Mutex<HashMap<String, (u32, i64)>>,
}

/// Wrong passphrases a wallet name takes before it is locked.
pub const MAX_FAILURES: u32 = 5;
/// How long a wallet name stays locked after too many wrong passphrases.
pub const LOCK_SECONDS: i64 = 900;

impl WebWalletState {
    pub fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    /// The Verifier Trusted List in use.
    pub fn verifiers(&self) -> TrustedList {
        self.verifiers.read().map(|v| v.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// A wallet's file path for a name of 3 to 40 letters, digits, dots and dashes.
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        let ok = (3..=40).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') && !name.starts_with('.');
        ok.then(|| self.cfg.wallets.join(format!("{name}.esspass")))
    }

    /// The wallet opened in session `sid`, if it is still unlocked (its use refreshed).
    pub fn opened(&self, sid: &str) -> Option<(String, Arc<tokio::sync::Mutex<WalletFile>>)> {
        let now = self.now();
        let idle = self.cfg.idle_minutes * 60;
        let mut m = self.open.lock().ok()?;
        m.retain(|_, o| now - o.used < idle);
        let o = m.get_mut(sid)?;
        o.used = now;
        Some((o.name.clone(), o.file.clone()))
    }

    pub fn keep_open(&self, sid: &str, name: &str, file: WalletFile) {
        if let Ok(mut m) = self.open.lock() {
            m.insert(sid.to_owned(), Opened { name: name.to_owned(), file: Arc::new(tokio::sync::Mutex::new(file)), consent: None, used: self.now() });
        }
    }

    /// Whether `name` is locked after too many wrong passphrases.
    pub fn locked(&self, name: &str) -> bool {
        let now = self.now();
        self.failures.lock().map(|mut f| {
            f.retain(|_, (_, first)| now - *first < LOCK_SECONDS);
            f.get(name).is_some_and(|(n, _)| *n >= MAX_FAILURES)
        }).unwrap_or(true)
    }

    /// Count a wrong passphrase for `name`; forget them after a right one.
    pub fn failed(&self, name: &str, failed: bool) {
        let now = self.now();
        if let Ok(mut f) = self.failures.lock() {
            if failed {
                let e = f.entry(name.to_owned()).or_insert((0, now));
                e.0 += 1;
            } else {
                f.remove(name);
            }
        }
    }

    pub fn close(&self, sid: &str) {
        if let Ok(mut m) = self.open.lock() {
            m.remove(sid);
        }
    }

    pub fn set_consent(&self, sid: &str, c: Option<Consent>) {
        if let Ok(mut m) = self.open.lock()
            && let Some(o) = m.get_mut(sid)
        {
            o.consent = c;
        }
    }

    pub fn take_consent(&self, sid: &str) -> Option<Consent> {
        self.open.lock().ok()?.get_mut(sid)?.consent.take()
    }
}

/// A running web wallet.
pub struct RunningWallet {
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl RunningWallet {
    pub fn stop(self) {
        self.server.abort();
    }
}

pub async fn start(cfg: WebWalletConfig, listener: Option<std::net::TcpListener>) -> Result<RunningWallet, String> {
    std::fs::create_dir_all(&cfg.wallets).map_err(|e| format!("{}: {e}", cfg.wallets.display()))?;
    let secret = crate::node::read_or_create_secret(&cfg.secret_file)?;
    let store = esspass_store::Store::connect(&cfg.database).await.map_err(|e| format!("database: {e}"))?.with_secret(&secret);
    let anchors = Certificate::all_from_pem(&std::fs::read_to_string(&cfg.trust_anchor).map_err(|e| format!("{}: {e}", cfg.trust_anchor.display()))?).map_err(|e| e.detail)?;
    let chains = ChainValidator::new(anchors.clone());
    let http = reqwest::Client::builder().tls_certs_merge(anchors.iter().filter_map(|c| reqwest::Certificate::from_der(&c.der).ok()).collect::<Vec<_>>()).timeout(std::time::Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let verifiers = crate::trusted_lists::load_list(&cfg.verifier_list, &chains, &http, time::OffsetDateTime::now_utc().unix_timestamp()).await?;
    if !matches!(verifiers.body, ListBody::Verifiers { .. }) {
        return Err("verifier_list must be a Verifier Trusted List".into());
    }
    let client = Oid4vciClient::new(&anchors.iter().map(|c| c.der.clone()).collect::<Vec<_>>()).map_err(|e| e.to_string())?;
    let tls = crate::tls::tls_config(&cfg.tls_chain, &cfg.tls_key)?;
    let limits = crate::tls::ServeLimits::from(&cfg.limits);
    let listener = match listener {
        Some(l) => l,
        None => std::net::TcpListener::bind(cfg.listen).map_err(|e| format!("bind {}: {e}", cfg.listen))?,
    };
    let cookie = crate::portal::session::cookie_name(&format!("wallet{}", cfg.public_url.rsplit(':').next().unwrap_or("")));
    let body = cfg.max_body_bytes;
    let state = Arc::new(WebWalletState { cfg, store, client, chains, verifiers: RwLock::new(verifiers), open: Mutex::new(HashMap::new()), cookie, name: "esspass".into(), failures: Mutex::new(HashMap::new()) });
    let router = crate::portal::wallet::routes()
        .layer(axum::extract::DefaultBodyLimit::max(body))
        .layer(axum::middleware::from_fn(crate::http::problems_for_plain_errors))
        .layer(axum::middleware::from_fn(crate::http::access_log))
        .with_state(state);
    let (addr, server) = crate::tls::serve_listener_with(listener, tls, router, limits)?;
    Ok(RunningWallet { addr, server })
}
