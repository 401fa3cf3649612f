//! Scope: whether the coordination instruments apply at all, and which one.
//!
//! - Territorial: the activity must be pursued in participating states (EU 27, IS, LI, NO, CH, UK);
//!   a posting must lead from one participating state to another.
//! - Instrument: EU states only → Regulation 883/2004; with an EEA EFTA state → the EEA Agreement;
//!   with Switzerland → the EU–Swiss Agreement; with the UK → the TCA Protocol. Combinations of
//!   these (UK with EEA EFTA or Switzerland, Switzerland with EEA EFTA) are governed by separate
//!   conventions and go to a person.
//! - Personal: nationals of the states the instrument covers; stateless persons and refugees resident
//!   there (883/2004 Art 2); third-country nationals legally resident in a Member State through
//!   Regulation 1231/2010 (not with Denmark, not under the EEA or Swiss agreements); under the TCA,
//!   any person legally resident in the UK or a Member State.
//! - Temporal: the instrument must have applied between the states when the period starts.

use crate::codes::ReasonCode as R;
use crate::decision::Draft;
use crate::provision::{Instrument, Provision as P};
use crate::situation::{Situation, activity_states};
use esspass_core::{Area, Country, Date};

/// Assess scope. Pushes reasons; sets `draft.scope` and `draft.instrument` when an instrument applies.
pub(crate) fn assess(sit: &Situation<'_>, d: &mut Draft) {
    let app = sit.app;
    let person = &app.person;

    // Territorial scope of the activities. A flag or home base outside the participating states
    // does not put the case outside: the residence or the employer may still attach it to a
    // state (CJEU C-106/11 Bakker, C-631/17 SF); the deeming rules send it to a person.
    let mut work_states: Vec<Country> = Vec::new();
    for act in &sit.acts {
        let a = act.activity;
        let deemed_outside = |c: &Country| {
            c.area().is_none() && (a.vessel.as_ref().is_some_and(|v| v.flag == *c) || a.home_base == Some(*c))
        };
        for c in activity_states(a) {
            if !work_states.contains(&c) && !deemed_outside(&c) {
                work_states.push(c);
            }
        }
    }
    work_states.sort();
    let outside: Vec<Country> = work_states.iter().copied().filter(|c| c.area().is_none()).collect();
    if !work_states.is_empty() && outside.len() == work_states.len() {
        d.say(R::ScopeOutside, P::Reg883Art2, format!(
            "The activity is pursued only in {}, outside the EU, the EEA, Switzerland and the UK: Title II of Regulation 883/2004 does not apply; national law and any bilateral agreement do.",
            list(&outside)
        ));
        return;
    }
    for act in &sit.acts {
        if let Some(p) = &act.activity.posting {
            let hosts_outside: Vec<Country> = act.activity.states.iter().map(|s| s.country).filter(|c| c.area().is_none()).collect();
            if p.sending_state.area().is_none() || !hosts_outside.is_empty() {
                let path = if p.sending_state.area().is_none() { format!("{}.posting.sending_state", act.path()) } else { format!("{}.states", act.path()) };
                d.at(R::ScopeOutside, P::Art12_1, format!(
                    "A posting from {} to {} does not lead from one participating state to another: Art 12 does not apply; national law and any bilateral agreement do.",
                    p.sending_state,
                    list(&act.activity.states.iter().map(|s| s.country).collect::<Vec<_>>())
                ), path);
                return;
            }
        }
    }
    if !outside.is_empty() {
        d.at(R::ScopeThirdStateActivity, P::Reg883Art2, format!(
            "Part of the activity is pursued in {}, outside the participating states; how it counts depends on bilateral agreements and needs a person.",
            list(&outside)
        ), "$.activities".into());
    }

    // Which instrument.
    let areas: Vec<Area> = sit.involved.iter().filter_map(|c| c.area()).collect();
    let has = |a: Area| areas.contains(&a);
    let (eea, ch, uk) = (has(Area::Eea), has(Area::Switzerland), has(Area::UnitedKingdom));
    let instrument = match (eea, ch, uk) {
        (false, false, false) => Instrument::Regulation883,
        (true, false, false) => Instrument::EeaAgreement,
        (false, true, false) => Instrument::EuSwissAgreement,
        (false, false, true) => Instrument::EuUkTca,
        _ => {
            d.at(R::ScopeSeveralAgreements, P::Reg883Art2, format!(
                "The states involved ({}) do not all coordinate under one instrument: the UK, Switzerland and the EEA EFTA states coordinate among themselves through separate conventions, which the engine does not apply.",
                list(&sit.involved)
            ), "$.activities".into());
            return;
        }
    };
    d.instrument = instrument;

    // Personal scope.
    if !personal(sit, instrument, d) {
        return;
    }

    // Purely internal situation.
    let all_home = person.residence.is_some_and(|residence| app.activities.iter().all(|a| activity_states(a).all(|c| c == residence))
        && !person.nationalities.is_empty()
        && person.nationalities.iter().all(|c| *c == residence)
        && !person.stateless
        && !person.refugee
        && app.activities.iter().all(|a| a.posting.is_none() && a.employer.as_ref().is_none_or(|e| e.seat == residence))
        && app.exception_request.as_ref().is_none_or(|r| r.legislation_country == residence));
    if let (true, Some(residence)) = (all_home, person.residence) {
        d.say(R::ScopePurelyInternal, P::Reg883Art2, format!(
            "The person is a national of {residence}, lives there, and works there only, for an employer seated there: nothing crosses a border, so no legislation needs to be determined under the coordination rules."
        ));
        return;
    }

    // Temporal scope.
    let from = applies_from(instrument, third_country_national(sit, instrument));
    let earliest = sit.acts.iter().map(|a| a.activity.period.start).min();
    if let (Some(from), Some(earliest)) = (from, earliest)
        && earliest < from {
            let earlier = if instrument == Instrument::EuUkTca {
                "Regulation 883/2004 through the Withdrawal Agreement (Art 30) may apply"
            } else {
                "Regulation 1408/71 or the transitional provisions of 883/2004 Art 87(8) may apply"
            };
            d.at(R::ScopeBeforeApplication, P::Reg883Art87, format!(
                "The period starts on {earliest}, before {from}, when {} began to apply between these states; {earlier}.",
                instrument.title()
            ), "$.activities".into());
        }
    d.scope = Some(instrument);
}

