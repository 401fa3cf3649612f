//! Reading an application from JSON: every problem with its JSON path and a stable code, never a
//! panic. Structure (who, where, when) must be present and well-formed; a missing *fact* the law
//! needs (a posting condition, an indicator, a share) is not a parse error but a reason for
//! manual review, decided later by the engine.

use crate::application::{
    Activity, ActivityKind, Application, ContractStaffOption, Employer, ExceptionRequest, Extension, Framework, InsurancePeriod, Interruption,
    Offshore, OptionBasis, Person, Posting, PreviousPosting, Share, Span, StateShare, SubstantialActivity, Vessel,
};
use esspass_core::{Country, Date, ErrorCode, Problem, Problems};
use serde_json::{Map, Value};

/// Largest application accepted, in bytes.
pub const MAX_BYTES: usize = 1 << 20;
/// Most activities in one application.
pub const MAX_ACTIVITIES: usize = 32;
/// Most states in one activity.
pub const MAX_STATES: usize = 40;
/// Most entries in `prior_insurance`, `previous_postings` or `nationalities`.
pub const MAX_PERIODS: usize = 100;
/// Shares of one criterion may add up to at most 1 plus this tolerance (in billionths, 1 %), for
/// rounded inputs such as three times 0.334.
pub const SUM_TOLERANCE: u64 = 10_000_000;

pub(crate) const APPLICATION_FIELDS: &[&str] = &["decision_date", "reference", "person", "activities", "exception_request"];
pub(crate) const PERSON_FIELDS: &[&str] = &["residence", "nationalities", "stateless", "refugee", "legally_resident"];
pub(crate) const ACTIVITY_FIELDS: &[&str] = &[
    "kind",
    "period",
    "employer",
    "administration",
    "states",
    "posting",
    "vessel",
    "home_base",
    "real_employer",
    "offshore",
    "posted",
    "contract_staff_option",
];
pub(crate) const SPAN_FIELDS: &[&str] = &["start", "end"];
pub(crate) const STATE_FIELDS: &[&str] = &["country", "working_time_share", "remuneration_share", "turnover_share"];
pub(crate) const EMPLOYER_FIELDS: &[&str] = &["name", "id", "seat", "substantial_activity", "temporary_work_agency", "agency_placements_in_seat_state"];
pub(crate) const SUBSTANTIAL_FIELDS: &[&str] =
    &["turnover_share", "administrative_staff_share", "contracts_share", "recruitment_mainly_abroad", "internal_management_only"];
pub(crate) const POSTING_FIELDS: &[&str] = &[
    "sending_state",
    "on_behalf_of_employer",
    "replaces_posted_person",
    "prior_insurance",
    "previous_postings",
    "self_employed_since",
    "similar_activity",
    "maintains_business_in_sending_state",
    "hired_out_to_third_undertaking",
    "contract_with_host_undertaking",
    "permanent_assignment",
    "extends",
];
pub(crate) const EXTENSION_FIELDS: &[&str] = &["host_state", "start", "end", "interruption"];
pub(crate) const OFFSHORE_FIELDS: &[&str] = &["continental_shelf_of"];
pub(crate) const OPTION_FIELDS: &[&str] = &["country", "basis"];
pub(crate) const INSURANCE_FIELDS: &[&str] = &["country", "start", "end"];
pub(crate) const PREVIOUS_POSTING_FIELDS: &[&str] = &["host_state", "start", "end"];
pub(crate) const VESSEL_FIELDS: &[&str] = &["flag"];
pub(crate) const EXCEPTION_FIELDS: &[&str] = &["legislation_country", "period", "grounds", "framework"];

/// Parse and validate an application from JSON text.
pub fn parse_application(json: &str) -> Result<Application, Problems> {
    if json.len() > MAX_BYTES {
        return Err(one("$", ErrorCode::RulesTooLarge, format!("the application has {} bytes; at most {MAX_BYTES} are accepted", json.len())));
    }
    let v: Value = serde_json::from_str(json)
        .map_err(|e| one("$", ErrorCode::RulesInvalidInput, format!("the application is not valid JSON: {e}")))?;
    application_from_value(&v)
}

/// Validate an application already read as a JSON value.
pub fn application_from_value(v: &Value) -> Result<Application, Problems> {
    let mut c = Checker::default();
    let app = c.application(v);
    match app {
        Some(a) if c.problems.is_empty() => Ok(a),
        _ => Err(c.finish()),
    }
}

