//! The node's HTTPS interface: OpenID4VCI endpoints (protocol errors in the protocol's own format),
//! status lists, and the back-office API under `/api/v1` (RFC 9457 problem details with our codes).
//! Handlers are thin: they authenticate, extract, call a service, and map the answer.

use crate::config::{ApiKeyConfig, ApiRole, NodeConfig};
use crate::services::issuance::{ApiError, Issuer};
use crate::services::status::StatusService;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use esspass_core::{Clock, ErrorCode};
use esspass_oid4vc::vci::{Endpoint, ErrorResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters for `/metrics` (Prometheus text format).
#[derive(Debug, Default)]
pub struct Metrics {
    pub credentials_issued: AtomicU64,
    pub offers_created: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub protocol_errors: AtomicU64,
    pub status_changes: AtomicU64,
}

#[derive(Clone)]
pub struct AppState {
    pub issuer: Issuer,
    pub status: StatusService,
    pub cfg: Arc<NodeConfig>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Per-address rate limit of the unauthenticated endpoints.
    pub limiter: Arc<crate::limits::RateLimiter>,
    /// Wallet providers whose client attestations are accepted.
    pub wallet_providers: Arc<Vec<crate::attestation::WalletProvider>>,
    /// The institution's own verifier for sign-in with a PID (`[sign_in.pid]`).
    pub pid_sign_in: Option<Arc<crate::verifier::service::VerifierState>>,
    /// The EESSI access point (`[eessi]`).
    pub eessi: Option<Arc<crate::eessi::AccessPoint>>,
    /// The portal's session cookie name (after the institution id: one host may run several nodes).
    pub portal_cookie: String,
}

impl AppState {
    fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }
}

pub fn router(state: AppState) -> Router {
    let limit = state.cfg.max_body_bytes;
    Router::new()
        .route("/.well-known/openid-credential-issuer", get(issuer_metadata))
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route("/credential-offer/{id}", get(credential_offer))
        .route("/token", post(token))
        .route("/nonce", post(nonce))
        .route("/credential", post(credential))
        .route("/notification", post(notification))
        .route("/deferred-credential", post(deferred_credential))
        .route("/status/{list_id}", get(status_list))
        .route("/revocations", get(revocations))
        .route("/api/v1/credential-offers", post(create_offer))
        .route("/api/v1/persons", post(create_person))
        .route("/api/v1/persons", get(find_person))
        .route("/api/v1/persons/{id}/credentials", get(person_credentials))
        .route("/api/v1/employments", post(create_employment))
        .route("/api/v1/credentials/{id}/paper", get(paper))
        .route("/api/v1/credentials/{id}/{action}", post(change_status))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/applications/a1", post(submit_a1))
        .route("/api/v1/applications/{id}", get(get_application))
        .route("/api/v1/applications/{id}/decision", post(decide_application))
        .route("/api/v1/applications/{id}/contest", post(contest_application))
        .route("/api/v1/tasks", get(tasks))
        .route("/api/v1/sign-in-reviews", get(sign_in_reviews))
        .route("/api/v1/eessi/postings", get(eessi_postings))
        .route("/api/v1/eessi/postings/{message_id}/decision", post(decide_posting))
        .route("/api/v1/eessi/cases", get(eessi_cases))
        .route("/api/v1/eessi/cases/{case_id}", get(eessi_case))
        .route("/api/v1/eessi/cases/{case_id}/documents", post(eessi_reply))
        .route("/api/v1/eessi/cases/{case_id}/close", post(eessi_close))
        .route("/api/v1/eessi/cases/{case_id}/exception-answer", post(eessi_exception_answer))
        .route("/api/v1/sign-in-reviews/{id}/close", post(close_sign_in_review))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(if state.cfg.sign_in.demo_eid || state.pid_sign_in.is_some() { crate::authorize::routes() } else { Router::new() })
        .merge(state.pid_sign_in.clone().map_or_else(Router::new, crate::verifier::http::wallet_routes))
        .merge(if state.pid_sign_in.is_some() && !state.cfg.staff.is_empty() { crate::staff::routes() } else { Router::new() })
        // The portal for insured persons (institutions; a PID provider has no portal).
        .merge(if state.cfg.role == crate::config::Role::Institution { crate::portal::person::routes().merge(crate::portal::employer::routes()).merge(crate::portal::staff::routes()) } else { Router::new() })
        .route(crate::eessi::INBOX_PATH, post(eessi_inbox))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .layer(axum::middleware::from_fn(problems_for_plain_errors))
        .layer(axum::middleware::from_fn(access_log))
        .with_state(state)
}

/// A body declared up to this many times the limit is read and dropped before the 413 (so that the
/// client sees it); a larger one gets the 413 at once and the connection closed.
const DRAIN_FACTOR: u64 = 16;

