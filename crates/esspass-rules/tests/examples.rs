#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Every application in `examples/rules/` parses and decides as its file name says
//! (`<name>.<outcome>.json`); the key examples also decide the article they illustrate.

use esspass_rules::{Outcome, decide, explain, parse_application};
use std::path::PathBuf;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules")
}

#[test]
fn every_example_decides_as_its_name_says() {
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(examples_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") {
            continue;
        }
        let expected = match name.rsplit('.').nth(1) {
            Some("determined") => Outcome::Determined,
            Some("manual_review") => Outcome::ManualReview,
            Some("not_applicable") => Outcome::NotApplicable,
            other => panic!("{name}: the file name must end in .determined.json, .manual_review.json or .not_applicable.json, not {other:?}"),
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let app = parse_application(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = decide(&app);
        assert_eq!(d.outcome, expected, "{name}\n{}", explain(&d));
        seen += 1;
    }
    assert!(seen >= 3, "examples/rules holds only {seen} examples");
}

#[test]
fn key_examples_apply_the_article_they_illustrate() {
    for (file, country, article, status, buc, sed) in [
        ("georgios-gr-it-12-months.determined.json", "GR", "883/2004 Art 12(1)", "01", "LA_BUC_04", "A009"),
        ("two-state-worker-be-nl.determined.json", "BE", "883/2004 Art 13(1)(a)", "02", "LA_BUC_02", "A003"),
        ("posting-30-months.determined.json", "IT", "883/2004 Art 11(3)(a)", "12", "LA_BUC_05", "A010"),
        ("self-employed-pl-de.determined.json", "PL", "883/2004 Art 12(2)", "03", "LA_BUC_04", "A009"),
        ("mariner-maltese-flag.determined.json", "MT", "883/2004 Art 11(4)", "07", "LA_BUC_05", "A010"),
        ("flight-crew-home-base.determined.json", "DE", "883/2004 Art 11(5)", "10", "LA_BUC_05", "A010"),
        ("civil-servant-embassy.determined.json", "SI", "883/2004 Art 11(3)(b)", "05", "LA_BUC_05", "A010"),
        ("frontier-worker-fr-lu.determined.json", "LU", "883/2004 Art 11(3)(a)", "12", "LA_BUC_05", "A010"),
        ("several-employers-13-1-b-iv.determined.json", "AT", "883/2004 Art 13(1)(b)(iv)", "02", "LA_BUC_02", "A003"),
        ("exception-request-five-years.manual_review.json", "NL", "883/2004 Art 16(1)", "11", "LA_BUC_01", "A001"),
        ("uk-detached-worker.determined.json", "IE", "TCA Art SSC.11(1)", "01", "LA_BUC_04", "A009"),
    ] {
        let text = std::fs::read_to_string(examples_dir().join(file)).unwrap();
        let d = decide(&parse_application(&text).unwrap());
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["legislation_country"], country, "{file}\n{}", explain(&d));
        assert_eq!(json["article"], article, "{file}\n{}", explain(&d));
        assert_eq!(json["status_confirmation"], status, "{file}");
        assert_eq!(json["buc"], buc, "{file}");
        assert_eq!(json["first_sed"], sed, "{file}");
    }
}

#[test]
fn georgios_decision_as_json() {
    let text = std::fs::read_to_string(examples_dir().join("georgios-gr-it-12-months.determined.json")).unwrap();
    let d = decide(&parse_application(&text).unwrap());
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["outcome"], "determined");
    assert_eq!(json["period"], serde_json::json!({"start": "2027-01-04", "end": "2027-12-31", "provisional": false, "review_date": false}));
    assert_eq!(json["institution_country"], "GR");
    assert_eq!(json["other_states"], serde_json::json!(["IT"]));
    let codes: Vec<&str> = json["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    for c in ["R-SCOPE-EU", "R-12-1-DURATION-OK", "R-12-1-ON-BEHALF", "R-12-1-NO-REPLACEMENT", "R-14-2-EMPLOYER-ACTIVE", "R-14-1-PRIOR-INSURANCE-OK", "R-12-GAP-OK"] {
        assert!(codes.contains(&c), "{c} missing from {codes:?}");
    }
    for r in json["reasons"].as_array().unwrap() {
        assert!(!r["article"].as_str().unwrap().is_empty() && !r["text"].as_str().unwrap().is_empty());
    }
}