/// `Country::parse` in constant time: every two-letter code read once, on first use, into a table
/// (bulk decisions parse a few countries per line; a linear scan of the code list showed in profiles).
fn country_code(s: &str) -> Option<Country> {
    static TABLE: std::sync::OnceLock<Vec<Option<Country>>> = std::sync::OnceLock::new();
    let [a, b] = s.as_bytes() else { return None };
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return None;
    }
    let table = TABLE.get_or_init(|| {
        let mut t = Vec::with_capacity(26 * 26);
        for x in b'A'..=b'Z' {
            for y in b'A'..=b'Z' {
                let code = [x, y];
                t.push(std::str::from_utf8(&code).ok().and_then(Country::parse));
            }
        }
        t
    });
    table.get(usize::from(a - b'A') * 26 + usize::from(b - b'A')).copied().flatten()
}

/// Where a value sits in the application, composed only when a problem needs it written out
/// (`$.activities[1].states[0]`): reading a valid application builds no path strings.
#[derive(Clone, Copy)]
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Root => f.write_str("$"),
            At::Key(parent, k) => write!(f, "{parent}.{k}"),
            At::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

fn one(path: &str, code: ErrorCode, msg: String) -> Problems {
    Problems(vec![Problem::new(path, code, msg)])
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn push(&mut self, path: impl std::fmt::Display, code: ErrorCode, msg: impl Into<String>) {
        self.problems.push(Problem::new(path.to_string(), code, msg));
    }

    fn finish(mut self) -> Problems {
        if self.problems.is_empty() {
            self.push("$", ErrorCode::RulesInvalidInput, "the application is invalid");
        }
        Problems(self.problems)
    }

    fn object<'v>(&mut self, v: &'v Value, path: &At<'_>, fields: &[&str]) -> Option<&'v Map<String, Value>> {
        let Value::Object(m) = v else {
            self.push(path, ErrorCode::RulesWrongType, "must be a JSON object");
            return None;
        };
        for k in m.keys() {
            if !fields.contains(&k.as_str()) {
                self.push(format!("{path}.{k}"), ErrorCode::RulesUnknownField, format!("unknown field {k:?}; expected one of {}", fields.join(", ")));
            }
        }
        Some(m)
    }

    fn field<'v>(&mut self, m: &'v Map<String, Value>, path: &At<'_>, key: &str, required: bool) -> Option<&'v Value> {
        match m.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.push(format!("{path}.{key}"), ErrorCode::RulesMissingField, format!("{key} is required"));
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    fn str_of<'v>(&mut self, m: &'v Map<String, Value>, path: &At<'_>, key: &str, required: bool) -> Option<&'v str> {
        match self.field(m, path, key, required)? {
            Value::String(s) => Some(s),
            _ => {
                self.push(format!("{path}.{key}"), ErrorCode::RulesWrongType, format!("{key} must be a string"));
                None
            }
        }
    }

    fn text(&mut self, m: &Map<String, Value>, path: &At<'_>, key: &str, max: usize, required: bool) -> Option<String> {
        let s = self.str_of(m, path, key, required)?;
        let n = s.chars().count();
        if n == 0 || n > max || s.trim().is_empty() {
            self.push(format!("{path}.{key}"), ErrorCode::RulesTextLength, format!("{key} must have 1 to {max} characters (not only spaces); it has {n}"));
            return None;
        }
        Some(s.to_string())
    }

    fn country(&mut self, m: &Map<String, Value>, path: &At<'_>, key: &str, required: bool) -> Option<Country> {
        let s = self.str_of(m, path, key, required)?;
        let c = country_code(s);
        if c.is_none() {
            self.push(format!("{path}.{key}"), ErrorCode::InvalidCountry, format!("{key}: not an ISO 3166-1 alpha-2 country code (EL and UK are read too): {s:?}"));
        }
        c
    }

    fn date(&mut self, m: &Map<String, Value>, path: &At<'_>, key: &str, required: bool) -> Option<Date> {
        let s = self.str_of(m, path, key, required)?;
        let d = Date::parse(s);
        if d.is_none() {
            self.push(format!("{path}.{key}"), ErrorCode::InvalidDate, format!("{key}: not a calendar date YYYY-MM-DD: {s:?}"));
        }
        d
    }

    fn boolean(&mut self, m: &Map<String, Value>, path: &At<'_>, key: &str) -> Option<bool> {
        match self.field(m, path, key, false)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.push(format!("{path}.{key}"), ErrorCode::RulesWrongType, format!("{key} must be true or false"));
                None
            }
        }
    }

    fn share(&mut self, m: &Map<String, Value>, path: &At<'_>, key: &str) -> Option<Share> {
        let v = self.field(m, path, key, false)?;
        let Some(x) = v.as_f64() else {
            self.push(format!("{path}.{key}"), ErrorCode::RulesWrongType, format!("{key} must be a number from 0 to 1"));
            return None;
        };
        let s = Share::from_decimal(x);
        if s.is_none() {
            self.push(format!("{path}.{key}"), ErrorCode::RulesShareOutOfRange, format!("{key} must be a decimal from 0 to 1 (0.25 for 25 %); got {v}"));
        }
        s
    }

    fn array<'v>(&mut self, m: &'v Map<String, Value>, path: &At<'_>, key: &str, required: bool, non_empty: bool, max: usize) -> Option<&'v [Value]> {
        let v = self.field(m, path, key, required)?;
        let p = At::Key(path, key);
        let Value::Array(items) = v else {
            self.push(p, ErrorCode::RulesWrongType, format!("{key} must be an array"));
            return None;
        };
        if non_empty && items.is_empty() {
            self.push(p, ErrorCode::RulesEmptyList, format!("{key} needs at least one entry"));
            return None;
        }
        if items.len() > max {
            self.push(p, ErrorCode::RulesTooLarge, format!("{key} has {} entries; at most {max} are accepted", items.len()));
            return None;
        }
        Some(items)
    }

    /// Parse each item; `None` if any item failed (its problems are recorded).
    fn items<T>(&mut self, items: &[Value], path: &At<'_>, mut f: impl FnMut(&mut Self, &Value, &At<'_>) -> Option<T>) -> Option<Vec<T>> {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, it) in items.iter().enumerate() {
            match f(self, it, &At::Index(path, i)) {
                Some(x) => out.push(x),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn span(&mut self, m: &Map<String, Value>, path: &At<'_>, key: &str, required: bool) -> Option<Span> {
        let v = self.field(m, path, key, required)?;
        let p = At::Key(path, key);
        let o = self.object(v, &p, SPAN_FIELDS)?;
        let start = self.date(o, &p, "start", true);
        let end = self.date(o, &p, "end", false);
        let start = start?;
        if let Some(e) = end
            && e < start {
                self.push(format!("{p}.end"), ErrorCode::PeriodReversed, format!("end {e} is before start {start}"));
                return None;
            }
        Some(Span { start, end })
    }

    fn application(&mut self, v: &Value) -> Option<Application> {
        let m = self.object(v, &At::Root, APPLICATION_FIELDS)?;
        let decision_date = self.date(m, &At::Root, "decision_date", true);
        let reference = self.text(m, &At::Root, "reference", 100, false);
        let person = self.field(m, &At::Root, "person", true).and_then(|p| self.person(p, &At::Key(&At::Root, "person")));
        let activities = self
            .array(m, &At::Root, "activities", true, true, MAX_ACTIVITIES)
            .and_then(|items| self.items(items, &At::Key(&At::Root, "activities"), |c, v, p| c.activity(v, p)));
        let exception_request = self.field(m, &At::Root, "exception_request", false).map(|x| self.exception(x, &At::Key(&At::Root, "exception_request")));
        if let Some(acts) = &activities {
            self.share_sums(acts);
        }
        let exception_request = match exception_request {
            Some(None) => return None,
            Some(Some(e)) => Some(e),
            None => None,
        };
        Some(Application { decision_date: decision_date?, reference, person: person?, activities: activities?, exception_request })
    }

    fn person(&mut self, v: &Value, path: &At<'_>) -> Option<Person> {
        let m = self.object(v, path, PERSON_FIELDS)?;
        let residence = if m.get("residence").and_then(Value::as_str) == Some("unknown") {
            Some(None)
        } else {
            self.country(m, path, "residence", true).map(Some)
        };
        let nationalities = self
            .array(m, path, "nationalities", true, false, MAX_PERIODS)
            .and_then(|items| self.items(items, &At::Key(path, "nationalities"), |c, v, p| c.bare_country(v, p)));
        let stateless = self.boolean(m, path, "stateless").unwrap_or(false);
        let refugee = self.boolean(m, path, "refugee").unwrap_or(false);
        let legally_resident = self.boolean(m, path, "legally_resident");
        Some(Person { residence: residence?, nationalities: nationalities?, stateless, refugee, legally_resident })
    }

    fn bare_country(&mut self, v: &Value, path: &At<'_>) -> Option<Country> {
        let Value::String(s) = v else {
            self.push(path, ErrorCode::RulesWrongType, "a country code must be a string");
            return None;
        };
        let c = country_code(s);
        if c.is_none() {
            self.push(path, ErrorCode::InvalidCountry, format!("not an ISO 3166-1 alpha-2 country code: {s:?}"));
        }
        c
    }

    fn activity(&mut self, v: &Value, path: &At<'_>) -> Option<Activity> {
        let m = self.object(v, path, ACTIVITY_FIELDS)?;
        let kind = match self.str_of(m, path, "kind", true) {
            Some(s) => {
                let k = ActivityKind::parse(s);
                if k.is_none() {
                    self.push(format!("{path}.kind"), ErrorCode::RulesUnknownValue, format!("kind must be employed, self_employed, civil_servant or eu_contract_staff; got {s:?}"));
                }
                k
            }
            None => None,
        };
        let period = self.span(m, path, "period", true);
        let employer = match self.field(m, path, "employer", false) {
            Some(e) => self.employer(e, &At::Key(path, "employer")).map(Some),
            None => Some(None),
        };
        let administration = self.country(m, path, "administration", false);
        let states = match self.array(m, path, "states", false, false, MAX_STATES) {
            Some(items) => self.items(items, &At::Key(path, "states"), |c, v, p| c.state(v, p)),
            None if m.get("states").is_some_and(|x| !x.is_null()) => None,
            None => Some(Vec::new()),
        };
        let posting = match self.field(m, path, "posting", false) {
            Some(p) => self.posting(p, &At::Key(path, "posting")).map(Some),
            None => Some(None),
        };
        let vessel = match self.field(m, path, "vessel", false) {
            Some(x) => {
                let p = At::Key(path, "vessel");
                self.object(x, &p, VESSEL_FIELDS).and_then(|o| self.country(o, &p, "flag", true)).map(|flag| Some(Vessel { flag }))
            }
            None => Some(None),
        };
        let home_base = self.country(m, path, "home_base", false);
        let real_employer = match self.field(m, path, "real_employer", false) {
            Some(e) => self.employer(e, &At::Key(path, "real_employer")).map(Some),
            None => Some(None),
        };
        let offshore = match self.field(m, path, "offshore", false) {
            Some(x) => {
                let p = At::Key(path, "offshore");
                self.object(x, &p, OFFSHORE_FIELDS).map(|o| Some(Offshore { continental_shelf_of: self.country(o, &p, "continental_shelf_of", false) }))
            }
            None => Some(None),
        };
        let posted = self.boolean(m, path, "posted");
        let contract_staff_option = match self.field(m, path, "contract_staff_option", false) {
            Some(x) => {
                let p = At::Key(path, "contract_staff_option");
                self.object(x, &p, OPTION_FIELDS).and_then(|o| {
                    let country = self.country(o, &p, "country", true);
                    let basis = self.str_of(o, &p, "basis", true).and_then(|b| {
                        let k = OptionBasis::parse(b);
                        if k.is_none() {
                            self.push(format!("{p}.basis"), ErrorCode::RulesUnknownValue, format!("basis must be employment_state, last_legislation or nationality; got {b:?}"));
                        }
                        k
                    });
                    Some(Some(ContractStaffOption { country: country?, basis: basis? }))
                })
            }
            None => Some(None),
        };
        let a = Activity {
            kind: kind?,
            period: period?,
            employer: employer?,
            administration,
            states: states?,
            posting: posting?,
            vessel: vessel?,
            home_base,
            real_employer: real_employer?,
            offshore: offshore?,
            posted,
            contract_staff_option: contract_staff_option?,
        };
        self.activity_consistency(&a, path);
        Some(a)
    }

    fn activity_consistency(&mut self, a: &Activity, path: &At<'_>) {
        use ActivityKind::*;
        if a.kind == Employed && a.employer.is_none() {
            self.push(format!("{path}.employer"), ErrorCode::RulesMissingField, "an employed activity needs its employer (name and seat)");
        }
        if a.kind == SelfEmployed && a.employer.is_some() {
            self.push(format!("{path}.employer"), ErrorCode::RulesConflictingFields, "a self-employed activity has no employer; leave employer out");
        }
        if a.administration.is_some() && a.kind != CivilServant {
            self.push(format!("{path}.administration"), ErrorCode::RulesConflictingFields, "administration is given only for a civil_servant activity");
        }
        if a.vessel.is_some() && a.home_base.is_some() {
            self.push(format!("{path}.home_base"), ErrorCode::RulesConflictingFields, "one activity cannot be both on board a vessel and as flight crew; give two activities");
        }
        if (a.vessel.is_some() || a.home_base.is_some()) && !matches!(a.kind, Employed | SelfEmployed) {
            self.push(format!("{path}.kind"), ErrorCode::RulesConflictingFields, "vessel and home_base apply to employed or self_employed activities");
        }
        if a.offshore.is_some() && (a.vessel.is_some() || a.home_base.is_some()) {
            self.push(format!("{path}.offshore"), ErrorCode::RulesConflictingFields, "work on an offshore installation is neither on board a vessel nor as flight crew; give separate activities");
        }
        if a.real_employer.is_some() && a.employer.is_none() {
            self.push(format!("{path}.real_employer"), ErrorCode::RulesConflictingFields, "real_employer is given beside the formal employer; give employer too");
        }
        if a.posted == Some(true) && a.posting.is_none() {
            self.push(format!("{path}.posted"), ErrorCode::RulesConflictingFields, "posted: true needs the posting facts; give posting instead");
        }
        if a.posted == Some(false) && a.posting.is_some() {
            self.push(format!("{path}.posted"), ErrorCode::RulesConflictingFields, "posted: false contradicts the posting given");
        }
        if a.contract_staff_option.is_some() && a.kind != EuContractStaff {
            self.push(format!("{path}.contract_staff_option"), ErrorCode::RulesConflictingFields, "contract_staff_option is given only for an eu_contract_staff activity");
        }
        let deemed = a.vessel.is_some() || a.home_base.is_some() || a.offshore.is_some();
        if matches!(a.kind, Employed | SelfEmployed) && !deemed && a.states.is_empty() {
            self.push(format!("{path}.states"), ErrorCode::RulesMissingField, "give at least one state where the activity is pursued (for a posting: the host state)");
        }
        for (i, s) in a.states.iter().enumerate() {
            if a.states.iter().take(i).any(|t| t.country == s.country) {
                self.push(format!("{path}.states[{i}].country"), ErrorCode::RulesConflictingFields, format!("{} is listed twice in this activity", s.country));
            }
        }
        if let Some(p) = &a.posting {
            match a.kind {
                Employed => {
                    if p.permanent_assignment == Some(true) && a.period.end.is_some() {
                        self.push(format!("{path}.posting.permanent_assignment"), ErrorCode::RulesConflictingFields, "a permanent assignment has no anticipated end; leave period.end out");
                    }
                    for (k, given) in [
                        ("self_employed_since", p.self_employed_since.is_some()),
                        ("similar_activity", p.similar_activity.is_some()),
                        ("maintains_business_in_sending_state", p.maintains_business_in_sending_state.is_some()),
                    ] {
                        if given {
                            self.push(format!("{path}.posting.{k}"), ErrorCode::RulesConflictingFields, format!("{k} is a fact of a self-employed posting (Art 12(2)), not of an employed one"));
                        }
                    }
                }
                SelfEmployed => {
                    if p.permanent_assignment == Some(true) && a.period.end.is_some() {
                        self.push(format!("{path}.posting.permanent_assignment"), ErrorCode::RulesConflictingFields, "a permanent assignment has no anticipated end; leave period.end out");
                    }
                    for (k, given) in [
                        ("on_behalf_of_employer", p.on_behalf_of_employer.is_some()),
                        ("replaces_posted_person", p.replaces_posted_person.is_some()),
                        ("hired_out_to_third_undertaking", p.hired_out_to_third_undertaking.is_some()),
                        ("contract_with_host_undertaking", p.contract_with_host_undertaking.is_some()),
                    ] {
                        if given {
                            self.push(format!("{path}.posting.{k}"), ErrorCode::RulesConflictingFields, format!("{k} is a fact of an employed posting (Art 12(1)), not of a self-employed one"));
                        }
                    }
                }
                CivilServant | EuContractStaff => {
                    self.push(format!("{path}.posting"), ErrorCode::RulesConflictingFields, "posting (Art 12) applies to employed and self-employed activities; a civil servant stays under the administration's state (Art 11(3)(b))");
                }
            }
        }
    }

    fn state(&mut self, v: &Value, path: &At<'_>) -> Option<StateShare> {
        let m = self.object(v, path, STATE_FIELDS)?;
        let country = self.country(m, path, "country", true);
        let working_time_share = self.share(m, path, "working_time_share");
        let remuneration_share = self.share(m, path, "remuneration_share");
        let turnover_share = self.share(m, path, "turnover_share");
        Some(StateShare { country: country?, working_time_share, remuneration_share, turnover_share })
    }

    fn employer(&mut self, v: &Value, path: &At<'_>) -> Option<Employer> {
        let m = self.object(v, path, EMPLOYER_FIELDS)?;
        let name = self.text(m, path, "name", 200, true);
        let id = self.text(m, path, "id", 50, false);
        let seat = self.country(m, path, "seat", true);
        let substantial_activity = match self.field(m, path, "substantial_activity", false) {
            Some(x) => {
                let p = At::Key(path, "substantial_activity");
                let o = self.object(x, &p, SUBSTANTIAL_FIELDS)?;
                Some(SubstantialActivity {
                    turnover_share: self.share(o, &p, "turnover_share"),
                    administrative_staff_share: self.share(o, &p, "administrative_staff_share"),
                    contracts_share: self.share(o, &p, "contracts_share"),
                    recruitment_mainly_abroad: self.boolean(o, &p, "recruitment_mainly_abroad"),
                    internal_management_only: self.boolean(o, &p, "internal_management_only"),
                })
            }
            None => None,
        };
        let temporary_work_agency = self.boolean(m, path, "temporary_work_agency").unwrap_or(false);
        let agency_placements_in_seat_state = self.boolean(m, path, "agency_placements_in_seat_state");
        if agency_placements_in_seat_state.is_some() && !temporary_work_agency {
            self.push(format!("{path}.agency_placements_in_seat_state"), ErrorCode::RulesConflictingFields, "agency_placements_in_seat_state is a fact of a temporary_work_agency");
        }
        Some(Employer { name: name?, id, seat: seat?, substantial_activity, temporary_work_agency, agency_placements_in_seat_state })
    }

    fn posting(&mut self, v: &Value, path: &At<'_>) -> Option<Posting> {
        let m = self.object(v, path, POSTING_FIELDS)?;
        let sending_state = self.country(m, path, "sending_state", true);
        let prior_insurance = self
            .array(m, path, "prior_insurance", false, false, MAX_PERIODS)
            .map(|items| self.items(items, &At::Key(path, "prior_insurance"), |c, v, p| c.insurance(v, p)));
        let previous_postings = self
            .array(m, path, "previous_postings", false, false, MAX_PERIODS)
            .map(|items| self.items(items, &At::Key(path, "previous_postings"), |c, v, p| c.previous(v, p)));
        let on_behalf_of_employer = self.boolean(m, path, "on_behalf_of_employer");
        let replaces_posted_person = self.boolean(m, path, "replaces_posted_person");
        let self_employed_since = self.date(m, path, "self_employed_since", false);
        let similar_activity = self.boolean(m, path, "similar_activity");
        let maintains_business_in_sending_state = self.boolean(m, path, "maintains_business_in_sending_state");
        let hired_out_to_third_undertaking = self.boolean(m, path, "hired_out_to_third_undertaking");
        let contract_with_host_undertaking = self.boolean(m, path, "contract_with_host_undertaking");
        let permanent_assignment = self.boolean(m, path, "permanent_assignment");
        let extends = match self.field(m, path, "extends", false) {
            Some(x) => Some(self.extension(x, &At::Key(path, "extends"))?),
            None => None,
        };
        // An array that was given but failed to parse fails the posting (its problems are recorded).
        let prior_insurance = match prior_insurance {
            Some(None) => return None,
            other => other.flatten(),
        };
        let previous_postings = match previous_postings {
            Some(None) => return None,
            other => other.flatten(),
        };
        Some(Posting {
            sending_state: sending_state?,
            on_behalf_of_employer,
            replaces_posted_person,
            prior_insurance,
            previous_postings,
            self_employed_since,
            similar_activity,
            maintains_business_in_sending_state,
            hired_out_to_third_undertaking,
            contract_with_host_undertaking,
            permanent_assignment,
            extends,
        })
    }

    fn extension(&mut self, v: &Value, path: &At<'_>) -> Option<Extension> {
        let m = self.object(v, path, EXTENSION_FIELDS)?;
        let host_state = self.country(m, path, "host_state", true);
        let start = self.date(m, path, "start", true);
        let end = self.date(m, path, "end", true);
        let interruption = self.str_of(m, path, "interruption", true).and_then(|s| {
            let k = Interruption::parse(s);
            if k.is_none() {
                self.push(format!("{path}.interruption"), ErrorCode::RulesUnknownValue, format!("interruption must be none, holiday, illness, training or other; got {s:?}"));
            }
            k
        });
        if let (Some(s), Some(e)) = (start, end)
            && e < s {
                self.push(format!("{path}.end"), ErrorCode::PeriodReversed, format!("end {e} is before start {s}"));
                return None;
            }
        Some(Extension { host_state: host_state?, start: start?, end: end?, interruption: interruption? })
    }

    fn insurance(&mut self, v: &Value, path: &At<'_>) -> Option<InsurancePeriod> {
        let m = self.object(v, path, INSURANCE_FIELDS)?;
        let country = self.country(m, path, "country", true);
        let start = self.date(m, path, "start", true);
        let end = self.date(m, path, "end", false);
        if let (Some(s), Some(e)) = (start, end)
            && e < s {
                self.push(format!("{path}.end"), ErrorCode::PeriodReversed, format!("end {e} is before start {s}"));
                return None;
            }
        Some(InsurancePeriod { country: country?, start: start?, end })
    }

    fn previous(&mut self, v: &Value, path: &At<'_>) -> Option<PreviousPosting> {
        let m = self.object(v, path, PREVIOUS_POSTING_FIELDS)?;
        let host_state = self.country(m, path, "host_state", true);
        let start = self.date(m, path, "start", true);
        let end = self.date(m, path, "end", true);
        if let (Some(s), Some(e)) = (start, end)
            && e < s {
                self.push(format!("{path}.end"), ErrorCode::PeriodReversed, format!("end {e} is before start {s}"));
                return None;
            }
        Some(PreviousPosting { host_state: host_state?, start: start?, end: end? })
    }

    fn exception(&mut self, v: &Value, path: &At<'_>) -> Option<ExceptionRequest> {
        let m = self.object(v, path, EXCEPTION_FIELDS)?;
        let legislation_country = self.country(m, path, "legislation_country", true);
        let period = self.span(m, path, "period", true);
        let grounds = self.text(m, path, "grounds", 2000, false);
        let framework = match self.str_of(m, path, "framework", false) {
            None => Some(None),
            Some("cross_border_telework_2023") => Some(Some(Framework::CrossBorderTelework2023)),
            Some(s) => {
                self.push(format!("{path}.framework"), ErrorCode::RulesUnknownValue, format!("framework must be cross_border_telework_2023; got {s:?}"));
                None
            }
        };
        Some(ExceptionRequest { legislation_country: legislation_country?, period: period?, grounds, framework: framework? })
    }

    /// The shares of one criterion, over every state of every activity, may not exceed one whole.
    fn share_sums(&mut self, acts: &[Activity]) {
        type Getter = fn(&StateShare) -> Option<Share>;
        let crits: [(&str, Getter); 3] = [
            ("working_time_share", |s| s.working_time_share),
            ("remuneration_share", |s| s.remuneration_share),
            ("turnover_share", |s| s.turnover_share),
        ];
        for (name, get) in crits {
            let sum: u64 = acts.iter().flat_map(|a| a.states.iter()).filter_map(get).map(|s| u64::from(s.billionths())).sum();
            if sum > u64::from(Share::WHOLE) + SUM_TOLERANCE {
                self.push(
                    format!("$.activities[*].states[*].{name}"),
                    ErrorCode::RulesSharesExceedOne,
                    format!("the {name} values of all activities add up to {} %; they are shares of the person's total and may add up to at most 100 %", crate::application::percent_text(sum)),
                );
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "decision_date": "2026-12-01",
            "person": {"residence": "GR", "nationalities": ["GR"]},
            "activities": [{
                "kind": "employed",
                "period": {"start": "2027-01-04", "end": "2027-12-31"},
                "employer": {"name": "Yiannis Constructions", "seat": "GR"},
                "states": [{"country": "IT", "working_time_share": 1}]
            }]
        })
    }

    fn problems(v: &Value) -> Vec<(String, &'static str)> {
        match application_from_value(v) {
            Ok(_) => Vec::new(),
            Err(p) => p.0.into_iter().map(|p| (p.path, p.code.code())).collect(),
        }
    }

    #[test]
    fn minimal_application_parses() {
        let a = application_from_value(&base()).unwrap();
        assert_eq!(a.activities.len(), 1);
        assert_eq!(a.activities[0].states[0].working_time_share.unwrap().billionths(), Share::WHOLE);
    }

    #[test]
    fn every_problem_has_path_and_code() {
        let mut v = base();
        v["decision_date"] = json!("2026-13-01");
        v["person"]["residence"] = json!("XX");
        v["activities"][0]["states"][0]["working_time_share"] = json!(1.5);
        v["activities"][0]["kind"] = json!("freelancer");
        v["activities"][0]["colour"] = json!("blue");
        v["activities"][0]["period"]["end"] = json!("2026-01-01");
        let got = problems(&v);
        for want in [
            ("$.decision_date", "ESP-1006"),
            ("$.person.residence", "ESP-1004"),
            ("$.activities[0].states[0].working_time_share", "ESP-6002"),
            ("$.activities[0].kind", "ESP-6007"),
            ("$.activities[0].colour", "ESP-6006"),
            ("$.activities[0].period.end", "ESP-1007"),
        ] {
            assert!(got.contains(&(want.0.to_string(), want.1)), "{want:?} not in {got:?}");
        }
    }

    #[test]
    fn conflicting_and_missing_fields() {
        let mut v = base();
        v["activities"][0]["posting"] = json!({"sending_state": "GR", "similar_activity": true});
        v["activities"][0]["vessel"] = json!({"flag": "MT"});
        v["activities"][0]["home_base"] = json!("DE");
        v["activities"][0].as_object_mut().unwrap().remove("employer");
        let got = problems(&v);
        assert!(got.contains(&("$.activities[0].posting.similar_activity".into(), "ESP-6008")), "{got:?}");
        assert!(got.contains(&("$.activities[0].home_base".into(), "ESP-6008")), "{got:?}");
        assert!(got.contains(&("$.activities[0].employer".into(), "ESP-6004")), "{got:?}");
    }

    #[test]
    fn shares_may_not_add_up_beyond_one() {
        let mut v = base();
        v["activities"][0]["states"] = json!([
            {"country": "IT", "working_time_share": 0.6},
            {"country": "GR", "working_time_share": 0.5}
        ]);
        assert_eq!(problems(&v), vec![("$.activities[*].states[*].working_time_share".to_string(), "ESP-6003")]);
        v["activities"][0]["states"][1]["working_time_share"] = json!(0.41);
        assert!(problems(&v).is_empty(), "a 1 % rounding tolerance applies");
    }

    #[test]
    fn the_country_table_agrees_with_country_parse() {
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let s = String::from_utf8(vec![a, b]).unwrap();
                assert_eq!(country_code(&s), Country::parse(&s), "{s}");
            }
        }
        for s in ["", "g", "gr", "GRC", "É", "G1"] {
            assert_eq!(country_code(s), Country::parse(s), "{s}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        for s in ["", "null", "[]", "{", "{\"activities\": 5}", "{\"person\": [], \"activities\": [null]}", "\"x\"", "1e999"] {
            assert!(parse_application(s).is_err(), "{s}");
        }
        let big = format!("\"{}\"", "a".repeat(MAX_BYTES));
        assert_eq!(parse_application(&big).unwrap_err().0[0].code, ErrorCode::RulesTooLarge);
    }

    /// The JSON Schema in docs/rules names exactly the fields this parser reads.
    #[test]
    fn schema_and_parser_name_the_same_fields() {
        let schema: Value = serde_json::from_str(include_str!("../../../docs/rules/application.schema.json")).unwrap();
        let defs = &schema["$defs"];
        let props = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v["properties"].as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let sorted = |f: &[&str]| -> Vec<String> {
            let mut k: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            k.sort();
            k
        };
        assert_eq!(props(&schema), sorted(APPLICATION_FIELDS));
        for (def, fields) in [
            ("person", PERSON_FIELDS),
            ("activity", ACTIVITY_FIELDS),
            ("span", SPAN_FIELDS),
            ("state", STATE_FIELDS),
            ("employer", EMPLOYER_FIELDS),
            ("substantial_activity", SUBSTANTIAL_FIELDS),
            ("posting", POSTING_FIELDS),
            ("insurance_period", INSURANCE_FIELDS),
            ("previous_posting", PREVIOUS_POSTING_FIELDS),
            ("vessel", VESSEL_FIELDS),
            ("exception_request", EXCEPTION_FIELDS),
            ("extension", EXTENSION_FIELDS),
            ("offshore", OFFSHORE_FIELDS),
            ("contract_staff_option", OPTION_FIELDS),
        ] {
            assert_eq!(props(&defs[def]), sorted(fields), "$defs.{def}");
            assert_eq!(defs[def]["additionalProperties"], json!(false), "$defs.{def} must forbid unknown fields");
        }
    }
}
