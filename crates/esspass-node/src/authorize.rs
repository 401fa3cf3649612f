//! The authorization-code flow (OpenID4VCI 1.0 with HAIP): pushed authorization requests (RFC 9126),
//! the authorization endpoint with the demo eID sign-in, PKCE S256 (RFC 7636) and `iss` in the
//! response (RFC 9207).
//!
//! 1. `POST /par`: the wallet pushes its request (PKCE S256 required; DPoP optional — when present
//!    the code is bound to its key). Stored single-use for [`PAR_LIFETIME`] s under a random
//!    `request_uri`.
//! 2. `GET /authorize?client_id&request_uri`: the request_uri is consumed and replaced by a fresh
//!    single-use sign-in reference carried in the form (the request_uri never reaches the form).
//!    With `[sign_in.pid]` the page opens a PID transaction of the institution's own verifier
//!    ([`pid`]) and shows its link; `POST /authorize/pid` continues once the wallet has answered,
//!    matching the verified PID to the record. The demo eID form is offered beside it only where
//!    `demo_eid` is on, marked as a demonstration.
//! 3. `POST /authorize`: the demo eID sign-in. A match against the record (names and birth date
//!    after Unicode normalisation, see [`matching`]) issues a single-use code ([`CODE_LIFETIME`] s)
//!    and redirects to the wallet with `code`, `state` (when sent) and `iss`; anything else goes to
//!    manual review without a code, with the same page whether or not the personal number exists.
//! 4. [`redeem_authorization_code`] at the token endpoint: code, PKCE verifier, redirect URI and
//!    client id.

pub mod matching;
pub mod page;
pub mod pid;

use crate::http::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use esspass_oid4vc::pkce;
use esspass_oid4vc::vci::error::sanitize_description;
use esspass_oid4vc::vci::token::{OPENID_CREDENTIAL, parse_authorization_details};
use esspass_oid4vc::vci::{Endpoint, ErrorCode as VciError, ErrorResponse};
use esspass_store::Store;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// Seconds a pushed request stays usable (RFC 9126 `expires_in`).
pub const PAR_LIFETIME: i64 = 60;
/// Seconds an authorization code stays redeemable.
pub const CODE_LIFETIME: i64 = 60;
/// Seconds the person has to fill in the sign-in form.
pub const SIGN_IN_LIFETIME: i64 = 600;
/// The `request_uri` prefix of RFC 9126 §2.2.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

const KIND_PAR: &str = "par";
const KIND_SIGN_IN: &str = "authorize_sign_in";
const KIND_CODE: &str = "authorization_code";
/// The audit actor of sign-ins with the demo eID.
pub const AUDIT_ACTOR: &str = "demo-eid";
/// The audit actor of sign-ins with a PID.
pub const PID_ACTOR: &str = "pid";
const MAX_PARAM: usize = 2048;

/// Single-use kind of the `issuer_state` an offer's authorization-code grant carries (written by
/// `Issuer::create_offer`).
pub const KIND_ISSUER_STATE: &str = "issuer_state";

fn random_token() -> String {
    esspass_credential::b64::encode(esspass_credential::random_bytes::<32>())
}

fn invalid_grant(d: &str) -> ErrorResponse {
    ErrorResponse::new(VciError::InvalidGrant, d)
}

fn server_error(e: impl std::fmt::Display) -> ErrorResponse {
    crate::services::issuance::server_error(e)
}

