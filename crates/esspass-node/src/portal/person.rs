//! The institution's portal for insured persons. A person signs in by presenting a PID from the
//! wallet (QR code, or the same-device link) to the institution's own OpenID4VP transaction and is
//! matched to the record as the authorization-code flow does; then sees the documents and their
//! status, requests a European Health Insurance Card and takes it into a wallet with the
//! transaction code shown only to them, or prints the paper version. The gateway hands people over
//! to `/portal/ehic` and `/portal/a1`.

use super::{Ctx, LangQuery, Page, SignInPage, Site, css, ctx, field, see_other};
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
        .route("/portal/decisions/{id}/contest", post(contest))
        .route("/portal/sign-out", post(sign_out))
        .route("/portal/static/portal.css", get(css))
}

fn site(s: &AppState) -> Site<'_> {
    Site { store: &s.issuer.store, name: &s.cfg.institution.name, cookie: &s.portal_cookie, now: s.clock.now().unix_timestamp() }
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage<'a> {
    p: &'a Page,
    can_sign_in: bool,
}

pub struct DocumentLine {
    pub id: String,
    pub kind: String,
    pub number: String,
    pub issued: String,
    pub state: &'static str,
    pub status: String,
}

/// A decision about the person (an A1 application), and whether it may be contested.
pub struct DecisionLine {
    pub id: String,
    pub state: String,
    pub summary: String,
    pub contestable: bool,
}

#[derive(Template)]
#[template(path = "portal/documents.html")]
struct DocumentsPage<'a> {
    p: &'a Page,
    documents: Vec<DocumentLine>,
    none: String,
    can_request_ehic: bool,
    decisions: Vec<DecisionLine>,
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

type Q = Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>;

async fn home(State(s): State<AppState>, h: HeaderMap, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    let notice = q.expired.is_some().then(|| c.tr.t("session-expired"));
    let p = c.page("home-title", "/portal", notice);
    c.html(StatusCode::OK, HomePage { p: &p, can_sign_in: s.pid_sign_in.is_some() }.render())
}

/// The gateway's hand-over for the EHIC: the documents when signed in, else the sign-in.
async fn ehic_entry(State(s): State<AppState>, h: HeaderMap, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    if c.subject("person").is_some() {
        return see_other("/portal/documents", None);
    }
    let p = c.page("home-title", "/portal/ehic", None);
    c.html(StatusCode::OK, HomePage { p: &p, can_sign_in: s.pid_sign_in.is_some() }.render())
}

/// The gateway's hand-over for the A1: employers apply (`crate::portal::employer`).
async fn a1(q: Q) -> Response {
    let lang = q.ok().and_then(|Query(q)| q.lang).filter(|l| super::i18n::Lang::parse(l).is_some());
    see_other(&lang.map_or_else(|| "/portal/employer".to_owned(), |l| format!("/portal/employer?lang={l}")), None)
}

fn sign_in_page(s: &AppState, c: &Ctx<'_>, link: &str, poll: &str, notice: Option<String>) -> Response {
    let p = c.page("sign-in-title", "/portal", notice);
    let Ok(qr_svg) = esspass_paper::print::qr_svg(link) else {
        return c.message(StatusCode::INTERNAL_SERVER_ERROR, "error-title", c.tr.t("sign-in-failed"));
    };
    let asks = c.tr.ta("sign-in-asks", &[("institution", &s.cfg.institution.name)]);
    c.html(StatusCode::OK, SignInPage { p: &p, asks, qr_svg, link: link.to_owned(), poll: poll.to_owned(), continue_to: "/portal/sign-in/continue" }.render())
}

fn failed(c: &Ctx<'_>, e: &ApiError) -> Response {
    tracing::warn!(target: "esspass::portal", code = e.code.code(), "a portal request failed");
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    c.message(status, "error-title", c.tr.t("sign-in-failed"))
}

async fn sign_in(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some(v) = &s.pid_sign_in else {
        return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("sign-in-unavailable"));
    };
    match crate::services::pid_sign_in::start(v, &s.issuer.store, SIGN_IN_KIND, SIGN_IN_ACTOR).await {
        Ok(started) => sign_in_page(&s, &c, &started.authorization_request, &started.poll, None),
        Err(e) => failed(&c, &e),
    }
}

async fn sign_in_continue(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some(v) = &s.pid_sign_in else {
        return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("sign-in-unavailable"));
    };
    let poll = field(&body, "poll").unwrap_or_default();
    let now = c.site.now;
    let codes = crate::services::pid_sign_in::Codes { gone: ErrorCode::StaffSignInGone, refused: ErrorCode::StaffSignInRefused };
    match crate::services::pid_sign_in::answer(v, &s.issuer.store, SIGN_IN_KIND, &poll, codes, SIGN_IN_ACTOR, now).await {
        Ok(crate::services::pid_sign_in::Answer::Pending { authorization_request }) => sign_in_page(&s, &c, &authorization_request, &poll, Some(c.tr.t("sign-in-pending"))),
        Ok(crate::services::pid_sign_in::Answer::Verified { transaction_id, sign_in }) => match crate::services::pid_sign_in::find_person(&s.issuer.store, &sign_in, &transaction_id, SIGN_IN_ACTOR, now).await {
            Ok(Some(person_id)) => c.sign_in_as(&format!("person:{person_id}"), "/portal/documents"),
            Ok(None) => c.message(StatusCode::FORBIDDEN, "error-title", c.tr.t("sign-in-no-record")),
            Err(e) => failed(&c, &e),
        },
        Err(e) if e.status == 404 => c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("sign-in-expired")),
        Err(e) => failed(&c, &e),
    }
}

