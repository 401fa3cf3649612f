//! Activity in one state or in two or more states, without a posting: 883/2004 Art 11(3)(a), the
//! deeming rules for mariners (Art 11(4)) and flight crew (Art 11(5)), and Art 13(1)–(3) with
//! 987/2009 Art 14(5b) (marginal activities), 14(8) (substantial part, 25 %), 14(9)–(11) and Art 16
//! (provisional determination by the residence state).
//!
//! Shares are exact integers (billionths): 25 % counts as substantial, 24.9 % does not; below 5 % by
//! every criterion given is marginal. Where the criteria point different ways, a person decides.

use crate::application::{ActivityKind, Share, percent_text};
use crate::codes::ReasonCode as R;
use crate::decision::{Candidate, Draft, Procedure};
use crate::parse::SUM_TOLERANCE;
use crate::provision::Provision as P;
use crate::scope::list;
use crate::situation::{Criterion, Deemed, Entry, Situation, Window, common_window, review_date};
use esspass_core::{Country, StatusConfirmation};

const WHOLE: u64 = Share::WHOLE as u64;

/// Decide the employed and self-employed activities of `sit` (no posting, no civil service).
pub(crate) fn decide(sit: &Situation<'_>, d: &mut Draft) {
    for act in &sit.acts {
        let a = act.activity;
        if let Some(v) = &a.vessel
            && v.flag.area().is_none() {
                d.at(R::FlagOutside, P::Art11_4, format!(
                    "The vessel flies the flag of {}, outside the participating states: Art 11(4) does not designate a state, and where the person is insured depends on the employer, the residence and bilateral agreements.",
                    v.flag
                ), format!("{}.vessel.flag", act.path()));
                return;
            }
        if let Some(o) = &a.offshore {
            match o.continental_shelf_of {
                None => {
                    d.at(R::OffshoreOutside, P::CjeuSalemink, "The installation stands outside any state's continental shelf: no state is the state of work, so the employer's seat, the residence and any bilateral agreement must be weighed by a person.".into(), format!("{}.offshore", act.path()));
                    return;
                }
                Some(c) if c.area().is_none() => {
                    d.at(R::ScopeThirdStateActivity, P::CjeuSalemink, format!("The installation stands on the continental shelf of {c}, outside the participating states."), format!("{}.offshore.continental_shelf_of", act.path()));
                    return;
                }
                Some(_) => {}
            }
        }
        if let Some(b) = a.home_base
            && b.area().is_none() {
                d.at(R::HomeBaseOutside, P::Art11_5, format!(
                    "The home base is in {b}, outside the participating states: Art 11(5) does not designate a state."
                ), format!("{}.home_base", act.path()));
                return;
            }
    }
    let all: Vec<usize> = (0..sit.acts.len()).collect();
    let entries = sit.entries(&all);
    let states = distinct(entries.iter().map(|e| e.country));
    if let [only] = states.as_slice() {
        single_state(sit, d, &entries, *only, &[]);
        return;
    }
    // Art 13(3): employed and self-employed: the employed activity decides, so the self-employed
    // part needs no shares.
    let kind = |e: &Entry| sit.acts.get(e.act).map(|a| a.kind());
    let employed: Vec<Entry> = entries.iter().copied().filter(|e| kind(e) == Some(ActivityKind::Employed)).collect();
    let has_self = entries.iter().any(|e| kind(e) == Some(ActivityKind::SelfEmployed));
    if !employed.is_empty() && has_self && !shares_complete(&entries) {
        let e_states = distinct(employed.iter().map(|e| e.country));
        let crits = if e_states.len() > 1 {
            match usable_criteria(sit, &employed, false, d) {
                Some(c) => c,
                None => return,
            }
        } else {
            Vec::new()
        };
        art13(sit, d, &entries, &crits);
        return;
    }
    let Some(crits) = usable_criteria(sit, &entries, true, d) else { return };

    // Marginal activities (987/2009 Art 14(5b); Guide Part II §2): below 5 % by every criterion.
    let mut marginal: Vec<Country> = Vec::new();
    let mut unclear = false;
    for &s in &states {
        // s / total < 1/20, exactly in integers
        let below: Vec<bool> = crits.iter().map(|c| state_sum(&entries, s, *c).saturating_mul(20) < total(&entries, *c)).collect();
        if below.iter().all(|b| *b) {
            marginal.push(s);
        } else if below.iter().any(|b| *b) {
            unclear = true;
            d.at(R::MarginalUnclear, P::GuideII2, format!(
                "In {s} the activity amounts to {}: below 5 % by one criterion and not by another, so whether it is marginal needs an assessment of all circumstances.",
                figures(&entries, s, &crits, "remuneration or income")
            ), "$.activities".into());
        }
    }
    if unclear {
        return;
    }
    if marginal.len() == states.len() {
        d.at(R::SharesIncomplete, P::Impl14_8, "Every state's share is below 5 %: the shares cannot describe the whole activity.".into(), "$.activities".into());
        return;
    }
    for &s in &marginal {
        d.say(R::Marginal, P::Impl14_5b, format!(
            "The activity in {s} amounts to {}, below 5 % by every criterion: it is marginal and disregarded in determining the legislation (987/2009 Art 14(5b)).",
            figures(&entries, s, &crits, "remuneration or income")
        ));
    }
    let remaining: Vec<Entry> = entries.iter().copied().filter(|e| !marginal.contains(&e.country)).collect();
    let rest = distinct(remaining.iter().map(|e| e.country));
    match rest.as_slice() {
        [only] => single_state(sit, d, &remaining, *only, &marginal),
        _ => art13(sit, d, &remaining, &crits),
    }
}

