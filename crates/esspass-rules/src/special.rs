//! Civil servants (883/2004 Art 11(3)(b), Art 13(4)) and EU contract staff (Art 15).
//! Mariners (Art 11(4)) and flight crew (Art 11(5)) are deeming rules on where an activity is
//! pursued; they live with the place-of-work rules in `multistate`.

use crate::application::{ActivityKind, OptionBasis};
use crate::codes::ReasonCode as R;
use crate::decision::{Candidate, Draft, Procedure};
use crate::multistate::{provisional_reason, set};
use crate::provision::Provision as P;
use crate::scope::list;
use crate::situation::{Act, Situation, common_window};
use esspass_core::{Country, StatusConfirmation};

/// EU contract staff choose their legislation (Art 15; 987/2009 Art 15(2)): always a person.
pub(crate) fn contract_staff(sit: &Situation<'_>, d: &mut Draft) {
    if let [act] = sit.acts.as_slice()
        && let Some(opt) = &act.activity.contract_staff_option
    {
        let a = act.activity;
        let c = opt.country;
        let open = match opt.basis {
            OptionBasis::EmploymentState => a.states.iter().any(|s| s.country == c),
            OptionBasis::Nationality => sit.app.person.nationalities.contains(&c),
            OptionBasis::LastLegislation => true,
        };
        let ground = match opt.basis {
            OptionBasis::EmploymentState => "the state in which the person is employed",
            OptionBasis::Nationality => "the state of the person's nationality",
            OptionBasis::LastLegislation => "the state whose legislation last applied to the person (as stated)",
        };
        if !open || c.area().is_none() {
            d.at(R::ContractStaffOptionNotOpen, P::Art15, format!(
                "The option names {c} as {ground}, which the application does not bear out: a person checks the option."
            ), format!("{}.contract_staff_option", act.path()));
            return;
        }
        d.say(R::ContractStaffOption, P::Art15, format!(
            "The person, contract staff of the European Union, opted for the legislation of {c}, {ground}: Art 15 lets contract staff choose it, except for family allowances, which follow the conditions of employment."
        ));
        let w = crate::situation::Window { start: a.period.start, end: a.period.end, partial: false };
        set(d, sit, Candidate {
            country: c,
            provision: P::Art15,
            status: StatusConfirmation::ContractStaff,
            start: w.start,
            end: w.end,
            provisional: false,
            review_date: false,
            institution: c,
            procedure: Procedure::Notification,
        }, w);
        return;
    }
    let path = sit.acts.iter().find(|a| a.kind() == ActivityKind::EuContractStaff).map(|a| format!("{}.kind", a.path())).unwrap_or_default();
    d.at(R::ContractStaff, P::Art15, "Contract staff of the European Union may opt for the legislation of the state where they are employed, the state whose legislation last applied, or the state of their nationality (Art 15; 987/2009 Art 15(2)); the option and its effects are recorded by a person.".into(), path);
}

/// Civil servants, alone (Art 11(3)(b)) or with other activity in other states (Art 13(4)).
pub(crate) fn civil_servant(sit: &Situation<'_>, d: &mut Draft) {
    let civil: Vec<Act<'_>> = sit.acts.iter().copied().filter(|a| a.kind() == ActivityKind::CivilServant).collect();
    let others: Vec<Act<'_>> = sit.acts.iter().copied().filter(|a| a.kind() != ActivityKind::CivilServant).collect();
    let mut admins: Vec<Country> = Vec::new();
    for a in &civil {
        match a.activity.administration {
            None => {
                d.missing(P::Art11_3b, "The state to which the employing administration is subject", format!("{}.administration", a.path()));
                return;
            }
            Some(c) if !admins.contains(&c) => admins.push(c),
            Some(_) => {}
        }
    }
    admins.sort();
    let admin = match admins.as_slice() {
        [one] => *one,
        _ => {
            d.at(R::SeveralAdministrations, P::Art11_3b, format!(
                "The person is a civil servant of administrations of {}: neither Art 11(3)(b) nor Art 13(4) designates one of them, so a person must decide.",
                list(&admins)
            ), "$.activities".into());
            return;
        }
    };
    if admin.area().is_none() {
        d.at(R::ScopeOutside, P::Art11_3b, format!("The employing administration is subject to {admin}, outside the participating states."), "$.activities".into());
        return;
    }
    // Where the other activities count as pursued (a vessel's flag state, a home base).
    let other_idx: Vec<usize> = sit.acts.iter().enumerate().filter(|(_, a)| a.kind() != ActivityKind::CivilServant).map(|(i, _)| i).collect();
    let mut other_states: Vec<Country> = sit.entries(&other_idx).iter().map(|e| e.country).filter(|c| *c != admin).collect();
    other_states.sort();
    other_states.dedup();
    if other_states.is_empty() {
        let Some(w) = common_window(civil.iter().map(|a| &a.activity.period)) else {
            d.at(R::NotConcurrent, P::Art11_3b, "The periods of civil service given do not overlap; each needs its own determination.".into(), "$.activities".into());
            return;
        };
        let also = if others.is_empty() { String::new() } else { format!(" Any other activity is pursued in {admin} too.") };
        d.say(R::CivilServant, P::Art11_3b, format!(
            "The person is a civil servant employed by an administration subject to {admin}: the legislation of {admin} applies.{also}"
        ));
        set(d, sit, Candidate {
            country: admin,
            provision: P::Art11_3b,
            status: StatusConfirmation::CivilServant,
            start: w.start,
            end: w.end,
            provisional: false,
            review_date: false,
            institution: admin,
            procedure: Procedure::Notification,
        }, w);
        return;
    }
    let Some(w) = common_window(sit.acts.iter().map(|a| &a.activity.period)) else {
        d.at(R::NotConcurrent, P::Art13_4, "The civil service and the other activity are not pursued at the same time; each period needs its own determination.".into(), "$.activities".into());
        return;
    };
    d.say(R::CivilServantAndOther, P::Art13_4, format!(
        "The person is a civil servant of {admin} and also active in {}: the legislation of {admin}, the state of the employing administration, applies to all the activities.",
        list(&other_states)
    ));
    let institution = match sit.residence() {
        Some(r) if r.area().is_some() => r,
        _ => admin,
    };
    provisional_reason(sit, d, institution);
    set(d, sit, Candidate {
        country: admin,
        provision: P::Art13_4,
        status: StatusConfirmation::CivilServantAndEmployedOrSelfEmployed,
        start: w.start,
        end: w.end,
        provisional: true,
        review_date: false,
        institution,
        procedure: Procedure::MultiState,
    }, w);
}
