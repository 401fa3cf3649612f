//! The institution's portal for employers: sign in with the employer's key, apply for a worker's
//! Portable Document A1 with a form whose every field is checked and every error tied to its field,
//! follow the decision and its reasons, see the PDA1's status and hand the offer to the worker (no
//! transaction code: only the worker, signing in with the PID, takes it). The application goes
//! through the same service as the JSON API (`services::applications::submit`): the rules engine
//! decides, the employer applies only for its own workers.

use super::{Ctx, LangQuery, Page, Site, ctx, field, see_other};
use crate::config::ApiRole;
use crate::http::AppState;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use esspass_core::{Country, Date};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/employer", get(home))
        .route("/portal/employer/sign-in", post(sign_in))
        .route("/portal/employer/a1", get(form).post(submit))
        .route("/portal/employer/applications/{id}", get(application))
        .route("/portal/employer/applications/{id}/offer", post(offer))
}

fn site(s: &AppState) -> Site<'_> {
    Site { store: &s.issuer.store, name: &s.cfg.institution.name, cookie: &s.portal_cookie, now: s.clock.now().unix_timestamp() }
}

type Q = Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>;

/// The employer signed in: its key's configuration (role employer, bound to an employer id).
fn employer<'a>(s: &'a AppState, c: &Ctx<'_>) -> Option<&'a crate::config::ApiKeyConfig> {
    let name = c.subject("employer")?;
    s.cfg.api_keys.iter().find(|k| k.name == name && k.role == ApiRole::Employer && k.employer_id.is_some())
}

pub struct AppLine {
    pub id: String,
    pub worker: String,
    pub period: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "portal/employer_home.html")]
struct HomePage<'a> {
    p: &'a Page,
    applications: Vec<AppLine>,
}

/// A form field as the page shows it: its value, and its error.
pub struct Field {
    pub id: &'static str,
    pub label: String,
    pub kind: &'static str,
    pub value: String,
    pub error: Option<String>,
    pub options: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "portal/a1_form.html")]
struct FormPage<'a> {
    p: &'a Page,
    fields: Vec<Field>,
    has_errors: bool,
}

#[derive(Template)]
#[template(path = "portal/application.html")]
struct ApplicationPage<'a> {
    p: &'a Page,
    id: String,
    state: String,
    legislation: String,
    article: String,
    period: String,
    reasons: Vec<(String, String)>,
    pda1: Option<String>,
    can_offer: bool,
    offer_qr: String,
    offer_link: String,
}

async fn home(State(s): State<AppState>, h: HeaderMap, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    let mut applications = Vec::new();
    if let Some(k) = employer(&s, &c) {
        let rows = s.issuer.store.applications_of_employer(k.employer_id.as_deref().unwrap_or_default(), 100).await.unwrap_or_default();
        for a in rows {
            let worker = s.issuer.store.person(&a.person_id).await.ok().flatten().map(|p| format!("{} {}", p.given_name, p.family_name)).unwrap_or_default();
            applications.push(AppLine { period: period_text(&c, a.input.pointer("/application/activities/0/period")), state: c.tr.t(&format!("app-state-{}", a.state)), worker, id: a.application_id });
        }
    }
    let p = c.page("employer-title", "/portal/employer", None);
    c.html(StatusCode::OK, HomePage { p: &p, applications }.render())
}

fn period_text(c: &Ctx<'_>, p: Option<&Value>) -> String {
    let d = |k: &str| p.and_then(|p| p.get(k)).and_then(Value::as_str).and_then(Date::parse).map(|d| c.tr.date(d)).unwrap_or_default();
    format!("{} – {}", d("start"), d("end"))
}

async fn sign_in(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    match crate::http::api_key(&s, field(&body, "key").unwrap_or_default().trim()).filter(|k| k.role == ApiRole::Employer && k.employer_id.is_some()) {
        Some(k) => {
            let _ = s.issuer.store.append_audit(c.site.now, &format!("api:{}", k.name), "employer_signed_in", &k.name, "employer portal", &json!({})).await;
            c.sign_in_as(&format!("employer:{}", k.name), "/portal/employer")
        }
        None => c.message(StatusCode::FORBIDDEN, "error-title", c.tr.t("desk-key-wrong")),
    }
}