/// All (non-marginal) activity in one state: Art 11(3)(a), or the deeming rules 11(4) / 11(5).
fn single_state(sit: &Situation<'_>, d: &mut Draft, entries: &[Entry], country: Country, marginal: &[Country]) {
    let Some(w) = window(sit, d, entries) else { return };
    let all_flag = entries.iter().all(|e| matches!(e.deemed, Deemed::Flag | Deemed::MarinerEmployerResidence));
    let all_base = entries.iter().all(|e| e.deemed == Deemed::HomeBase);
    for e in entries {
        let Some(act) = sit.acts.get(e.act) else { continue };
        match e.deemed {
            Deemed::Flag => d.say(R::FlagState, P::Art11_4, format!(
                "The activity on board a vessel flying the flag of {} is deemed pursued in {}.",
                e.country, e.country
            )),
            Deemed::MarinerEmployerResidence => {
                let flag = act.activity.vessel.as_ref().map(|v| v.flag.to_string()).unwrap_or_default();
                let name = act.activity.employer.as_ref().map(|x| x.name.as_str()).unwrap_or("the employer");
                d.say(R::MarinerEmployerResidence, P::Art11_4Second, format!(
                    "The person works on a vessel flying the flag of {flag} and is paid by {name}, seated in {country}, where the person resides: the legislation of {country} applies, and {name} counts as the employer."
                ));
            }
            Deemed::HomeBase => d.say(R::HomeBase, P::Art11_5, format!(
                "The flight or cabin crew activity is deemed pursued in {}, the state of the home base.",
                e.country
            )),
            Deemed::Shelf => d.say(R::Offshore, P::CjeuSalemink, format!(
                "The work on an installation on the continental shelf of {} counts as work in {}.",
                e.country, e.country
            )),
            Deemed::Actual => {}
        }
    }
    let (provision, status) = if all_flag {
        (P::Art11_4, StatusConfirmation::Mariner)
    } else if all_base {
        (P::Art11_5, StatusConfirmation::FlightCrew)
    } else {
        (P::Art11_3a, StatusConfirmation::WorkingInCompetentStateOnly)
    };
    let residence = sit.residence();
    let text = if marginal.is_empty() {
        format!("All activity is pursued in {country}, so its legislation applies (lex loci laboris).")
    } else {
        format!("Disregarding the marginal activity in {}, all activity is pursued in {country}, so its legislation applies (lex loci laboris).", list(marginal))
    };
    if provision == P::Art11_3a {
        d.say(R::OneState, P::Art11_3a, text);
    }
    let (procedure, provisional, institution) = if marginal.is_empty() {
        (Procedure::Notification, false, country)
    } else {
        // 987/2009 Art 14(5b): the Art 16 procedure applies to every case under Art 14.
        let inst = match residence {
            Some(r) if r.area().is_some() => r,
            _ => country,
        };
        provisional_reason(sit, d, inst);
        (Procedure::MultiState, true, inst)
    };
    set(d, sit, Candidate { country, provision, status, start: w.start, end: w.end, provisional, review_date: false, institution, procedure }, w);
}

