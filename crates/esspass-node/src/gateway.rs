//! The gateway role of `esspass serve` (`role = "gateway"`): the single entry point in the manner
//! of Your Europe. A person chooses a procedure (a European Health Insurance Card, a Portable
//! Document A1) and a country and is handed over to the competent institution's portal, found in
//! the Institution Repository (the institution's `portal`) and confirmed by the Issuer Trusted List
//! (authorised for the procedure's credential on that day). Both lists come from the trust
//! operator (a file or an https URL), are verified, and are read again every `refresh_seconds`; a
//! list read again replaces the one in use only when newer (`crate::trusted_lists::Update`).

use crate::config::LimitsConfig;
use crate::http::{access_log, json_response, problem, problems_for_plain_errors};
use crate::services::issuance::ApiError;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use esspass_core::{Country, CredentialType, Date, ErrorCode};
use esspass_credential::trust::{ListBody, TrustedList};
use esspass_credential::x509::{Certificate, ChainValidator};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// `role = "gateway"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub role: crate::config::Role,
    pub listen: SocketAddr,
    pub public_url: String,
    pub tls_chain: PathBuf,
    pub tls_key: PathBuf,
    /// The trust operator's root certificate(s), PEM: the lists' signer, and TLS of their URLs.
    pub trust_anchor: PathBuf,
    /// The Institution Repository: a file or an https URL.
    pub repository: String,
    /// The Issuer Trusted List: a file or an https URL.
    pub issuer_list: String,
    #[serde(default = "default_refresh")]
    pub refresh_seconds: u64,
    /// Where "check a document" hands over, per country: the desks that verify documents (they are
    /// in the Verifier Trusted List, which has no addresses, so the gateway's operator lists them).
    #[serde(default)]
    pub check_services: Vec<CheckService>,
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// A service that checks documents (a verifier's portal), for "check a document".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckService {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub name: String,
    /// Its portal (`https://…`).
    pub url: String,
}

fn default_refresh() -> u64 {
    300
}

impl GatewayConfig {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut c: GatewayConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut c.tls_chain, &mut c.tls_key, &mut c.trust_anchor] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for l in [&mut c.repository, &mut c.issuer_list] {
            if !l.contains("://") && Path::new(l.as_str()).is_relative() {
                *l = base.join(l.as_str()).to_string_lossy().into_owned();
            }
        }
        for x in &c.check_services {
            if Country::parse(&x.country).is_none_or(|k| k.area().is_none()) || !x.url.starts_with("https://") {
                return Err(format!("check_services: {} needs a participating country and an https url", x.name));
            }
        }
        if c.role != crate::config::Role::Gateway {
            return Err(format!("{}: role must be \"gateway\"", path.display()));
        }
        if !c.public_url.starts_with("https://") || c.public_url.ends_with('/') {
            return Err("public_url must be https://host[:port] without a trailing slash".into());
        }
        Ok(c)
    }
}

/// A procedure the gateway hands over for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Procedure {
    /// Request a European Health Insurance Card.
    Ehic,
    /// Apply for a Portable Document A1 (posting, work in several states).
    A1,
}

impl Procedure {
    pub const ALL: [Procedure; 2] = [Procedure::Ehic, Procedure::A1];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Procedure::Ehic => "ehic",
            Procedure::A1 => "a1",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Procedure::Ehic => "European Health Insurance Card",
            Procedure::A1 => "Portable Document A1 (working in another country)",
        }
    }

    /// The credential the competent institution must be authorised to issue.
    pub fn credential(self) -> CredentialType {
        match self {
            Procedure::Ehic => CredentialType::Ehic,
            Procedure::A1 => CredentialType::Pda1,
        }
    }

    /// Where on the institution's portal the procedure starts.
    pub fn portal_path(self) -> &'static str {
        match self {
            Procedure::Ehic => "/portal/ehic",
            Procedure::A1 => "/portal/a1",
        }
    }
}