/// Redeem an authorization code at the token endpoint: the grant payload (`person_id`,
/// `configuration`) when code, PKCE verifier, redirect URI and client id check out.
///
/// The payload also carries `dpop_jkt` when the pushed request was DPoP-bound: the caller should
/// refuse a token request whose DPoP key has another thumbprint (this function does not see it).
/// A malformed or missing `code_verifier` is `invalid_request` and leaves the code alive; every
/// other failure is `invalid_grant` and the code is spent (it is consumed before it is checked).
pub async fn redeem_authorization_code(store: &Store, code: &str, code_verifier: Option<&str>, redirect_uri: Option<&str>, client_id: Option<&str>, now: i64) -> Result<Value, ErrorResponse> {
    let verifier = code_verifier.ok_or_else(|| ErrorResponse::new(VciError::InvalidRequest, "code_verifier is missing (PKCE S256 is required)"))?;
    pkce::check_verifier(verifier).map_err(|e| e.to_response())?;
    let payload = store
        .consume_single_use(KIND_CODE, code, now)
        .await
        .map_err(server_error)?
        .ok_or_else(|| invalid_grant("the authorization code is unknown, used or expired"))?;
    let field = |k: &str| payload.get(k).and_then(Value::as_str);
    if payload.get("expires_at").and_then(Value::as_i64).is_none_or(|e| e <= now) {
        return Err(invalid_grant("the authorization code has expired"));
    }
    let challenge = field("code_challenge").ok_or_else(|| invalid_grant("the authorization code has no PKCE challenge"))?;
    pkce::verify_s256(verifier, challenge).map_err(|_| invalid_grant("the code_verifier does not match the code_challenge"))?;
    if redirect_uri.is_none() || redirect_uri != field("redirect_uri") {
        return Err(invalid_grant("redirect_uri is missing or is not the one of the authorization request"));
    }
    if client_id.is_none() || client_id != field("client_id") {
        return Err(invalid_grant("client_id is missing or is not the one the code was issued to"));
    }
    let (Some(person_id), Some(configuration)) = (field("person_id"), field("configuration")) else {
        return Err(invalid_grant("the authorization code is incomplete"));
    };
    let mut out = serde_json::Map::new();
    out.insert("person_id".into(), json!(person_id));
    out.insert("configuration".into(), json!(configuration));
    if let Some(jkt) = field("jkt") {
        out.insert("dpop_jkt".into(), json!(jkt));
    }
    if let Some(d) = payload.get("authorization_details").filter(|d| !d.is_null()) {
        out.insert("authorization_details".into(), d.clone());
    }
    if let Some(a) = field("application_id") {
        out.insert("application_id".into(), json!(a));
    }
    Ok(Value::Object(out))
}

/// A sign-in that cannot be matched goes to a case worker (`/api/v1/sign-in-reviews`) with what was
/// typed; the audit names only the record found, the reason and the request. The page is the same
/// whatever the reason, so it never tells whether a personal number exists.
#[allow(clippy::too_many_arguments)]
async fn to_manual_review(s: &AppState, actor: &str, entered: &matching::SignIn, person_id: Option<String>, reason: &str, configuration: &str, client_id: &str, now: i64) -> Response {
    let review = esspass_store::SignInReviewRow {
        review_id: format!("R-{}", esspass_credential::vc::uuid_v4()),
        person_id: person_id.clone(),
        entered: json!({"family_name": entered.family_name, "given_name": entered.given_name, "birth_date": entered.birth_date.to_string(), "personal_number": entered.personal_number}),
        reason: reason.to_owned(),
        configuration: configuration.to_owned(),
        client_id: client_id.to_owned(),
        state: "open".into(),
        created_at: now,
        closed_by: None,
        closed_at: None,
        note: None,
    };
    if s.issuer.store.insert_sign_in_review(&review).await.is_err() {
        return page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable.");
    }
    let subject = person_id.as_deref().unwrap_or("unmatched");
    let details = json!({"reason": reason, "configuration": configuration, "client_id": client_id, "review": review.review_id});
    if s.issuer.store.append_audit(now, actor, "sign_in_manual_review", subject, "credential issuance", &details).await.is_err() {
        return page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable.");
    }
    page::manual_review()
}

/// The routes of the flow (`/par`, `/authorize`), merged into the node's router.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/par", post(par)).route("/authorize", get(authorize_page).post(sign_in)).route("/authorize/pid", post(pid_continue))
}

fn now(s: &AppState) -> i64 {
    s.clock.now().unix_timestamp()
}

// ---- form parameters -----------------------------------------------------------------------------

/// Decoded `application/x-www-form-urlencoded` pairs: a repeated parameter is refused, an empty one
/// counts as absent (RFC 6749 §3.1, §3.2).
fn form_params(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let mut m = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if !seen.insert(k.clone()) {
            return Err(format!("the parameter {k} is repeated"));
        }
        if !v.is_empty() {
            m.insert(k.into_owned(), v.into_owned());
        }
    }
    Ok(m)
}

// ---- pushed authorization requests ---------------------------------------------------------------

/// A PAR refusal: an OAuth error code (some of which `ErrorCode` does not know, e.g.
/// `invalid_scope`), a description and the HTTP status.
pub struct ParError {
    status: StatusCode,
    error: &'static str,
    pub description: String,
}

impl ParError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, error, description: description.into() }
    }
    fn request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }
}

