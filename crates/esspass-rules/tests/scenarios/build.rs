//! Builders for the scenario table: applications and expected decisions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, dead_code)]

use serde_json::{Value, json};

// ---------------------------------------------------------------- builders

pub fn with(mut v: Value, f: impl FnOnce(&mut Value)) -> Value {
    f(&mut v);
    v
}

pub fn app(residence: &str, nationalities: &[&str], activities: Vec<Value>) -> Value {
    json!({
        "decision_date": "2026-12-01",
        "person": {"residence": residence, "nationalities": nationalities},
        "activities": activities
    })
}

pub fn indicators_ok() -> Value {
    json!({"turnover_share": 0.8, "administrative_staff_share": 0.1, "contracts_share": 0.9,
           "recruitment_mainly_abroad": false, "internal_management_only": false})
}

/// Georgios: employed by Yiannis Constructions (GR), posted to IT; every condition met.
pub fn posting(start: &str, end: &str) -> Value {
    posting_between("GR", "IT", start, end)
}

pub fn posting_between(from: &str, to: &str, start: &str, end: &str) -> Value {
    let nat = if from == "CH" { "CH" } else { from };
    app(from, &[nat], vec![json!({
        "kind": "employed",
        "period": {"start": start, "end": end},
        "employer": {"name": format!("Employer {from}"), "seat": from, "substantial_activity": indicators_ok()},
        "states": [{"country": to}],
        "posting": {
            "sending_state": from,
            "on_behalf_of_employer": true,
            "replaces_posted_person": false,
            "prior_insurance": [{"country": from, "start": "2015-01-01"}],
            "previous_postings": []
        }
    })])
}

pub fn georgios() -> Value {
    posting("2027-01-04", "2027-12-31")
}

/// A self-employed person posted from PL to DE; every condition met.
pub fn se_posting(start: &str, end: &str) -> Value {
    se_posting_between("PL", "DE", start, end)
}

pub fn se_posting_between(from: &str, to: &str, start: &str, end: &str) -> Value {
    app(from, &[from], vec![json!({
        "kind": "self_employed",
        "period": {"start": start, "end": end},
        "states": [{"country": to}],
        "posting": {
            "sending_state": from,
            "prior_insurance": [{"country": from, "start": "2020-01-01"}],
            "previous_postings": [],
            "self_employed_since": "2020-01-01",
            "similar_activity": true,
            "maintains_business_in_sending_state": true
        }
    })])
}

/// `[(country, working time, remuneration)]`
pub fn states(s: &[(&str, f64, f64)]) -> Value {
    Value::Array(s.iter().map(|(c, t, r)| json!({"country": c, "working_time_share": t, "remuneration_share": r})).collect())
}

pub fn employed(employer: &str, seat: &str, st: Value) -> Value {
    json!({"kind": "employed", "period": {"start": "2027-01-01", "end": "2027-12-31"},
           "employer": {"name": employer, "seat": seat}, "states": st})
}

pub fn self_employed(st: Value) -> Value {
    json!({"kind": "self_employed", "period": {"start": "2027-01-01", "end": "2027-12-31"}, "states": st})
}

/// `[(country, working time, income, turnover)]`
pub fn se_states(s: &[(&str, f64, f64, f64)]) -> Value {
    Value::Array(s.iter().map(|(c, t, r, u)| json!({"country": c, "working_time_share": t, "remuneration_share": r, "turnover_share": u})).collect())
}

pub fn civil(admin: &str, st: Value) -> Value {
    json!({"kind": "civil_servant", "period": {"start": "2027-01-01", "end": "2027-12-31"}, "administration": admin, "states": st})
}

pub fn mariner(flag: &str, seat: &str) -> Value {
    json!({"kind": "employed", "period": {"start": "2027-01-01", "end": "2027-12-31"},
           "employer": {"name": format!("Shipping {seat}"), "seat": seat}, "vessel": {"flag": flag}})
}