/// Routes whose callers authenticate with an API key, and the operators' probes: not rate-limited
/// per address (the limit is for strangers).
fn exempt_from_rate_limit(s: &AppState, path: &str, h: &HeaderMap) -> bool {
    // Keyed API calls are not limited per address — but only with a key (or staff session) that
    // is valid: a junk Authorization header does not lift the limit. The staff sign-in takes no
    // key and is always limited.
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || (path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" && !path.starts_with("/api/v1/staff/") && h.contains_key(header::AUTHORIZATION) && authorize(s, h, ALL_ROLES).is_ok())
}

/// Every role: for checking that a key is valid at all.
const ALL_ROLES: &[ApiRole] = &[ApiRole::BackOffice, ApiRole::Employer, ApiRole::CaseWorker, ApiRole::Auditor, ApiRole::Verifier];

/// Before any handler reads a body: refuse a declared `Content-Length` over the limit (so no
/// `100 Continue` is sent and nothing is read), and rate-limit strangers per address.
async fn guard(State(s): State<AppState>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > s.cfg.max_body_bytes as u64) {
        let mut r = problem_response(413, ErrorCode::BodyTooLarge, &format!("the body may have at most {} bytes", s.cfg.max_body_bytes));
        let expects_continue = req.headers().get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let drain = DRAIN_FACTOR.saturating_mul(s.cfg.max_body_bytes as u64);
        if !expects_continue && n <= drain {
            // A client that sends its body without waiting for `100 Continue` would hit a closed
            // connection mid-upload and never see this answer: a moderately oversized body is read
            // and dropped (bounded by the declared length, the cap and the request timeout) first.
            let _ = axum::body::to_bytes(req.into_body(), usize::try_from(drain).unwrap_or(usize::MAX)).await;
        } else {
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        return r;
    }
    if !exempt_from_rate_limit(&s, req.uri().path(), req.headers())
        && let Some(axum::extract::ConnectInfo(peer)) = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        && let Err(wait) = s.limiter.hit(peer.ip(), s.now())
    {
        let mut r = problem_response(429, ErrorCode::TooManyRequests, "too many requests from this address; retry after the time in Retry-After");
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    next.run(req).await
}

/// The framework's own refusals (unknown route, wrong method, a body over the limit without a
/// declared length, a malformed query or path) come as plain text or empty: give them as RFC 9457
/// problem details with our codes, like every other error. HTML pages and JSON answers pass.
pub(crate) async fn problems_for_plain_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let r = next.run(req).await;
    let status = r.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return r;
    }
    let plain = r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_none_or(|ct| ct.starts_with("text/plain"));
    if !plain {
        return r;
    }
    let (code, detail) = match status.as_u16() {
        404 => (ErrorCode::RouteNotFound, "no such route or resource"),
        405 => (ErrorCode::MethodNotAllowed, "the route does not take this method"),
        413 => (ErrorCode::BodyTooLarge, "the request body is too large"),
        408 => (ErrorCode::RequestTimeout, "the request took too long"),
        s if s >= 500 => (ErrorCode::Internal, "the service could not answer"),
        _ => (ErrorCode::BadRequest, "the request is malformed (query, path or body)"),
    };
    let mut out = problem_response(status.as_u16(), code, detail);
    for h in [header::ALLOW, header::RETRY_AFTER, header::CONNECTION] {
        if let Some(v) = r.headers().get(&h) {
            out.headers_mut().insert(h, v.clone());
        }
    }
    out
}

/// An RFC 9457 problem response with our code.
pub fn problem_response(status: u16, code: ErrorCode, detail: &str) -> Response {
    problem(&ApiError::new(status, code, detail))
}

/// One structured log line per request: method, route path (no query string, no bodies, no
/// headers — so no personal data, codes, tokens or keys), status and duration.
pub(crate) async fn access_log(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::info!(target: "esspass::http", method = %method, path = %path, status = resp.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    resp
}

pub(crate) fn json_response(status: StatusCode, v: &impl serde::Serialize) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn protocol_error(state: &AppState, e: &ErrorResponse, at: Endpoint) -> Response {
    state.metrics.protocol_errors.fetch_add(1, Ordering::Relaxed);
    let server = e.error_description.as_deref().is_some_and(|d| d.starts_with("server error"));
    let status = if server { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::from_u16(e.http_status(at)).unwrap_or(StatusCode::BAD_REQUEST) };
    let mut r = json_response(status, e);
    if let Some(w) = e.www_authenticate(at).and_then(|w| HeaderValue::from_str(&w).ok()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, w);
    }
    r
}

pub(crate) fn problem(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "type": format!("https://esspass.invalid/errors/{}", e.code.code()),
        "title": e.code.message(),
        "status": e.status,
        "detail": e.detail,
        "code": e.code.code(),
    });
    let mut body = body;
    if !e.problems.is_empty()
        && let Some(o) = body.as_object_mut()
    {
        o.insert("problems".into(), serde_json::to_value(&e.problems).unwrap_or_default());
    }
    let mut r = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    r
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The API key of a request and its role; every `/api/v1` route names the roles it admits.
fn authorize<'a>(state: &'a AppState, h: &HeaderMap, allowed: &[ApiRole]) -> Result<&'a ApiKeyConfig, ApiError> {
    let key = header_str(h, "authorization").and_then(|a| a.strip_prefix("Bearer ")).ok_or_else(|| ApiError::new(401, ErrorCode::Unauthenticated, "send the API key as Authorization: Bearer …"))?;
    let k = if key.starts_with(crate::staff::TOKEN_PREFIX) {
        crate::staff::authorize_token(state, key, state.now()).ok_or_else(|| ApiError::new(401, ErrorCode::Unauthenticated, "the staff session is not valid or has expired: sign in again with your PID"))?
    } else {
        api_key(state, key).ok_or_else(|| ApiError::new(401, ErrorCode::Unauthenticated, "unknown API key"))?
    };
    if !allowed.contains(&k.role) {
        return Err(ApiError::new(403, ErrorCode::Forbidden, format!("the {} role may not use this route", k.role.name())));
    }
    Ok(k)
}

/// The API key configuration `key` stands for (an API caller's bearer key, or what an employer types
/// into the portal).
pub(crate) fn api_key<'a>(state: &'a AppState, key: &str) -> Option<&'a ApiKeyConfig> {
    let hash = esspass_store::hash_secret(key);
    state.cfg.api_keys.iter().find(|k| k.sha256 == hash)
}

/// The node's EESSI access point, for the case-work routes.
fn access_point(s: &AppState) -> Result<&Arc<crate::eessi::AccessPoint>, ApiError> {
    s.eessi.as_ref().ok_or_else(|| ApiError::new(404, ErrorCode::EessiNotConfigured, "this node has no EESSI access point"))
}

/// Who acts, in the audit trail: `api:{key name}`, or `staff:{name}` for a staff session.
fn actor(k: &ApiKeyConfig) -> String {
    if k.name.starts_with("staff:") { k.name.clone() } else { format!("api:{}", k.name) }
}

// ---- OpenID4VCI --------------------------------------------------------------------------------

async fn issuer_metadata(State(s): State<AppState>) -> Response {
    json_response(StatusCode::OK, &s.issuer.metadata())
}

