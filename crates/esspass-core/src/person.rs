//! Insured persons as an institution's authentic source knows them, and their coverage; the
//! record format of `esspass import` and of the back-office API.

use crate::{Country, Date, ErrorCode, Problem, Problems};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What the coverage entitles to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageKind {
    /// Sickness insurance: entitles to an EHIC.
    Health,
    /// Subject to this state's legislation (pensions, unemployment, …).
    SocialSecurity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub kind: CoverageKind,
    pub start: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

/// One insured person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub personal_number: String,
    pub family_name: String,
    pub given_name: String,
    pub birth_date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residence: Option<Country>,
    /// Country of birth (what a PID provider attests as `place_of_birth.country`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_country: Option<Country>,
    /// Municipality, city, town or village of birth (`place_of_birth.locality`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    /// An employment with one employer (who employs the person, from when to when).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employment: Option<Employment>,
}

/// An employment record: the employer (its id as the institution knows it) and the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employment {
    pub employer_id: String,
    pub start: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

/// Field names of the flat (CSV) form.
pub const FIELDS: &[&str] = &["personal_number", "family_name", "given_name", "birth_date", "nationality", "residence", "birth_country", "birth_place", "coverage_kind", "coverage_start", "coverage_end", "employer_id", "employment_start", "employment_end"];

