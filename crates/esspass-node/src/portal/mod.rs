//! The institution's portal for insured persons: server-rendered pages (askama) without any
//! script, in five languages (Fluent, [`i18n`]), over a signed cookie session with CSRF tokens on
//! every form ([`session`]) and a strict Content-Security-Policy. A person signs in by presenting a
//! PID from the wallet (QR code, or the same-device link) to the institution's own OpenID4VP
//! transaction, is matched to the record as the authorization-code flow does, sees the documents
//! and their status, requests a European Health Insurance Card and takes it into a wallet with the
//! transaction code shown only to them, or prints the paper version.
//!
//! Handlers here parse, check the session and the form's token, call the same service functions as
//! the JSON API (`services::pid_sign_in`, `Issuer::create_offer`, `services::paper`) and render.

pub mod i18n;
pub mod session;

use crate::http::AppState;
use crate::services::issuance::ApiError;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use esspass_core::{CredentialType, Date, ErrorCode};
use i18n::{Lang, Tr};
use serde::Deserialize;
use session::{Found, Session};

const SIGN_IN_KIND: &str = "portal_sign_in";
const SIGN_IN_ACTOR: &str = "portal-sign-in";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home))
        .route("/portal/ehic", get(ehic_entry).post(request_ehic))
        .route("/portal/a1", get(a1))
        .route("/portal/sign-in", post(sign_in))
        .route("/portal/sign-in/continue", post(sign_in_continue))
        .route("/portal/documents", get(documents))
        .route("/portal/documents/{id}/paper", get(paper))
        .route("/portal/sign-out", post(sign_out))
        .route("/portal/static/portal.css", get(css))
}

/// A language link of the switcher.
pub struct LangLink {
    pub code: &'static str,
    pub native: &'static str,
    pub href: String,
    pub current: bool,
}

/// What every page shows.
pub struct Page {
    pub tr: Tr,
    pub lang: &'static str,
    pub title: String,
    pub site_title: String,
    pub institution: String,
    pub csrf: String,
    pub signed_in: bool,
    pub langs: Vec<LangLink>,
    pub notice: Option<String>,
}

impl Page {
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }
}

/// The request as the portal sees it: language, session (a new anonymous one when none or
/// expired) and whether the cookie must be (re)set.
struct Ctx {
    tr: Tr,
    session: Session,
    set_session: bool,
    expired: bool,
    set_lang: Option<Lang>,
}

#[derive(Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
    expired: Option<String>,
}