/// Art 13(1), (2), (3) on the non-marginal activities.
fn art13(sit: &Situation<'_>, d: &mut Draft, entries: &[Entry], crits: &[Criterion]) {
    // An unknown residence is reported once, by the engine; Art 13 cannot be applied without it.
    let Some(residence) = sit.residence() else { return };
    if residence.area().is_none() {
        d.at(R::ResidenceOutside, P::Art13_1a, format!(
            "The person resides in {residence}, outside the participating states, and works in several of them: Art 13 is built on the state of residence, so a person must assess the case."
        ), "$.person.residence".into());
        return;
    }
    let Some(w) = window(sit, d, entries) else { return };
    let kind = |e: &Entry| sit.acts.get(e.act).map(|a| a.kind());
    let employed: Vec<Entry> = entries.iter().copied().filter(|e| kind(e) == Some(ActivityKind::Employed)).collect();
    let has_self = entries.iter().any(|e| kind(e) == Some(ActivityKind::SelfEmployed));
    let result = if !employed.is_empty() && has_self {
        let e_states = distinct(employed.iter().map(|e| e.country));
        if let [only] = e_states.as_slice() {
            d.say(R::EmployedState, P::Art13_3, format!(
                "The person is employed in {only} and self-employed in another state: the legislation of the state of the employed activity, {only}, applies."
            ));
            Some((*only, P::Art13_3, StatusConfirmation::EmployedAndSelfEmployed))
        } else {
            d.say(R::EmployedState, P::Art13_3, format!(
                "The person is employed in {} and also self-employed: the legislation is determined under Art 13(1) on the employed activity alone.",
                list(&e_states)
            ));
            art13_1(sit, d, residence, &employed, crits).map(|(c, _)| (c, P::Art13_3, StatusConfirmation::EmployedAndSelfEmployed))
        }
    } else if !employed.is_empty() {
        art13_1(sit, d, residence, entries, crits).map(|(c, p)| (c, p, StatusConfirmation::EmployedTwoOrMoreStates))
    } else {
        art13_2(d, entries, residence, crits).map(|(c, p)| (c, p, StatusConfirmation::SelfEmployedTwoOrMoreStates))
    };
    let Some((country, provision, status)) = result else { return };
    provisional_reason(sit, d, residence);
    set(d, sit, Candidate { country, provision, status, start: w.start, end: w.end, provisional: true, review_date: false, institution: residence, procedure: Procedure::MultiState }, w);
}