/// Where the gateway hands a person over.
#[derive(Debug, Clone, Serialize)]
pub struct Handoff {
    pub procedure: Procedure,
    pub country: Country,
    pub institution_id: String,
    pub institution: String,
    /// The portal page the procedure starts on.
    pub url: String,
    /// The institution's portal (base URL), also its credential issuer in this deployment.
    pub portal: String,
    /// Other institutions of the country that handle the procedure (the person may choose).
    pub alternatives: Vec<Alternative>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alternative {
    pub institution_id: String,
    pub institution: String,
    pub url: String,
}

/// The competent institution of `country` for `procedure` on `day`: in the repository with a
/// portal, valid that day, and authorised for the procedure's credential in the Issuer Trusted
/// List. Several: the first by institution id, the others as alternatives.
pub fn handoff(repository: &TrustedList, issuers: &TrustedList, procedure: Procedure, country: Country, day: Date) -> Result<Handoff, ApiError> {
    let (ListBody::Institutions { institutions }, ListBody::Issuers { issuers }) = (&repository.body, &issuers.body) else {
        return Err(ApiError::new(503, ErrorCode::Internal, "the gateway's lists are not an Institution Repository and an Issuer Trusted List"));
    };
    let vct = procedure.credential().vct();
    let in_period = |from: Date, until: Option<Date>| from <= day && until.is_none_or(|u| day <= u);
    let mut found: Vec<(String, String, String)> = institutions
        .iter()
        .filter(|i| i.country == country && in_period(i.valid_from, i.valid_until))
        .filter_map(|i| i.portal.as_ref().filter(|p| p.starts_with("https://")).map(|p| (i, p.trim_end_matches('/').to_owned())))
        .filter(|(i, _)| {
            issuers.iter().any(|e| e.institution_id == i.institution_id && in_period(e.valid_from, e.valid_until) && e.credential_types.iter().any(|a| a.vct == vct && in_period(a.valid_from, a.valid_until)))
        })
        .map(|(i, p)| (i.institution_id.clone(), i.name.clone(), p))
        .collect();
    found.sort();
    let mut it = found.into_iter();
    let (institution_id, institution, portal) = it.next().ok_or_else(|| ApiError::new(404, ErrorCode::NoCompetentInstitution, format!("no institution of {} handles the {} in the Institution Repository", country.iso(), procedure.title())))?;
    Ok(Handoff {
        procedure,
        country,
        url: format!("{portal}{}", procedure.portal_path()),
        institution_id,
        institution,
        portal,
        alternatives: it.map(|(institution_id, institution, p)| Alternative { url: format!("{p}{}", procedure.portal_path()), institution_id, institution }).collect(),
    })
}

struct GatewayState {
    cfg: GatewayConfig,
    chains: ChainValidator,
    client: reqwest::Client,
    /// (repository, issuer list) in use.
    lists: RwLock<Arc<(TrustedList, TrustedList)>>,
}

impl GatewayState {
    fn lists(&self) -> Arc<(TrustedList, TrustedList)> {
        self.lists.read().map(|l| l.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    async fn load(&self, now: i64) -> Result<(TrustedList, TrustedList), String> {
        let repository = crate::trusted_lists::load_list(&self.cfg.repository, &self.chains, &self.client, now).await?;
        let issuers = crate::trusted_lists::load_list(&self.cfg.issuer_list, &self.chains, &self.client, now).await?;
        if !matches!(repository.body, ListBody::Institutions { .. }) || !matches!(issuers.body, ListBody::Issuers { .. }) {
            return Err("repository must be an Institution Repository and issuer_list an Issuer Trusted List".into());
        }
        Ok((repository, issuers))
    }

    /// Read both lists again; each replaces the one in use only when newer.
    async fn refresh(&self, now: i64) {
        match self.load(now).await {
            Ok((repository, issuers)) => {
                let cur = self.lists();
                let newer = |new: &TrustedList, old: &TrustedList| crate::trusted_lists::update(old, new) == crate::trusted_lists::Update::Newer;
                let next = (if newer(&repository, &cur.0) { repository } else { cur.0.clone() }, if newer(&issuers, &cur.1) { issuers } else { cur.1.clone() });
                if let Ok(mut l) = self.lists.write() {
                    *l = Arc::new(next);
                }
            }
            Err(e) => tracing::warn!(target: "esspass::gateway", error = %e, "the lists could not be read again; those in use stay"),
        }
    }
}

/// A running gateway.
pub struct RunningGateway {
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    refresher: tokio::task::JoinHandle<()>,
}

impl RunningGateway {
    pub fn stop(self) {
        self.server.abort();
        self.refresher.abort();
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub async fn start(cfg: GatewayConfig, listener: Option<std::net::TcpListener>) -> Result<RunningGateway, String> {
    let anchors = Certificate::all_from_pem(&std::fs::read_to_string(&cfg.trust_anchor).map_err(|e| format!("{}: {e}", cfg.trust_anchor.display()))?).map_err(|e| e.detail)?;
    let cas: Vec<reqwest::Certificate> = anchors.iter().filter_map(|c| reqwest::Certificate::from_der(&c.der).ok()).collect();
    let client = reqwest::Client::builder().tls_certs_merge(cas).timeout(std::time::Duration::from_secs(5)).redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())?;
    let tls = crate::tls::tls_config(&cfg.tls_chain, &cfg.tls_key)?;
    let limits = crate::tls::ServeLimits::from(&cfg.limits);
    let listener = match listener {
        Some(l) => l,
        None => std::net::TcpListener::bind(cfg.listen).map_err(|e| format!("bind {}: {e}", cfg.listen))?,
    };
    let every = cfg.refresh_seconds.max(1);
    let mut state = GatewayState { cfg, chains: ChainValidator::new(anchors), client, lists: RwLock::new(Arc::new((empty(), empty()))) };
    let first = state.load(now()).await?;
    state.lists = RwLock::new(Arc::new(first));
    let state = Arc::new(state);
    let (addr, server) = crate::tls::serve_listener_with(listener, tls, router(state.clone()), limits)?;
    let refresher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
        tick.tick().await;
        loop {
            tick.tick().await;
            state.refresh(now()).await;
        }
    });
    Ok(RunningGateway { addr, server, refresher })
}

fn empty() -> TrustedList {
    TrustedList { operator: String::new(), sequence: 0, issued_at: 0, next_update: 0, body: ListBody::Institutions { institutions: Vec::new() } }
}

fn router(state: Arc<GatewayState>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/go", get(go))
        .route("/api/v1/procedures", get(procedures))
        .route("/api/v1/handoff", get(handoff_json))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn(problems_for_plain_errors))
        .layer(axum::middleware::from_fn(access_log))
        .with_state(state)
}

#[derive(Deserialize)]
struct Choice {
    procedure: Option<String>,
    country: Option<String>,
}

fn today() -> Date {
    Date::of_instant(time::OffsetDateTime::now_utc())
}

/// Where a person goes: a procedure of an institution, or a service that checks documents.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum Destination {
    Institution(Handoff),
    Check { procedure: &'static str, country: Country, service: String, url: String },
}

impl Destination {
    fn url(&self) -> &str {
        match self {
            Destination::Institution(h) => &h.url,
            Destination::Check { url, .. } => url,
        }
    }
}

const CHECK: &str = "check";
const CHECK_TITLE: &str = "Check a European Health Insurance Card or a Portable Document A1 (hospitals, inspectors)";

fn choose(s: &GatewayState, q: &Choice) -> Result<Destination, ApiError> {
    let names = || format!("procedure must be one of: {}, {CHECK}", Procedure::ALL.map(Procedure::name).join(", "));
    let asked = q.procedure.as_deref().ok_or_else(|| ApiError::new(400, ErrorCode::UnknownProcedure, names()))?;
    let country = q.country.as_deref().and_then(Country::parse).filter(|c| c.area().is_some()).ok_or_else(|| ApiError::new(400, ErrorCode::UnknownProcedure, "country must be the ISO code of a participating state (e.g. SI)"))?;
    if asked == CHECK {
        let x = s.cfg.check_services.iter().find(|x| Country::parse(&x.country) == Some(country)).ok_or_else(|| ApiError::new(404, ErrorCode::NoCompetentInstitution, format!("no service that checks documents is known for {}", country.iso())))?;
        return Ok(Destination::Check { procedure: CHECK, country, service: x.name.clone(), url: format!("{}/portal", x.url.trim_end_matches('/')) });
    }
    let procedure = Procedure::parse(asked).ok_or_else(|| ApiError::new(400, ErrorCode::UnknownProcedure, names()))?;
    let lists = s.lists();
    handoff(&lists.0, &lists.1, procedure, country, today()).map(Destination::Institution)
}

/// The countries with at least one institution for some procedure.
fn countries(s: &GatewayState) -> Vec<Country> {
    let lists = s.lists();
    let mut v: Vec<Country> = Procedure::ALL
        .iter()
        .flat_map(|p| match &lists.0.body {
            ListBody::Institutions { institutions } => institutions.iter().map(|i| i.country).filter(|c| handoff(&lists.0, &lists.1, *p, *c, today()).is_ok()).collect(),
            _ => Vec::new(),
        })
        .collect();
    v.extend(s.cfg.check_services.iter().filter_map(|x| Country::parse(&x.country)));
    v.sort_by(|a, b| a.iso().cmp(b.iso()));
    v.dedup();
    v
}

async fn procedures(State(s): State<Arc<GatewayState>>) -> Response {
    let mut procedures: Vec<serde_json::Value> = Procedure::ALL.iter().map(|p| serde_json::json!({"procedure": p.name(), "title": p.title(), "credential": p.credential().vct()})).collect();
    procedures.push(serde_json::json!({"procedure": CHECK, "title": CHECK_TITLE, "countries": s.cfg.check_services.iter().map(|x| x.country.clone()).collect::<Vec<_>>()}));
    json_response(StatusCode::OK, &serde_json::json!({"procedures": procedures, "countries": countries(&s).iter().map(|c| c.iso()).collect::<Vec<_>>()}))
}

async fn handoff_json(State(s): State<Arc<GatewayState>>, q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>) -> Response {
    let Ok(Query(q)) = q else {
        return problem(&ApiError::new(400, ErrorCode::UnknownProcedure, "give procedure and country"));
    };
    match choose(&s, &q) {
        Ok(h) => json_response(StatusCode::OK, &h),
        Err(e) => problem(&e),
    }
}

/// The person's choice made: to the institution's portal (303), or the page again saying why not.
async fn go(State(s): State<Arc<GatewayState>>, q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or(Choice { procedure: None, country: None });
    match choose(&s, &q) {
        Ok(h) => match HeaderValue::from_str(h.url()) {
            Ok(loc) => (StatusCode::SEE_OTHER, [(header::LOCATION, loc)]).into_response(),
            Err(_) => page(&s, StatusCode::BAD_GATEWAY, Some("The institution's address in the Institution Repository is not usable.")),
        },
        Err(e) => page(&s, StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST), Some(&e.detail)),
    }
}