fn ctx(s: &AppState, h: &HeaderMap, asked: Option<&str>) -> Ctx {
    let now = s.clock.now().unix_timestamp();
    let (session, set_session, expired) = match Session::read(&s.issuer.store, h, now) {
        Found::Valid(x) => (x, false, false),
        Found::Expired => (Session::anonymous(now), true, true),
        Found::None => (Session::anonymous(now), true, false),
    };
    let asked = asked.and_then(Lang::parse);
    let lang = asked
        .or_else(|| session::cookie(h, session::LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or_else(|| Lang::negotiate(h.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("")));
    Ctx { tr: Tr { lang }, session, set_session, expired, set_lang: asked }
}

impl Ctx {
    fn page(&self, s: &AppState, title_key: &str, here: &str, notice: Option<String>) -> Page {
        let institution = s.cfg.institution.name.clone();
        Page {
            tr: self.tr,
            lang: self.tr.lang.code(),
            title: self.tr.t(title_key),
            site_title: self.tr.ta("site-title", &[("institution", &institution)]),
            institution,
            csrf: self.session.csrf(&s.issuer.store),
            signed_in: self.session.person_id.is_some(),
            langs: Lang::ALL.iter().map(|l| LangLink { code: l.code(), native: l.native(), href: format!("{here}?lang={}", l.code()), current: *l == self.tr.lang }).collect(),
            notice: notice.or_else(|| self.expired.then(|| self.tr.t("session-expired"))),
        }
    }

    /// The page with the portal's headers, the session cookie when new and the language when chosen.
    fn html(&self, s: &AppState, status: StatusCode, body: Result<String, askama::Error>) -> Response {
        let mut r = match body {
            Ok(b) => (status, b).into_response(),
            Err(e) => {
                tracing::error!(target: "esspass::portal", error = %e, "a page did not render");
                (StatusCode::INTERNAL_SERVER_ERROR, "<!doctype html><title>Error</title><p>The page could not be shown.</p>".to_owned()).into_response()
            }
        };
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        security_headers(h);
        if self.set_session
            && let Some(c) = self.session.set_cookie(&s.issuer.store, s.clock.now().unix_timestamp())
        {
            h.append(header::SET_COOKIE, c);
        }
        if let Some(l) = self.set_lang
            && let Ok(v) = HeaderValue::from_str(&format!("{}={}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000", session::LANG_COOKIE, l.code()))
        {
            h.append(header::SET_COOKIE, v);
        }
        r
    }

    fn message(&self, s: &AppState, status: StatusCode, heading_key: &str, text: String) -> Response {
        let here = if self.session.person_id.is_some() { "/portal/documents" } else { "/portal" };
        let p = self.page(s, heading_key, here, None);
        self.html(s, status, MessagePage { heading: p.t(heading_key), text, p: &p }.render())
    }

    /// A form's token checked; the refusal page otherwise.
    fn check_csrf(&self, s: &AppState, token: Option<&str>) -> Result<(), Response> {
        // A form posted with a session that is new (no cookie, or an expired one) cannot carry its token.
        if !self.set_session && token.is_some_and(|t| self.session.csrf_ok(&s.issuer.store, t)) {
            return Ok(());
        }
        Err(self.message(s, StatusCode::FORBIDDEN, "error-title", self.tr.t("error-csrf")))
    }

    fn person(&self) -> Option<&str> {
        self.session.person_id.as_deref()
    }
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn see_other(to: &str, cookie: Option<HeaderValue>) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/portal")))]).into_response();
    security_headers(r.headers_mut());
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage<'a> {
    p: &'a Page,
    can_sign_in: bool,
}

#[derive(Template)]
#[template(path = "portal/sign_in.html")]
struct SignInPage<'a> {
    p: &'a Page,
    asks: String,
    qr_svg: String,
    link: String,
    poll: String,
}

pub struct DocumentLine {
    pub id: String,
    pub kind: String,
    pub number: String,
    pub issued: String,
    pub state: &'static str,
    pub status: String,
}

#[derive(Template)]
#[template(path = "portal/documents.html")]
struct DocumentsPage<'a> {
    p: &'a Page,
    documents: Vec<DocumentLine>,
    none: String,
    can_request_ehic: bool,
}

#[derive(Template)]
#[template(path = "portal/offer.html")]
struct OfferPage<'a> {
    p: &'a Page,
    qr_svg: String,
    link: String,
    tx_code: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessagePage<'a> {
    p: &'a Page,
    heading: String,
    text: String,
}

async fn home(State(s): State<AppState>, h: HeaderMap, q: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(&s, &h, q.lang.as_deref());
    let notice = q.expired.is_some().then(|| c.tr.t("session-expired"));
    let p = c.page(&s, "home-title", "/portal", notice);
    c.html(&s, StatusCode::OK, HomePage { p: &p, can_sign_in: s.pid_sign_in.is_some() }.render())
}

/// The gateway's hand-over for the EHIC: the documents when signed in, else the sign-in.
async fn ehic_entry(State(s): State<AppState>, h: HeaderMap, q: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(&s, &h, q.lang.as_deref());
    if c.person().is_some() {
        return see_other("/portal/documents", None);
    }
    let p = c.page(&s, "home-title", "/portal/ehic", None);
    c.html(&s, StatusCode::OK, HomePage { p: &p, can_sign_in: s.pid_sign_in.is_some() }.render())
}