/// Art 13(1): employed in two or more states. The residence share is measured against the activity
/// that counts: `entries` (marginal activities already disregarded; for Art 13(3), the employed
/// activity alone).
fn art13_1(sit: &Situation<'_>, d: &mut Draft, residence: Country, entries: &[Entry], crits: &[Criterion]) -> Option<(Country, P)> {
    let crits: Vec<Criterion> = crits.iter().copied().filter(|c| matches!(c, Criterion::WorkingTime | Criterion::Remuneration)).collect();
    if crits.is_empty() {
        d.at(R::SharesIncomplete, P::Impl14_8, "For employed activity the substantial part is measured by working time and/or remuneration; neither is given for every state.".into(), "$.activities".into());
        return None;
    }
    let denominator = |c: Criterion| total(entries, c);
    let fig = figures(entries, residence, &crits, "remuneration");
    match substantial(entries, residence, &crits, &denominator) {
        Substantial::Diverges => {
            d.at(R::CriteriaDiverge, P::Impl14_8, format!(
                "In the state of residence {residence} the person pursues {fig}: at least 25 % by one criterion and less by another. Whether this is a substantial part needs an overall assessment."
            ), "$.activities".into());
            return None;
        }
        Substantial::Yes => {
            d.say(R::ResidenceSubstantial, P::Art13_1a, format!(
                "In the state of residence {residence} the person pursues {fig}, at least 25 %: a substantial part of the activity, so the legislation of {residence} applies."
            ));
            return Some((residence, P::Art13_1a));
        }
        Substantial::No => d.say(R::ResidenceNotSubstantial, P::Impl14_8, format!(
            "In the state of residence {residence} the person pursues {fig}, less than 25 %: not a substantial part, so the employers' seats decide (Art 13(1)(b))."
        )),
    }

    // Employers, grouped: the same id is the same employer; without ids, the same name and seat.
    struct Emp<'e> {
        id: Option<&'e str>,
        name: &'e str,
        seat: Country,
    }
    let mut emps: Vec<Emp<'_>> = Vec::new();
    let mut acts: Vec<usize> = entries.iter().map(|e| e.act).collect();
    acts.sort_unstable();
    acts.dedup();
    for i in acts {
        let Some(e) = sit.acts.get(i).and_then(|a| a.activity.effective_employer()) else { continue };
        let id = e.id.as_deref();
        let same = emps.iter().position(|g| match (g.id, id) {
            (Some(a), Some(b)) => a == b,
            _ => g.name == e.name && g.seat == e.seat,
        });
        match same {
            Some(g) if emps.get(g).is_some_and(|g| g.seat != e.seat) => {
                d.at(R::EmployerContradictory, P::Impl14_5, format!(
                    "The employer with id {} is given with different seats; the registered office is where the essential decisions are adopted (987/2009 Art 14(5a)), and only one can be.",
                    id.unwrap_or("")
                ), format!("{}.employer.seat", sit.acts.get(i).map(|a| a.path()).unwrap_or_default()));
                return None;
            }
            Some(_) => {}
            None => emps.push(Emp { id, name: &e.name, seat: e.seat }),
        }
    }
    let seats = distinct(emps.iter().map(|e| e.seat));
    match emps.as_slice() {
        [] => {
            d.missing(P::Art13_1bi, "The employer", "$.activities".into());
            None
        }
        [one] if one.seat.area().is_none() => {
            d.say(R::EmployerOutsideUnion, P::Impl14_11, format!(
                "The only employer, {}, is established in {}, outside the participating states, and the person pursues no substantial activity in the state of residence {residence}: the legislation of {residence} applies.",
                one.name, one.seat
            ));
            Some((residence, P::Impl14_11))
        }
        [one] => {
            d.say(R::EmployerSeat, P::Art13_1bi, format!(
                "The person is employed by one employer, {}, whose registered office or place of business is in {}: the legislation of {} applies.",
                one.name, one.seat, one.seat
            ));
            Some((one.seat, P::Art13_1bi))
        }
        _ if seats.iter().any(|s| s.area().is_none()) => {
            let outside: Vec<Country> = seats.iter().copied().filter(|s| s.area().is_none()).collect();
            d.at(R::EmployerSeatOutside, P::Impl14_11, format!(
                "Of the several employers, at least one is established in {}, outside the participating states; Art 13(1)(b) and 987/2009 Art 14(11) do not settle this combination.",
                list(&outside)
            ), "$.activities".into());
            None
        }
        _ => match seats.as_slice() {
            [one] => {
                d.say(R::EmployersOneSeat, P::Art13_1bii, format!(
                    "The person is employed by {} employers, all seated in {one}: the legislation of {one} applies.",
                    emps.len()
                ));
                Some((*one, P::Art13_1bii))
            }
            [a, b] if *a == residence || *b == residence => {
                let other = if *a == residence { *b } else { *a };
                d.say(R::EmployersSeatOtherThanResidence, P::Art13_1biii, format!(
                    "The person is employed by {} employers seated in {residence} (the state of residence) and {other}: the legislation of {other}, the seat other than the residence, applies.",
                    emps.len()
                ));
                Some((other, P::Art13_1biii))
            }
            _ => {
                let abroad: Vec<Country> = seats.iter().copied().filter(|s| *s != residence).collect();
                d.say(R::EmployersSeveralSeats, P::Art13_1biv, format!(
                    "The person is employed by {} employers, at least two seated in different states other than the residence ({}): the legislation of the state of residence, {residence}, applies.",
                    emps.len(),
                    list(&abroad)
                ));
                Some((residence, P::Art13_1biv))
            }
        },
    }
}

