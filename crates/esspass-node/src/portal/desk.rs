//! The verifier's portal, for a hospital's or a labour inspectorate's desk: sign in with the desk's
//! key, start a verification for one of the node's profiles (with the treatment or inspection
//! date), show the request as a QR code and a same-device link, and see the result — green or red,
//! the failed check in plain words, only the claims the profile allows — and download the signed
//! verification proof. The same service functions as the verifier's JSON API.

use super::{Ctx, LangQuery, Page, Site, css, ctx, field, see_other};
use crate::verifier::service::VerifierState;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use esspass_core::{CredentialType, Date};
use serde_json::Value;
use std::sync::Arc;

type Shared = Arc<VerifierState>;
type Q = Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/portal", get(home))
        .route("/portal/sign-in", post(sign_in))
        .route("/portal/verifications", post(start))
        .route("/portal/paper", post(paper))
        .route("/portal/paper/photo", post(paper_photo))
        .route("/portal/verifications/{id}", get(result))
        .route("/portal/verifications/{id}/proof", get(proof))
        .route("/portal/sign-out", post(sign_out))
        .route("/portal/static/portal.css", get(css))
}

fn site<'a>(s: &'a VerifierState, cookie: &'a str) -> Site<'a> {
    Site { store: &s.store, name: &s.cfg.verifier.name, cookie, now: s.now() }
}

fn cookie(s: &VerifierState) -> String {
    super::session::cookie_name(&s.cfg.verifier.id)
}

pub struct ProfileLine {
    pub name: String,
    pub title: String,
}

#[derive(Template)]
#[template(path = "portal/desk_home.html")]
struct HomePage<'a> {
    p: &'a Page,
    profiles: Vec<ProfileLine>,
    today: String,
}

#[derive(Template)]
#[template(path = "portal/verification.html")]
struct ResultPage<'a> {
    p: &'a Page,
    id: String,
    kind: String,
    pending: bool,
    qr_svg: String,
    link: String,
    result_class: &'static str,
    verdict: String,
    reason: Option<String>,
    claims: Vec<(String, String)>,
    has_proof: bool,
}

fn type_title(c: &Ctx<'_>, t: CredentialType) -> String {
    c.tr.t(match t {
        CredentialType::Ehic => "type-ehic",
        CredentialType::Pda1 => "type-pda1",
        CredentialType::Pid => "type-pid",
    })
}

async fn home(State(s): State<Shared>, h: HeaderMap, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let ck = cookie(&s);
    let c = ctx(site(&s, &ck), &h, q.lang.as_deref());
    let p = c.page("desk-title", "/portal", None);
    let profiles = s.cfg.profiles.iter().map(|f| ProfileLine { name: f.name.clone(), title: format!("{} ({})", type_title(&c, f.credential_type), f.name) }).collect();
    c.html(StatusCode::OK, HomePage { p: &p, profiles, today: Date::of_instant(time::OffsetDateTime::from_unix_timestamp(c.site.now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)).to_string() }.render())
}

async fn sign_in(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let ck = cookie(&s);
    let c = ctx(site(&s, &ck), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    match crate::verifier::http::desk_key(&s, field(&body, "key").unwrap_or_default().trim()) {
        Ok(k) => {
            let _ = s.store.append_audit(c.site.now, &format!("desk:{}", k.name), "desk_signed_in", &k.name, "verification desk", &serde_json::json!({})).await;
            c.sign_in_as(&format!("desk:{}", k.name), "/portal")
        }
        Err(_) => c.message(StatusCode::FORBIDDEN, "error-title", c.tr.t("desk-key-wrong")),
    }
}

async fn start(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let ck = cookie(&s);
    let c = ctx(site(&s, &ck), &h, None);
    let desk = match c.form_by(&body, "desk", "/portal") {
        Ok(x) => x,
        Err(r) => return r,
    };
    let profile = field(&body, "profile").unwrap_or_default();
    let date = field(&body, "date").filter(|d| !d.is_empty());
    match s.create(&profile, date.as_deref(), &format!("desk:{desk}")).await {
        Ok(created) => see_other(&format!("/portal/verifications/{}", created.transaction_id), None),
        Err(e) => c.message(StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST), "error-title", e.detail),
    }
}

/// The failed check in plain words.
fn reason(c: &Ctx<'_>, code: &str) -> String {
    let key = match code {
        "ESP-4010" => "check-revoked",
        "ESP-4011" => "check-suspended",
        "ESP-4001" | "ESP-4002" | "ESP-4003" | "ESP-4004" | "ESP-4005" | "ESP-4006" | "ESP-4007" => "check-dates",
        "ESP-3004" | "ESP-3012" | "ESP-3013" | "ESP-3019" => "check-untrusted",
        "ESP-3001" | "ESP-3018" => "check-signature",
        "ESP-4013" => "check-unavailable",
        c if c.starts_with("ESP-5") => "check-holder",
        _ => return c.tr.ta("check-other", &[("code", code)]),
    };
    c.tr.t(key)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.get("name").is_some_and(Value::is_string) => o.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
        other => other.to_string(),
    }
}

/// A claim's value as the locale shows it (dates in its form).
fn shown(c: &Ctx<'_>, v: &Value) -> String {
    let t = text_of(v);
    Date::parse(&t).map_or(t, |d| c.tr.date(d))
}