impl From<ErrorResponse> for ParError {
    fn from(e: ErrorResponse) -> Self {
        let server = e.error_description.as_deref().is_some_and(|d| d.starts_with("server error"));
        let status = if server { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::from_u16(e.http_status(Endpoint::PushedAuthorization)).unwrap_or(StatusCode::BAD_REQUEST) };
        Self { status, error: e.error.as_str(), description: e.error_description.unwrap_or_default() }
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, serde_json::to_vec(v).unwrap_or_default()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn par(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let now = now(&s);
    let mut r = match par_inner(&s, &h, &body, now).await {
        Ok(v) => json_response(StatusCode::CREATED, &v),
        Err(e) => {
            s.metrics.protocol_errors.fetch_add(1, Ordering::Relaxed);
            let mut r = json_response(e.status, &json!({"error": e.error, "error_description": sanitize_description(&e.description)}));
            if e.status == StatusCode::UNAUTHORIZED {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"esspass\""));
            }
            r
        }
    };
    // The nonce for the client's next DPoP proof (RFC 9449 §8), on every answer.
    if s.cfg.issuance.require_dpop_nonce
        && let Ok(v) = HeaderValue::from_str(&s.issuer.current_dpop_nonce(now))
    {
        r.headers_mut().insert("dpop-nonce", v);
    }
    r
}

async fn par_inner(s: &AppState, h: &HeaderMap, body: &[u8], now: i64) -> Result<Value, ParError> {
    if h.contains_key(header::AUTHORIZATION) {
        // Wallets are public clients (`token_endpoint_auth_methods_supported: ["none"]`).
        return Err(ParError { status: StatusCode::UNAUTHORIZED, error: "invalid_client", description: "client authentication is not supported: wallets are public clients (send client_id only)".into() });
    }
    // DPoP first: a `use_dpop_nonce` retry resends the identical request.
    let jkt = match h.get("dpop") {
        None => None,
        Some(v) => Some(s.issuer.check_dpop(v.to_str().ok(), "POST", "/par", None, now).await?.jkt),
    };
    let p = form_params(body).map_err(ParError::request)?;
    if let Some((k, _)) = p.iter().find(|(_, v)| v.len() > MAX_PARAM) {
        return Err(ParError::request(format!("the parameter {k} is too long")));
    }
    let get = |k: &str| p.get(k).map(String::as_str);
    // RFC 9449 §10: the key can also be named by `dpop_jkt`; with a proof, both must agree.
    let jkt = match (jkt, get("dpop_jkt")) {
        (Some(a), Some(b)) if a != b => return Err(ParError::new("invalid_dpop_proof", "dpop_jkt is not the thumbprint of the DPoP proof's key")),
        (Some(a), _) => Some(a),
        (None, b) => b.map(str::to_owned),
    };
    if get("request_uri").is_some() {
        return Err(ParError::request("request_uri must not be sent to the pushed authorization request endpoint"));
    }
    if get("request").is_some() {
        return Err(ParError::new("request_not_supported", "request objects are not supported; send the parameters in the form"));
    }
    let client_id = get("client_id").ok_or_else(|| ParError::request("client_id is missing"))?;
    if client_id.chars().any(char::is_control) {
        return Err(ParError::new("invalid_client", "client_id contains control characters"));
    }
    // Wallets are known clients: a configured client_id with its redirect URIs, and — where the
    // wallet sends one or its registration asks for it — a wallet provider's attestation.
    let client = s.cfg.clients.iter().find(|c| c.client_id == client_id).ok_or(ParError { status: StatusCode::UNAUTHORIZED, error: "invalid_client", description: "unknown client_id: wallets are registered with the institution".into() })?;
    check_client_attestation(s, h, client, now).await?;
    match get("response_type") {
        Some("code") => {}
        None => return Err(ParError::request("response_type is missing")),
        Some(other) => return Err(ParError::new("unsupported_response_type", format!("response_type {other} is not supported; use code"))),
    }
    if let Some(mode) = get("response_mode").filter(|m| *m != "query") {
        return Err(ParError::request(format!("response_mode {mode} is not supported; the response is sent in the query")));
    }
    let redirect_uri = get("redirect_uri").ok_or_else(|| ParError::request("redirect_uri is missing"))?;
    check_redirect_uri(redirect_uri).map_err(ParError::request)?;
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(ParError::request("redirect_uri is not registered for this client"));
    }
    let challenge = get("code_challenge").ok_or_else(|| ParError::request("code_challenge is missing (PKCE S256 is required)"))?;
    pkce::check_challenge(get("code_challenge_method"), challenge).map_err(|e| ParError::request(e.to_string()))?;
    if let Some(r) = get("resource").filter(|r| *r != s.cfg.public_url) {
        return Err(ParError::new("invalid_target", format!("resource must be the credential issuer {}, not {r}", s.cfg.public_url)));
    }
    let from_scope = match get("scope") {
        None => None,
        Some(scope) => Some(configuration_of_scope(s, scope)?),
    };
    let (from_details, details) = match get("authorization_details") {
        None => (None, Value::Null),
        Some(d) => {
            let (c, v) = configuration_of_details(s, d)?;
            (Some(c), v)
        }
    };
    let configuration = match (from_scope, from_details) {
        (Some(a), Some(b)) if a != b => return Err(ParError::request("scope and authorization_details ask for different credentials")),
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return Err(ParError::request("say which credential is asked for: scope or authorization_details")),
    };
    let request_uri = format!("{REQUEST_URI_PREFIX}{}", random_token());
    let payload = json!({
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "configuration": configuration,
        "authorization_details": details,
        "state": get("state"),
        "issuer_state": get("issuer_state"),
        "jkt": jkt,
    });
    s.issuer.store.create_single_use_sealed(KIND_PAR, &request_uri, &payload, now + PAR_LIFETIME).await.map_err(|e| ParError::from(server_error(e)))?;
    Ok(json!({"request_uri": request_uri, "expires_in": PAR_LIFETIME}))
}