async fn as_metadata(State(s): State<AppState>) -> Response {
    let token = format!("{}/token", s.cfg.public_url);
    // The authorization-code flow is announced only where sign-in is enabled.
    let sign_in = s.cfg.sign_in.demo_eid || s.cfg.sign_in.pid.is_some();
    let authorize = sign_in.then(|| format!("{}/authorize", s.cfg.public_url));
    let par = sign_in.then(|| format!("{}/par", s.cfg.public_url));
    let mut m = serde_json::to_value(esspass_oid4vc::oauth_metadata::AuthorizationServerMetadata::esspass(s.cfg.public_url.clone(), token, authorize, par)).unwrap_or_default();
    if sign_in && let Some(o) = m.as_object_mut() {
        o.insert("require_pushed_authorization_requests".into(), json!(true));
    }
    json_response(StatusCode::OK, &m)
}

async fn credential_offer(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    match s.issuer.fetch_offer(&id, s.now()).await {
        Ok(Some(offer)) => json_response(StatusCode::OK, &offer),
        Ok(None) => problem(&ApiError::new(404, ErrorCode::OfferGone, "no such offer, or it was used or has expired: ask the institution for a new one")),
        Err(e) => problem(&ApiError::from(e)),
    }
}

/// Every answer of a DPoP-protected endpoint carries the nonce for the client's next proof.
fn with_dpop_nonce(s: &AppState, mut r: Response) -> Response {
    if s.cfg.issuance.require_dpop_nonce
        && let Ok(v) = HeaderValue::from_str(&s.issuer.current_dpop_nonce(s.now())) {
            r.headers_mut().insert("dpop-nonce", v);
        }
    r
}

async fn token(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let r = token_inner(&s, &h, &body).await;
    with_dpop_nonce(&s, r)
}

async fn token_inner(s: &AppState, h: &HeaderMap, body: &[u8]) -> Response {
    let now = s.now();
    let dpop = match s.issuer.check_dpop(header_str(h, "dpop"), "POST", "/token", None, now).await {
        Ok(d) => d,
        Err(e) => return protocol_error(s, &e, Endpoint::Token),
    };
    // A registered client of the authorization-code flow authenticates here as at the PAR
    // endpoint (wallet attestation where sent or required).
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) == Some("authorization_code")
        && let Some(client) = form.get("client_id").and_then(|id| s.cfg.clients.iter().find(|c| &c.client_id == id))
        && let Err(e) = crate::authorize::check_client_attestation(s, h, client, now).await
    {
        let err = ErrorResponse::new(esspass_oid4vc::vci::ErrorCode::InvalidClient, e.description);
        return protocol_error(s, &err, Endpoint::Token);
    }
    match s.issuer.token(body, &dpop, now).await {
        Ok(t) => {
            s.metrics.tokens_issued.fetch_add(1, Ordering::Relaxed);
            json_response(StatusCode::OK, &t)
        }
        Err(e) => protocol_error(s, &e, Endpoint::Token),
    }
}

async fn nonce(State(s): State<AppState>) -> Response {
    match s.issuer.nonce(s.now()).await {
        Ok(n) => json_response(StatusCode::OK, &json!({"c_nonce": n})),
        Err(e) => protocol_error(&s, &e, Endpoint::Credential),
    }
}

async fn credential(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let r = credential_inner(&s, &h, &body).await;
    with_dpop_nonce(&s, r)
}

async fn credential_inner(s: &AppState, h: &HeaderMap, body: &[u8]) -> Response {
    let s = s.clone();
    let h = h.clone();
    let now = s.now();
    let (grant, jkt, used) = match s.issuer.grant(header_str(&h, "authorization"), header_str(&h, "dpop"), "/credential", now).await {
        Ok(g) => g,
        Err(e) => return protocol_error(&s, &e, Endpoint::Credential),
    };
    let token = header_str(&h, "authorization").and_then(|a| a.strip_prefix("DPoP ")).unwrap_or_default();
    match s.issuer.credential(&grant, used, token, &jkt, body, now).await {
        Ok(r) => {
            if let esspass_oid4vc::vci::CredentialResponse::Issued { credentials, .. } = &r {
                s.metrics.credentials_issued.fetch_add(credentials.len() as u64, Ordering::Relaxed);
            }
            json_response(StatusCode::from_u16(r.http_status()).unwrap_or(StatusCode::OK), &r)
        }
        Err(e) => protocol_error(&s, &e, Endpoint::Credential),
    }
}

async fn notification(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let r = notification_inner(&s, &h, &body).await;
    with_dpop_nonce(&s, r)
}

async fn notification_inner(s: &AppState, h: &HeaderMap, body: &[u8]) -> Response {
    let s = s.clone();
    let h = h.clone();
    let now = s.now();
    let (_, jkt, _) = match s.issuer.grant(header_str(&h, "authorization"), header_str(&h, "dpop"), "/notification", now).await {
        Ok(g) => g,
        Err(e) => return protocol_error(&s, &e, Endpoint::Notification),
    };
    match s.issuer.notification(&jkt, body, now).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => protocol_error(&s, &e, Endpoint::Notification),
    }
}

async fn deferred_credential(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let now = s.now();
    let r = match s.issuer.grant(header_str(&h, "authorization"), header_str(&h, "dpop"), "/deferred-credential", now).await {
        Ok((grant, jkt, _)) => match s.issuer.deferred(&grant, &jkt, &body, now).await {
            Ok(r) => json_response(StatusCode::from_u16(r.http_status()).unwrap_or(StatusCode::OK), &r),
            Err(e) => protocol_error(&s, &e, Endpoint::Deferred),
        },
        Err(e) => protocol_error(&s, &e, Endpoint::Deferred),
    };
    with_dpop_nonce(&s, r)
}

// ---- status lists --------------------------------------------------------------------------------

