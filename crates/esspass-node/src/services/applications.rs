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
    /// For an approval: defaults to the first outcome the engine's reasons allow
    /// (`decision.allowed[0]`), else the engine's candidate.
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
    /// Required when the approval is not among the outcomes the engine's reasons allow
    /// (`decision.allowed`): why the case worker departs from them. Recorded in the audit trail.
    #[serde(default)]
    pub override_reason: Option<String>,
    /// Required for an approval under 883/2004 Art 16(1): the other state's agreement.
    #[serde(default)]
    pub agreement: Option<Agreement>,
}

/// The other state's agreement to an Art 16 exception (the EESSI A001/A002/A011 exchange).
#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// The state that agreed (ISO 3166-1 alpha-2).
    pub state: String,
    /// The SED that carries the agreement: `A002` (reply) or `A011` (agreement).
    pub sed: String,
    /// The day of the agreement (YYYY-MM-DD).
    pub date: String,
    /// The case or document reference of the exchange.
    pub reference: String,
}

/// `POST /api/v1/applications/{id}/contest`: a request for human review of an adverse automatic
/// decision (GDPR Art 22(3)).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContestRequest {
    /// Why the decision is contested (1 to 2000 characters).
    pub reason: String,
}

fn problems_detail(p: &esspass_core::Problems) -> String {
    p.0.iter().map(|p| format!("{} {}: {}", p.code, p.path, p.message)).collect::<Vec<_>>().join("; ")
}

