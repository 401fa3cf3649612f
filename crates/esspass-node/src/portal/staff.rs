//! The institution's portal for its staff, who sign in with their PID (`[[staff]]`, as the
//! back-office API's staff sign-in): case workers see the applications waiting for a person with
//! the engine's reasons and the outcomes the law allows, decide them, and follow the EESSI cases;
//! auditors read the audit trail and see it verified. Every route checks the member's role; every
//! reading of personal data is audited by the service it calls.

use super::{Ctx, LangQuery, Page, SignInPage, Site, ctx, field, see_other};
use crate::config::ApiRole;
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use esspass_core::{Date, ErrorCode};
use serde_json::Value;

const SIGN_IN_KIND: &str = "portal_staff_sign_in";
const SIGN_IN_ACTOR: &str = "staff-sign-in";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/staff", get(home))
        .route("/portal/staff/sign-in", post(sign_in))
        .route("/portal/staff/sign-in/continue", post(sign_in_continue))
        .route("/portal/staff/applications/{id}", get(application))
        .route("/portal/staff/applications/{id}/decision", post(decide))
        .route("/portal/staff/cases/{id}", get(case))
        .route("/portal/staff/persons", get(person))
        .route("/portal/staff/credentials/{id}", post(change_status))
}

fn site(s: &AppState) -> Site<'_> {
    Site { store: &s.issuer.store, name: &s.cfg.institution.name, cookie: &s.portal_cookie, now: s.clock.now().unix_timestamp() }
}

type Q = Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>;

/// The member signed in and their role, if it is one of `roles`; else the page to answer.
#[allow(clippy::result_large_err)] // the refusal is the answer, returned at once
fn member<'a>(s: &'a AppState, c: &Ctx<'_>, roles: &[ApiRole]) -> Result<&'a crate::config::ApiKeyConfig, Response> {
    let Some(name) = c.subject("staff") else {
        return Err(see_other(if c.expired { "/portal/staff?expired=1" } else { "/portal/staff" }, None));
    };
    match crate::staff::member_key(&s.cfg, &name) {
        Some(k) if roles.contains(&k.role) => Ok(k),
        _ => Err(c.message(StatusCode::FORBIDDEN, "error-title", c.tr.t("staff-forbidden"))),
    }
}

pub struct QueueLine {
    pub id: String,
    pub worker: String,
    pub period: String,
    pub review: String,
}

pub struct CaseLine {
    pub id: String,
    pub buc: String,
    pub owner: String,
    pub status: String,
}

pub struct AuditLine {
    pub when: String,
    pub who: String,
    pub what: String,
    pub subject: String,
}

#[derive(Template)]
#[template(path = "portal/staff_home.html")]
struct HomePage<'a> {
    p: &'a Page,
    can_sign_in: bool,
    role: String,
    queue: Vec<QueueLine>,
    cases: Vec<CaseLine>,
    audit_ok: Option<String>,
    audit_problems: Vec<String>,
    audit: Vec<AuditLine>,
}

#[derive(Template)]
#[template(path = "portal/staff_application.html")]
struct ApplicationPage<'a> {
    p: &'a Page,
    id: String,
    worker: String,
    state: String,
    period: String,
    reasons: Vec<(String, String, String)>,
    allowed: Vec<(String, String)>,
    can_decide: bool,
}

#[derive(Template)]
#[template(path = "portal/staff_case.html")]
struct CasePage<'a> {
    p: &'a Page,
    case: CaseLine,
    documents: Vec<(String, String, String)>,
}

fn period_text(c: &Ctx<'_>, p: Option<&Value>) -> String {
    let d = |k: &str| p.and_then(|p| p.get(k)).and_then(Value::as_str).and_then(Date::parse).map(|d| c.tr.date(d)).unwrap_or_default();
    format!("{} – {}", d("start"), d("end"))
}

