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
//! - A true, consistent fact added never turns a determined case into review (nor changes its
//!   legislation); a determined decision names only states the application involves.

#[path = "properties/generate.rs"]
mod generate;
#[path = "properties/oracle.rs"]
mod oracle;

use esspass_core::{Area, Date};
use esspass_rules::{Application, Decision, Effect, Outcome, Share, Span, decide, parse_application};
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

/// Every state the application names: where the person lives and works (flags, bases, shelves), the
/// administrations, sending states, employers' seats, the states asked for or opted for.
fn named_states(app: &Application) -> Vec<esspass_core::Country> {
    let mut v: Vec<esspass_core::Country> = app.person.residence.into_iter().collect();
    for a in &app.activities {
        v.extend(a.states.iter().map(|s| s.country));
        v.extend(a.vessel.as_ref().map(|x| x.flag));
        v.extend(a.home_base);
        v.extend(a.offshore.as_ref().and_then(|o| o.continental_shelf_of));
        v.extend(a.administration);
        v.extend(a.posting.as_ref().map(|p| p.sending_state));
        v.extend(a.employer.iter().chain(a.real_employer.iter()).map(|e| e.seat));
        v.extend(a.contract_staff_option.as_ref().map(|o| o.country));
    }
    v.extend(app.exception_request.as_ref().map(|r| r.legislation_country));
    v
}

/// True facts that are consistent with the application and are no reason for doubt: stating them
/// must leave a determined decision determined, with the same legislation. Each returns `None` when
/// it does not fit the application.
fn consistent_additions(app: &Application, d: &Decision) -> Vec<(&'static str, Application)> {
    let mut out = Vec::new();
    let mut with = |name: &'static str, f: &dyn Fn(&mut Application) -> bool| {
        let mut a = app.clone();
        if f(&mut a) {
            out.push((name, a));
        }
    };
    with("a reference", &|a| {
        a.reference = Some("REF-1".into());
        true
    });
    with("neither hired out nor under contract with the host", &|a| {
        match a.activities.as_mut_slice() {
            [one] if one.kind == esspass_rules::ActivityKind::Employed => match one.posting.as_mut() {
                Some(p) if p.on_behalf_of_employer == Some(true) && p.hired_out_to_third_undertaking.is_none() && p.contract_with_host_undertaking.is_none() => {
                    p.hired_out_to_third_undertaking = Some(false);
                    p.contract_with_host_undertaking = Some(false);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    });
    with("not a permanent assignment (an end is given)", &|a| match a.activities.as_mut_slice() {
        [one] if one.period.end.is_some() => match one.posting.as_mut() {
            Some(p) if p.permanent_assignment.is_none() => {
                p.permanent_assignment = Some(false);
                true
            }
            _ => false,
        },
        _ => false,
    });
    with("the formal employer is the real employer", &|a| {
        let mut changed = false;
        for act in &mut a.activities {
            if act.real_employer.is_none() && act.vessel.is_none() && let Some(e) = act.employer.clone() {
                act.real_employer = Some(e);
                changed = true;
            }
        }
        changed
    });
    with("not posted (no posting given)", &|a| {
        let mut changed = false;
        for act in &mut a.activities {
            if act.posting.is_none() && act.posted.is_none() && act.kind == esspass_rules::ActivityKind::Employed {
                act.posted = Some(false);
                changed = true;
            }
        }
        changed
    });
    if let (Some(c), Some(p)) = (d.legislation_country, d.period)
        && app.exception_request.is_none() && !p.review_date {
        with("an exception asked for what the rules give", &|a| {
            a.exception_request = Some(esspass_rules::ExceptionRequest { legislation_country: c, period: Span { start: p.start, end: p.end }, grounds: None, framework: None });
            true
        });
    }
    out
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
            prop_assert!(d.reasons.iter().all(|r| matches!(r.effect, Effect::Met | Effect::Info | Effect::NotMet)), "determined with a review reason");
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

    /// Giving the engine more true facts never makes it less able to decide: a determined case stays
    /// determined, with the same legislation, when a true, consistent fact that is no reason for
    /// doubt is added.
    #[test]
    fn a_true_consistent_fact_never_turns_a_determined_case_into_review(app in application()) {
        let Some(app) = reparse(&app) else { return Ok(()) };
        let d = decide(&app);
        if d.outcome != Outcome::Determined {
            return Ok(());
        }
        for (what, more) in consistent_additions(&app, &d) {
            let Some(more) = reparse(&more) else { prop_assert!(false, "adding {what} made the application invalid"); continue };
            let e = decide(&more);
            prop_assert_eq!(e.outcome, Outcome::Determined, "adding {} turned a determined case into {}:\n{}", what, e.outcome.name(), esspass_rules::explain(&e));
            prop_assert_eq!(e.legislation_country, d.legislation_country, "adding {} changed the legislation", what);
        }
    }

    /// A determined decision names only states the application involves, and tells every one of
    /// them but its own institution's.
    #[test]
    fn a_determined_outcome_names_only_involved_states(app in application()) {
        let Some(app) = reparse(&app) else { return Ok(()) };
        let d = decide(&app);
        if d.outcome != Outcome::Determined {
            return Ok(());
        }
        let named = named_states(&app);
        let leg = d.legislation_country.unwrap();
        prop_assert!(named.contains(&leg), "legislation of {} which the application does not name", leg);
        prop_assert!(d.institution_country.is_some_and(|c| named.contains(&c)));
        for c in &d.states_concerned {
            prop_assert!(named.contains(c), "{} is concerned but not named", c);
        }
        prop_assert!(d.states_concerned.contains(&leg));
        let inst = d.institution_country.unwrap();
        let others: Vec<_> = d.states_concerned.iter().copied().filter(|c| *c != inst).collect();
        prop_assert_eq!(&d.other_states, &others);
        prop_assert_eq!(d.allowed.len(), 1);
        prop_assert_eq!(d.allowed[0].legislation_country, leg);
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