/// A storage error's kind for the logs (never its text, which may quote values).
pub fn store_error_kind(e: &esspass_store::StoreError) -> &'static str {
    use esspass_store::StoreError as E;
    match e {
        E::Duplicate(_) => "duplicate",
        E::NotFound(_) => "not_found",
        E::Final(_) => "final",
        E::Conflict(_) => "conflict",
        E::Url(_) => "url",
        E::Migration(_) => "migration",
        E::Database(_) => "database",
        E::NoSecret => "no_secret",
    }
}

async fn status_list(State(s): State<AppState>, Path(list_id): Path<String>, h: HeaderMap) -> Response {
    let row = match s.status.store.status_list(&list_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such status list").into_response(),
        Err(e) => return problem(&ApiError::from(e)),
    };
    let (Some(token), Some(etag)) = (row.token, row.etag) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "status list not yet signed").into_response();
    };
    let etag_v = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    if h.get(header::IF_NONE_MATCH).is_some_and(|v| v == etag_v) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_v)]).into_response();
    }
    let cache = HeaderValue::from_str(&format!("max-age={}", s.cfg.status.ttl)).unwrap_or(HeaderValue::from_static("max-age=60"));
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/statuslist+jwt")), (header::CACHE_CONTROL, cache), (header::ETAG, etag_v)], token).into_response()
}

// ---- back office -------------------------------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    credential_configuration_id: String,
    person_id: String,
    /// For a PDA1: the A1 application it certifies.
    #[serde(default)]
    application_id: Option<String>,
}

/// A JSON request body. An object with fields the route does not know is refused with every unknown
/// field listed (`problems`), not only the first.
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        if let (Some(known), Ok(Value::Object(given))) = (expected_fields(&text), serde_json::from_slice::<Value>(body)) {
            let problems: Vec<esspass_core::Problem> = given
                .keys()
                .filter(|k| !known.contains(k))
                .map(|k| esspass_core::Problem::new(format!("$.{k}"), ErrorCode::UnknownField, format!("unknown field {k}; the fields are {}", known.join(", "))))
                .collect();
            if !problems.is_empty() {
                return ApiError::new(400, ErrorCode::UnknownField, format!("{} unknown field(s): {}", problems.len(), problems.iter().map(|p| p.path.trim_start_matches("$.")).collect::<Vec<_>>().join(", "))).with_problems(problems);
            }
        }
        ApiError::new(400, ErrorCode::BadRequest, format!("request body: {text}"))
    })
}

/// The field names serde lists in an "unknown field `x`, expected one of `a`, `b`" error.
fn expected_fields(message: &str) -> Option<Vec<String>> {
    if !message.starts_with("unknown field") {
        return None;
    }
    let rest = message.split_once("expected").map(|(_, r)| r)?;
    let rest = rest.split(" at line ").next().unwrap_or(rest);
    Some(rest.split('`').skip(1).step_by(2).map(str::to_owned).collect())
}

#[utoipa::path(post, path = "/api/v1/credential-offers", tag = "issuance", request_body = OfferRequest,
    responses((status = 201, body = crate::services::issuance::OfferCreated), (status = 400, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails), (status = 409, description = "not entitled", body = ProblemDetails)),
    security(("api_key" = [])))]
async fn create_offer(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice, ApiRole::Employer])?;
        let req: OfferRequest = parse_json(&body)?;
        crate::services::applications::check_may_offer(&s.issuer.store, k, req.application_id.as_deref()).await?;
        let o = s.issuer.create_offer(&req.credential_configuration_id, &req.person_id, req.application_id.as_deref(), &actor(k), k.role == ApiRole::Employer, s.now()).await?;
        s.metrics.offers_created.fetch_add(1, Ordering::Relaxed);
        Ok::<_, ApiError>(json_response(StatusCode::CREATED, &o))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// An insured person with (optionally) one coverage period; the flat record of `esspass import`.
#[derive(Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    pub personal_number: String,
    pub family_name: String,
    pub given_name: String,
    /// YYYY-MM-DD
    pub birth_date: String,
    /// ISO 3166-1 alpha-2
    #[serde(default)]
    pub nationality: Option<String>,
    #[serde(default)]
    pub residence: Option<String>,
    /// ISO 3166-1 alpha-2 country of birth.
    #[serde(default)]
    pub birth_country: Option<String>,
    /// Locality of birth.
    #[serde(default)]
    pub birth_place: Option<String>,
    /// `health` or `social_security`
    #[serde(default)]
    pub coverage_kind: Option<String>,
    #[serde(default)]
    pub coverage_start: Option<String>,
    #[serde(default)]
    pub coverage_end: Option<String>,
    /// An employer of the person (its id as used in A1 applications), with the employment's period.
    #[serde(default)]
    pub employer_id: Option<String>,
    #[serde(default)]
    pub employment_start: Option<String>,
    #[serde(default)]
    pub employment_end: Option<String>,
}

/// `POST /api/v1/employments`: an employment record from the authentic source.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmploymentInput {
    pub person_id: String,
    pub employer_id: String,
    /// YYYY-MM-DD
    pub start: String,
    /// YYYY-MM-DD, inclusive; open-ended when absent.
    #[serde(default)]
    pub end: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/employments", tag = "persons", request_body = EmploymentInput,
    responses((status = 201, body = esspass_store::EmploymentRow), (status = 400, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn create_employment(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice])?;
        let req: EmploymentInput = parse_json(&body)?;
        let row = crate::services::applications::record_employment(&s.issuer.store, &req.person_id, &req.employer_id, &req.start, req.end.as_deref(), &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::CREATED, &row))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// `POST /eessi/messages`: another institution's access point delivers a signed message; the answer
/// is a signed receipt (accepted, or refused with the code and the problems). Authenticated by the
/// message's signature and the Institution Repository, not by an API key.
async fn eessi_inbox(State(s): State<AppState>, body: Bytes) -> Response {
    let Some(ap) = s.eessi.clone() else {
        return problem(&ApiError::new(404, ErrorCode::EessiNotConfigured, "this node has no EESSI access point"));
    };
    match ap.receive(&body, s.now()).await {
        Ok((status, receipt)) => {
            let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), receipt).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwt"));
            r
        }
        Err(e) => problem(&e),
    }
}