async fn home(State(s): State<AppState>, h: HeaderMap, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    let notice = q.expired.is_some().then(|| c.tr.t("session-expired"));
    let key = c.subject("staff").and_then(|n| crate::staff::member_key(&s.cfg, &n));
    let (mut queue, mut cases, mut audit, mut audit_ok, mut audit_problems) = (Vec::new(), Vec::new(), Vec::new(), None, Vec::new());
    let role = key.map(|k| k.role.name()).unwrap_or_default();
    if let Some(k) = key {
        let actor = k.name.clone();
        if k.role == ApiRole::CaseWorker {
            for a in crate::services::applications::pending(&s.issuer.store, &actor, c.site.now).await.unwrap_or_default() {
                let worker = s.issuer.store.person(&a.person_id).await.ok().flatten().map(|p| format!("{} {}", p.given_name, p.family_name)).unwrap_or_default();
                let review = a.decision.get("reasons").and_then(Value::as_array).map(|r| r.iter().filter(|x| x["effect"] == "review").filter_map(|x| x["code"].as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                queue.push(QueueLine { period: period_text(&c, a.input.pointer("/application/activities/0/period")), worker, review, id: a.application_id });
            }
        }
        if matches!(k.role, ApiRole::CaseWorker | ApiRole::Auditor)
            && let Some(ap) = &s.eessi
        {
            cases = ap.list_cases(50, &actor, c.site.now).await.unwrap_or_default().into_iter().map(|r| CaseLine { id: r.case_id, buc: r.buc, owner: r.owner, status: r.status }).collect();
        }
        if k.role == ApiRole::Auditor {
            let pinned = s.issuer.chain.first().and_then(|d| esspass_credential::x509::Certificate::from_der(d).ok());
            let outside = s.cfg.audit.checkpoint_file.as_ref().map(|f| crate::services::audit::read_checkpoint_file(f).map(|(c, _)| c).unwrap_or_default()).unwrap_or_default();
            let opts = crate::services::audit::VerifyOptions { anchors: None, pinned: pinned.as_ref(), outside, max_age: None };
            match crate::services::audit::verify(&s.issuer.store, &opts, c.site.now).await {
                Ok(v) if v.ok => audit_ok = Some(c.tr.ta("audit-intact", &[("records", &v.records.to_string()), ("checkpoints", &v.checkpoints.to_string())])),
                Ok(v) => audit_problems = v.problems,
                Err(e) => audit_problems = vec![e.to_string()],
            }
            audit = crate::services::audit::recent(&s.issuer.store, 50, &actor, c.site.now)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|r| AuditLine { when: c.tr.time(r.at), who: r.actor, what: r.action, subject: r.subject })
                .collect();
        }
    }
    let p = c.page("staff-title", "/portal/staff", notice);
    c.html(StatusCode::OK, HomePage { p: &p, can_sign_in: s.pid_sign_in.is_some() && !s.cfg.staff.is_empty(), role, queue, cases, audit_ok, audit_problems, audit }.render())
}

async fn sign_in(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some(v) = s.pid_sign_in.as_ref().filter(|_| !s.cfg.staff.is_empty()) else {
        return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("sign-in-unavailable"));
    };
    match crate::services::pid_sign_in::start(v, &s.issuer.store, SIGN_IN_KIND, SIGN_IN_ACTOR).await {
        Ok(started) => sign_in_page(&s, &c, &started.authorization_request, &started.poll, None),
        Err(_) => c.message(StatusCode::INTERNAL_SERVER_ERROR, "error-title", c.tr.t("sign-in-failed")),
    }
}

fn sign_in_page(s: &AppState, c: &Ctx<'_>, link: &str, poll: &str, notice: Option<String>) -> Response {
    let p = c.page("sign-in-title", "/portal/staff", notice);
    let qr_svg = esspass_paper::print::qr_svg(link).unwrap_or_default();
    let asks = c.tr.ta("sign-in-asks", &[("institution", &s.cfg.institution.name)]);
    c.html(StatusCode::OK, SignInPage { p: &p, asks, qr_svg, link: link.to_owned(), poll: poll.to_owned(), continue_to: "/portal/staff/sign-in/continue" }.render())
}