/// Personal scope; `false` when the person is not covered (reason pushed).
fn personal(sit: &Situation<'_>, instrument: Instrument, d: &mut Draft) -> bool {
    let p = &sit.app.person;
    let residence_area = p.residence.and_then(|r| r.area());
    let covered_nationality = |allowed: &[Area]| p.nationalities.iter().any(|n| n.area().is_some_and(|a| allowed.contains(&a)));
    let (allowed, basis): (&[Area], P) = match instrument {
        Instrument::Regulation883 => (&[Area::Eu, Area::Eea, Area::Switzerland], P::Reg883Art2),
        Instrument::EeaAgreement => (&[Area::Eu, Area::Eea], P::EeaAnnexVi),
        Instrument::EuSwissAgreement => (&[Area::Eu, Area::Switzerland], P::SwissAnnexII),
        Instrument::EuUkTca => (&[Area::Eu, Area::UnitedKingdom], P::TcaProtocol),
    };
    let scope_code = match instrument {
        Instrument::Regulation883 => R::ScopeEu,
        Instrument::EeaAgreement => R::ScopeEea,
        Instrument::EuSwissAgreement => R::ScopeSwitzerland,
        Instrument::EuUkTca => R::ScopeUk,
    };
    let resides_within = residence_area.is_some_and(|a| allowed.contains(&a));
    if covered_nationality(allowed) {
        let nats = list(&p.nationalities);
        d.say(scope_code, basis, format!("The states involved coordinate under {}, and the person, a national of {nats}, is covered.", instrument.title()));
        return true;
    }
    let Some(residence) = p.residence else {
        // Coverage of a person without a covered nationality turns on the residence, which is not
        // known: the engine reports the missing residence; a person decides.
        return true;
    };
    if p.stateless || p.refugee {
        let who = if p.stateless { "stateless person" } else { "refugee" };
        if resides_within {
            d.say(R::ScopeStatelessRefugee, basis, format!("The person is a {who} residing in {}, covered under {}.", residence, instrument.title()));
            return true;
        }
        d.at(R::ScopeTcnNotResident, basis, format!("A {who} is covered only when residing in a participating state; the person resides in {residence}."), "$.person.residence".into());
        return false;
    }
    if p.nationalities.is_empty() {
        d.missing(basis, "The person's nationality (or that the person is stateless or a refugee)", "$.person.nationalities".into());
        return true;
    }
    // A third-country national (the UK's nationals included, outside the TCA).
    let nats = list(&p.nationalities);
    match instrument {
        Instrument::Regulation883 => {
            let dk = Country::parse("DK");
            if sit.involved.iter().any(|c| Some(*c) == dk) {
                d.say(R::ScopeTcnDenmark, P::Reg1231Art1, format!("The person, a national of {nats}, is a third-country national, and Denmark is involved: Regulation 1231/2010 does not bind Denmark, so the coordination rules do not cover this person there."));
                return false;
            }
            if residence_area != Some(Area::Eu) {
                d.at(R::ScopeTcnNotResident, P::Reg1231Art1, format!("Regulation 1231/2010 covers third-country nationals legally resident in a Member State; the person, a national of {nats}, resides in {residence}."), "$.person.residence".into());
                return false;
            }
            legal_residence(p.legally_resident, &nats, P::Reg1231Art1, d, R::ScopeThirdCountryNational, "Regulation 1231/2010")
        }
        Instrument::EuUkTca => {
            if !resides_within {
                d.at(R::ScopeTcnNotResident, P::TcaProtocol, format!("The TCA Protocol covers third-country nationals legally resident in the UK or a Member State; the person, a national of {nats}, resides in {residence}."), "$.person.residence".into());
                return false;
            }
            legal_residence(p.legally_resident, &nats, P::TcaProtocol, d, R::ScopeUk, "the TCA Protocol on Social Security Coordination")
        }
        Instrument::EeaAgreement | Instrument::EuSwissAgreement => {
            d.at(R::ScopePersonNotCovered, basis, format!(
                "The person, a national of {nats}, is not a national of a state {} covers; Regulation 1231/2010 does not extend to it, so the coordination rules do not apply.",
                instrument.title()
            ), "$.person.nationalities".into());
            false
        }
    }
}