/// Verify a wallet's client attestation where it sends one; require it where the client's
/// registration says so. The PoP's `jti` is single use.
pub async fn check_client_attestation(s: &AppState, h: &HeaderMap, client: &crate::config::ClientConfig, now: i64) -> Result<(), ParError> {
    let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    let bad = |d: String| ParError { status: StatusCode::UNAUTHORIZED, error: "invalid_client", description: d };
    match (header(crate::attestation::ATTESTATION_HEADER), header(crate::attestation::POP_HEADER)) {
        (Some(a), Some(p)) => {
            let ok = crate::attestation::verify(&s.wallet_providers, a, p, &client.client_id, &s.cfg.public_url, now).map_err(bad)?;
            let fresh = s.issuer.store.first_use("attestation_pop_jti", &format!("{}:{}", client.client_id, ok.jti), now + crate::attestation::POP_MAX_AGE + 120, now).await.map_err(|e| ParError::from(server_error(e)))?;
            if !fresh {
                return Err(bad("client attestation PoP: jti was used before".into()));
            }
            Ok(())
        }
        (None, None) if !client.require_attestation => Ok(()),
        (None, None) => Err(bad("this client must authenticate with a wallet attestation (OAuth-Client-Attestation and OAuth-Client-Attestation-PoP)".into())),
        _ => Err(bad("send both OAuth-Client-Attestation and OAuth-Client-Attestation-PoP".into())),
    }
}

/// A redirect URI must be absolute, `https` with a host or a private-use scheme (RFC 8252 §7.1),
/// without a fragment; plain `http` and schemes a browser would execute or read locally are refused.
fn check_redirect_uri(s: &str) -> Result<(), String> {
    let u = url::Url::parse(s).map_err(|e| format!("redirect_uri is not an absolute URI: {e}"))?;
    if s.contains('#') {
        return Err("redirect_uri must not have a fragment".into());
    }
    match u.scheme() {
        "https" if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "https" => Err("redirect_uri needs a host".into()),
        "http" => Err("redirect_uri must use https (or a private-use scheme of the wallet)".into()),
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" | "ftp" | "ws" | "wss" | "filesystem" => Err(format!("redirect_uri scheme {} is not allowed", u.scheme())),
        _ => Ok(()),
    }
}

/// The one credential configuration a `scope` names (configuration scopes equal their ids).
fn configuration_of_scope(s: &AppState, scope: &str) -> Result<String, ParError> {
    let mut found: Option<&str> = None;
    for sc in scope.split(' ').filter(|x| !x.is_empty()) {
        if s.issuer.configuration(sc).is_none() {
            return Err(ParError::new("invalid_scope", format!("unknown scope {sc}")));
        }
        match found {
            Some(f) if f != sc => return Err(ParError::new("invalid_scope", "ask for one credential per authorization")),
            _ => found = Some(sc),
        }
    }
    found.map(str::to_owned).ok_or_else(|| ParError::new("invalid_scope", "scope is empty"))
}