/// Whether an API key may see or act on an application.
pub fn may_access(key: &ApiKeyConfig, app: &ApplicationRow) -> bool {
    match key.role {
        ApiRole::Employer => key.employer_id.is_some() && key.employer_id == app.employer_id,
        ApiRole::BackOffice | ApiRole::CaseWorker | ApiRole::Auditor => true,
        ApiRole::Verifier => false,
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

/// An application another state is competent for: forwarded over EESSI to that state's competent
/// institution when the node has an access point (`forwarded`, the final decision saying where it
/// went), else left `not_competent` for the applicant to take there. The state, the final decision,
/// the messages to queue with it and their case.
async fn leave_to_competent(store: &Store, ap: Option<&crate::eessi::AccessPoint>, inst: &InstitutionConfig, app: &ApplicationRow, c: Country, now: i64) -> Result<(&'static str, Value, Vec<esspass_store::OutboxRow>, Option<String>), ApiError> {
    let mut fin = not_competent(c);
    let Some(ap) = ap else { return Ok(("not_competent", fin, vec![], None)) };
    // The deciding institution's state (the residence state under Art 13), else the state whose
    // legislation applies; routed by the BUC the engine names.
    let to = app.decision.get("institution_country").and_then(Value::as_str).and_then(Country::parse).filter(|x| *x != inst.country).unwrap_or(c);
    let buc = app.decision.get("buc").and_then(Value::as_str).unwrap_or("LA_BUC_02").to_owned();
    let person = store.person(&app.person_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::PersonNotFound, "no such person"))?;
    match crate::eessi::forwarding_for(ap, app, &person, inst.country, to, &buc, now) {
        Ok(f) => {
            let day = Date::of_instant(crate::eessi::at(now));
            if let Some(m) = fin.as_object_mut() {
                m.insert("forwarded_to".into(), json!({"institution_id": f.institution_id, "name": f.institution_name, "country": to.iso()}));
                m.insert("forwarded_at".into(), json!(day.to_string()));
                m.insert("eessi_case".into(), json!(f.case_id));
                m.insert("buc".into(), json!(buc));
                m.insert("reason".into(), json!(format!(
                    "the legislation of {} applies: the application was forwarded on {day} to {} ({}), the competent institution of {}, which decides and issues the PDA1; the date it was submitted here counts there (Art 81 Reg. 883/2004)",
                    c.iso(), f.institution_name, f.institution_id, to.iso()
                )));
            }
            Ok(("forwarded", fin, f.rows, Some(f.case_id)))
        }
        Err(e) => {
            tracing::warn!(target: "esspass::eessi", "an application could not be forwarded: no route");
            if let Some(m) = fin.as_object_mut() {
                m.insert("forwarding".into(), json!(format!("not forwarded: {e}")));
            }
            Ok(("not_competent", fin, vec![], None))
        }
    }
}

/// Whether an application may still yield a PDA1 from this institution: not refused, not left to
/// another state, and no PDA1 of it revoked (a revocation ends the application's issuance).
pub async fn check_yields(store: &Store, app: &ApplicationRow, inst: &InstitutionConfig) -> Result<(), ApiError> {
    match app.state.as_str() {
        "refused" | "not_applicable" => return Err(ApiError::new(409, ErrorCode::ApplicationClosed, format!("the application was {}", app.state.replace('_', " ")))),
        "not_competent" | "forwarded" => {
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

/// Submit an application: validated, decided by the engine, stored, audited; forwarded over EESSI
/// when another state's institution is competent (see [`leave_to_competent`]).
pub async fn submit(store: &Store, inst: &InstitutionConfig, ap: Option<&crate::eessi::AccessPoint>, req: A1Request, key: &ApiKeyConfig, now: i64) -> Result<ApplicationRow, ApiError> {
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
    let mut row = ApplicationRow {
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
    let (mut outbox, mut eessi_case) = (Vec::new(), None);
    if let Some(c) = row.final_decision.as_ref().filter(|_| state == "not_competent").and_then(|f| f.get("competent_state")).and_then(Value::as_str).and_then(Country::parse) {
        let (s, f, rows, case) = leave_to_competent(store, ap, inst, &row, c, now).await?;
        row.state = s.into();
        row.final_decision = Some(f);
        (outbox, eessi_case) = (rows, case);
    }
    let audit = AuditEntry::new(now, &row.submitted_by, "submit_a1_application", &row.person_id, "applicable legislation", json!({"application": row.application_id, "outcome": row.state, "eessi_case": eessi_case}));
    store.insert_application_sending(&row, Some(&audit), eessi_case.as_deref(), &outbox).await?;
    Ok(row)
}

/// A case worker decides a pending application.
///
/// An approval under Art 16 without the other states' agreement in hand is asked for over EESSI
/// when the node has an access point: an A001 goes, in the decision's transaction, to the
/// competent institution of every other state concerned (LA_BUC_01), and the application waits
/// (`awaiting_agreement`) until their A011/A002 answers arrive ([`crate::eessi::agreement_effect`]).
pub async fn decide(store: &Store, inst: &InstitutionConfig, ap: Option<&crate::eessi::AccessPoint>, id: &str, d: CaseDecision, by: &str, now: i64) -> Result<ApplicationRow, ApiError> {
    let app = store.application(id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::BadRequest, "no such application"))?;
    if app.state != "pending_review" {
        return Err(ApiError::new(409, ErrorCode::BadRequest, format!("the application is {}, not pending review", app.state)));
    }
    if d.note.trim().is_empty() {
        return Err(ApiError::new(400, ErrorCode::BadRequest, "a decision needs a note saying why"));
    }
    let mut audit_details = json!({"application": id});
    let mut ask_agreement = false;
    let (state, fin) = if d.approve {
        // The approval starts from what the law allows on the engine's reasons, not from what was
        // asked: the first allowed outcome, else the engine's candidate.
        let allowed: Vec<Value> = app.decision.get("allowed").and_then(Value::as_array).cloned().unwrap_or_default();
        let first = allowed.first();
        let cand = |k: &str| {
            first.and_then(|a| a.get(k)).and_then(Value::as_str).map(str::to_owned).or_else(|| app.decision.get(k).and_then(Value::as_str).map(str::to_owned))
        };
        let country = d.legislation_country.clone().or_else(|| cand("legislation_country")).ok_or_else(|| ApiError::new(400, ErrorCode::MissingField, "legislation_country is required"))?;
        let country = Country::parse(&country).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidCountry, "legislation_country"))?;
        // The allowed outcome for the country chosen, if there is one.
        let matching = allowed.iter().find(|a| a.get("legislation_country").and_then(Value::as_str).and_then(Country::parse) == Some(country));
        let from_match = |k: &str| matching.and_then(|a| a.get(k)).and_then(Value::as_str).map(str::to_owned);
        let explicit_choice = d.legislation_country.is_some();
        let status = d.status_confirmation.clone().or_else(|| if explicit_choice { from_match("status_confirmation") } else { cand("status_confirmation") }).or_else(|| cand("status_confirmation")).ok_or_else(|| ApiError::new(400, ErrorCode::MissingField, "status_confirmation is required"))?;
        let status = StatusConfirmation::parse(&status).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidStatusConfirmation, "status_confirmation"))?;
        let period = |k: &str, given: Option<String>| given.or_else(|| app.decision.pointer(&format!("/period/{k}")).and_then(Value::as_str).map(str::to_owned));
        let start = period("start", d.start).and_then(|s| Date::parse(&s)).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidDate, "start is required (YYYY-MM-DD)"))?;
        let end = period("end", d.end).and_then(|s| Date::parse(&s)).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidDate, "end is required (YYYY-MM-DD)"))?;
        if end < start {
            return Err(ApiError::new(400, ErrorCode::PeriodReversed, "end before start"));
        }
        let article = d.article.clone().or_else(|| if explicit_choice { from_match("article") } else { cand("article") }).or_else(|| cand("article"));
        // Anything the reasons exclude needs an explicit override with a written reason.
        let within = allowed.is_empty()
            || allowed.iter().any(|a| {
                a.get("legislation_country").and_then(Value::as_str).and_then(Country::parse) == Some(country)
                    && a.get("status_confirmation").and_then(Value::as_str) == Some(status.code())
                    && article.as_deref().is_none_or(|x| a.get("article").and_then(Value::as_str) == Some(x))
            });
        let override_reason = d.override_reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if !within && override_reason.is_none() {
            return Err(ApiError::new(400, ErrorCode::OverrideReasonRequired, format!(
                "{} under {} (status {}) is not among the outcomes the engine's reasons allow ({}); give override_reason to depart from them",
                country.iso(), article.as_deref().unwrap_or("no article"), status.code(),
                allowed.iter().map(|a| format!("{} {}", a.get("legislation_country").and_then(Value::as_str).unwrap_or("?"), a.get("article").and_then(Value::as_str).unwrap_or("?"))).collect::<Vec<_>>().join("; ")
            )));
        }
        if override_reason.is_some_and(|r| r.chars().count() > 2000) {
            return Err(ApiError::new(400, ErrorCode::LengthOutOfRange, "override_reason has more than 2000 characters"));
        }
        // An Art 16 exception is never issued on one side's say-so.
        let exception = status == StatusConfirmation::Exception || article.as_deref().is_some_and(|a| a.contains("Art 16(1)"));
        let agreement = match (exception, d.agreement.as_ref()) {
            (false, _) => None,
            (true, None) if ap.is_none() => {
                return Err(ApiError::new(409, ErrorCode::AgreementRequired, "an Art 16(1) exception needs the other state's agreement (agreement: state, sed A002 or A011, date, reference) before a PDA1 follows; this node has no EESSI access point to ask for it"));
            }
            // Asked for over EESSI below: the application waits for the answers.
            (true, None) => {
                ask_agreement = true;
                None
            }
            (true, Some(a)) => {
                let other = Country::parse(&a.state).ok_or_else(|| ApiError::new(400, ErrorCode::InvalidCountry, "agreement.state"))?;
                if other == country || !matches!(a.sed.as_str(), "A002" | "A011") || Date::parse(&a.date).is_none() || a.reference.trim().is_empty() {
                    return Err(ApiError::new(409, ErrorCode::AgreementRequired, "the agreement must come from another state, by SED A002 or A011, with its date (YYYY-MM-DD) and reference"));
                }
                Some(json!(a))
            }
        };
        if let Some(m) = audit_details.as_object_mut() {
            if let Some(r) = override_reason {
                m.insert("override_reason".into(), json!(r));
            }
            if let Some(a) = &agreement {
                m.insert("agreement".into(), a.clone());
            }
        }
        ("approved", Some(json!({"legislation_country": country.iso(), "article": article, "status_confirmation": status.code(), "start": start.to_string(), "end": end.to_string(), "provisional": false, "override_reason": override_reason, "agreement": agreement})))
    } else {
        ("refused", None)
    };
    // A case worker who finds another state's legislation applicable leaves the PDA1 to that state
    // (forwarding the application to its competent institution).
    let (mut fin, mut outbox, mut eessi_case) = (fin, Vec::new(), None);
    let state = match fin.as_ref().and_then(|f| f.get("legislation_country")).and_then(Value::as_str).and_then(Country::parse) {
        Some(c) if c != inst.country => {
            let (s, f, rows, case) = leave_to_competent(store, ap, inst, &app, c, now).await?;
            (fin, outbox, eessi_case) = (Some(f), rows, case);
            s
        }
        _ => state,
    };
    // An exception approved without the agreement in hand: asked for, in this transaction.
    let state = match (state, ap) {
        ("approved", Some(ap)) if ask_agreement => {
            let f = fin.as_mut().and_then(Value::as_object_mut).ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "decision"))?;
            let country = f.get("legislation_country").and_then(Value::as_str).and_then(Country::parse).unwrap_or(inst.country);
            // Every other state concerned (where the ordinary rules would point, and where the person
            // lives and works) is asked.
            let mut states: Vec<Country> = app.decision.get("states_concerned").and_then(Value::as_array).into_iter().flatten()
                .chain(app.decision.get("allowed").and_then(Value::as_array).into_iter().flatten().filter_map(|a| a.get("legislation_country")))
                .filter_map(Value::as_str).filter_map(Country::parse).filter(|c| *c != country && c.area().is_some()).collect();
            states.sort();
            states.dedup();
            let person = store.person(&app.person_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::PersonNotFound, "the application's person is gone"))?;
            let probe = ApplicationRow { state: "approved".into(), final_decision: Some(Value::Object(f.clone())), ..app.clone() };
            let claims = pda1_claims(&probe, &person, inst, Date::of_instant(crate::eessi::at(now)))?;
            let (rows, case_id) = crate::eessi::exception_request_for(ap, &probe, &person, &claims, &states, now)
                .map_err(|e| ApiError::new(409, ErrorCode::AgreementRequired, format!("the other states' agreement cannot be asked for over EESSI: {e}")))?;
            f.insert("awaiting_agreement".into(), json!({"case_id": case_id, "states": states.iter().map(|c| c.iso()).collect::<Vec<_>>(), "requested_at": Date::of_instant(crate::eessi::at(now)).to_string(), "sed": "A001", "buc": "LA_BUC_01"}));
            if let Some(m) = audit_details.as_object_mut() {
                m.insert("exception_requested".into(), json!({"case_id": case_id, "states": states.iter().map(|c| c.iso()).collect::<Vec<_>>()}));
            }
            outbox = rows;
            eessi_case = Some(case_id);
            "awaiting_agreement"
        }
        (s, _) => s,
    };
    let audit = AuditEntry::new(now, by, &format!("{state}_a1_application"), &app.person_id, "applicable legislation", audit_details);
    let decision = esspass_store::ApplicationDecision { state, final_decision: fin.as_ref(), by, at: now, note: Some(&d.note), eessi_case: eessi_case.as_deref(), outbox: &outbox };
    if !store.decide_application(id, &decision, Some(&audit)).await? {
        return Err(ApiError::new(409, ErrorCode::BadRequest, "the application was decided meanwhile"));
    }
    store.application(id).await?.ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "application vanished"))
}

