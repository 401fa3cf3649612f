//! The order in which the rules run: scope, then the one article family the activities call for,
//! then an Art 16 exception request if there is one.

use crate::application::{ActivityKind, Application};
use crate::codes::ReasonCode as R;
use crate::decision::{Decision, Draft};
use crate::provision::{Instrument, Provision as P};
use crate::situation::Situation;
use crate::{exception, multistate, posting, scope, special};

pub(crate) fn decide(app: &Application) -> Decision {
    let sit = Situation::new(app);
    let mut d = Draft::new();
    scope::assess(&sit, &mut d);
    if d.excluded() {
        return d.finish(&sit.involved);
    }
    if app.person.residence.is_none() {
        d.at(R::FactMissing, P::Impl11, "The person's state of residence is not known. The institutions of the residence state must be told of the determination and take part in it, and the personal scope and Art 13 turn on it: a person establishes it (987/2009 Art 11), and the decision below is a candidate only.".into(), "$.person.residence".into());
    }
    route(&sit, &mut d);
    if d.scope == Some(Instrument::EuUkTca)
        && let Some(c) = &d.candidate
            && !c.provision.automated_under_tca() {
                let article = c.provision.regulation();
                d.say(R::ScopeUkNotAutomated, P::TcaProtocol, format!(
                    "The TCA Protocol has its own provision corresponding to {article}; the engine decides UK cases only for work in one state (Art SSC.10(3)(a)) and detached workers (Art SSC.11), so a person confirms this one."
                ));
            }
    if let Some(req) = &app.exception_request {
        exception::apply(&sit, req, &mut d);
    }
    d.finish(&sit.involved)
}

fn route(sit: &Situation<'_>, d: &mut Draft) {
    let kinds = |k: ActivityKind| sit.acts.iter().any(|a| a.kind() == k);
    if kinds(ActivityKind::EuContractStaff) {
        special::contract_staff(sit, d);
        return;
    }
    let postings: Vec<_> = sit.acts.iter().filter(|a| a.activity.posting.is_some()).collect();
    if kinds(ActivityKind::CivilServant) && postings.is_empty() {
        special::civil_servant(sit, d);
        return;
    }
    if let Some(first) = postings.first() {
        match (sit.acts.as_slice(), &first.activity.posting) {
            ([only], Some(p)) if only.activity.vessel.is_none() && only.activity.home_base.is_none() => {
                posting::decide(sit, *only, p, d);
            }
            _ => {
                d.at(R::CombinationNotAutomated, P::Impl14_7, format!(
                    "A posting together with {} calls for an overall assessment: whether the person is posted (Art 12) or works in two or more states (Art 13) depends on the duration and nature of each activity (987/2009 Art 14(7)).",
                    if sit.acts.len() > 1 { "other activities" } else { "work on board a vessel or as flight crew" }
                ), format!("{}.posting", first.path()));
            }
        }
        return;
    }
    if let Some((act, residence, host)) = unreported_posting(sit) {
        let name = act.activity.effective_employer().map(|e| e.name.as_str()).unwrap_or("the employer");
        d.at(R::PossiblePosting, P::Art12_1, format!(
            "{name} is established in {residence}, where the person resides, and the person works only in {host}, for a limited period, but no posting is stated: was the person posted (Art 12(1), the legislation of {residence}) or engaged for work in {host} (Art 11(3)(a))? Give the posting facts, or \"posted\": false."
        ), format!("{}.posted", act.path()));
        multistate::decide(sit, d);
        d.alternatives.push((residence, P::Art12_1, esspass_core::StatusConfirmation::PostedEmployed));
        return;
    }
    multistate::decide(sit, d);
}

/// Employer and residence in one state, all work temporarily (an end within 24 months) in another,
/// and no posting stated (and not denied): the question a person asks before deciding.
fn unreported_posting<'a>(sit: &Situation<'a>) -> Option<(crate::situation::Act<'a>, esspass_core::Country, esspass_core::Country)> {
    let [act] = sit.acts.as_slice() else { return None };
    let a = act.activity;
    if a.kind != ActivityKind::Employed || a.posting.is_some() || a.posted == Some(false) || a.vessel.is_some() || a.home_base.is_some() || a.offshore.is_some() {
        return None;
    }
    let residence = sit.residence()?;
    let seat = a.effective_employer()?.seat;
    let [state] = a.states.as_slice() else { return None };
    let end = a.period.end?;
    let temporary = crate::situation::posting_limit(a.period.start).is_some_and(|l| end <= l);
    (seat == residence && state.country != residence && state.country.area().is_some() && temporary).then_some((*act, residence, state.country))
}