/// The one credential configuration `authorization_details` names (RFC 9396, OpenID4VCI §5.1.1).
fn configuration_of_details(s: &AppState, d: &str) -> Result<(String, Value), ParError> {
    let details = parse_authorization_details(d).map_err(|e| ParError::new("invalid_authorization_details", e.error_description.unwrap_or_default()))?;
    let mut found: Option<String> = None;
    for det in &details {
        if det.r#type != OPENID_CREDENTIAL {
            return Err(ParError::new("invalid_authorization_details", format!("authorization details type {} is not supported", det.r#type)));
        }
        let id = det.credential_configuration_id.clone().unwrap_or_default();
        if s.issuer.configuration(&id).is_none() {
            return Err(ParError::new("invalid_authorization_details", format!("unknown credential_configuration_id {id}")));
        }
        match &found {
            Some(f) if *f != id => return Err(ParError::new("invalid_authorization_details", "ask for one credential per authorization")),
            _ => found = Some(id),
        }
    }
    let c = found.ok_or_else(|| ParError::new("invalid_authorization_details", "authorization_details is empty"))?;
    Ok((c, serde_json::to_value(&details).unwrap_or(Value::Null)))
}

// ---- the authorization endpoint --------------------------------------------------------------------

fn credential_name(s: &AppState, configuration: &str) -> String {
    s.issuer
        .configuration(configuration)
        .map(|t| esspass_credential::type_metadata::TypeMetadata::builtin(t).name.clone().unwrap_or_else(|| configuration.to_owned()))
        .unwrap_or_else(|| configuration.to_owned())
}

const GONE: &str = "This sign-in link is unknown, was already used, or has expired.";

/// `GET /authorize?client_id=…&request_uri=…`: consume the pushed request, show the sign-in form.
async fn authorize_page(State(s): State<AppState>, method: Method, uri: Uri) -> Response {
    let now = now(&s);
    let Ok(q) = form_params(uri.query().unwrap_or_default().as_bytes()) else {
        return page::problem(StatusCode::BAD_REQUEST, "The link is malformed (a parameter is repeated).");
    };
    let (Some(client_id), Some(request_uri)) = (q.get("client_id"), q.get("request_uri")) else {
        return page::problem(StatusCode::BAD_REQUEST, "The link is incomplete: it needs client_id and request_uri (this server accepts pushed authorization requests only).");
    };
    let pending = match s.issuer.store.peek_single_use(KIND_PAR, request_uri, now).await {
        Ok(p) => p,
        Err(_) => return page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable."),
    };
    if pending.is_none_or(|(p, _)| p.get("client_id").and_then(Value::as_str) != Some(client_id.as_str())) {
        return page::problem(StatusCode::BAD_REQUEST, GONE);
    }
    if method == Method::HEAD {
        // Link checkers must not spend the request.
        return page::render(StatusCode::OK, "Sign in with the demo eID", "");
    }
    let payload = match s.issuer.store.consume_single_use(KIND_PAR, request_uri, now).await {
        Ok(Some(p)) => p,
        Ok(None) => return page::problem(StatusCode::BAD_REQUEST, GONE),
        Err(_) => return page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable."),
    };
    debug_assert_eq!(payload.get("client_id"), Some(&json!(client_id)));
    let mut payload = payload;
    let reference = random_token();
    // With a PID sign-in, the institution's own verification transaction for this sign-in.
    let created = match &s.pid_sign_in {
        None => None,
        Some(v) => match v.create(pid::PROFILE, None, "sign-in").await {
            Ok(c) => Some(c),
            Err(_) => return page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable."),
        },
    };
    if let (Some(c), Some(o)) = (&created, payload.as_object_mut()) {
        o.insert("pid_transaction".into(), json!(c.transaction_id));
    }
    if s.issuer.store.create_single_use_sealed(KIND_SIGN_IN, &reference, &payload, now + SIGN_IN_LIFETIME).await.is_err() {
        return page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable.");
    }
    let configuration = payload.get("configuration").and_then(Value::as_str).unwrap_or_default();
    match created {
        Some(c) => pid_page(&s, StatusCode::OK, &payload, &reference, &c.authorization_request, None),
        None => page::sign_in_form(StatusCode::OK, &s.cfg.institution.name, &credential_name(&s, configuration), client_id, &reference, None, &page::Prefill::default()),
    }
}

/// The PID sign-in page for a pending sign-in.
fn pid_page(s: &AppState, status: StatusCode, payload: &Value, reference: &str, link: &str, notice: Option<&str>) -> Response {
    let text = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let Ok(svg) = esspass_paper::print::qr_svg(link) else {
        return page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable.");
    };
    page::pid_sign_in(
        status,
        &page::PidPage {
            institution: &s.cfg.institution.name,
            credential: &credential_name(s, &text("configuration")),
            client_id: &text("client_id"),
            signin: reference,
            link,
            qr_svg: &svg,
            notice,
            demo_eid: s.cfg.sign_in.demo_eid,
        },
    )
}

/// `POST /authorize/pid`: the person continues after the wallet answered the sign-in's PID
/// transaction. Not yet answered: the same page again, saying so. Answered with a PID that did not
/// verify: the sign-in ends with the reason in plain words. Verified: the PID's names, birth date
/// and personal number are matched to the record exactly as the demo sign-in's are.
async fn pid_continue(State(s): State<AppState>, peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>, body: Bytes) -> Response {
    let now = now(&s);
    let unavailable = || page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable.");
    let Some(v) = s.pid_sign_in.clone() else {
        return page::problem(StatusCode::NOT_FOUND, "This institution does not offer sign-in with a PID.");
    };
    if let Some(axum::Extension(axum::extract::ConnectInfo(addr))) = peer
        && let Err(r) = sign_in_allowed(&s, &format!("address:{}", addr.ip()), s.cfg.sign_in.max_attempts_per_address, "sign-in", now).await
    {
        return r;
    }
    let Ok(f) = form_params(&body) else {
        return page::problem(StatusCode::BAD_REQUEST, "The form was sent with a repeated field.");
    };
    let Some(reference) = f.get("signin").map(String::as_str) else {
        return page::problem(StatusCode::BAD_REQUEST, "The form is incomplete.");
    };
    let pending = match s.issuer.store.peek_single_use(KIND_SIGN_IN, reference, now).await {
        Ok(p) => p,
        Err(_) => return unavailable(),
    };
    let Some((payload, _)) = pending else {
        return page::problem(StatusCode::BAD_REQUEST, GONE);
    };
    let Some(tx) = payload.get("pid_transaction").and_then(Value::as_str).map(str::to_owned) else {
        return page::problem(StatusCode::BAD_REQUEST, GONE);
    };
    let row = match v.store.verification(&tx).await {
        Ok(Some(r)) => r,
        Ok(None) => return page::problem(StatusCode::BAD_REQUEST, GONE),
        Err(_) => return unavailable(),
    };
    if row.state == "pending" {
        if now >= row.expires_at {
            return page::problem(StatusCode::BAD_REQUEST, "The time to present your PID has run out.");
        }
        let link = match v.link(&tx).await {
            Ok(l) => l,
            Err(_) => return page::problem(StatusCode::BAD_REQUEST, GONE),
        };
        return pid_page(&s, StatusCode::OK, &payload, reference, &link, Some("Your wallet has not answered yet. Present your PID with your wallet, then continue."));
    }
    // Answered: this sign-in reference is used up whatever the outcome.
    let pending = match s.issuer.store.consume_single_use(KIND_SIGN_IN, reference, now).await {
        Ok(Some(p)) => p,
        Ok(None) => return page::problem(StatusCode::BAD_REQUEST, GONE),
        Err(_) => return unavailable(),
    };
    if row.outcome.as_deref() != Some("valid") {
        let code = row.code.clone().unwrap_or_default();
        let details = json!({"transaction": tx, "code": code});
        if s.issuer.store.append_audit(now, PID_ACTOR, "sign_in_refused", "unmatched", "credential issuance", &details).await.is_err() {
            return unavailable();
        }
        return page::problem(StatusCode::FORBIDDEN, &format!("The PID your wallet presented could not be verified ({code}). Nothing was issued."));
    }
    // The claims the sign-in profile allows; reading them is audited by the verifier.
    let claims = match v.get(&tx, PID_ACTOR).await {
        Ok(r) => r.get("claims").cloned().unwrap_or(Value::Null),
        Err(_) => return unavailable(),
    };
    let text = |k: &str| pending.get(k).and_then(Value::as_str).map(str::to_owned);
    let (configuration, client_id) = (text("configuration").unwrap_or_default(), text("client_id").unwrap_or_default());
    let entered = match pid::as_sign_in(&claims) {
        Ok(e) => e,
        Err(_) => {
            // A PID without a personal number (or a name) cannot be matched automatically.
            let partial = matching::SignIn {
                family_name: claims.get("family_name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                given_name: claims.get("given_name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                birth_date: claims.get("birthdate").and_then(Value::as_str).and_then(esspass_core::Date::parse).unwrap_or(esspass_core::Date::from_ymd(1900, 1, 1).unwrap_or_else(|| esspass_core::Date::of_instant(time::OffsetDateTime::UNIX_EPOCH))),
                personal_number: String::new(),
            };
            return to_manual_review(&s, PID_ACTOR, &partial, None, "pid_without_personal_number", &configuration, &client_id, now).await;
        }
    };
    let person = match s.issuer.store.person_by_number(&entered.personal_number).await {
        Ok(p) => p,
        Err(_) => return unavailable(),
    };
    complete_sign_in(&s, PID_ACTOR, &pending, &entered, person, now).await
}

/// Count a sign-in attempt in a bucket shared by every process; over the limit the attempt is
/// refused with 429 and the lockout is audited once per window.
async fn sign_in_allowed(s: &AppState, bucket: &str, max: i64, subject: &str, now: i64) -> Result<(), Response> {
    let window = s.cfg.sign_in.window;
    let hits = match s.issuer.store.rate_limit_hit(bucket, window, now).await {
        Ok(h) => h,
        Err(_) => return Err(page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable.")),
    };
    if hits <= max {
        return Ok(());
    }
    if hits == max + 1 {
        let kind = bucket.split(':').next().unwrap_or("sign-in");
        let details = json!({"limit": kind, "max_attempts": max, "window_seconds": window});
        if s.issuer.store.append_audit(now, AUDIT_ACTOR, "sign_in_locked", subject, "credential issuance", &details).await.is_err() {
            return Err(page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable."));
        }
    }
    let mut r = page::problem(StatusCode::TOO_MANY_REQUESTS, "Too many sign-in attempts. Wait a while and try again, or contact the institution.");
    if let Ok(v) = HeaderValue::from_str(&window.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Err(r)
}

/// `POST /authorize`: the demo eID sign-in. Attempts are limited per client address and per
/// personal number (`[sign_in]`), in the database so that every process counts them.
async fn sign_in(State(s): State<AppState>, peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>, body: Bytes) -> Response {
    let now = now(&s);
    if !s.cfg.sign_in.demo_eid {
        return page::problem(StatusCode::NOT_FOUND, "This institution signs people in with a PID only.");
    }
    if let Some(axum::Extension(axum::extract::ConnectInfo(addr))) = peer
        && let Err(r) = sign_in_allowed(&s, &format!("address:{}", addr.ip()), s.cfg.sign_in.max_attempts_per_address, "sign-in", now).await
    {
        return r;
    }
    let Ok(f) = form_params(&body) else {
        return page::problem(StatusCode::BAD_REQUEST, "The form was sent with a repeated field.");
    };
    let get = |k: &str| f.get(k).map(String::as_str);
    let Some(reference) = get("signin") else {
        return page::problem(StatusCode::BAD_REQUEST, "The form is incomplete.");
    };
    let unavailable = || page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable.");
    let entered = match matching::validate(get("family_name"), get("given_name"), get("birth_date"), get("personal_number")) {
        Ok(e) => e,
        Err(msg) => {
            // A correctable mistake: show the form again with the same (still unused) reference.
            let pending = match s.issuer.store.peek_single_use(KIND_SIGN_IN, reference, now).await {
                Ok(p) => p,
                Err(_) => return unavailable(),
            };
            let Some((payload, _)) = pending else {
                return page::problem(StatusCode::BAD_REQUEST, GONE);
            };
            let text = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            let prefill = page::Prefill {
                family_name: get("family_name").unwrap_or_default(),
                given_name: get("given_name").unwrap_or_default(),
                birth_date: get("birth_date").unwrap_or_default(),
                personal_number: get("personal_number").unwrap_or_default(),
            };
            return page::sign_in_form(StatusCode::BAD_REQUEST, &s.cfg.institution.name, &credential_name(&s, &text("configuration")), &text("client_id"), reference, Some(msg), &prefill);
        }
    };
    let person = match s.issuer.store.person_by_number(&entered.personal_number).await {
        Ok(p) => p,
        Err(_) => return unavailable(),
    };
    let subject = person.as_ref().map_or("unmatched", |p| p.person_id.as_str()).to_owned();
    if let Err(r) = sign_in_allowed(&s, &format!("personal_number:{}", entered.personal_number), s.cfg.sign_in.max_attempts_per_person, &subject, now).await {
        return r;
    }
    let pending = match s.issuer.store.consume_single_use(KIND_SIGN_IN, reference, now).await {
        Ok(p) => p,
        Err(_) => return unavailable(),
    };
    let Some(pending) = pending else {
        return page::problem(StatusCode::BAD_REQUEST, GONE);
    };
    complete_sign_in(&s, AUDIT_ACTOR, &pending, &entered, person, now).await
}

/// A sign-in whose identity is established (typed into the demo eID or from a verified PID): match
/// it to the record, then the code and the redirect to the wallet — or manual review.
async fn complete_sign_in(s: &AppState, actor: &str, pending: &Value, entered: &matching::SignIn, person: Option<esspass_store::Person>, now: i64) -> Response {
    let unavailable = || page::problem(StatusCode::INTERNAL_SERVER_ERROR, "The service is unavailable.");
    let text = |k: &str| pending.get(k).and_then(Value::as_str).map(str::to_owned);
    let configuration = text("configuration").unwrap_or_default();
    let client_id = text("client_id").unwrap_or_default();
    if let Err(reason) = matching::matches(entered, person.as_ref()) {
        let person_id = person.as_ref().map(|p| p.person_id.clone());
        return to_manual_review(s, actor, entered, person_id, reason.as_str(), &configuration, &client_id, now).await;
    }
    let Some(person) = person else {
        return unavailable();
    };
    // An authorization request that comes from an offer (`issuer_state`) is for the offered person
    // and credential — for a PDA1, the A1 application the offer names.
    let mut application_id = None;
    if let Some(state) = text("issuer_state") {
        let offered = match s.issuer.store.peek_single_use(KIND_ISSUER_STATE, &state, now).await {
            Ok(o) => o.map(|(v, _)| v),
            Err(_) => return unavailable(),
        };
        let fits = offered.as_ref().is_some_and(|o| o.get("person_id").and_then(Value::as_str) == Some(person.person_id.as_str()) && o.get("configuration").and_then(Value::as_str) == Some(configuration.as_str()));
        if !fits {
            return to_manual_review(s, actor, entered, Some(person.person_id.clone()), "offer_for_another_person_or_credential", &configuration, &client_id, now).await;
        }
        // The offer is used up here: neither this flow again nor its pre-authorized code will work.
        if let Some(group) = offered.as_ref().and_then(|o| o.get("offer_group")).and_then(Value::as_str) {
            match s.issuer.store.first_use(crate::services::issuance::OFFER_REDEEMED, group, now + 86_400, now).await {
                Ok(true) => {}
                Ok(false) => return page::problem(StatusCode::BAD_REQUEST, "This offer was already used. Ask the institution for a new one."),
                Err(_) => return unavailable(),
            }
        }
        application_id = offered.and_then(|o| o.get("application_id").and_then(Value::as_str).map(str::to_owned));
    }
    let Some(redirect_uri) = text("redirect_uri") else {
        return unavailable();
    };
    let Ok(mut location) = url::Url::parse(&redirect_uri) else {
        return unavailable();
    };
    let code = random_token();
    let expires_at = now + CODE_LIFETIME;
    let grant = json!({
        "person_id": person.person_id,
        "configuration": configuration,
        "code_challenge": pending.get("code_challenge"),
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "jkt": pending.get("jkt"),
        "authorization_details": pending.get("authorization_details"),
        "application_id": application_id,
        "expires_at": expires_at,
    });
    if s.issuer.store.create_single_use(KIND_CODE, &code, &grant, expires_at).await.is_err() {
        return unavailable();
    }
    if s.issuer.store.append_audit(now, actor, "sign_in", &person.person_id, "credential issuance", &json!({"configuration": configuration, "client_id": client_id})).await.is_err() {
        return unavailable();
    }
    {
        let mut q = location.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(state) = text("state") {
            q.append_pair("state", &state);
        }
        q.append_pair("iss", &s.cfg.public_url);
    }
    let Ok(loc) = HeaderValue::from_str(location.as_str()) else {
        return unavailable();
    };
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(header::LOCATION, loc);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        for ok in ["https://wallet.example/cb", "https://wallet.example/cb?x=1", "eu.europa.ec.eudi.wallet:/cb", "myapp://callback"] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in ["http://wallet.example/cb", "https://wallet.example/cb#f", "javascript:alert(1)", "data:text/html,x", "/relative", "file:///etc/passwd", ""] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repeated_and_empty_parameters() {
        assert!(form_params(b"a=1&a=2").is_err());
        assert!(form_params(b"a=&a=2").is_err());
        let p = form_params(b"a=&b=x%20y").unwrap_or_default();
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b").map(String::as_str), Some("x y"));
    }
}