/// Contest an adverse automatic decision (GDPR Art 22(3)): the application goes back to the case
/// workers' queue with the engine's decision and reasons; who contested and why is recorded. The back
/// office and the employer that submitted may contest (the person later through the portal).
pub async fn contest(store: &Store, id: &str, req: ContestRequest, key: &ApiKeyConfig, by: &str, now: i64) -> Result<ApplicationRow, ApiError> {
    let app = store.application(id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::BadRequest, "no such application"))?;
    if !may_access(key, &app) {
        return Err(ApiError::new(403, ErrorCode::UnavailableForEmployer, "the application belongs to another employer"));
    }
    contest_checked(store, app, &req.reason, by, now).await
}

/// The person the decision is about contests it (GDPR Art 22(3)), from the portal.
pub async fn contest_by_person(store: &Store, id: &str, reason: &str, person_id: &str, now: i64) -> Result<ApplicationRow, ApiError> {
    let app = store.application(id).await?.filter(|a| a.person_id == person_id).ok_or_else(|| ApiError::new(404, ErrorCode::BadRequest, "no such application"))?;
    contest_checked(store, app, reason, &format!("person:{person_id}"), now).await
}

/// An application's decisions about a person (the portal), newest first; the reading is audited.
pub async fn applications_about(store: &Store, person_id: &str, actor: &str, now: i64) -> Result<Vec<ApplicationRow>, ApiError> {
    let rows = store.applications_of_person(person_id).await?;
    store.append_audit(now, actor, "read_own_applications", person_id, "the person's own decisions", &json!({"count": rows.len()})).await?;
    Ok(rows)
}