/// The form's fields, with the values given and the errors found.
async fn fields(s: &AppState, c: &Ctx<'_>, employer_id: &str, body: Option<&Bytes>, errors: &[(&'static str, String)]) -> Vec<Field> {
    let own = s.cfg.institution.country.iso().to_owned();
    let v = |id: &str| body.and_then(|b| field(b, id)).unwrap_or_default();
    let err = |id: &str| errors.iter().find(|(f, _)| *f == id).map(|(_, m)| m.clone());
    let workers: Vec<(String, String)> = s.issuer.store.employees_of(employer_id).await.unwrap_or_default().into_iter().map(|p| (p.person_id, format!("{} {} ({})", p.given_name, p.family_name, p.birth_date))).collect();
    let hosts: Vec<(String, String)> = Country::participating().filter(|x| x.iso() != own).map(|x| (x.iso().to_owned(), x.iso().to_owned())).collect();
    let yes_no = vec![("no".to_owned(), c.tr.t("no")), ("yes".to_owned(), c.tr.t("yes"))];
    let mk = |id: &'static str, label: String, kind: &'static str, options: Vec<(String, String)>| Field { id, label, kind, value: v(id), error: err(id), options };
    vec![
        mk("worker", c.tr.t("a1-worker"), "select", workers),
        mk("employer_name", c.tr.t("a1-employer-name"), "text", Vec::new()),
        mk("start", c.tr.t("a1-start"), "date", Vec::new()),
        mk("end", c.tr.t("a1-end"), "date", Vec::new()),
        mk("host", c.tr.t("a1-host"), "select", hosts),
        mk("street", format!("{}: {}", c.tr.t("a1-address"), c.tr.t("a1-street")), "text", Vec::new()),
        mk("house", c.tr.t("a1-house"), "text", Vec::new()),
        mk("postal", c.tr.t("a1-postal"), "text", Vec::new()),
        mk("locality", c.tr.t("a1-locality"), "text", Vec::new()),
        mk("turnover", c.tr.ta("a1-turnover", &[("country", &own)]), "number", Vec::new()),
        mk("contracts", c.tr.ta("a1-contracts", &[("country", &own)]), "number", Vec::new()),
        mk("admin_staff", c.tr.ta("a1-admin-staff", &[("country", &own)]), "number", Vec::new()),
        mk("recruit_abroad", c.tr.t("a1-recruit-abroad"), "radio", yes_no.clone()),
        mk("internal_only", c.tr.ta("a1-internal-only", &[("country", &own)]), "radio", yes_no.clone()),
        mk("replaces", c.tr.t("a1-replaces"), "radio", yes_no),
        mk("insured_since", c.tr.ta("a1-insured-since", &[("country", &own)]), "date", Vec::new()),
    ]
}

async fn form(State(s): State<AppState>, h: HeaderMap, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    let Some(k) = employer(&s, &c) else {
        return see_other(if c.expired { "/portal/employer?expired=1" } else { "/portal/employer" }, None);
    };
    let fields = fields(&s, &c, k.employer_id.as_deref().unwrap_or_default(), None, &[]).await;
    let p = c.page("a1-form-title", "/portal/employer/a1", None);
    c.html(StatusCode::OK, FormPage { p: &p, fields, has_errors: false }.render())
}