/// RFC 9457 problem details with the stable esspass code.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProblemDetails {
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// `ESP-` + four digits (docs/error-codes.md).
    pub code: String,
}

#[utoipa::path(post, path = "/api/v1/persons", tag = "persons", request_body = PersonInput,
    responses((status = 201, description = "created: {person_id}"), (status = 400, body = ProblemDetails), (status = 409, description = "duplicate personal number", body = ProblemDetails)),
    security(("api_key" = [])))]
async fn create_person(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice])?;
        let input: PersonInput = parse_json(&body)?;
        let v = serde_json::to_value(&input).unwrap_or_default();
        let row = crate::services::import::read_rows(std::io::Cursor::new(serde_json::to_vec(&json!([v])).unwrap_or_default()), crate::services::import::Format::Json)
            .map_err(|e| ApiError::new(400, ErrorCode::BadRequest, e))?;
        let report = crate::services::import::import_persons(&s.issuer.store, row, &actor(k), s.now(), |_| {}).await?;
        if let Some(e) = report.errors.first() {
            let code = e.problems.first().map_or(ErrorCode::BadRequest, |p| p.code);
            let status = if code == ErrorCode::DuplicateRecord { 409 } else { 400 };
            let mut r = problem(&ApiError::new(status, code, "the person record is invalid"));
            if let Ok(body) = serde_json::to_vec(&json!({"type": format!("https://esspass.invalid/errors/{}", code.code()), "title": code.message(), "status": status, "code": code.code(), "problems": e.problems})) {
                *r.body_mut() = body.into();
            }
            return Ok(r);
        }
        let person_id = report.created.first().map(|(_, id)| id.clone()).unwrap_or_default();
        Ok::<_, ApiError>(json_response(StatusCode::CREATED, &json!({"person_id": person_id})))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PersonQuery {
    /// The national social security number to look up.
    personal_number: String,
}

/// A person as the back office finds them: the record, their coverage and employment records.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PersonFound {
    #[schema(value_type = Object)]
    pub person: esspass_store::Person,
    #[schema(value_type = Vec<Object>)]
    pub coverage: Vec<esspass_store::CoverageRow>,
    pub employments: Vec<esspass_store::EmploymentRow>,
}

#[utoipa::path(get, path = "/api/v1/persons", tag = "persons", params(PersonQuery),
    responses((status = 200, body = PersonFound), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn find_person(State(s): State<AppState>, h: HeaderMap, Query(q): Query<PersonQuery>) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice, ApiRole::CaseWorker])?;
        let person = s.issuer.store.person_by_number(q.personal_number.trim()).await?;
        // The lookup is audited whether or not it found someone (who searched for which number is
        // itself personal data: the audit names the person found, or none).
        let subject = person.as_ref().map_or("not found", |p| p.person_id.as_str()).to_owned();
        s.issuer.store.append_audit(s.now(), &actor(k), "find_person", &subject, "back-office query", &json!({"found": person.is_some()})).await?;
        let person = person.ok_or_else(|| ApiError::new(404, ErrorCode::PersonNotFound, "no person with this personal number"))?;
        let coverage = s.issuer.store.coverage_of(&person.person_id).await?;
        let employments = s.issuer.store.employments_of(&person.person_id, None).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &PersonFound { person, coverage, employments }))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[utoipa::path(get, path = "/api/v1/persons/{id}/credentials", tag = "persons", params(("id" = String, Path, description = "person id")),
    responses((status = 200, body = Vec<esspass_store::CredentialRow>), (status = 401, body = ProblemDetails), (status = 403, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn person_credentials(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice, ApiRole::CaseWorker, ApiRole::Auditor])?;
        let creds = s.issuer.store.credentials_of(&id).await?;
        s.issuer.store.append_audit(s.now(), &actor(k), "read_credentials", &id, "back-office query", &json!({"count": creds.len()})).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &creds))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PaperQuery {
    /// `pdf` (default: the printable A4 page), `png` (the QR code alone) or `text` (the QR text).
    #[serde(default)]
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/credentials/{id}/paper", tag = "paper", params(("id" = String, Path, description = "credential id"), PaperQuery),
    responses((status = 200, description = "the paper document: application/pdf, image/png or text/plain"), (status = 404, body = ProblemDetails), (status = 409, description = "revoked, suspended, expired, or issued before documents were kept (ESP-8017)", body = ProblemDetails)),
    security(("api_key" = [])))]
async fn paper(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, q: Result<Query<PaperQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice, ApiRole::CaseWorker])?;
        let Query(q) = q.map_err(|e| ApiError::new(400, ErrorCode::BadRequest, e.body_text()))?;
        let format = crate::services::paper::PaperFormat::parse(q.format.as_deref())?;
        let printed = crate::services::paper::print(&s.issuer, &id, format, &actor(k), s.now()).await?;
        let disposition = format!("inline; filename=\"{}.{}\"", printed.document_number.chars().filter(char::is_ascii_alphanumeric).collect::<String>(), match format {
            crate::services::paper::PaperFormat::Pdf => "pdf",
            crate::services::paper::PaperFormat::Png => "png",
            crate::services::paper::PaperFormat::Text => "txt",
        });
        let mut r = (StatusCode::OK, printed.bytes).into_response();
        let hm = r.headers_mut();
        hm.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
        hm.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            hm.insert(header::CONTENT_DISPOSITION, v);
        }
        hm.insert("x-esspass-paper-minimal", HeaderValue::from_static(if printed.minimal { "true" } else { "false" }));
        Ok::<_, ApiError>(r)
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// The signed revocation export for the trust operator's offline bundle (docs/paper.md): public,
/// like the status lists; hashes of document numbers only.
async fn revocations(State(s): State<AppState>) -> Response {
    match crate::services::paper::revocation_export(&s.issuer, s.now()).await {
        Ok(jws) => (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/revocation-list+jwt")), (header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"))], jws).into_response(),
        Err(e) => problem(&e),
    }
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    #[serde(default)]
    reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/{action}", tag = "status", request_body(content = StatusChange, description = "optional"),
    params(("id" = String, Path, description = "credential id"), ("action" = String, Path, description = "revoke, suspend or reinstate")),
    responses((status = 200, body = esspass_store::CredentialRow), (status = 404, body = ProblemDetails), (status = 409, description = "revoked stays revoked", body = ProblemDetails)),
    security(("api_key" = [])))]
