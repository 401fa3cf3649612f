//! The decision as text a case worker, an employer or a court can read.

use crate::codes::Effect;
use crate::decision::{Decision, Outcome, Reason};
use std::fmt::Write;

pub(crate) fn explain(d: &Decision) -> String {
    let mut s = String::with_capacity(1024);
    let headline = match d.outcome {
        Outcome::Determined => "determined — the legislation below applies",
        Outcome::ManualReview => "manual review — a person must decide",
        Outcome::NotApplicable => "not applicable — the coordination rules do not apply",
    };
    let _ = writeln!(s, "Outcome: {headline}");
    if let Some(i) = d.instrument {
        let _ = writeln!(s, "Instrument: {}", i.title());
    }
    let candidate = if d.outcome == Outcome::ManualReview { " (candidate, not decided)" } else { "" };
    if let Some(c) = d.legislation_country {
        let _ = writeln!(s, "Legislation: {c}{candidate}");
    }
    if let Some(a) = d.article {
        let _ = writeln!(s, "Article: {a}");
    }
    if let Some(sc) = d.status_confirmation {
        let _ = writeln!(s, "PDA1 status confirmation: {} ({})", sc.code(), sc.label());
    }
    if let Some(p) = d.period {
        let end = p.end.map(|e| e.to_string()).unwrap_or_else(|| "not known".into());
        let mut notes = Vec::new();
        if p.review_date {
            notes.push("end is the review date");
        }
        if p.provisional {
            notes.push("provisional");
        }
        let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) };
        let _ = writeln!(s, "Period: {} to {end}{notes}", p.start);
    }
    if let Some(inst) = d.institution_country {
        match (d.buc, d.first_sed) {
            (Some(b), Some(sed)) => {
                let to = if d.other_states.is_empty() {
                    String::new()
                } else {
                    format!(" to {}", d.other_states.iter().map(|c| c.iso()).collect::<Vec<_>>().join(", "))
                };
                let _ = writeln!(s, "Procedure: the institution of {inst} opens {} with SED {}{to}", b.name(), sed.name());
            }
            _ => {
                let _ = writeln!(s, "Procedure: the institution of {inst} decides; no other state needs to be informed");
            }
        }
    }
    if d.contestable {
        let _ = writeln!(s, "Contestable: yes — this automatic decision can be put to a case worker (GDPR Art 22(3))");
    }
    if d.outcome == Outcome::ManualReview && d.allowed.len() > 1 {
        let _ = writeln!(s, "Outcomes the law allows:");
        for a in &d.allowed {
            let agr = if a.requires_agreement { " (needs the other states' agreement)" } else { "" };
            let _ = writeln!(s, "  - {} under {} (status {}){agr}", a.legislation_country, a.article, a.status_confirmation.code());
        }
    }
    if d.outcome == Outcome::ManualReview {
        let review: Vec<&Reason> = d.review_reasons().collect();
        if !review.is_empty() {
            let _ = writeln!(s, "\nWhat a person must look at:");
            for (i, r) in review.iter().enumerate() {
                let at = r.path.as_deref().map(|p| format!(" [{p}]")).unwrap_or_default();
                let _ = writeln!(s, "  {}. {}{at}", i + 1, r.text);
            }
        }
    }
    let _ = writeln!(s, "\nReasons:");
    for r in &d.reasons {
        let mark = match r.effect {
            Effect::Met => "met",
            Effect::NotMet => "NOT MET",
            Effect::Info => "info",
            Effect::Review => "REVIEW",
            Effect::Excluded => "excluded",
        };
        let _ = writeln!(s, "  [{mark}] {} — {}", r.code, r.article);
        let _ = writeln!(s, "      {}", r.text);
        if let Some(p) = &r.path {
            let _ = writeln!(s, "      at {p}");
        }
    }
    s
}