async fn home(State(s): State<Arc<GatewayState>>) -> Response {
    page(&s, StatusCode::OK, None)
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The chooser: a plain form (GET /go), no script; an error, when given, tied to the form.
fn page(s: &GatewayState, status: StatusCode, error: Option<&str>) -> Response {
    let options: String = countries(s).iter().map(|c| format!("<option value=\"{0}\">{0}</option>", escape(c.iso()))).collect();
    let mut radios: String = Procedure::ALL
        .iter()
        .enumerate()
        .map(|(i, p)| format!("<div><input type=\"radio\" id=\"p-{0}\" name=\"procedure\" value=\"{0}\"{1}><label for=\"p-{0}\">{2}</label></div>", p.name(), if i == 0 { " checked" } else { "" }, escape(p.title())))
        .collect();
    if !s.cfg.check_services.is_empty() {
        radios.push_str(&format!("<div><input type=\"radio\" id=\"p-{CHECK}\" name=\"procedure\" value=\"{CHECK}\"><label for=\"p-{CHECK}\">{}</label></div>", escape(CHECK_TITLE)));
    }
    let err = error.map(|e| format!("<p id=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    let described = if error.is_some() { " aria-describedby=\"error\"" } else { "" };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Social security across Europe — start here</title></head><body><main><h1>Social security across Europe</h1><p>Choose what you need and the country whose institution should handle it. You will be taken to that institution's own site.</p>{err}<form method=\"get\" action=\"/go\"{described}><fieldset><legend>What do you need?</legend>{radios}</fieldset><div><label for=\"country\">Country</label> <select id=\"country\" name=\"country\" required>{options}</select></div><button type=\"submit\">Continue</button></form></main></body></html>"
    );
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