async fn change_status(State(s): State<AppState>, h: HeaderMap, Path((id, action)): Path<(String, String)>, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice, ApiRole::CaseWorker])?;
        if !matches!(action.as_str(), "revoke" | "suspend" | "reinstate") {
            return Err(ApiError::new(404, ErrorCode::BadRequest, "the action is revoke, suspend or reinstate"));
        }
        let req: StatusChange = if body.is_empty() { StatusChange::default() } else { parse_json(&body)? };
        let row = s.status.change(s.eessi.as_deref(), &id, &action, req.reason.as_deref(), &actor(k), s.now()).await?;
        s.metrics.status_changes.fetch_add(1, Ordering::Relaxed);
        Ok::<_, ApiError>(json_response(StatusCode::OK, &row))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    #[serde(default = "one")]
    from: i64,
    #[serde(default = "hundred")]
    limit: i64,
}

fn one() -> i64 {
    1
}
fn hundred() -> i64 {
    100
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "{head: {seq, hash}, records: [AuditRecord]}", body = Vec<esspass_store::AuditRecord>), (status = 403, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn audit(State(s): State<AppState>, h: HeaderMap, Query(q): Query<AuditQuery>) -> Response {
    let run = async {
        authorize(&s, &h, &[ApiRole::Auditor])?;
        let records = s.issuer.store.audit_records(q.from, q.limit.clamp(1, 1000)).await?;
        let (seq, hash) = s.issuer.store.audit_head().await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &json!({"head": {"seq": seq, "hash": hash}, "records": records})))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.issuer.store.audit_head().await {
        Ok(_) => "ready".into_response(),
        Err(e) => {
            tracing::error!(target: "esspass::readyz", error_kind = store_error_kind(&e), "database not ready");
            problem_response(503, ErrorCode::Internal, "the database is not available")
        }
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let m = &s.metrics;
    let body = format!(
        "# TYPE esspass_credentials_issued_total counter\nesspass_credentials_issued_total {}\n# TYPE esspass_offers_created_total counter\nesspass_offers_created_total {}\n# TYPE esspass_tokens_issued_total counter\nesspass_tokens_issued_total {}\n# TYPE esspass_protocol_errors_total counter\nesspass_protocol_errors_total {}\n# TYPE esspass_status_changes_total counter\nesspass_status_changes_total {}\n",
        m.credentials_issued.load(Ordering::Relaxed),
        m.offers_created.load(Ordering::Relaxed),
        m.tokens_issued.load(Ordering::Relaxed),
        m.protocol_errors.load(Ordering::Relaxed),
        m.status_changes.load(Ordering::Relaxed),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

// ---- A1 applications -----------------------------------------------------------------------------

#[utoipa::path(post, path = "/api/v1/applications/a1", tag = "applications", request_body = crate::services::applications::A1Request,
    responses((status = 201, body = esspass_store::ApplicationRow), (status = 400, body = ProblemDetails), (status = 403, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn submit_a1(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice, ApiRole::Employer])?;
        let req: crate::services::applications::A1Request = parse_json(&body)?;
        let row = crate::services::applications::submit(&s.issuer.store, &s.cfg.institution, s.eessi.as_deref(), req, k, s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::CREATED, &row))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path, description = "application id")),
    responses((status = 200, body = esspass_store::ApplicationRow), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn get_application(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice, ApiRole::Employer, ApiRole::CaseWorker, ApiRole::Auditor])?;
        let app = s.issuer.store.application(&id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::BadRequest, "no such application"))?;
        if !crate::services::applications::may_access(k, &app) {
            return Err(ApiError::new(403, ErrorCode::UnavailableForEmployer, "the application belongs to another employer"));
        }
        s.issuer.store.append_audit(s.now(), &actor(k), "read_a1_application", &app.person_id, "applicable legislation", &json!({"application": id})).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &app))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[utoipa::path(get, path = "/api/v1/tasks", tag = "applications",
    responses((status = 200, body = Vec<esspass_store::ApplicationRow>), (status = 403, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn tasks(State(s): State<AppState>, h: HeaderMap) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker])?;
        // Whose data was shown (every application and person in the answer) is audited.
        let pending = crate::services::applications::pending(&s.issuer.store, &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &pending))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/decision", tag = "applications", request_body = crate::services::applications::CaseDecision,
    params(("id" = String, Path, description = "application id")),
    responses((status = 200, body = esspass_store::ApplicationRow), (status = 400, body = ProblemDetails), (status = 409, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn decide_application(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker])?;
        let d: crate::services::applications::CaseDecision = parse_json(&body)?;
        let row = crate::services::applications::decide(&s.issuer.store, &s.cfg.institution, s.eessi.as_deref(), &id, d, &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &row))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// Ask for a human review of an adverse automatic decision (GDPR Art 22(3)): the application goes to
/// the case workers' queue with the engine's reasons. The back office, or the employer that submitted.
#[utoipa::path(post, path = "/api/v1/applications/{id}/contest", tag = "applications", request_body = crate::services::applications::ContestRequest,
    params(("id" = String, Path, description = "application id")),
    responses((status = 200, body = esspass_store::ApplicationRow), (status = 400, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 409, description = "not an adverse automatic decision (ESP-7020)", body = ProblemDetails)),
    security(("api_key" = [])))]
