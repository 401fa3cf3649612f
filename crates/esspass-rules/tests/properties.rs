#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Property tests.
//!
//! - An independent oracle: the conditions of each article, written here again from the
//!   Regulations and DOMAIN §3 without the engine's code (own calendar arithmetic, own share sums),
//!   checked against every `determined` decision and every reason marked `met`: a decision never
//!   cites an article whose conditions the input contradicts.
//! - The same input always gives the same decision.
//! - Permuting the activities changes nothing (paths aside, which follow the activities).
//! - Parsing never panics, and what the engine reads it can write back.

#[path = "properties/generate.rs"]
mod generate;
#[path = "properties/oracle.rs"]
mod oracle;

use esspass_core::{Area, Date};
use esspass_rules::{Application, Decision, Effect, Outcome, Share, decide, parse_application};
use generate::{application, json_value, mutate};
use oracle::{article_conditions_hold, met_reasons_hold, minus_day, plus_months};
use proptest::prelude::*;

// ------------------------------------------------------------------ helpers

/// The application as the parser would read it (so generated inputs obey the parser's rules).
fn reparse(app: &Application) -> Option<Application> {
    parse_application(&serde_json::to_string(app).ok()?).ok()
}

/// Rewrite `$.activities[k]` paths through `perm` (new position → old position).
fn remap_paths(d: &Decision, perm: &[usize]) -> Decision {
    let mut d = d.clone();
    for r in &mut d.reasons {
        if let Some(p) = &r.path
            && let Some(rest) = p.strip_prefix("$.activities[")
                && let Some((num, tail)) = rest.split_once(']')
                    && let Ok(k) = num.parse::<usize>() {
                        r.path = Some(format!("$.activities[{}]{tail}", perm[k]));
                    }
    }
    d
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn decisions_never_cite_an_article_the_input_contradicts(app in application()) {
        let Some(app) = reparse(&app) else { return Ok(()) };
        let d = decide(&app);
        if d.outcome == Outcome::Determined {
            if let Err(e) = article_conditions_hold(&app, &d) {
                prop_assert!(false, "{e}\n{}\n{}", serde_json::to_string_pretty(&app).unwrap(), esspass_rules::explain(&d));
            }
            prop_assert!(d.reasons.iter().all(|r| matches!(r.effect, Effect::Met | Effect::Info)), "determined with a review reason");
        }
        if let Err(e) = met_reasons_hold(&app, &d) {
            prop_assert!(false, "{e}\n{}\n{}", serde_json::to_string_pretty(&app).unwrap(), esspass_rules::explain(&d));
        }
        if d.outcome == Outcome::ManualReview {
            prop_assert!(d.review_reasons().next().is_some(), "manual review without a reason that says why");
        }
        if d.outcome == Outcome::NotApplicable {
            prop_assert!(d.reasons.iter().any(|r| r.effect == Effect::Excluded));
            prop_assert!(d.legislation_country.is_none() && d.article.is_none());
        }
        prop_assert!(d.reasons.iter().all(|r| !r.article.is_empty() && !r.text.is_empty()));
    }

    #[test]
    fn the_same_input_gives_the_same_decision(app in application()) {
        let a = decide(&app);
        let b = decide(&app.clone());
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    }

    #[test]
    fn the_order_of_activities_changes_nothing(app in application(), seed in any::<u64>()) {
        let n = app.activities.len();
        let mut perm: Vec<usize> = (0..n).collect();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (s >> 33) as usize % (i + 1));
        }
        let mut permuted = app.clone();
        permuted.activities = perm.iter().map(|&i| app.activities[i].clone()).collect();
        let original = decide(&app);
        let shuffled = remap_paths(&decide(&permuted), &perm);
        prop_assert_eq!(original, shuffled);
    }

    #[test]
    fn what_parses_writes_back_the_same(app in application()) {
        if let Some(parsed) = reparse(&app) {
            let again = parse_application(&serde_json::to_string(&parsed).unwrap()).unwrap();
            prop_assert_eq!(parsed, again);
        }
    }

    #[test]
    fn parsing_never_panics_on_text(s in "\\PC{0,200}") {
        let _ = parse_application(&s);
    }

    #[test]
    fn parsing_never_panics_on_mutated_applications(app in application(), pick in any::<usize>(), new in json_value()) {
        let mut v = serde_json::to_value(&app).unwrap();
        mutate(&mut v, pick, new);
        match parse_application(&v.to_string()) {
            Ok(parsed) => { let _ = decide(&parsed); }
            Err(problems) => {
                prop_assert!(!problems.0.is_empty());
                for p in &problems.0 {
                    prop_assert!(p.path.starts_with('$'), "{}", p.path);
                    let code = p.code.code();
                    prop_assert!(code.starts_with("ESP-6") || ["ESP-1004", "ESP-1006", "ESP-1007"].contains(&code), "{code} at {}", p.path);
                }
            }
        }
    }

    #[test]
    fn decide_is_total_even_on_unvalidated_applications(app in application(), flip in any::<u8>()) {
        // Applications built in code bypass the parser: reversed periods, shares over one, missing employers.
        let mut app = app;
        if let Some(a) = app.activities.first_mut() {
            if flip % 2 == 0 { a.employer = None; }
            if flip % 3 == 0 { a.period.end = a.period.start.add_days(-30); }
            if flip % 5 == 0 { for s in &mut a.states { s.working_time_share = Share::from_billionths(1_000_000_000); } }
        }
        let _ = decide(&app);
    }
}

#[test]
fn oracle_calendar_agrees_with_domain_examples() {
    let d = |s: &str| Date::parse(s).unwrap();
    assert_eq!(minus_day(plus_months(d("2027-01-04"), 24)), d("2029-01-03"));
    assert_eq!(minus_day(plus_months(d("2028-02-29"), 24)), d("2030-02-27"));
    assert_eq!(minus_day(plus_months(d("2027-01-31"), 24)), d("2029-01-30"));
    assert_eq!(plus_months(d("2026-11-05"), 2), d("2027-01-05"));
    let _ = Area::Eu;
}

/// The generator reaches the articles the oracle checks (a property over nothing proves nothing).
#[test]
fn the_generator_reaches_many_articles() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha));
    let strategy = application();
    let mut parsed = 0usize;
    let mut by_outcome: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut determined: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let n = 4000;
    for _ in 0..n {
        let app = strategy.new_tree(&mut runner).unwrap().current();
        let Some(app) = reparse(&app) else { continue };
        parsed += 1;
        let d = decide(&app);
        *by_outcome.entry(d.outcome.name()).or_default() += 1;
        if d.outcome == Outcome::Determined {
            *determined.entry(d.article.unwrap_or("")).or_default() += 1;
            if let Err(e) = article_conditions_hold(&app, &d) {
                panic!("{e}\n{}\n{}", serde_json::to_string_pretty(&app).unwrap(), esspass_rules::explain(&d));
            }
        }
    }
    println!("generated {n}, parsed {parsed}, outcomes {by_outcome:?}\ndetermined by article {determined:#?}");
    assert!(parsed * 2 > n, "most generated applications must parse");
    assert!(determined.len() >= 12, "the generator reaches only {} determined articles", determined.len());
}