/// The form read into the A1 application, or every field's error.
fn read_form(c: &Ctx<'_>, own: Country, employer_id: &str, workers: &[esspass_store::Person], b: &Bytes) -> Result<crate::services::applications::A1Request, Vec<(&'static str, String)>> {
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let v = |id: &str| field(b, id).map(|x| x.trim().to_owned()).unwrap_or_default();
    let text = |id: &'static str, max: usize, errors: &mut Vec<(&'static str, String)>| {
        let x = v(id);
        if x.is_empty() {
            errors.push((id, c.tr.t("form-required")));
        } else if x.chars().count() > max {
            errors.push((id, c.tr.t("form-too-long")));
        }
        x
    };
    let worker = text("worker", 100, &mut errors);
    let record = workers.iter().find(|p| p.person_id == worker);
    if !worker.is_empty() && record.is_none() {
        errors.push(("worker", c.tr.t("form-choose")));
    }
    let name = text("employer_name", 200, &mut errors);
    let date = |id: &'static str, errors: &mut Vec<(&'static str, String)>| {
        let d = Date::parse(&v(id));
        if d.is_none() {
            errors.push((id, c.tr.t(if v(id).is_empty() { "form-required" } else { "form-date" })));
        }
        d
    };
    let start = date("start", &mut errors);
    let end = date("end", &mut errors);
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        errors.push(("end", c.tr.t("form-end-before-start")));
    }
    let host = Country::parse(&v("host")).filter(|h| h.area().is_some() && *h != own);
    if host.is_none() {
        errors.push(("host", c.tr.ta("form-country", &[("country", own.iso())])));
    }
    let street = text("street", 100, &mut errors);
    let house = text("house", 20, &mut errors);
    let postal = text("postal", 20, &mut errors);
    let locality = text("locality", 100, &mut errors);
    let percent = |id: &'static str, errors: &mut Vec<(&'static str, String)>| {
        let p = v(id).replace(',', ".").parse::<f64>().ok().filter(|t| (0.0..=100.0).contains(t));
        if p.is_none() {
            errors.push((id, c.tr.t("form-percent")));
        }
        p
    };
    let turnover = percent("turnover", &mut errors);
    let contracts = percent("contracts", &mut errors);
    let admin = percent("admin_staff", &mut errors);
    let yes_no = |id: &'static str, errors: &mut Vec<(&'static str, String)>| match v(id).as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            errors.push((id, c.tr.t("form-choose")));
            None
        }
    };
    let recruit_abroad = yes_no("recruit_abroad", &mut errors);
    let internal_only = yes_no("internal_only", &mut errors);
    let replaces = yes_no("replaces", &mut errors);
    let insured = date("insured_since", &mut errors);
    if let (Some(i), Some(s)) = (insured, start)
        && i > s
    {
        errors.push(("insured_since", c.tr.t("form-insured-after-start")));
    }
    let (Some(record), Some(start), Some(end), Some(host), Some(turnover), Some(contracts), Some(admin), Some(recruit_abroad), Some(internal_only), Some(replaces), Some(insured)) =
        (record, start, end, host, turnover, contracts, admin, recruit_abroad, internal_only, replaces, insured)
    else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let today = Date::of_instant(time::OffsetDateTime::from_unix_timestamp(c.site.now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH));
    Ok(crate::services::applications::A1Request {
        person_id: worker,
        application: json!({
            "decision_date": today.to_string(),
            // The person as the authentic source knows them: residence and nationality.
            "person": {"residence": record.residence.as_deref().unwrap_or(own.iso()), "nationalities": record.nationality.iter().collect::<Vec<_>>()},
            "activities": [{
                "kind": "employed",
                "period": {"start": start.to_string(), "end": end.to_string()},
                "employer": {"name": name, "id": employer_id, "seat": own.iso(), "substantial_activity": {"turnover_share": turnover / 100.0, "contracts_share": contracts / 100.0, "administrative_staff_share": admin / 100.0, "recruitment_mainly_abroad": recruit_abroad, "internal_management_only": internal_only}},
                "states": [{"country": host.iso(), "working_time_share": 1, "remuneration_share": 1}],
                "posting": {"sending_state": own.iso(), "on_behalf_of_employer": true, "replaces_posted_person": replaces, "prior_insurance": [{"country": own.iso(), "start": insured.to_string()}], "previous_postings": []}
            }]
        }),
        work_information: json!({"work_address": [{"street_address": street, "house_number": house, "postal_code": postal, "locality": locality, "country": host.iso()}]}),
    })
}

