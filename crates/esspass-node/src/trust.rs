//! The trust role of `esspass serve` (`role = "trust"`): the trust operator's publication point.
//! It serves the signed Issuer and Verifier Trusted Lists and the Institution Repository that the
//! operator signs offline (`esspass pki`), and the offline trust bundle (`esspass bundle build`),
//! over HTTPS with ETags. A list is checked (signature, chain to the anchor, not past its next
//! update) every time it is read from disk: a damaged or stale file is never published.

use crate::config::LimitsConfig;
use crate::http::{access_log, json_response, problem, problems_for_plain_errors};
use crate::services::issuance::ApiError;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use esspass_core::ErrorCode;
use esspass_credential::trust::TrustedList;
use esspass_credential::x509::{Certificate, ChainValidator};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `role = "trust"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustNodeConfig {
    pub role: crate::config::Role,
    pub listen: SocketAddr,
    /// `https://host:port`, no trailing slash.
    pub public_url: String,
    pub tls_chain: PathBuf,
    pub tls_key: PathBuf,
    /// The operator's root certificate(s), PEM: every list is checked against it before it is served.
    pub trust_anchor: PathBuf,
    /// The folder of the signed lists: `issuers.jwt`, `verifiers.jwt`, `repository.jwt`.
    pub lists: PathBuf,
    /// The offline trust bundle's folder (`esspass bundle build --out`), served under `/bundle/`.
    #[serde(default)]
    pub bundle: Option<PathBuf>,
    /// Seconds clients may cache a list.
    #[serde(default = "default_max_age")]
    pub max_age: u32,
    #[serde(default)]
    pub limits: LimitsConfig,
}

fn default_max_age() -> u32 {
    300
}

/// The lists the trust node publishes, by file name.
pub const LISTS: &[&str] = &["issuers.jwt", "verifiers.jwt", "repository.jwt"];

impl TrustNodeConfig {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut c: TrustNodeConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut c.tls_chain, &mut c.tls_key, &mut c.trust_anchor, &mut c.lists] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(b) = c.bundle.as_mut().filter(|b| b.is_relative()) {
            *b = base.join(&*b);
        }
        if c.role != crate::config::Role::Trust {
            return Err(format!("{}: role must be \"trust\"", path.display()));
        }
        if !c.public_url.starts_with("https://") || c.public_url.ends_with('/') {
            return Err("public_url must be https://host[:port] without a trailing slash".into());
        }
        Ok(c)
    }
}

struct TrustState {
    cfg: TrustNodeConfig,
    chains: ChainValidator,
}

