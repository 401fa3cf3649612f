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
        exception::apply(req, &mut d);
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
    multistate::decide(sit, d);
}