async fn sign_in_continue(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some(v) = s.pid_sign_in.as_ref().filter(|_| !s.cfg.staff.is_empty()) else {
        return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("sign-in-unavailable"));
    };
    let poll = field(&body, "poll").unwrap_or_default();
    let codes = crate::services::pid_sign_in::Codes { gone: ErrorCode::StaffSignInGone, refused: ErrorCode::StaffSignInRefused };
    match crate::services::pid_sign_in::answer(v, &s.issuer.store, SIGN_IN_KIND, &poll, codes, SIGN_IN_ACTOR, c.site.now).await {
        Ok(crate::services::pid_sign_in::Answer::Pending { authorization_request }) => sign_in_page(&s, &c, &authorization_request, &poll, Some(c.tr.t("sign-in-pending"))),
        Ok(crate::services::pid_sign_in::Answer::Verified { transaction_id, sign_in }) => match crate::staff::member_for(&s.cfg, &sign_in) {
            Some(m) => {
                let _ = s.issuer.store.append_audit(c.site.now, &format!("staff:{}", m.name), "staff_signed_in", &format!("staff:{}", m.name), "staff portal", &serde_json::json!({"transaction": transaction_id, "role": m.role.name()})).await;
                c.sign_in_as(&format!("staff:{}", m.name), "/portal/staff")
            }
            None => {
                let _ = s.issuer.store.append_audit(c.site.now, SIGN_IN_ACTOR, "staff_sign_in_refused", "unlisted", "staff portal", &serde_json::json!({"transaction": transaction_id})).await;
                c.message(StatusCode::FORBIDDEN, "error-title", c.tr.t("staff-not-listed"))
            }
        },
        Err(e) if e.status == 404 => c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("sign-in-expired")),
        Err(_) => c.message(StatusCode::FORBIDDEN, "error-title", c.tr.t("sign-in-failed")),
    }
}

async fn application_page(s: &AppState, c: &Ctx<'_>, k: &crate::config::ApiKeyConfig, id: &str, notice: Option<String>) -> Response {
    let app = match crate::services::applications::read(&s.issuer.store, id, &k.name, c.site.now).await {
        Ok(a) => a,
        Err(_) => return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("error-not-found")),
    };
    let worker = s.issuer.store.person(&app.person_id).await.ok().flatten().map(|p| format!("{} {} ({})", p.given_name, p.family_name, p.personal_number)).unwrap_or_default();
    let txt = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let reasons = app.decision.get("reasons").and_then(Value::as_array).map(|a| a.iter().map(|r| (txt(r, "effect"), txt(r, "code"), txt(r, "text"))).collect()).unwrap_or_default();
    let allowed: Vec<(String, String)> = app
        .decision
        .get("allowed")
        .and_then(Value::as_array)
        .map(|a| a.iter().enumerate().map(|(i, x)| (i.to_string(), format!("{} — {} — {}", txt(x, "legislation_country"), txt(x, "article"), txt(x, "status_confirmation")))).collect())
        .unwrap_or_default();
    let p = c.page("app-title", &format!("/portal/staff/applications/{id}"), notice);
    let can_decide = k.role == ApiRole::CaseWorker && app.state == "pending_review";
    c.html(StatusCode::OK, ApplicationPage { p: &p, id: id.to_owned(), worker, state: c.tr.t(&format!("app-state-{}", app.state)), period: period_text(c, app.input.pointer("/application/activities/0/period")), reasons, allowed, can_decide }.render())
}

async fn application(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    let k = match member(&s, &c, &[ApiRole::CaseWorker, ApiRole::Auditor]) {
        Ok(k) => k,
        Err(r) => return r,
    };
    application_page(&s, &c, k, &id, None).await
}

async fn decide(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    let k = match member(&s, &c, &[ApiRole::CaseWorker]) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let approve = field(&body, "choice").as_deref() == Some("approve");
    let note = field(&body, "note").unwrap_or_default();
    let override_reason = field(&body, "override").filter(|o| !o.trim().is_empty());
    // The outcome chosen among those the engine's reasons allow (by its position in the list); the
    // page answering shows (and audits) the application, this reading only picks the outcome.
    let app = s.issuer.store.application(&id).await.ok().flatten();
    let chosen = field(&body, "outcome").and_then(|i| i.parse::<usize>().ok()).and_then(|i| app.as_ref().and_then(|a| a.decision.get("allowed")?.as_array()?.get(i).cloned()));
    let pick = |k: &str| chosen.as_ref().and_then(|x| x.get(k)).and_then(Value::as_str).map(str::to_owned);
    let d = crate::services::applications::CaseDecision {
        approve,
        legislation_country: pick("legislation_country"),
        article: pick("article"),
        status_confirmation: pick("status_confirmation"),
        start: None,
        end: None,
        note,
        override_reason,
        agreement: None,
    };
    match crate::services::applications::decide(&s.issuer.store, &s.cfg.institution, s.eessi.as_deref(), &id, d, &k.name, c.site.now).await {
        Ok(_) => application_page(&s, &c, k, &id, Some(c.tr.t("decided"))).await,
        Err(e) => application_page(&s, &c, k, &id, Some(e.detail)).await,
    }
}