/// Art 13(2): self-employed in two or more states.
fn art13_2(d: &mut Draft, entries: &[Entry], residence: Country, crits: &[Criterion]) -> Option<(Country, P)> {
    let fig = figures(entries, residence, crits, "income");
    match substantial(entries, residence, crits, &|c| total(entries, c)) {
        Substantial::Yes => {
            d.say(R::SelfEmployedResidence, P::Art13_2a, format!(
                "In the state of residence {residence} the person pursues {fig}, at least 25 %: a substantial part of the self-employed activity, so the legislation of {residence} applies."
            ));
            Some((residence, P::Art13_2a))
        }
        Substantial::Diverges => {
            d.at(R::CriteriaDiverge, P::Impl14_8, format!(
                "In the state of residence {residence} the person pursues {fig}: at least 25 % by one criterion and less by another. Whether this is a substantial part needs an overall assessment."
            ), "$.activities".into());
            None
        }
        Substantial::No => {
            d.at(R::CentreOfInterest, P::Impl14_9, format!(
                "In the state of residence {residence} the person pursues {fig}, less than 25 %. The legislation of the state where the centre of interest of the activities lies applies (Art 13(2)(b)); it is found from the fixed place of business, the habitual nature and duration of the activities, the number of services and the person's intention, an overall assessment for a person."
            ), "$.activities".into());
            None
        }
    }
}

enum Substantial {
    Yes,
    No,
    Diverges,
}

fn substantial(entries: &[Entry], state: Country, crits: &[Criterion], denominator: &dyn Fn(Criterion) -> u64) -> Substantial {
    let at_least: Vec<bool> = crits
        .iter()
        .map(|c| {
            let s = state_sum(entries, state, *c);
            let total = denominator(*c);
            // s / total >= 1/4, exactly in integers (with total = 1: s >= 250 000 000)
            total > 0 && s.saturating_mul(4) >= total
        })
        .collect();
    if at_least.iter().all(|b| *b) {
        Substantial::Yes
    } else if at_least.iter().any(|b| *b) {
        Substantial::Diverges
    } else {
        Substantial::No
    }
}

/// Whether some criterion is given for every entry and none for only some.
fn shares_complete(entries: &[Entry]) -> bool {
    let mut any_full = false;
    for c in Criterion::ALL {
        let given = entries.iter().filter(|e| e.share(c).is_some()).count();
        if given == entries.len() {
            any_full = true;
        } else if given > 0 {
            return false;
        }
    }
    any_full
}

/// Criteria given for every entry; `None` (reasons pushed) when the shares cannot be used.
/// `whole`: the entries are the person's whole activity, so each criterion must add up to 100 %
/// (not so for the employed part alone under Art 13(3)).
fn usable_criteria(sit: &Situation<'_>, entries: &[Entry], whole: bool, d: &mut Draft) -> Option<Vec<Criterion>> {
    let mut usable = Vec::with_capacity(3);
    let mut gap = false;
    for c in Criterion::ALL {
        let given = entries.iter().filter(|e| e.share(c).is_some()).count();
        if given == entries.len() {
            usable.push(c);
        } else if given > 0 {
            gap = true;
            if let Some(e) = entries.iter().find(|e| e.share(c).is_none()) {
                let path = sit.acts.get(e.act).map(|a| format!("{}.states", a.path())).unwrap_or_default();
                d.at(R::SharesIncomplete, P::Impl14_8, format!(
                    "The {} share is given for some states but not for {}; give it for every state or for none.",
                    c.label(),
                    e.country
                ), path);
            }
        }
    }
    if gap {
        return None;
    }
    if usable.is_empty() {
        d.at(R::SharesIncomplete, P::Impl14_8, format!(
            "The activity is pursued in {}, but no share of working time, remuneration or turnover is given: the substantial part (987/2009 Art 14(8)) cannot be measured.",
            list(&distinct(entries.iter().map(|e| e.country)))
        ), "$.activities".into());
        return None;
    }
    let mut short = false;
    for &c in &usable {
        let total: u64 = entries.iter().filter_map(|e| e.share(c)).sum();
        if whole && total + SUM_TOLERANCE < WHOLE {
            short = true;
            d.at(R::SharesIncomplete, P::Impl14_8, format!(
                "The {} shares add up to {} %, not 100 %: part of the activity is not accounted for.",
                c.label(),
                percent_text(total)
            ), "$.activities".into());
        }
    }
    (!short).then_some(usable)
}