async fn contest_application(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::BackOffice, ApiRole::Employer])?;
        let req: crate::services::applications::ContestRequest = parse_json(&body)?;
        let row = crate::services::applications::contest(&s.issuer.store, &id, req, k, &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &row))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[utoipa::path(get, path = "/api/v1/sign-in-reviews", tag = "case work",
    responses((status = 200, description = "open reviews of sign-ins that did not match a record", body = Vec<esspass_store::SignInReviewRow>), (status = 403, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn sign_in_reviews(State(s): State<AppState>, h: HeaderMap) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker])?;
        let open = s.issuer.store.sign_in_reviews("open", 500).await?;
        let shown: Vec<Value> = open.iter().map(|r| json!({"review": r.review_id, "person": r.person_id})).collect();
        s.issuer.store.append_audit(s.now(), &actor(k), "read_sign_in_reviews", "sign-in reviews", "case work", &json!({"count": open.len(), "shown": shown})).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &open))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PostingQuery {
    /// `review` (default: waiting for a case worker), `information_requested`, `registered`, `rejected` or `withdrawn`.
    #[serde(default = "review")]
    state: String,
}

fn review() -> String {
    "review".into()
}

#[utoipa::path(get, path = "/api/v1/eessi/postings", tag = "case work", params(PostingQuery),
    responses((status = 200, description = "postings other institutions notified (A009), with the reasons a case worker must look at them", body = Vec<esspass_store::PostingRow>), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn eessi_postings(State(s): State<AppState>, h: HeaderMap, q: Result<Query<PostingQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker, ApiRole::Auditor])?;
        let Query(q) = q.map_err(|e| ApiError::new(400, ErrorCode::BadRequest, e.body_text()))?;
        let rows = access_point(&s)?.postings(&q.state, &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &rows))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[utoipa::path(get, path = "/api/v1/eessi/cases", tag = "case work",
    responses((status = 200, description = "the 200 cases most recently moved, newest first: BUC, owner, status, documents and history", body = Vec<esspass_store::CaseRow>), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn eessi_cases(State(s): State<AppState>, h: HeaderMap) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker, ApiRole::Auditor])?;
        let ap = access_point(&s)?;
        let rows = ap.list_cases(200, &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &rows))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[utoipa::path(get, path = "/api/v1/eessi/cases/{case_id}", tag = "case work",
    params(("case_id" = String, Path, description = "the case id")),
    responses((status = 200, description = "the case: participants, documents with their states, history, and `messages` — every message received (with its SED as XML) or sent (with its delivery state)", body = esspass_store::CaseRow), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn eessi_case(State(s): State<AppState>, h: HeaderMap, Path(case_id): Path<String>) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker, ApiRole::Auditor])?;
        let ap = access_point(&s)?;
        let view = ap.show_case(&case_id, &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &view))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReplyQuery {
    /// The participant to send to, when the case has more than one other.
    to: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/eessi/cases/{case_id}/documents", tag = "case work", params(("case_id" = String, Path, description = "the case id"), ReplyQuery),
    request_body(content = String, content_type = "application/xml", description = "the SED as an XML document"),
    responses((status = 201, description = "queued: `{message_id}`"), (status = 400, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails), (status = 409, description = "the BUC does not allow it now", body = ProblemDetails)),
    security(("api_key" = [])))]
async fn eessi_reply(State(s): State<AppState>, h: HeaderMap, Path(case_id): Path<String>, q: Result<Query<ReplyQuery>, axum::extract::rejection::QueryRejection>, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker])?;
        let Query(q) = q.map_err(|e| ApiError::new(400, ErrorCode::BadRequest, e.body_text()))?;
        let ap = access_point(&s)?;
        let message_id = ap.reply(&case_id, &body, q.to.as_deref(), &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::CREATED, &json!({"message_id": message_id})))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// Why a case owner closes a case.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// `case_handled`, `sent_in_error`, `duplicate` or `other`.
    pub reason: String,
    /// Free text sent with the X001; required for `other`.
    pub explanation: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/eessi/cases/{case_id}/close", tag = "case work", request_body = CloseBody, params(("case_id" = String, Path, description = "the case id")),
    responses((status = 200, description = "the case as closed (an X001 queued to every counterparty)", body = esspass_store::CaseRow), (status = 400, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails), (status = 409, description = "not the case owner, or closed already", body = ProblemDetails)),
    security(("api_key" = [])))]
async fn eessi_close(State(s): State<AppState>, h: HeaderMap, Path(case_id): Path<String>, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker])?;
        let ap = access_point(&s)?;
        let b: CloseBody = parse_json(&body)?;
        let reason = esspass_eessi::sed::ClosureReason::parse(&b.reason).ok_or_else(|| ApiError::new(400, ErrorCode::BadRequest, "reason is case_handled, sent_in_error, duplicate or other"))?;
        let explanation = b.explanation.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
        let row = ap.close_case(&case_id, reason, explanation, &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &row))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// A case worker's answer to another institution's Art 16 request (A001) in a case.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionAnswerBody {
    /// `agree` (an A011) or `refuse` (an A002).
    pub decision: String,
    /// The period granted (YYYY-MM-DD), within the one requested: agreeing for part of it, or with
    /// `refuse`, a partial refusal granting this period only. Default: the whole period (agree).
    pub start: Option<String>,
    pub end: Option<String>,
    /// Why; required to refuse.
    pub reasons: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/eessi/cases/{case_id}/exception-answer", tag = "case work", request_body = ExceptionAnswerBody, params(("case_id" = String, Path, description = "the LA_BUC_01 case")),
    responses((status = 201, description = "the A011 or A002 queued: `{message_id}`"), (status = 400, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, description = "no such case, or no A001 received in it", body = ProblemDetails), (status = 409, description = "answered already, or the case is closed", body = ProblemDetails)),
    security(("api_key" = [])))]