/// Whether a decision is an adverse automatic one (the rules engine's, marked contestable), which
/// the person concerned or the employer may ask a human to review.
pub fn is_adverse_automatic(app: &ApplicationRow) -> bool {
    app.decision.get("contestable").and_then(Value::as_bool) == Some(true) && app.decided_by.as_deref() == Some("rules-engine")
}

async fn contest_checked(store: &Store, app: ApplicationRow, reason: &str, by: &str, now: i64) -> Result<ApplicationRow, ApiError> {
    let id = app.application_id.clone();
    let id = id.as_str();
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::new(400, ErrorCode::LengthOutOfRange, "reason must have 1 to 2000 characters"));
    }
    if app.state == "forwarded" {
        let to = app.final_decision.as_ref().and_then(|f| f.pointer("/forwarded_to/name")).and_then(Value::as_str).unwrap_or("the competent institution");
        return Err(ApiError::new(409, ErrorCode::NotContestable, format!("the application was forwarded to {to}, which decides it: contest its decision there")));
    }
    if !is_adverse_automatic(&app) {
        return Err(ApiError::new(409, ErrorCode::NotContestable, format!(
            "the application is {} and its decision is not an adverse automatic one: nothing to contest", app.state.replace('_', " ")
        )));
    }
    if !store.credentials_of_application(id).await?.is_empty() {
        return Err(ApiError::new(409, ErrorCode::NotContestable, "a PDA1 was already issued for this decision; revoke it before contesting"));
    }
    let audit = AuditEntry::new(now, by, "contest_a1_application", &app.person_id, "applicable legislation: human review (GDPR Art 22(3))", json!({"application": id, "previous_state": app.state, "reason": reason}));
    let note = format!("contested by {by}: {reason}");
    if !store.contest_application(id, &note, Some(&audit)).await? {
        return Err(ApiError::new(409, ErrorCode::NotContestable, "the application was changed meanwhile"));
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

/// The applications waiting for a case worker, oldest first; whose data was shown is audited.
pub async fn pending(store: &Store, actor: &str, now: i64) -> Result<Vec<ApplicationRow>, ApiError> {
    let pending = store.applications_in_state("pending_review", 500).await?;
    let shown: Vec<Value> = pending.iter().map(|a| json!({"application": a.application_id, "person": a.person_id})).collect();
    store.append_audit(now, actor, "read_task_queue", "applications", "case work", &json!({"count": pending.len(), "shown": shown})).await?;
    Ok(pending)
}

/// One application, for a case worker or an auditor; the reading is audited.
pub async fn read(store: &Store, id: &str, actor: &str, now: i64) -> Result<ApplicationRow, ApiError> {
    let app = store.application(id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::BadRequest, "no such application"))?;
    store.append_audit(now, actor, "read_a1_application", &app.person_id, "applicable legislation", &json!({"application": id})).await?;
    Ok(app)
}
