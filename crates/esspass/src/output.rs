//! Printing: JSON for machines, plain text for people. Reports never contain key material.

use crate::Failure;
use esspass_credential::verify::{CheckResult, Outcome, Report};
use serde_json::json;

pub fn print_error(e: &Failure, as_json: bool) {
    if as_json {
        println!("{}", json!({"error": {"code": e.code.code(), "message": e.message}}));
    } else {
        eprintln!("error {}: {}", e.code.code(), e.message);
    }
}

pub fn print_json(v: &impl serde::Serialize) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: {e}"),
    }
}

/// A verification report for a person.
pub fn render_report(r: &Report) -> String {
    let mut s = String::new();
    let verdict = match r.outcome {
        Outcome::Valid => "VALID".to_string(),
        Outcome::Invalid => format!("INVALID ({})", r.code.map(|c| format!("{} {}", c.code(), c.message())).unwrap_or_default()),
        Outcome::Error => format!("COULD NOT CHECK ({})", r.code.map(|c| format!("{} {}", c.code(), c.message())).unwrap_or_default()),
    };
    s.push_str(&format!("  outcome    {verdict}\n"));
    if let Some(v) = &r.vct {
        s.push_str(&format!("  type       {v}\n"));
    }
    if let Some(i) = &r.issuer {
        let inst = match (&i.institution_id, &i.institution_name, &i.country) {
            (Some(id), Some(n), Some(c)) => format!("{n} ({id}, {c})"),
            _ => i.certificate_subject.clone(),
        };
        s.push_str(&format!("  issuer     {inst}\n"));
        if let Some(iss) = &i.iss {
            s.push_str(&format!("  iss        {iss}\n"));
        }
    }
    if let Some(st) = &r.status {
        let v = st.label.unwrap_or("not determined");
        let src = st.source.map(|x| format!(", {x:?}").to_lowercase()).unwrap_or_default();
        s.push_str(&format!("  status     {v} — {} #{}{src}\n", st.uri, st.idx));
    }
    if r.credential_only {
        s.push_str("  holder     NOT CHECKED — credential only, at the caller's request (--credential-only)\n");
    }
    s.push_str(&format!("  checked at {}\n  checks\n", r.verified_at));
    for c in &r.checks {
        let mark = match c.result {
            CheckResult::Pass => "pass",
            CheckResult::Fail => "FAIL",
            CheckResult::Error => "ERROR",
            CheckResult::Skipped => "skip",
        };
        let code = c.code.map(|c| format!("{} ", c.code())).unwrap_or_default();
        s.push_str(&format!("    {mark:<5} {:<18} {code}{}\n", c.id, c.detail));
    }
    if !r.disclosed.is_empty() {
        s.push_str(&format!("  disclosed  {}\n", r.disclosed.join(", ")));
    }
    if let Some(claims) = &r.claims {
        let mut business = claims.clone();
        for k in ["iss", "iat", "nbf", "exp", "jti", "sub", "cnf", "status", "vct"] {
            business.remove(k);
        }
        if let Ok(text) = serde_json::to_string_pretty(&business) {
            s.push_str("  claims\n");
            for line in text.lines() {
                s.push_str(&format!("    {line}\n"));
            }
        }
    }
    s
}