async fn eessi_exception_answer(State(s): State<AppState>, h: HeaderMap, Path(case_id): Path<String>, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker])?;
        let ap = access_point(&s)?;
        let b: ExceptionAnswerBody = parse_json(&body)?;
        let agree = match b.decision.as_str() {
            "agree" => true,
            "refuse" => false,
            _ => return Err(ApiError::new(400, ErrorCode::BadRequest, "decision is agree or refuse")),
        };
        let date = |v: &Option<String>, k: &str| v.as_deref().map(|d| esspass_core::Date::parse(d).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidDate, format!("{k} is YYYY-MM-DD")))).transpose();
        let period = match (date(&b.start, "start")?, date(&b.end, "end")?) {
            (Some(a), Some(e)) => Some((a, e)),
            (None, None) => None,
            _ => return Err(ApiError::new(400, ErrorCode::BadRequest, "give both start and end, or neither")),
        };
        let answer = crate::eessi::ExceptionAnswer { agree, period, reasons: b.reasons };
        let message_id = ap.answer_exception(&case_id, &answer, &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::CREATED, &json!({"message_id": message_id})))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// A case worker's decision on a posting under review.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostingDecisionBody {
    /// `register` (the posting is taken as notified; LA_BUC_04 sends nothing back), `reject` (an
    /// X011 rejecting the A009 goes to the sending institution) or `ask` (an A005 with `questions`
    /// goes to it; the posting returns to review when its A006 answer arrives).
    pub decision: String,
    /// For `reject`: `not_competent`, `unknown_person`, `wrong_person`, `incomplete` or `other`.
    pub reason: Option<String>,
    /// Free text sent with the X011; required for `other`.
    pub explanation: Option<String>,
    /// For `ask`: the questions the A005 puts to the sending institution (1 to 10).
    #[serde(default)]
    pub questions: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/eessi/postings/{message_id}/decision", tag = "case work", request_body = PostingDecisionBody,
    params(("message_id" = String, Path, description = "the id of the A009 message that notified the posting")),
    responses((status = 200, description = "the posting as decided", body = esspass_store::PostingRow), (status = 400, body = ProblemDetails), (status = 403, body = ProblemDetails), (status = 404, body = ProblemDetails), (status = 409, body = ProblemDetails)),
    security(("api_key" = [])))]
async fn decide_posting(State(s): State<AppState>, h: HeaderMap, Path(message_id): Path<String>, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker])?;
        let ap = access_point(&s)?;
        let b: PostingDecisionBody = parse_json(&body)?;
        let decision = crate::eessi::PostingDecision::with_questions(&b.decision, b.reason.as_deref(), b.explanation.as_deref(), &b.questions)?;
        let row = ap.decide_posting(&message_id, &decision, &actor(k), s.now()).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &row))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// What a case worker records when closing a sign-in review.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewClose {
    /// What was done (e.g. the record corrected, the person asked to come in).
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/sign-in-reviews/{id}/close", tag = "case work", request_body = ReviewClose, params(("id" = String, Path, description = "review id")),
    responses((status = 200, description = "closed"), (status = 400, body = ProblemDetails), (status = 409, description = "not open", body = ProblemDetails)),
    security(("api_key" = [])))]
async fn close_sign_in_review(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h, &[ApiRole::CaseWorker])?;
        let req: ReviewClose = parse_json(&body)?;
        if req.note.trim().is_empty() {
            return Err(ApiError::new(400, ErrorCode::BadRequest, "closing a review needs a note"));
        }
        if !s.issuer.store.close_sign_in_review(&id, &actor(k), s.now(), &req.note).await? {
            return Err(ApiError::new(409, ErrorCode::BadRequest, "no open review with this id"));
        }
        s.issuer.store.append_audit(s.now(), &actor(k), "close_sign_in_review", "sign-in reviews", "case work", &json!({"review": id})).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &json!({"review_id": id, "state": "closed"})))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// The back-office API's OpenAPI document, generated from the handlers' annotations and types.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "esspass institution node — back-office API", version = "1", description = "RFC 9457 errors carry a stable `code` (docs/error-codes.md). Authenticate with `Authorization: Bearer <API key>`, or with a staff session token from a PID sign-in (`/api/v1/staff/sign-in`)."),
    paths(create_person, find_person, create_employment, create_offer, person_credentials, paper, change_status, audit, submit_a1, get_application, tasks, decide_application, contest_application, sign_in_reviews, close_sign_in_review, eessi_postings, decide_posting, eessi_cases, eessi_case, eessi_reply, eessi_close, eessi_exception_answer, crate::staff::start, crate::staff::session, openapi),
    modifiers(&ApiKeyScheme)
)]
pub struct ApiDoc;

struct ApiKeyScheme;

impl utoipa::Modify for ApiKeyScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("an API key configured for the node")).build()));
    }
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "this document")))]
async fn openapi() -> Response {
    use utoipa::OpenApi;
    json_response(StatusCode::OK, &ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi;

    /// Every `/api/v1` route of the router is in the OpenAPI document with its method, and every
    /// documented path is routed.
    #[test]
    fn openapi_document_matches_the_routes() {
        let src = concat!(include_str!("http.rs"), include_str!("staff.rs"));
        let mut routed = Vec::new();
        for line in src.lines() {
            let line = line.trim();
            let Some(rest) = line.strip_prefix(".route(\"/api/v1") else { continue };
            let path = format!("/api/v1{}", rest.split('"').next().unwrap_or_default());
            let method = rest.split(", ").nth(1).and_then(|m| m.split('(').next()).unwrap_or_default().to_owned();
            routed.push((path, method));
        }
        assert!(routed.len() >= 10, "{routed:?}");
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for (path, method) in &routed {
            let item = paths.get(path).unwrap_or_else(|| panic!("{path} is routed but not documented"));
            assert!(item.get(method.as_str()).is_some(), "{method} {path} is routed but not documented");
        }
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                assert!(routed.iter().any(|(p, m)| p == path && m == method), "{method} {path} is documented but not routed");
            }
        }
        // The types behind the bodies are in the document.
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for t in ["OfferRequest", "OfferCreated", "PersonInput", "ProblemDetails", "CredentialRow", "ApplicationRow", "A1Request", "CaseDecision", "StatusChange", "AuditRecord"] {
            assert!(schemas.contains_key(t), "schema {t} missing");
        }
        assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    }
}