/// The gateway's hand-over for the A1.
async fn a1(State(s): State<AppState>, h: HeaderMap, q: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(&s, &h, q.lang.as_deref());
    let p = c.page(&s, "a1-title", "/portal/a1", None);
    c.html(&s, StatusCode::OK, MessagePage { heading: p.t("a1-title"), text: p.t("a1-text"), p: &p }.render())
}

/// A posted form's field (`application/x-www-form-urlencoded`; the first of that name).
fn field(body: &Bytes, name: &str) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn sign_in_page(s: &AppState, c: &Ctx, link: &str, poll: &str, notice: Option<String>) -> Response {
    let p = c.page(s, "sign-in-title", "/portal", notice);
    let qr_svg = match esspass_paper::print::qr_svg(link) {
        Ok(q) => q,
        Err(_) => return c.message(s, StatusCode::INTERNAL_SERVER_ERROR, "error-title", c.tr.t("sign-in-failed")),
    };
    let asks = c.tr.ta("sign-in-asks", &[("institution", &s.cfg.institution.name)]);
    c.html(s, StatusCode::OK, SignInPage { p: &p, asks, qr_svg, link: link.to_owned(), poll: poll.to_owned() }.render())
}

async fn sign_in(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(&s, &h, None);
    if let Err(r) = c.check_csrf(&s, field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some(v) = &s.pid_sign_in else {
        return c.message(&s, StatusCode::NOT_FOUND, "error-title", c.tr.t("sign-in-unavailable"));
    };
    match crate::services::pid_sign_in::start(v, &s.issuer.store, SIGN_IN_KIND, SIGN_IN_ACTOR).await {
        Ok(started) => sign_in_page(&s, &c, &started.authorization_request, &started.poll, None),
        Err(e) => failed(&s, &c, &e),
    }
}

fn failed(s: &AppState, c: &Ctx, e: &ApiError) -> Response {
    tracing::warn!(target: "esspass::portal", code = e.code.code(), "a portal request failed");
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    c.message(s, status, "error-title", c.tr.t("sign-in-failed"))
}

async fn sign_in_continue(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(&s, &h, None);
    if let Err(r) = c.check_csrf(&s, field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some(v) = &s.pid_sign_in else {
        return c.message(&s, StatusCode::NOT_FOUND, "error-title", c.tr.t("sign-in-unavailable"));
    };
    let poll = field(&body, "poll").unwrap_or_default();
    let now = s.clock.now().unix_timestamp();
    let codes = crate::services::pid_sign_in::Codes { gone: ErrorCode::StaffSignInGone, refused: ErrorCode::StaffSignInRefused };
    match crate::services::pid_sign_in::answer(v, &s.issuer.store, SIGN_IN_KIND, &poll, codes, SIGN_IN_ACTOR, now).await {
        Ok(crate::services::pid_sign_in::Answer::Pending { authorization_request }) => sign_in_page(&s, &c, &authorization_request, &poll, Some(c.tr.t("sign-in-pending"))),
        Ok(crate::services::pid_sign_in::Answer::Verified { transaction_id, sign_in }) => match crate::services::pid_sign_in::find_person(&s.issuer.store, &sign_in, &transaction_id, SIGN_IN_ACTOR, now).await {
            Ok(Some(person_id)) => {
                let session = Session::signed_in(&person_id, now);
                see_other("/portal/documents", session.set_cookie(&s.issuer.store, now))
            }
            Ok(None) => c.message(&s, StatusCode::FORBIDDEN, "error-title", c.tr.t("sign-in-no-record")),
            Err(e) => failed(&s, &c, &e),
        },
        Err(e) if e.status == 404 => c.message(&s, StatusCode::NOT_FOUND, "error-title", c.tr.t("sign-in-expired")),
        Err(e) => failed(&s, &c, &e),
    }
}

fn type_key(vct: &str) -> &'static str {
    match CredentialType::ALL.iter().find(|t| t.vct() == vct) {
        Some(CredentialType::Ehic) => "type-ehic",
        Some(CredentialType::Pda1) => "type-pda1",
        _ => "type-pid",
    }
}

async fn documents(State(s): State<AppState>, h: HeaderMap, q: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(&s, &h, q.lang.as_deref());
    let Some(person) = c.person().map(str::to_owned) else {
        return see_other(if c.expired { "/portal?expired=1" } else { "/portal" }, None);
    };
    documents_page(&s, &c, &person, None).await
}

async fn documents_page(s: &AppState, c: &Ctx, person: &str, notice: Option<String>) -> Response {
    let now = s.clock.now().unix_timestamp();
    let rows = match crate::services::issuance::documents_of_person(&s.issuer.store, person, &format!("person:{person}"), now).await {
        Ok(r) => r,
        Err(e) => return failed(s, c, &e),
    };
    let documents = rows
        .into_iter()
        .map(|r| DocumentLine {
            kind: c.tr.t(type_key(&r.vct)),
            number: r.document_number,
            issued: c.tr.date(Date::of_instant(time::OffsetDateTime::from_unix_timestamp(r.issued_at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))),
            state: r.state.as_str(),
            status: c.tr.t(&format!("status-{}", r.state.as_str())),
            id: r.credential_id,
        })
        .collect();
    let p = c.page(s, "documents-title", "/portal/documents", notice);
    let none = c.tr.ta("documents-none", &[("institution", &s.cfg.institution.name)]);
    c.html(s, StatusCode::OK, DocumentsPage { p: &p, documents, none, can_request_ehic: s.cfg.institution.credential_types.contains(&CredentialType::Ehic) }.render())
}

async fn request_ehic(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(&s, &h, None);
    if let Err(r) = c.check_csrf(&s, field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some(person) = c.person().map(str::to_owned) else {
        return see_other("/portal", None);
    };
    let now = s.clock.now().unix_timestamp();
    match s.issuer.create_offer("ehic", &person, None, &format!("person:{person}"), false, now).await {
        Ok(o) => {
            let qr_svg = esspass_paper::print::qr_svg(&o.credential_offer_uri).unwrap_or_default();
            let p = c.page(&s, "offer-title", "/portal/documents", None);
            let expires = c.tr.ta("offer-expires", &[("time", &c.tr.time(o.expires_at))]);
            c.html(&s, StatusCode::OK, OfferPage { p: &p, qr_svg, link: o.credential_offer_uri, tx_code: o.tx_code.unwrap_or_default(), expires }.render())
        }
        Err(e) => {
            let notice = c.tr.ta("request-refused", &[("reason", &e.detail)]);
            documents_page(&s, &c, &person, Some(notice)).await
        }
    }
}

async fn paper(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let c = ctx(&s, &h, None);
    let Some(person) = c.person().map(str::to_owned) else {
        return see_other("/portal", None);
    };
    let now = s.clock.now().unix_timestamp();
    // Only the person's own documents; another's is "not found", as if it did not exist.
    let own = matches!(s.issuer.store.credential(&id).await, Ok(Some(r)) if r.person_id == person);
    if !own {
        return c.message(&s, StatusCode::NOT_FOUND, "error-title", c.tr.t("error-not-found"));
    }
    match crate::services::paper::print(&s.issuer, &id, crate::services::paper::PaperFormat::Pdf, &format!("person:{person}"), now).await {
        Ok(printed) => {
            let mut r = (StatusCode::OK, printed.bytes).into_response();
            let hm = r.headers_mut();
            hm.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            security_headers(hm);
            r
        }
        Err(e) => failed(&s, &c, &e),
    }
}

async fn sign_out(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(&s, &h, None);
    if let Err(r) = c.check_csrf(&s, field(&body, "csrf").as_deref()) {
        return r;
    }
    see_other("/portal", Some(Session::clear_cookie()))
}

async fn css() -> Response {
    let mut r = (StatusCode::OK, include_str!("../../static/portal.css")).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}