impl PersonRecord {
    /// Validate a flat record (CSV row or JSON object with the [`FIELDS`]; empty strings count as
    /// absent). Every problem is returned, with the field as path (`$.birth_date`).
    pub fn from_fields(m: &Map<String, Value>) -> Result<Self, Problems> {
        let mut problems = Vec::new();
        let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
        for k in m.keys() {
            if !FIELDS.contains(&k.as_str()) {
                problems.push(Problem::new(format!("$.{k}"), ErrorCode::UnknownField, format!("unknown field {k:?}")));
            }
        }
        for (k, v) in m {
            if !v.is_string() && !v.is_null() {
                problems.push(Problem::new(format!("$.{k}"), ErrorCode::WrongType, format!("{k} must be text")));
            }
        }
        let mut text = |k: &str, min: usize, max: usize| -> Option<String> {
            match get(k) {
                None => {
                    problems.push(Problem::new(format!("$.{k}"), ErrorCode::MissingField, format!("{k} is required")));
                    None
                }
                Some(s) if s.chars().count() < min || s.chars().count() > max => {
                    problems.push(Problem::new(format!("$.{k}"), ErrorCode::LengthOutOfRange, format!("{k} must have {min} to {max} characters")));
                    None
                }
                Some(s) => Some(s.to_owned()),
            }
        };
        let personal_number = text("personal_number", 4, 50);
        let family_name = text("family_name", 1, 150);
        let given_name = text("given_name", 1, 150);
        let mut date = |k: &str, required: bool| -> Option<Date> {
            match get(k) {
                None => {
                    if required {
                        problems.push(Problem::new(format!("$.{k}"), ErrorCode::MissingField, format!("{k} is required")));
                    }
                    None
                }
                Some(s) => {
                    let d = Date::parse(s);
                    if d.is_none() {
                        problems.push(Problem::new(format!("$.{k}"), ErrorCode::InvalidDate, format!("{k} must be YYYY-MM-DD, got {s:?}")));
                    }
                    d
                }
            }
        };
        let birth_date = date("birth_date", true);
        let coverage_start = date("coverage_start", false);
        let coverage_end = date("coverage_end", false);
        let employment_start = date("employment_start", false);
        let employment_end = date("employment_end", false);
        let mut country = |k: &str| -> Option<Country> {
            let s = get(k)?;
            let c = Country::parse(s);
            if c.is_none() {
                problems.push(Problem::new(format!("$.{k}"), ErrorCode::InvalidCountry, format!("{k}: {s:?} is not a country code")));
            }
            c
        };
        let nationality = country("nationality");
        let residence = country("residence");
        let birth_country = country("birth_country");
        let birth_place = match get("birth_place") {
            Some(s) if s.chars().count() > 100 => {
                problems.push(Problem::new("$.birth_place", ErrorCode::LengthOutOfRange, "birth_place must have 1 to 100 characters"));
                None
            }
            other => other.map(str::to_owned),
        };
        let kind = match get("coverage_kind") {
            None => None,
            Some("health") => Some(CoverageKind::Health),
            Some("social_security") => Some(CoverageKind::SocialSecurity),
            Some(other) => {
                problems.push(Problem::new("$.coverage_kind", ErrorCode::WrongType, format!("coverage_kind must be health or social_security, got {other:?}")));
                None
            }
        };
        let coverage = match (kind, coverage_start) {
            (Some(kind), Some(start)) => {
                if coverage_end.is_some_and(|e| e < start) {
                    problems.push(Problem::new("$.coverage_end", ErrorCode::PeriodReversed, "coverage_end is before coverage_start"));
                }
                Some(Coverage { kind, start, end: coverage_end })
            }
            (None, None) if coverage_end.is_none() => None,
            (Some(_), None) => {
                problems.push(Problem::new("$.coverage_start", ErrorCode::MissingField, "coverage_start is required with coverage_kind"));
                None
            }
            _ => {
                problems.push(Problem::new("$.coverage_kind", ErrorCode::MissingField, "coverage_kind is required with coverage dates"));
                None
            }
        };
        if let (Some(b), Some(c)) = (birth_date, &coverage)
            && c.start < b {
                problems.push(Problem::new("$.coverage_start", ErrorCode::InconsistentDates, "coverage starts before the person was born"));
            }
        let employment = match (get("employer_id"), employment_start) {
            (Some(id), Some(start)) if id.chars().count() <= 20 => {
                if employment_end.is_some_and(|e| e < start) {
                    problems.push(Problem::new("$.employment_end", ErrorCode::PeriodReversed, "employment_end is before employment_start"));
                }
                Some(Employment { employer_id: id.to_owned(), start, end: employment_end })
            }
            (Some(_), Some(_)) => {
                problems.push(Problem::new("$.employer_id", ErrorCode::LengthOutOfRange, "employer_id must have 1 to 20 characters"));
                None
            }
            (None, None) if employment_end.is_none() => None,
            (Some(_), None) => {
                problems.push(Problem::new("$.employment_start", ErrorCode::MissingField, "employment_start is required with employer_id"));
                None
            }
            _ => {
                problems.push(Problem::new("$.employer_id", ErrorCode::MissingField, "employer_id is required with employment dates"));
                None
            }
        };
        match (personal_number, family_name, given_name, birth_date, problems.is_empty()) {
            (Some(personal_number), Some(family_name), Some(given_name), Some(birth_date), true) => {
                Ok(Self { personal_number, family_name, given_name, birth_date, nationality, residence, birth_country, birth_place, coverage, employment })
            }
            _ => Err(Problems(problems)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn valid_row() {
        let r = PersonRecord::from_fields(&m(json!({"personal_number": "SI1985041277", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "residence": "SI", "coverage_kind": "health", "coverage_start": "2020-01-01", "coverage_end": ""}))).unwrap();
        assert_eq!(r.coverage.unwrap().end, None);
        assert_eq!(r.nationality.unwrap().iso(), "SI");
    }

    #[test]
    fn every_problem_reported() {
        let e = PersonRecord::from_fields(&m(json!({"personal_number": "1", "birth_date": "1985-13-01", "nationality": "XX", "coverage_kind": "health", "extra": "x"}))).unwrap_err();
        let paths: Vec<&str> = e.0.iter().map(|p| p.path.as_str()).collect();
        for want in ["$.personal_number", "$.family_name", "$.given_name", "$.birth_date", "$.nationality", "$.coverage_start", "$.extra"] {
            assert!(paths.contains(&want), "{want} not in {paths:?}");
        }
    }
}
