//! The oracle: each article's conditions written again from the Regulations and DOMAIN §3, from the
//! application alone — own calendar arithmetic, own share sums, nothing from the engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_core::{Country, Date};
use esspass_rules::{Activity, ActivityKind, Application, Decision, Effect, Employer, InsurancePeriod, Posting, StateShare};

/// Calendar arithmetic written again, on (year, month, day), for the oracle.
pub fn ymd(d: Date) -> (i32, u32, u32) {
    (d.year(), u32::from(d.month()), u32::from(d.day()))
}

pub fn days_in(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

pub fn plus_months(d: Date, n: i32) -> Date {
    let (y, m, dd) = ymd(d);
    let idx = y * 12 + (m as i32 - 1) + n;
    let (ny, nm) = (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32);
    let nd = dd.min(days_in(ny, nm));
    Date::parse(&format!("{ny:04}-{nm:02}-{nd:02}")).unwrap()
}

pub fn minus_day(d: Date) -> Date {
    d.add_days(-1).unwrap()
}

pub fn participating(c: Country) -> bool {
    c.area().is_some()
}

pub const W: u64 = 1_000_000_000;

/// Person-total shares per state and criterion; `None` where any entry lacks the criterion. An
/// activity on a vessel or as flight crew counts wholly in its deemed state.
pub fn state_share(app: &Application, state: Country, crit: usize, kinds: &[ActivityKind], skip_marginal: bool) -> Option<(u64, u64)> {
    let pick = |e: &StateShare| match crit {
        0 => e.working_time_share,
        1 => e.remuneration_share,
        _ => e.turnover_share,
    };
    let mut s = 0u64;
    let mut t = 0u64;
    for a in app.activities.iter().filter(|a| kinds.contains(&a.kind)) {
        let deemed = counted_states(app, a);
        if a.vessel.is_some() || a.home_base.is_some() {
            if a.states.is_empty() {
                return None;
            }
            let mut v = 0u64;
            for e in &a.states {
                v += u64::from(pick(e)?.billionths());
            }
            if skip_marginal && deemed.first().is_some_and(|c| marginal(app, *c)) {
                continue;
            }
            t += v;
            if deemed.first() == Some(&state) {
                s += v;
            }
        } else {
            for e in &a.states {
                let v = u64::from(pick(e)?.billionths());
                if skip_marginal && marginal(app, e.country) {
                    continue;
                }
                t += v;
                if e.country == state {
                    s += v;
                }
            }
        }
    }
    Some((s, t))
}

/// The criteria of 987/2009 Art 14(8) that are given everywhere, with (state, total) sums.
/// Marginal activities disregarded: the shares are measured against the activity that counts.
pub fn given(app: &Application, state: Country, crits: &[usize], kinds: &[ActivityKind]) -> Vec<(u64, u64)> {
    crits.iter().filter_map(|c| state_share(app, state, *c, kinds, true)).collect()
}

pub fn employer_key(e: &Employer) -> String {
    match &e.id {
        Some(id) => format!("id:{id}"),
        None => format!("name:{}:{}", e.name, e.seat),
    }
}

/// Is the share of `state` substantial (≥ 25 %) for every criterion given? `Some(false)` if below
/// for every criterion given; `None` if mixed or none given.
pub fn substantial(v: &[(u64, u64)]) -> Option<bool> {
    if v.is_empty() {
        return None;
    }
    let at_least: Vec<bool> = v.iter().map(|(s, t)| *t > 0 && 4 * s >= *t).collect();
    if at_least.iter().all(|b| *b) {
        Some(true)
    } else if at_least.iter().all(|b| !*b) {
        Some(false)
    } else {
        None
    }
}

/// States an activity counts in (deemed for vessels and flight crew).
pub fn counted_states(app: &Application, a: &Activity) -> Vec<Country> {
    if let Some(v) = &a.vessel {
        let seat = a.effective_employer().map(|e| e.seat);
        return match seat {
            Some(s) if a.kind == ActivityKind::Employed && s.area().is_some() && s != v.flag && Some(s) == app.person.residence => vec![s],
            _ => vec![v.flag],
        };
    }
    if let Some(b) = a.home_base {
        return vec![b];
    }
    if let Some(o) = &a.offshore {
        return o.continental_shelf_of.into_iter().collect();
    }
    a.states.iter().map(|s| s.country).collect()
}

/// A state whose every given share is below 5 % (marginal, 987/2009 Art 14(5b)).
pub fn marginal(app: &Application, state: Country) -> bool {
    let all = [ActivityKind::Employed, ActivityKind::SelfEmployed];
    let v: Vec<(u64, u64)> = [0, 1, 2].iter().filter_map(|c| state_share(app, state, *c, &all, false)).collect();
    !v.is_empty() && v.iter().all(|(s, t)| 20 * s < *t)
}

/// Check a posting's conditions (Art 12(1) when `employed`, else Art 12(2)).
pub fn posting_conditions_hold(app: &Application, employed: bool, legislation: Country) -> Result<(), String> {
    let [a] = app.activities.as_slice() else { return Err("a posting decision needs exactly one activity".into()) };
    let p = a.posting.as_ref().ok_or("no posting facts")?;
    let [host] = a.states.as_slice() else { return Err("a posting has exactly one host state".into()) };
    let host = host.country;
    if p.sending_state != legislation || host == p.sending_state {
        return Err(format!("sending {} host {host} legislation {legislation}", p.sending_state));
    }
    if employed != (a.kind == ActivityKind::Employed) {
        return Err("wrong paragraph for the kind".into());
    }
    let end = a.period.end.ok_or("no anticipated end")?;
    if end > minus_day(plus_months(a.period.start, 24)) {
        return Err(format!("{end} is beyond 24 months from {}", a.period.start));
    }
    if employed {
        let e = a.employer.as_ref().ok_or("no employer")?;
        if e.seat != p.sending_state || p.replaces_posted_person != Some(false) || p.on_behalf_of_employer != Some(true) {
            return Err("seat, replacement or on-behalf condition fails".into());
        }
        let sa = e.substantial_activity.as_ref().ok_or("no indicators")?;
        let ok = sa.turnover_share.is_some_and(|t| 4 * u64::from(t.billionths()) >= W)
            && sa.administrative_staff_share.is_some_and(|t| 2 * u64::from(t.billionths()) <= W)
            && sa.contracts_share.is_some_and(|t| 2 * u64::from(t.billionths()) >= W)
            && sa.recruitment_mainly_abroad == Some(false)
            && sa.internal_management_only == Some(false);
        if !ok {
            return Err("a substantial-activity indicator fires or is missing".into());
        }
    } else {
        let since = p.self_employed_since.ok_or("no self_employed_since")?;
        if since > plus_months(a.period.start, -2) || p.similar_activity != Some(true) || p.maintains_business_in_sending_state != Some(true) {
            return Err("self-employed conditions fail".into());
        }
    }
    if employed || p.prior_insurance.is_some() {
        prior_insurance_holds(p, a.period.start)?;
    }
    if employed || p.previous_postings.is_some() {
        gap_holds(p, host, a.period.start)?;
    }
    Ok(())
}

/// A posting condition that fails beyond doubt (Art 12 with 987/2009 Art 14, Decision A2): the
/// posting rule cannot apply, whatever else is open.
pub fn posting_clearly_fails(app: &Application) -> bool {
    let [a] = app.activities.as_slice() else { return false };
    let Some(p) = &a.posting else { return false };
    let from = p.extends.as_ref().map_or(a.period.start, |x| x.start.min(a.period.start));
    let too_long = a.period.end.is_some_and(|e| e > minus_day(plus_months(from, 24)));
    let permanent = a.period.end.is_none() && p.permanent_assignment == Some(true);
    let employed = a.kind == ActivityKind::Employed;
    let e = a.real_employer.as_ref().or(a.employer.as_ref());
    let host = a.states.first().map(|s| s.country);
    let day_before = a.period.start.add_days(-1);
    let other_before = (employed || p.prior_insurance.is_some())
        && p.prior_insurance.as_ref().is_some_and(|l| {
            let covers = |ip: &InsurancePeriod| day_before.is_some_and(|d| ip.start <= d && ip.end.is_none_or(|x| x >= d));
            !l.iter().any(|ip| ip.country == p.sending_state && covers(ip)) && l.iter().any(|ip| ip.country != p.sending_state && covers(ip))
        });
    let employed_fails = employed
        && (p.replaces_posted_person == Some(true)
            || p.on_behalf_of_employer == Some(false)
            || p.hired_out_to_third_undertaking == Some(true)
            || p.contract_with_host_undertaking == Some(true)
            || (a.real_employer.is_some() && a.real_employer.as_ref().map(|r| r.seat) == host)
            || e.is_some_and(|e| e.substantial_activity.as_ref().is_some_and(|s| s.internal_management_only == Some(true)))
            || e.is_some_and(|e| e.temporary_work_agency && e.agency_placements_in_seat_state == Some(false)));
    let self_fails = !employed && (p.similar_activity == Some(false) || p.maintains_business_in_sending_state == Some(false));
    too_long || permanent || other_before || employed_fails || self_fails
}

pub fn prior_insurance_holds(p: &Posting, start: Date) -> Result<(), String> {
    let list = p.prior_insurance.as_ref().ok_or("no prior insurance")?;
    let mut d = plus_months(start, -1);
    while d < start {
        let covered = list.iter().any(|ip| ip.country == p.sending_state && ip.start <= d && ip.end.is_none_or(|e| e >= d));
        if !covered {
            return Err(format!("not insured in {} on {d}", p.sending_state));
        }
        d = d.add_days(1).unwrap();
    }
    Ok(())
}

pub fn gap_holds(p: &Posting, host: Country, start: Date) -> Result<(), String> {
    let list = p.previous_postings.as_ref().ok_or("previous postings unknown")?;
    for prev in list.iter().filter(|x| x.host_state == host) {
        if prev.end >= start || start < plus_months(prev.end.add_days(1).unwrap(), 2) {
            return Err(format!("previous posting to {host} ending {} too close to {start}", prev.end));
        }
    }
    Ok(())
}

/// The oracle for a determined decision: the article's conditions, from the input alone.
pub fn article_conditions_hold(app: &Application, d: &Decision) -> Result<(), String> {
    use ActivityKind::*;
    let article = d.article.ok_or("determined without article")?;
    let leg = d.legislation_country.ok_or("determined without legislation")?;
    let period = d.period.ok_or("determined without period")?;
    if period.end.is_none() {
        return Err("determined without period end".into());
    }
    if !participating(leg) {
        return Err(format!("legislation of a non-participating state {leg}"));
    }
    let res = app.person.residence.ok_or("determined without a known residence")?;
    // Kinds of the activities that count: those with at least one non-marginal state.
    let kinds = |k: ActivityKind| {
        app.activities.iter().any(|a| a.kind == k && (!matches!(k, Employed | SelfEmployed) || counted_states(app, a).iter().any(|c| !marginal(app, *c))))
    };
    let non_marginal: Vec<Country> = {
        let mut v: Vec<Country> = app.activities.iter().flat_map(|a| counted_states(app, a)).filter(|c| !marginal(app, *c)).collect();
        v.sort();
        v.dedup();
        v
    };
    let no_posting = app.activities.iter().all(|a| a.posting.is_none());
    match article {
        "883/2004 Art 12(1)" | "TCA Art SSC.11(1)" => posting_conditions_hold(app, true, leg),
        "883/2004 Art 12(2)" | "TCA Art SSC.11(2)" => posting_conditions_hold(app, false, leg),
        "883/2004 Art 11(3)(a)" | "TCA Art SSC.10(3)(a)" => {
            let posting_ok = no_posting || posting_clearly_fails(app);
            if posting_ok && !kinds(CivilServant) && !kinds(EuContractStaff) && non_marginal == [leg] { Ok(()) } else { Err(format!("work not in {leg} alone (or a posting that does not clearly fail): {non_marginal:?}")) }
        }
        "883/2004 Art 11(3)(b)" => {
            let admins: Vec<Option<Country>> = app.activities.iter().filter(|a| a.kind == CivilServant).map(|a| a.administration).collect();
            let others_elsewhere = app.activities.iter().filter(|a| a.kind != CivilServant).flat_map(|a| counted_states(app, a)).any(|c| c != leg);
            if !admins.is_empty() && admins.iter().all(|x| *x == Some(leg)) && !others_elsewhere { Ok(()) } else { Err("not a civil servant of that state alone".into()) }
        }
        "883/2004 Art 11(4)" => {
            let counts = |a: &&Activity| counted_states(app, a).iter().any(|c| !marginal(app, *c));
            let ok = app.activities.iter().filter(counts).all(|a| a.vessel.is_some() && counted_states(app, a) == [leg]);
            if ok && no_posting { Ok(()) } else { Err("not a mariner attached to that state".into()) }
        }
        "883/2004 Art 11(5)" => {
            let counts = |a: &&Activity| counted_states(app, a).iter().any(|c| !marginal(app, *c));
            if no_posting && app.activities.iter().filter(counts).all(|a| a.home_base == Some(leg)) { Ok(()) } else { Err("home base elsewhere".into()) }
        }
        "883/2004 Art 13(1)(a)" => {
            let v = given(app, res, &[0, 1], &[Employed]);
            if leg == res && kinds(Employed) && !kinds(SelfEmployed) && non_marginal.len() >= 2 && substantial(&v) == Some(true) {
                Ok(())
            } else {
                Err(format!("residence share not substantial: {v:?}"))
            }
        }
        "883/2004 Art 13(1)(b)(i)" | "883/2004 Art 13(1)(b)(ii)" | "883/2004 Art 13(1)(b)(iii)" | "883/2004 Art 13(1)(b)(iv)" | "987/2009 Art 14(11)" => {
            let v = given(app, res, &[0, 1], &[Employed]);
            if kinds(SelfEmployed) || substantial(&v) != Some(false) || non_marginal.len() < 2 {
                return Err(format!("residence share {v:?} is not clearly below 25 %"));
            }
            let mut emps: Vec<(String, Country)> = app
                .activities
                .iter()
                .filter(|a| a.kind == Employed && counted_states(app, a).iter().any(|c| !marginal(app, *c)))
                .filter_map(|a| a.effective_employer())
                .map(|e| (employer_key(e), e.seat))
                .collect();
            emps.sort();
            emps.dedup();
            let mut seats: Vec<Country> = emps.iter().map(|e| e.1).collect();
            seats.sort();
            seats.dedup();
            let ok = match article {
                "883/2004 Art 13(1)(b)(i)" => seats == [leg] && participating(leg),
                "987/2009 Art 14(11)" => seats.len() == 1 && !participating(seats[0]) && leg == res,
                "883/2004 Art 13(1)(b)(ii)" => seats == [leg],
                "883/2004 Art 13(1)(b)(iii)" => seats.len() == 2 && seats.contains(&res) && seats.contains(&leg) && leg != res,
                _ => leg == res && seats.iter().filter(|s| **s != res).count() >= 2,
            };
            if ok { Ok(()) } else { Err(format!("seats {seats:?} do not give {leg} under {article}")) }
        }
        "883/2004 Art 13(2)(a)" => {
            let v = given(app, res, &[0, 1, 2], &[SelfEmployed]);
            if leg == res && !kinds(Employed) && kinds(SelfEmployed) && substantial(&v) == Some(true) { Ok(()) } else { Err(format!("self-employed residence share {v:?}")) }
        }
        "883/2004 Art 13(3)" => {
            // Employed in one state: that state. Employed in several: paragraph 1 on the employed
            // activity, which designates the residence or an employer's seat.
            let mut employed_states: Vec<Country> =
                app.activities.iter().filter(|a| a.kind == Employed).flat_map(|a| counted_states(app, a)).filter(|c| !marginal(app, *c)).collect();
            employed_states.sort();
            employed_states.dedup();
            let seats: Vec<Country> = app.activities.iter().filter(|a| a.kind == Employed).filter_map(|a| a.effective_employer()).map(|e| e.seat).collect();
            let ok = match employed_states.as_slice() {
                [one] => *one == leg,
                [] => false,
                _ => leg == res || seats.contains(&leg),
            };
            if kinds(Employed) && kinds(SelfEmployed) && ok { Ok(()) } else { Err(format!("employed in {employed_states:?}, seats {seats:?}: {leg} is not designated")) }
        }
        "883/2004 Art 13(4)" => {
            let civil_here = app.activities.iter().any(|a| a.kind == CivilServant && a.administration == Some(leg));
            let other_elsewhere = app.activities.iter().filter(|a| a.kind != CivilServant).flat_map(|a| counted_states(app, a)).any(|c| c != leg);
            if civil_here && other_elsewhere { Ok(()) } else { Err("no civil service in that state plus activity elsewhere".into()) }
        }
        "883/2004 Art 15" => {
            let [a] = app.activities.as_slice() else { return Err("Art 15 with several activities".into()) };
            let o = a.contract_staff_option.as_ref().ok_or("Art 15 without an option")?;
            let open = match o.basis {
                esspass_rules::OptionBasis::EmploymentState => a.states.iter().any(|s| s.country == leg),
                esspass_rules::OptionBasis::Nationality => app.person.nationalities.contains(&leg),
                esspass_rules::OptionBasis::LastLegislation => true,
            };
            if a.kind == EuContractStaff && o.country == leg && open { Ok(()) } else { Err("the option does not give that state".into()) }
        }
        other => Err(format!("a determined decision cites {other}, which is never decided without a person")),
    }
}

/// Reasons marked `met` are facts of the input, too.
pub fn met_reasons_hold(app: &Application, d: &Decision) -> Result<(), String> {
    for r in d.reasons.iter().filter(|r| r.effect == Effect::Met) {
        let one = app.activities.first();
        let posting = one.and_then(|a| a.posting.as_ref());
        let ok = match r.code.code() {
            "R-12-1-DURATION-OK" | "R-12-2-DURATION-OK" => {
                one.is_some_and(|a| a.period.end.is_some_and(|e| e <= minus_day(plus_months(a.period.start, 24))))
            }
            "R-12-1-NO-REPLACEMENT" => posting.is_some_and(|p| p.replaces_posted_person == Some(false)),
            "R-12-1-ON-BEHALF" => posting.is_some_and(|p| p.on_behalf_of_employer == Some(true)),
            "R-14-1-PRIOR-INSURANCE-OK" => one.zip(posting).is_some_and(|(a, p)| prior_insurance_holds(p, a.period.start).is_ok()),
            "R-12-GAP-OK" => one.zip(posting).is_some_and(|(a, p)| a.states.first().is_some_and(|h| gap_holds(p, h.country, a.period.start).is_ok())),
            "R-13-1-A-RESIDENCE" => app.person.residence.is_some_and(|r| substantial(&given(app, r, &[0, 1], &[ActivityKind::Employed])) == Some(true)),
            "R-13-2-A-RESIDENCE" => app.person.residence.is_some_and(|r| substantial(&given(app, r, &[0, 1, 2], &[ActivityKind::SelfEmployed])) == Some(true)),
            "R-11-4-FLAG-STATE" => app.activities.iter().any(|a| a.vessel.is_some()),
            "R-11-5-HOME-BASE" => app.activities.iter().any(|a| a.home_base.is_some()),
            "R-11-3-B-CIVIL-SERVANT" | "R-13-4-CIVIL-SERVANT" => app.activities.iter().any(|a| a.kind == ActivityKind::CivilServant),
            _ => true,
        };
        if !ok {
            return Err(format!("{} is marked met but the input contradicts it", r.code));
        }
    }
    Ok(())
}