/// A running trust node.
pub struct RunningTrust {
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl RunningTrust {
    pub fn stop(self) {
        self.server.abort();
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Start serving. Every list present must verify now, or the node does not start.
pub async fn start(cfg: TrustNodeConfig, listener: Option<std::net::TcpListener>) -> Result<RunningTrust, String> {
    let anchors = Certificate::all_from_pem(&std::fs::read_to_string(&cfg.trust_anchor).map_err(|e| format!("{}: {e}", cfg.trust_anchor.display()))?).map_err(|e| e.detail)?;
    let chains = ChainValidator::new(anchors);
    let mut found = 0;
    for name in LISTS {
        let path = cfg.lists.join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            TrustedList::verify(text.trim(), &chains, now()).map_err(|e| format!("{} {}: {}", e.code.code(), path.display(), e.detail))?;
            found += 1;
        }
    }
    if found == 0 {
        return Err(format!("{}: none of {} is there to publish", cfg.lists.display(), LISTS.join(", ")));
    }
    let tls = crate::tls::tls_config(&cfg.tls_chain, &cfg.tls_key)?;
    let limits = crate::tls::ServeLimits::from(&cfg.limits);
    let listener = match listener {
        Some(l) => l,
        None => std::net::TcpListener::bind(cfg.listen).map_err(|e| format!("bind {}: {e}", cfg.listen))?,
    };
    let state = Arc::new(TrustState { cfg, chains });
    let (addr, server) = crate::tls::serve_listener_with(listener, tls, router(state), limits)?;
    Ok(RunningTrust { addr, server })
}

fn router(state: Arc<TrustState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/trusted-lists/{name}", get(list))
        .route("/bundle/{*path}", get(bundle_part))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn(problems_for_plain_errors))
        .layer(axum::middleware::from_fn(access_log))
        .with_state(state)
}

/// What the node publishes, as links.
async fn index(State(s): State<Arc<TrustState>>) -> Response {
    let base = &s.cfg.public_url;
    let lists: Vec<String> = LISTS.iter().filter(|n| s.cfg.lists.join(n).exists()).map(|n| format!("{base}/trusted-lists/{n}")).collect();
    let bundle = s.cfg.bundle.as_ref().map(|_| format!("{base}/bundle"));
    json_response(StatusCode::OK, &serde_json::json!({"trusted_lists": lists, "offline_bundle": bundle}))
}

/// A published file with its ETag; 304 when the client holds it.
fn published(bytes: Vec<u8>, content_type: &'static str, max_age: u32, h: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", &esspass_credential::b64::encode(esspass_credential::sha256(&bytes))[..22]);
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let cache = HeaderValue::from_str(&format!("public, max-age={max_age}")).unwrap_or(HeaderValue::from_static("no-cache"));
    if h.get(header::IF_NONE_MATCH).is_some_and(|v| v == etag_value) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)]).into_response();
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::ETAG, etag_value), (header::CACHE_CONTROL, cache)], bytes).into_response()
}

async fn list(State(s): State<Arc<TrustState>>, UrlPath(name): UrlPath<String>, h: HeaderMap) -> Response {
    if !LISTS.contains(&name.as_str()) {
        return problem(&ApiError::new(404, ErrorCode::ListUnavailable, format!("the trust operator publishes {}", LISTS.join(", "))));
    }
    let path = s.cfg.lists.join(&name);
    let Ok(text) = tokio::fs::read_to_string(&path).await else {
        return problem(&ApiError::new(404, ErrorCode::ListUnavailable, format!("{name} is not published")));
    };
    // Never publish what a relying party would refuse: a damaged, wrongly signed or stale list.
    if let Err(e) = TrustedList::verify(text.trim(), &s.chains, now()) {
        tracing::error!(target: "esspass::trust", list = %name, code = e.code.code(), "a list on disk does not verify: not published");
        return problem(&ApiError::new(503, ErrorCode::ListUnavailable, format!("{name} does not verify at the moment ({}); the operator must sign it again", e.code.code())));
    }
    published(text.trim().as_bytes().to_vec(), "application/jwt", s.cfg.max_age, &h)
}

async fn bundle_part(State(s): State<Arc<TrustState>>, UrlPath(rel): UrlPath<String>, h: HeaderMap) -> Response {
    let Some(dir) = &s.cfg.bundle else {
        return problem(&ApiError::new(404, ErrorCode::ListUnavailable, "this trust node publishes no offline bundle"));
    };
    if !esspass_paper::bundle::safe_path(&rel) {
        return problem(&ApiError::new(404, ErrorCode::ListUnavailable, "no such bundle part"));
    }
    match tokio::fs::read(dir.join(&rel)).await {
        Ok(bytes) => {
            let ct = if rel == esspass_paper::bundle::MANIFEST_FILE { "application/jwt" } else { "application/octet-stream" };
            // Parts are named by content in the signed manifest; the manifest changes: short cache.
            published(bytes, ct, if rel == esspass_paper::bundle::MANIFEST_FILE { 60 } else { s.cfg.max_age }, &h)
        }
        Err(_) => problem(&ApiError::new(404, ErrorCode::ListUnavailable, "no such bundle part")),
    }
}