pub fn crew(base: &str, seat: &str) -> Value {
    json!({"kind": "employed", "period": {"start": "2027-01-01", "end": "2027-12-31"},
           "employer": {"name": format!("Airline {seat}"), "seat": seat}, "home_base": base})
}

/// Set a JSON pointer-like path of object keys (creating objects on the way).
pub fn set(mut v: Value, path: &[&str], x: Value) -> Value {
    let mut cur = &mut v;
    for (i, k) in path.iter().enumerate() {
        if i + 1 == path.len() {
            cur[*k] = x;
            break;
        }
        cur = if let Ok(n) = k.parse::<usize>() { &mut cur[n] } else { &mut cur[*k] };
    }
    v
}

/// Remove a key at the end of a path.
pub fn unset(mut v: Value, path: &[&str]) -> Value {
    let mut cur = &mut v;
    for (i, k) in path.iter().enumerate() {
        if i + 1 == path.len() {
            cur.as_object_mut().unwrap().remove(*k);
            break;
        }
        cur = if let Ok(n) = k.parse::<usize>() { &mut cur[n] } else { &mut cur[*k] };
    }
    v
}

pub fn exception(country: &str, start: &str, end: &str) -> Value {
    json!({"legislation_country": country, "period": {"start": start, "end": end}, "grounds": "project continuity"})
}

// ---------------------------------------------------------------- expectations

#[derive(Clone, Debug)]
pub struct Expect {
    pub outcome: &'static str,
    pub country: Option<&'static str>,
    pub article: Option<&'static str>,
    pub status: Option<&'static str>,
    pub end: Option<&'static str>,
    pub buc: Option<Option<&'static str>>,
    pub codes: Vec<&'static str>,
    pub concerned: Option<Vec<&'static str>>,
    pub contestable: Option<bool>,
    pub allowed: Option<Vec<&'static str>>,
}

pub fn det(country: &'static str, article: &'static str, status: &'static str) -> Expect {
    Expect { outcome: "determined", country: Some(country), article: Some(article), status: Some(status), end: None, buc: None, codes: vec![], concerned: None, contestable: None, allowed: None }
}

/// Manual review; `country`/`article` are the candidate (or `None`: no candidate).
pub fn review(country: Option<&'static str>, article: Option<&'static str>) -> Expect {
    Expect { outcome: "manual_review", country, article, status: None, end: None, buc: None, codes: vec![], concerned: None, contestable: None, allowed: None }
}

pub fn na() -> Expect {
    Expect { outcome: "not_applicable", country: None, article: None, status: None, end: None, buc: None, codes: vec![], concerned: None, contestable: None, allowed: None }
}

impl Expect {
    pub fn codes(mut self, c: &[&'static str]) -> Self {
        self.codes.extend_from_slice(c);
        self
    }
    pub fn end(mut self, e: &'static str) -> Self {
        self.end = Some(e);
        self
    }
    pub fn buc(mut self, b: Option<&'static str>) -> Self {
        self.buc = Some(b);
        self
    }
    /// Every state told of the decision (`states_concerned`).
    pub fn concerned(mut self, c: &[&'static str]) -> Self {
        self.concerned = Some(c.to_vec());
        self
    }
    pub fn contestable(mut self, c: bool) -> Self {
        self.contestable = Some(c);
        self
    }
    /// The legislation countries of `allowed`, in order.
    pub fn allowed(mut self, c: &[&'static str]) -> Self {
        self.allowed = Some(c.to_vec());
        self
    }
}

pub struct Scenario {
    pub id: &'static str,
    pub source: &'static str,
    pub what: &'static str,
    pub app: Value,
    pub expect: Expect,
}

pub fn sc(id: &'static str, source: &'static str, what: &'static str, app: Value, expect: Expect) -> Scenario {
    Scenario { id, source, what, app, expect }
}