async fn result(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let ck = cookie(&s);
    let c = ctx(site(&s, &ck), &h, q.lang.as_deref());
    let Some(desk) = c.subject("desk") else {
        return see_other(if c.expired { "/portal?expired=1" } else { "/portal" }, None);
    };
    let v = match s.get(&id, &format!("desk:{desk}")).await {
        Ok(v) => v,
        Err(_) => return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("error-not-found")),
    };
    let state = v.get("state").and_then(Value::as_str).unwrap_or_default().to_owned();
    let profile = v.get("profile").and_then(Value::as_str).unwrap_or_default();
    let kind = s.cfg.profiles.iter().find(|f| f.name == profile).map(|f| type_title(&c, f.credential_type)).unwrap_or_default();
    let here = format!("/portal/verifications/{id}");
    if state == "expired" {
        return c.message(StatusCode::OK, "verify-title", c.tr.t("verify-expired"));
    }
    let pending = state == "pending";
    let (mut qr_svg, mut link) = (String::new(), String::new());
    if pending {
        link = s.link(&id).await.unwrap_or_default();
        qr_svg = esspass_paper::print::qr_svg(&link).unwrap_or_default();
    }
    let outcome = v.get("outcome").and_then(Value::as_str).unwrap_or_default();
    let code = v.get("code").and_then(Value::as_str).unwrap_or_default();
    let (result_class, verdict, why) = match outcome {
        "valid" => ("valid", c.tr.t("verify-valid"), None),
        "error" => ("unknown", c.tr.t("verify-could-not-check"), Some(reason(&c, code))),
        _ => ("invalid", c.tr.t("verify-invalid"), Some(reason(&c, code))),
    };
    let claims = v.get("claims").and_then(Value::as_object).map(|o| o.iter().map(|(k, x)| (c.tr.t_or(&format!("claim-{k}"), k), shown(&c, x))).collect()).unwrap_or_default();
    let p = c.page("verify-title", &here, None);
    let has_proof = !pending;
    c.html(StatusCode::OK, ResultPage { p: &p, id, kind, pending, qr_svg, link, result_class, verdict, reason: why, claims, has_proof }.render())
}

async fn proof(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let ck = cookie(&s);
    let c = ctx(site(&s, &ck), &h, None);
    if c.subject("desk").is_none() {
        return see_other("/portal", None);
    }
    match s.proof(&id).await {
        Ok(jwt) => {
            let mut r = (StatusCode::OK, jwt).into_response();
            let hm = r.headers_mut();
            hm.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwt"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"proof-{}.jwt\"", id.chars().filter(char::is_ascii_alphanumeric).collect::<String>())) {
                hm.insert(header::CONTENT_DISPOSITION, v);
            }
            super::security_headers(hm);
            r
        }
        Err(_) => c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("error-not-found")),
    }
}

async fn sign_out(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let ck = cookie(&s);
    let c = ctx(site(&s, &ck), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    c.sign_out("/portal")
}

/// A paper document's QR text (a hand scanner types it): checked like the API's paper check (the
/// offline bundle when the node has one, else the Issuer Trusted List), then its result page.
async fn paper(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let ck = cookie(&s);
    let c = ctx(site(&s, &ck), &h, None);
    let desk = match c.form_by(&body, "desk", "/portal") {
        Ok(x) => x,
        Err(r) => return r,
    };
    let profile = field(&body, "profile").unwrap_or_default();
    let qr = field(&body, "qr").unwrap_or_default();
    paper_result(&c, s.verify_paper(&profile, qr.trim().as_bytes(), &format!("desk:{desk}")).await)
}

/// A photo of a paper document (PNG or JPEG, a `multipart/form-data` upload): its QR code read and
/// checked like the QR's text.
async fn paper_photo(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let ck = cookie(&s);
    let c = ctx(site(&s, &ck), &h, None);
    let parts = super::multipart(&h, &body).unwrap_or_default();
    let part = |n: &str| parts.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let token = part("csrf").and_then(|v| String::from_utf8(v).ok());
    if let Err(r) = c.check_csrf(token.as_deref()) {
        return r;
    }
    let Some(desk) = c.subject("desk") else {
        return see_other("/portal", None);
    };
    let profile = part("profile").and_then(|v| String::from_utf8(v).ok()).unwrap_or_default();
    let photo = part("photo").unwrap_or_default();
    paper_result(&c, s.verify_paper(&profile, &photo, &format!("desk:{desk}")).await)
}

/// A paper check's answer: its result page (every check is recorded), or why it could not run.
fn paper_result(c: &Ctx<'_>, r: Result<Value, crate::services::issuance::ApiError>) -> Response {
    match r {
        Ok(v) => match v.get("transaction_id").and_then(Value::as_str) {
            Some(id) => see_other(&format!("/portal/verifications/{id}"), None),
            None => c.message(StatusCode::OK, "verify-title", c.tr.ta("check-other", &[("code", v.get("code").and_then(Value::as_str).unwrap_or("?"))])),
        },
        Err(e) => c.message(StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST), "verify-title", c.tr.ta("check-other", &[("code", e.code.code())])),
    }
}

