//! A1 applications: an employer (or the institution's back office for a self-employed person)
//! applies with the rules engine's input; the engine decides the clear cases at once, and every
//! unclear case waits for a case worker, whose decision, name and time are recorded. A decided
//! application yields the PDA1's claims.

use crate::config::{ApiKeyConfig, ApiRole, InstitutionConfig};
use crate::services::issuance::ApiError;
use esspass_core::document::ClaimsMode;
use esspass_core::{Country, Date, ErrorCode, Pda1, StatusConfirmation};
use esspass_rules::Outcome;
use esspass_store::{ApplicationRow, AuditEntry, CredentialState, Person, Store};
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /api/v1/applications/a1`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct A1Request {
    pub person_id: String,
    /// The rules engine's input (docs/rules/application.schema.json).
    #[schema(value_type = Object)]
    pub application: Value,
    /// The PDA1's `work_information`: `no_fixed_place_of_work` or `work_address[]`.
    #[schema(value_type = Object)]
    pub work_information: Value,
}

/// `POST /api/v1/applications/{id}/decision` by a case worker.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseDecision {
    pub approve: bool,
    /// For an approval: defaults to the engine's candidate where it named one.
    #[serde(default)]
    pub legislation_country: Option<String>,
    #[serde(default)]
    pub article: Option<String>,
    #[serde(default)]
    pub status_confirmation: Option<String>,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    /// Why: recorded with the decision.
    pub note: String,
}

fn problems_detail(p: &esspass_core::Problems) -> String {
    p.0.iter().map(|p| format!("{} {}: {}", p.code, p.path, p.message)).collect::<Vec<_>>().join("; ")
}

/// Whether an API key may see or act on an application.
pub fn may_access(key: &ApiKeyConfig, app: &ApplicationRow) -> bool {
    match key.role {
        ApiRole::Employer => key.employer_id.is_some() && key.employer_id == app.employer_id,
        ApiRole::BackOffice | ApiRole::CaseWorker | ApiRole::Auditor => true,
    }
}

/// Whether an API key may create an offer: an employer only for a PDA1 of its own A1 application.
pub async fn check_may_offer(store: &Store, key: &ApiKeyConfig, application_id: Option<&str>) -> Result<(), ApiError> {
    if key.role != ApiRole::Employer {
        return Ok(());
    }
    let app = match application_id {
        Some(id) => store.application(id).await?,
        None => None,
    };
    if app.is_some_and(|a| may_access(key, &a)) {
        Ok(())
    } else {
        Err(ApiError::new(403, ErrorCode::UnavailableForEmployer, "an employer offers only PDA1s of its own A1 applications"))
    }
}

/// Check a PDA1 `work_information` by validating a PDA1 made around it.
fn check_work_information(wi: &Value) -> Result<(), ApiError> {
    let probe = json!({
        "personal_administrative_number": "0000", "issuing_authority": {"id": "XX", "name": "x", "country": "GR"},
        "authentic_source": {"id": "EL:X", "name": "x"}, "document_number": "0000", "date_of_issuance": "2000-01-01",
        "starting_date": "2000-01-01", "ending_date": "2000-01-01", "employer": [{"type": "01", "id": "x", "name": "x", "country": "GR"}],
        "work_information": wi, "legislation_country": "GR", "status_confirmation": "01"
    });
    match Pda1::from_claims(&probe, ClaimsMode::Business) {
        Ok(_) => Ok(()),
        Err(p) => Err(ApiError::new(400, ErrorCode::BadRequest, problems_detail(&p))),
    }
}

/// The final decision the PDA1 states, from the engine's `determined` decision.
fn final_from_engine(d: &Value) -> Value {
    json!({
        "legislation_country": d.get("legislation_country"),
        "article": d.get("article"),
        "status_confirmation": d.get("status_confirmation"),
        "start": d.pointer("/period/start"),
        "end": d.pointer("/period/end"),
        "provisional": d.pointer("/period/provisional"),
    })
}

/// Record an employment (authentic source) for a person: validated, stored, audited.
pub async fn record_employment(store: &Store, person_id: &str, employer_id: &str, start: &str, end: Option<&str>, actor: &str, now: i64) -> Result<esspass_store::EmploymentRow, ApiError> {
    store.person(person_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::PersonNotFound, "no such person"))?;
    if employer_id.trim().is_empty() || employer_id.chars().count() > 20 {
        return Err(ApiError::new(400, ErrorCode::LengthOutOfRange, "employer_id must have 1 to 20 characters"));
    }
    let s = Date::parse(start).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidDate, "start must be YYYY-MM-DD"))?;
    let e = match end {
        Some(e) => Some(Date::parse(e).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidDate, "end must be YYYY-MM-DD"))?),
        None => None,
    };
    if e.is_some_and(|e| e < s) {
        return Err(ApiError::new(400, ErrorCode::PeriodReversed, "end before start"));
    }
    let row = esspass_store::EmploymentRow { employment_id: format!("E-{}", esspass_credential::vc::uuid_v4()), employer_id: employer_id.trim().to_owned(), person_id: person_id.to_owned(), start_date: s.to_string(), end_date: e.map(|d| d.to_string()), created_at: now };
    store.insert_employment(&row).await?;
    store.append_audit(now, actor, "record_employment", person_id, "authentic-source load", &json!({"employment": row.employment_id, "employer_id": row.employer_id})).await?;
    Ok(row)
}

/// What an application that another state is competent for records as its final decision.
fn not_competent(c: Country) -> Value {
    json!({"competent_state": c.iso(), "reason": format!("the legislation of {} applies: its competent institution issues the PDA1", c.iso())})
}

/// Whether an application may still yield a PDA1 from this institution: not refused, not left to
/// another state, and no PDA1 of it revoked (a revocation ends the application's issuance).
pub async fn check_yields(store: &Store, app: &ApplicationRow, inst: &InstitutionConfig) -> Result<(), ApiError> {
    match app.state.as_str() {
        "refused" | "not_applicable" => return Err(ApiError::new(409, ErrorCode::ApplicationClosed, format!("the application was {}", app.state.replace('_', " ")))),
        "not_competent" => {
            let c = app.final_decision.as_ref().and_then(|f| f.get("competent_state")).and_then(Value::as_str).unwrap_or("another state");
            return Err(ApiError::new(409, ErrorCode::NotCompetent, format!("{c}'s legislation applies: its competent institution issues the PDA1")));
        }
        _ => {}
    }
    if let Some(c) = app.final_decision.as_ref().and_then(|f| f.get("legislation_country")).and_then(Value::as_str)
        && Country::parse(c) != Some(inst.country)
    {
        return Err(ApiError::new(409, ErrorCode::NotCompetent, format!("{c}'s legislation applies: its competent institution issues the PDA1")));
    }
    if store.credentials_of_application(&app.application_id).await?.iter().any(|c| c.state == CredentialState::Revoked) {
        return Err(ApiError::new(409, ErrorCode::ApplicationClosed, "a PDA1 of this application was revoked: it yields no further credential"));
    }
    Ok(())
}

/// Submit an application: validated, decided by the engine, stored, audited.
pub async fn submit(store: &Store, inst: &InstitutionConfig, req: A1Request, key: &ApiKeyConfig, now: i64) -> Result<ApplicationRow, ApiError> {
    store.person(&req.person_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::PersonNotFound, "no such person"))?;
    let app = esspass_rules::parse_application(&req.application.to_string()).map_err(|p| ApiError::new(400, ErrorCode::RulesInvalidInput, problems_detail(&p)))?;
    if key.role == ApiRole::Employer {
        let own = app.activities.iter().any(|a| a.employer.as_ref().and_then(|e| e.id.as_deref()) == key.employer_id.as_deref());
        if !own {
            return Err(ApiError::new(403, ErrorCode::UnavailableForEmployer, "an employer applies only for its own workers: no activity names this employer's id"));
        }
    }
    check_work_information(&req.work_information)?;
    if key.role == ApiRole::Employer {
        // Who employs whom comes from the authentic source, not from the application: the employer
        // needs an employment record of this person covering the start of every activity it names.
        let employer_id = key.employer_id.as_deref().unwrap_or_default();
        let records = store.employments_of(&req.person_id, Some(employer_id)).await?;
        for a in app.activities.iter().filter(|a| a.employer.as_ref().and_then(|e| e.id.as_deref()) == Some(employer_id)) {
            let start = a.period.start;
            let covered = records.iter().any(|r| Date::parse(&r.start_date).is_some_and(|s| s <= start) && r.end_date.as_deref().and_then(Date::parse).is_none_or(|e| e >= start));
            if !covered {
                return Err(ApiError::new(403, ErrorCode::NoEmployment, format!("no employment record shows this employer employing the person on {start}")));
            }
        }
    }
    let decision = esspass_rules::decide(&app);
    let decision_json = serde_json::to_value(&decision).unwrap_or_default();
    let (state, final_decision) = match decision.outcome {
        Outcome::Determined => match decision.legislation_country {
            // The engine's answer is another state's legislation: that state's institution issues
            // the PDA1 (forwarding follows with EESSI); this one does not.
            Some(c) if c != inst.country => ("not_competent", Some(not_competent(c))),
            _ => ("determined", Some(final_from_engine(&decision_json))),
        },
        Outcome::ManualReview => ("pending_review", None),
        Outcome::NotApplicable => ("not_applicable", None),
    };
    let row = ApplicationRow {
        application_id: format!("A1-{}", esspass_credential::vc::uuid_v4()),
        person_id: req.person_id.clone(),
        employer_id: if key.role == ApiRole::Employer { key.employer_id.clone() } else { None },
        submitted_by: format!("api:{}", key.name),
        input: json!({"application": req.application, "work_information": req.work_information}),
        decision: decision_json,
        state: state.into(),
        final_decision,
        decided_by: (state != "pending_review").then(|| "rules-engine".to_owned()),
        decided_at: (state != "pending_review").then_some(now),
        decision_note: None,
        created_at: now,
    };
    let audit = AuditEntry::new(now, &row.submitted_by, "submit_a1_application", &row.person_id, "applicable legislation", json!({"application": row.application_id, "outcome": state}));
    store.insert_application(&row, Some(&audit)).await?;
    Ok(row)
}

/// A case worker decides a pending application.
pub async fn decide(store: &Store, inst: &InstitutionConfig, id: &str, d: CaseDecision, by: &str, now: i64) -> Result<ApplicationRow, ApiError> {
    let app = store.application(id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::BadRequest, "no such application"))?;
    if app.state != "pending_review" {
        return Err(ApiError::new(409, ErrorCode::BadRequest, format!("the application is {}, not pending review", app.state)));
    }
    if d.note.trim().is_empty() {
        return Err(ApiError::new(400, ErrorCode::BadRequest, "a decision needs a note saying why"));
    }
    let (state, fin) = if d.approve {
        let cand = |k: &str| app.decision.get(k).and_then(Value::as_str).map(str::to_owned);
        let country = d.legislation_country.or_else(|| cand("legislation_country")).ok_or_else(|| ApiError::new(400, ErrorCode::MissingField, "legislation_country is required"))?;
        let country = Country::parse(&country).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidCountry, "legislation_country"))?;
        let status = d.status_confirmation.or_else(|| cand("status_confirmation")).ok_or_else(|| ApiError::new(400, ErrorCode::MissingField, "status_confirmation is required"))?;
        let status = StatusConfirmation::parse(&status).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidStatusConfirmation, "status_confirmation"))?;
        let period = |k: &str, given: Option<String>| given.or_else(|| app.decision.pointer(&format!("/period/{k}")).and_then(Value::as_str).map(str::to_owned));
        let start = period("start", d.start).and_then(|s| Date::parse(&s)).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidDate, "start is required (YYYY-MM-DD)"))?;
        let end = period("end", d.end).and_then(|s| Date::parse(&s)).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidDate, "end is required (YYYY-MM-DD)"))?;
        if end < start {
            return Err(ApiError::new(400, ErrorCode::PeriodReversed, "end before start"));
        }
        let article = d.article.or_else(|| cand("article"));
        ("approved", Some(json!({"legislation_country": country.iso(), "article": article, "status_confirmation": status.code(), "start": start.to_string(), "end": end.to_string(), "provisional": false})))
    } else {
        ("refused", None)
    };
    // A case worker who finds another state's legislation applicable leaves the PDA1 to that state.
    let (state, fin) = match fin.as_ref().and_then(|f| f.get("legislation_country")).and_then(Value::as_str).and_then(Country::parse) {
        Some(c) if c != inst.country => ("not_competent", Some(not_competent(c))),
        _ => (state, fin),
    };
    let audit = AuditEntry::new(now, by, &format!("{state}_a1_application"), &app.person_id, "applicable legislation", json!({"application": id}));
    let decision = esspass_store::ApplicationDecision { state, final_decision: fin.as_ref(), by, at: now, note: Some(&d.note) };
    if !store.decide_application(id, &decision, Some(&audit)).await? {
        return Err(ApiError::new(409, ErrorCode::BadRequest, "the application was decided meanwhile"));
    }
    store.application(id).await?.ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "application vanished"))
}

/// The PDA1's business claims for a decided application (`determined` or `approved`).
pub fn pda1_claims(app: &ApplicationRow, person: &Person, inst: &InstitutionConfig, today: Date) -> Result<Value, ApiError> {
    let fin = app.final_decision.as_ref().filter(|_| app.state == "determined" || app.state == "approved").ok_or_else(|| ApiError::new(409, ErrorCode::NotEntitled, format!("the application is {}", app.state)))?;
    let rules_input = app.input.get("application").cloned().unwrap_or(Value::Null);
    let mut employers = Vec::new();
    for a in rules_input.get("activities").and_then(Value::as_array).into_iter().flatten() {
        let kind = a.get("kind").and_then(Value::as_str).unwrap_or_default();
        if let Some(e) = a.get("employer") {
            let id = e.get("id").and_then(Value::as_str).unwrap_or("unknown");
            let entry = json!({"type": "01", "id": id.chars().take(20).collect::<String>(), "name": e.get("name").and_then(Value::as_str).unwrap_or_default().chars().take(100).collect::<String>(), "country": e.get("seat")});
            if !employers.contains(&entry) {
                employers.push(entry);
            }
        } else if kind == "self_employed" {
            let name = format!("{} {}", person.given_name, person.family_name);
            let entry = json!({"type": "02", "id": person.personal_number.chars().take(20).collect::<String>(), "name": name.chars().take(100).collect::<String>(), "country": rules_input.pointer("/person/residence")});
            if !employers.contains(&entry) {
                employers.push(entry);
            }
        }
    }
    let end = fin.get("end").and_then(Value::as_str).unwrap_or_default();
    let claims = json!({
        "personal_administrative_number": person.personal_number,
        "issuing_authority": {"id": inst.id.to_string(), "name": inst.name, "country": inst.country.iso()},
        "authentic_source": {"id": inst.id.to_string(), "name": inst.source_name.clone().unwrap_or_else(|| inst.name.clone())},
        "document_number": "0000",
        "date_of_issuance": today.to_string(),
        "date_of_expiry": end,
        "starting_date": fin.get("start"),
        "ending_date": end,
        "employer": employers,
        "work_information": app.input.get("work_information"),
        "legislation_country": fin.get("legislation_country"),
        "status_confirmation": fin.get("status_confirmation"),
        "transitional_rules": false,
    });
    Pda1::from_claims(&claims, ClaimsMode::Business).map_err(|p| ApiError::new(409, ErrorCode::InvalidDocument, problems_detail(&p)))?;
    Ok(claims)
}