fn window(sit: &Situation<'_>, d: &mut Draft, entries: &[Entry]) -> Option<Window> {
    let mut acts: Vec<usize> = entries.iter().map(|e| e.act).collect();
    acts.sort_unstable();
    acts.dedup();
    let spans = acts.iter().filter_map(|i| sit.acts.get(*i)).map(|a| &a.activity.period);
    let w = common_window(spans);
    if w.is_none() {
        d.at(R::NotConcurrent, P::Impl14_5, "The activities are not pursued at the same time, so the person does not work in two or more states simultaneously or alternately; each period needs its own determination.".into(), "$.activities".into());
    }
    w
}

/// Record the candidate with its period (review date when open-ended).
pub(crate) fn set(d: &mut Draft, _sit: &Situation<'_>, mut c: Candidate, w: Window) {
    if w.partial {
        d.say(R::PeriodPartial, P::Impl14_5, format!(
            "Not all the activities run over the same time: the determination covers {} to {}, when they are pursued together; other periods need their own determination.",
            w.start,
            w.end.map(|e| e.to_string()).unwrap_or_else(|| "open end".into())
        ));
    }
    if c.end.is_none() {
        c.end = review_date(c.start);
        c.review_date = true;
        if let Some(end) = c.end {
            d.say(R::PeriodReviewDate, P::Impl19_2, format!(
                "The activity has no end date: the period ends on the review date {end}, five years after the start, when the institution reviews the situation."
            ));
        }
    }
    d.candidate = Some(c);
}

/// 987/2009 Art 16: the residence state's institution determines provisionally.
pub(crate) fn provisional_reason(sit: &Situation<'_>, d: &mut Draft, institution: Country) {
    let by = sit.app.decision_date.add_months(2).map(|x| x.to_string()).unwrap_or_default();
    d.say(R::Provisional, P::Impl16, format!(
        "The institution of {institution} determines the legislation provisionally and informs the other institutions (LA_BUC_02, SED A003); the determination becomes definitive two months after they are informed unless one of them contests it (by {by} if informed on the decision date)."
    ));
}

fn total(entries: &[Entry], c: Criterion) -> u64 {
    entries.iter().filter_map(|e| e.share(c)).sum()
}

fn state_sum(entries: &[Entry], state: Country, c: Criterion) -> u64 {
    entries.iter().filter(|e| e.country == state).filter_map(|e| e.share(c)).sum()
}

/// `30 % of working time and 28 % of remuneration or income`.
/// The share of `state` in the activity counted, per criterion, for sentences.
fn figures(entries: &[Entry], state: Country, crits: &[Criterion], pay: &str) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(crits.len());
    for &c in crits {
        let s = state_sum(entries, state, c);
        let pct = s.saturating_mul(WHOLE).checked_div(total(entries, c)).unwrap_or(0);
        let label = if c == Criterion::Remuneration { pay } else { c.label() };
        parts.push(format!("{} % of {label}", percent_text(pct)));
    }
    let n = parts.len();
    let mut out = String::new();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == n { " and " } else { ", " });
        }
        out.push_str(&p);
    }
    out
}

fn distinct(it: impl Iterator<Item = Country>) -> Vec<Country> {
    let mut v: Vec<Country> = it.collect();
    v.sort();
    v.dedup();
    v
}