async fn submit(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    let k = match c.form_by(&body, "employer", "/portal/employer").map(|_| employer(&s, &c)) {
        Ok(Some(k)) => k,
        Ok(None) => return see_other("/portal/employer", None),
        Err(r) => return r,
    };
    let employer_id = k.employer_id.clone().unwrap_or_default();
    let workers = s.issuer.store.employees_of(&employer_id).await.unwrap_or_default();
    let refused = async |errors: Vec<(&'static str, String)>, notice: Option<String>| {
        let fields = fields(&s, &c, &employer_id, Some(&body), &errors).await;
        let p = c.page("a1-form-title", "/portal/employer/a1", Some(notice.unwrap_or_else(|| c.tr.t("form-errors"))));
        c.html(StatusCode::UNPROCESSABLE_ENTITY, FormPage { p: &p, fields, has_errors: !errors.is_empty() }.render())
    };
    let req = match read_form(&c, s.cfg.institution.country, &employer_id, &workers, &body) {
        Ok(r) => r,
        Err(errors) => return refused(errors, None).await,
    };
    match crate::services::applications::submit(&s.issuer.store, &s.cfg.institution, s.eessi.as_deref(), req, k, c.site.now).await {
        Ok(row) => see_other(&format!("/portal/employer/applications/{}", row.application_id), None),
        // What the rules engine or the authentic source refuses: said above the form.
        Err(e) => refused(Vec::new(), Some(e.detail)).await,
    }
}

/// The employer's own application; another's, or none, is "not found" alike.
async fn own_application(s: &AppState, employer_id: &str, id: &str) -> Option<esspass_store::ApplicationRow> {
    s.issuer.store.application(id).await.ok().flatten().filter(|a| a.employer_id.as_deref() == Some(employer_id))
}

async fn application_page(s: &AppState, c: &Ctx<'_>, employer_id: &str, id: &str, offer: Option<String>) -> Response {
    let Some(app) = own_application(s, employer_id, id).await else {
        return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("error-not-found"));
    };
    let _ = s.issuer.store.append_audit(c.site.now, &format!("employer:{employer_id}"), "read_a1_application", &app.person_id, "applicable legislation", &json!({"application": id})).await;
    let f = app.final_decision.clone().unwrap_or(Value::Null);
    let d = &app.decision;
    let txt = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let reasons = d.get("reasons").and_then(Value::as_array).map(|a| a.iter().map(|r| (txt(r, "code"), txt(r, "text"))).collect()).unwrap_or_default();
    let creds = s.issuer.store.credentials_of_application(id).await.unwrap_or_default();
    let pda1 = creds.last().map(|r| format!("{} — {}", r.document_number, c.tr.t(&format!("status-{}", r.state.as_str()))));
    let can_offer = matches!(app.state.as_str(), "determined" | "approved" | "pending_review") && creds.is_empty();
    let (offer_qr, offer_link) = match offer {
        Some(link) => (esspass_paper::print::qr_svg(&link).unwrap_or_default(), link),
        None => (String::new(), String::new()),
    };
    let period = if f.is_null() { period_text(c, app.input.pointer("/application/activities/0/period")) } else { period_text(c, Some(&json!({"start": f.get("start"), "end": f.get("end")}))) };
    let p = c.page("app-title", &format!("/portal/employer/applications/{id}"), None);
    c.html(
        StatusCode::OK,
        ApplicationPage { p: &p, id: id.to_owned(), state: c.tr.t(&format!("app-state-{}", app.state)), legislation: txt(&f, "legislation_country"), article: txt(&f, "article"), period, reasons, pda1, can_offer, offer_qr, offer_link }.render(),
    )
}

async fn application(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    let Some(k) = employer(&s, &c) else {
        return see_other("/portal/employer", None);
    };
    application_page(&s, &c, k.employer_id.as_deref().unwrap_or_default(), &id, None).await
}

async fn offer(State(s): State<AppState>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    let k = match c.form_by(&body, "employer", "/portal/employer").map(|_| employer(&s, &c)) {
        Ok(Some(k)) => k,
        Ok(None) => return see_other("/portal/employer", None),
        Err(r) => return r,
    };
    let employer_id = k.employer_id.clone().unwrap_or_default();
    let Some(person) = own_application(&s, &employer_id, &id).await.map(|a| a.person_id) else {
        return c.message(StatusCode::NOT_FOUND, "error-title", c.tr.t("error-not-found"));
    };
    match s.issuer.create_offer("pda1", &person, Some(&id), &format!("api:{}", k.name), true, c.site.now).await {
        Ok(o) => application_page(&s, &c, &employer_id, &id, Some(o.credential_offer_uri)).await,
        Err(e) => c.message(StatusCode::from_u16(e.status).unwrap_or(StatusCode::CONFLICT), "error-title", e.detail),
    }
}