async fn case(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    let k = match member(&s, &c, &[ApiRole::CaseWorker, ApiRole::Auditor]) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(ap) = &s.eessi else {
        return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("error-not-found"));
    };
    let v = match ap.show_case(&id, &k.name, c.site.now).await {
        Ok(v) => v,
        Err(_) => return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("error-not-found")),
    };
    let txt = |v: &Value, k: &str| v.get(k).map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string())).unwrap_or_default();
    let documents = v.pointer("/body/documents").and_then(Value::as_array).map(|a| a.iter().map(|d| (txt(d, "sed_type"), txt(d, "id"), txt(d, "state"))).collect()).unwrap_or_default();
    let case = CaseLine { id: txt(&v, "case_id"), buc: txt(&v, "buc"), owner: txt(&v, "owner"), status: txt(&v, "status") };
    let p = c.page("staff-cases", &format!("/portal/staff/cases/{id}"), None);
    c.html(StatusCode::OK, CasePage { p: &p, case, documents }.render())
}

pub struct DocLine {
    pub id: String,
    pub kind: String,
    pub number: String,
    pub status: String,
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "portal/staff_person.html")]
struct PersonPage<'a> {
    p: &'a Page,
    number: String,
    name: Option<String>,
    documents: Vec<DocLine>,
}

#[derive(serde::Deserialize, Default)]
struct PersonQuery {
    number: Option<String>,
    lang: Option<String>,
}

async fn person_page(s: &AppState, c: &Ctx<'_>, k: &crate::config::ApiKeyConfig, number: &str, notice: Option<String>) -> Response {
    let found = if number.trim().is_empty() { Ok(None) } else { crate::services::issuance::find_person_documents(&s.issuer.store, number, &k.name, c.site.now).await };
    let (name, documents) = match found {
        Ok(Some((p, docs))) => (
            Some(format!("{} {}", p.given_name, p.family_name)),
            docs.into_iter()
                .map(|d| DocLine {
                    kind: c.tr.t(match d.vct.as_str() {
                        "urn:eudi:ehic:1" => "type-ehic",
                        "urn:eudi:pda1:1" => "type-pda1",
                        _ => "type-pid",
                    }),
                    number: d.document_number,
                    status: c.tr.t(&format!("status-{}", d.state.as_str())),
                    state: d.state.as_str(),
                    id: d.credential_id,
                })
                .collect(),
        ),
        Ok(None) => (None, Vec::new()),
        Err(e) => return c.message(StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "error-title", e.detail),
    };
    let notice = notice.or_else(|| (name.is_none() && !number.trim().is_empty()).then(|| c.tr.t("staff-person-none")));
    let p = c.page("staff-find", "/portal/staff/persons", notice);
    c.html(StatusCode::OK, PersonPage { p: &p, number: number.trim().to_owned(), name, documents }.render())
}

async fn person(State(s): State<AppState>, h: HeaderMap, q: Result<Query<PersonQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    let k = match member(&s, &c, &[ApiRole::CaseWorker, ApiRole::BackOffice]) {
        Ok(k) => k,
        Err(r) => return r,
    };
    person_page(&s, &c, k, q.number.as_deref().unwrap_or(""), None).await
}

async fn change_status(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    let k = match member(&s, &c, &[ApiRole::CaseWorker, ApiRole::BackOffice]) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let action = field(&body, "action").unwrap_or_default();
    let reason = field(&body, "reason").filter(|r| !r.trim().is_empty());
    let number = field(&body, "number").unwrap_or_default();
    let notice = if reason.is_none() {
        c.tr.t("form-required")
    } else {
        match s.status.change(s.eessi.as_deref(), &id, &action, reason.as_deref(), &k.name, c.site.now).await {
            Ok(_) => c.tr.t("staff-changed"),
            Err(e) => e.detail,
        }
    };
    person_page(&s, &c, k, &number, Some(notice)).await
}