fn legal_residence(lr: Option<bool>, nats: &str, basis: P, d: &mut Draft, ok: R, name: &str) -> bool {
    match lr {
        Some(true) => {
            d.say(ok, basis, format!("The person, a national of {nats}, is legally resident and covered through {name}."));
            true
        }
        Some(false) => {
            d.at(R::ScopeTcnNotResident, basis, format!("The person, a national of {nats}, is not legally resident; {name} covers third-country nationals only when legally resident."), "$.person.legally_resident".into());
            false
        }
        None => {
            d.missing(basis, &format!("Whether the person (a national of {nats}) is legally resident"), "$.person.legally_resident".into());
            true
        }
    }
}

fn third_country_national(sit: &Situation<'_>, instrument: Instrument) -> bool {
    let p = &sit.app.person;
    instrument == Instrument::Regulation883
        && !p.stateless
        && !p.refugee
        && !p.nationalities.iter().any(|n| n.area().is_some_and(|a| matches!(a, Area::Eu | Area::Eea | Area::Switzerland)))
}

/// The first day the instrument applied (883/2004 Art 91 with 987/2009; EEA and Swiss decisions; TCA).
fn applies_from(instrument: Instrument, tcn: bool) -> Option<Date> {
    match instrument {
        Instrument::Regulation883 if tcn => Date::from_ymd(2011, 1, 1),
        Instrument::Regulation883 => Date::from_ymd(2010, 5, 1),
        Instrument::EuSwissAgreement => Date::from_ymd(2012, 4, 1),
        Instrument::EeaAgreement => Date::from_ymd(2012, 6, 1),
        Instrument::EuUkTca => Date::from_ymd(2021, 1, 1),
    }
}

/// `DE, FR and IT`.
pub(crate) fn list(cs: &[Country]) -> String {
    let mut out = String::with_capacity(cs.len() * 4);
    for (i, c) in cs.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == cs.len() { " and " } else { ", " });
        }
        out.push_str(c.iso());
    }
    out
}