fn type_key(vct: &str) -> &'static str {
    match CredentialType::ALL.iter().find(|t| t.vct() == vct) {
        Some(CredentialType::Ehic) => "type-ehic",
        Some(CredentialType::Pda1) => "type-pda1",
        _ => "type-pid",
    }
}

async fn documents(State(s): State<AppState>, h: HeaderMap, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    let Some(person) = c.subject("person") else {
        return see_other(if c.expired { "/portal?expired=1" } else { "/portal" }, None);
    };
    documents_page(&s, &c, &person, None).await
}

async fn documents_page(s: &AppState, c: &Ctx<'_>, person: &str, notice: Option<String>) -> Response {
    let rows = match crate::services::issuance::documents_of_person(&s.issuer.store, person, &format!("person:{person}"), c.site.now).await {
        Ok(r) => r,
        Err(e) => return failed(c, &e),
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
    let apps = crate::services::applications::applications_about(&s.issuer.store, person, &format!("person:{person}"), c.site.now).await.unwrap_or_default();
    let decisions = apps
        .into_iter()
        .map(|a| {
            let contestable = crate::services::applications::is_adverse_automatic(&a);
            let f = a.final_decision.clone().unwrap_or_default();
            let txt = |k: &str| f.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
            let summary = [txt("legislation_country"), txt("article"), txt("competent_state")].into_iter().filter(|x| !x.is_empty()).collect::<Vec<_>>().join(" — ");
            DecisionLine { id: a.application_id, state: c.tr.t(&format!("app-state-{}", a.state)), summary, contestable }
        })
        .collect();
    let p = c.page("documents-title", "/portal/documents", notice);
    let none = c.tr.ta("documents-none", &[("institution", &s.cfg.institution.name)]);
    c.html(StatusCode::OK, DocumentsPage { p: &p, documents, none, can_request_ehic: s.cfg.institution.credential_types.contains(&CredentialType::Ehic), decisions }.render())
}

async fn request_ehic(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    let person = match c.form_by(&body, "person", "/portal") {
        Ok(x) => x,
        Err(r) => return r,
    };
    match s.issuer.create_offer("ehic", &person, None, &format!("person:{person}"), false, c.site.now).await {
        Ok(o) => {
            let qr_svg = esspass_paper::print::qr_svg(&o.credential_offer_uri).unwrap_or_default();
            let p = c.page("offer-title", "/portal/documents", None);
            let expires = c.tr.ta("offer-expires", &[("time", &c.tr.time(o.expires_at))]);
            c.html(StatusCode::OK, OfferPage { p: &p, qr_svg, link: o.credential_offer_uri, tx_code: o.tx_code.unwrap_or_default(), expires }.render())
        }
        Err(e) => {
            let notice = c.tr.ta("request-refused", &[("reason", &e.detail)]);
            documents_page(&s, &c, &person, Some(notice)).await
        }
    }
}

async fn paper(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let c = ctx(site(&s), &h, None);
    let Some(person) = c.subject("person") else {
        return see_other("/portal", None);
    };
    // Only the person's own documents; another's is "not found", as if it did not exist.
    let own = matches!(s.issuer.store.credential(&id).await, Ok(Some(r)) if r.person_id == person);
    if !own {
        return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("error-not-found"));
    }
    match crate::services::paper::print(&s.issuer, &id, crate::services::paper::PaperFormat::Pdf, &format!("person:{person}"), c.site.now).await {
        Ok(printed) => {
            let mut r = (StatusCode::OK, printed.bytes).into_response();
            let hm = r.headers_mut();
            hm.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            super::security_headers(hm);
            r
        }
        Err(e) => failed(&c, &e),
    }
}

async fn sign_out(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    c.sign_out("/portal")
}

/// The person asks for a human review of an adverse automatic decision about them (GDPR Art 22(3)).
async fn contest(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    let person = match c.form_by(&body, "person", "/portal") {
        Ok(x) => x,
        Err(r) => return r,
    };
    let reason = field(&body, "reason").unwrap_or_default();
    let notice = if reason.trim().is_empty() {
        c.tr.t("form-required")
    } else {
        match crate::services::applications::contest_by_person(&s.issuer.store, &id, &reason, &person, c.site.now).await {
            Ok(_) => c.tr.t("contested"),
            Err(e) => e.detail,
        }
    };
    documents_page(&s, &c, &person, Some(notice)).await
}
