//! Exceptions agreed between states: 883/2004 Art 16(1), 987/2009 Art 18, Practical Guide Part I §12.
//!
//! An exception is never decided by one institution: the competent authorities of the states
//! concerned must agree. When the application asks for one, the engine says what the ordinary rules
//! give, prepares the request (LA_BUC_01, SED A001, sent by the state whose legislation is asked for)
//! and leaves the sending to a person. When the ordinary rules already give what is asked, for the
//! whole period asked, no exception is needed and the ordinary decision stands.

use crate::application::ExceptionRequest;
use crate::codes::ReasonCode as R;
use crate::decision::{Candidate, Draft, Procedure};
use crate::provision::Provision as P;
use crate::application::Framework;
use crate::situation::{Situation, review_date};
use esspass_core::StatusConfirmation;

pub(crate) fn apply(sit: &Situation<'_>, req: &ExceptionRequest, d: &mut Draft) {
    let asked = req.legislation_country;
    let (start, end) = (req.period.start, req.period.end);
    if let Some(c) = &d.candidate {
        let covers = c.start <= start && match (c.end, end) {
            (Some(ce), Some(e)) => e <= ce && !c.review_date,
            _ => false,
        };
        if !d.needs_review() && c.country == asked && covers {
            d.say(R::ExceptionNotNeeded, P::Art16_1, format!(
                "The exception asked for ({asked}, {start} to {}) is not needed: the ordinary rules already give the legislation of {asked} for that whole period.",
                end.map(|e| e.to_string()).unwrap_or_default()
            ));
            return;
        }
    }
    if req.framework == Some(Framework::CrossBorderTelework2023) {
        telework(sit, req, d);
    }
    let fallback = d.ordinary.is_some();
    let ordinary = d.ordinary.or(d.candidate.as_ref().map(|c| (c.country, c.provision)));
    if let Some((country, provision)) = ordinary {
        let what = if d.needs_review() && !fallback { "would, once the open points above are settled, give" } else { "give" };
        let article = provision.cite(d.instrument);
        d.say(R::ExceptionNormalRule, provision, format!(
            "Without an exception the ordinary rules {what} the legislation of {country} ({article})."
        ));
    }
    d.ordinary = ordinary;
    if asked.area().is_none() {
        d.at(R::ScopeOutside, P::Art16_1, format!("An exception can designate only a participating state; {asked} is not one."), "$.exception_request.legislation_country".into());
        return;
    }
    let grounds = req.grounds.as_deref().map(|g| format!(" Grounds given: {g}")).unwrap_or_default();
    d.at(R::ExceptionRequest, P::Impl18, format!(
        "The person or employer asks that the legislation of {asked} apply from {start} by way of exception. The competent authority of {asked} must send the request (LA_BUC_01, SED A001) to the other states concerned, and the exception applies only once they agree (A002 / A011): it is never issued on one side's say-so, and the PDA1 follows only when the other state's agreement is recorded. A person decides whether to send it.{grounds}"
    ), "$.exception_request".into());
    match end {
        None => d.missing(P::Art16_1, "The end of the period asked for", "$.exception_request.period.end".into()),
        Some(e) => {
            if review_date(start).is_some_and(|five| e > five) {
                d.say(R::ExceptionOverFiveYears, P::GuideI12, format!(
                    "The period asked for runs from {start} to {e}, more than five years; exceptions for postings are usually agreed for at most five years in total."
                ));
            }
        }
    }
    d.candidate = Some(Candidate {
        country: asked,
        provision: P::Art16_1,
        status: StatusConfirmation::Exception,
        start,
        end,
        provisional: false,
        review_date: false,
        institution: asked,
        procedure: Procedure::Exception,
    });
}

/// The 2023 Framework Agreement on habitual cross-border telework: an employee who teleworks in the
/// residence state at least 25 % and less than 50 % of the total working time, for employers seated in
/// one other signatory state, may be subject to that state's legislation on request. The engine checks
/// the share and the seat; whether both states signed the agreement is for the person sending the
/// request to confirm.
fn telework(sit: &Situation<'_>, req: &ExceptionRequest, d: &mut Draft) {
    let asked = req.legislation_country;
    let Some(residence) = sit.residence() else { return };
    let employed = sit.acts.iter().all(|a| a.kind() == crate::application::ActivityKind::Employed && a.activity.posting.is_none());
    let seats_ok = sit.acts.iter().all(|a| a.activity.effective_employer().is_some_and(|e| e.seat == asked));
    let mut at_home: u64 = 0;
    let mut total: u64 = 0;
    let mut complete = true;
    for a in &sit.acts {
        for s in &a.activity.states {
            match s.working_time_share {
                Some(x) => {
                    total += u64::from(x.billionths());
                    if s.country == residence {
                        at_home += u64::from(x.billionths());
                    }
                }
                None => complete = false,
            }
        }
    }
    let share_ok = complete && total > 0 && at_home.saturating_mul(4) >= total && at_home.saturating_mul(2) < total;
    if employed && seats_ok && share_ok && asked != residence {
        d.say(R::TeleworkFramework, P::TeleworkFramework, format!(
            "The person teleworks in the residence state {residence} for {} % of the working time (at least 25 %, under 50 %) for an employer seated in {asked}: the request falls under the 2023 framework agreement, under which the signatory states agree in advance; the request is still registered with {residence} (A001) before a PDA1 is issued.",
            crate::application::percent_text(at_home.saturating_mul(u64::from(crate::application::Share::WHOLE)).checked_div(total).unwrap_or(0))
        ));
    } else {
        let why = if !employed {
            "it covers employed persons without a posting only"
        } else if !seats_ok {
            "every employer must be seated in the state whose legislation is asked for"
        } else if !complete {
            "the working-time share is not given for every state"
        } else {
            "telework in the residence state must be at least 25 % and under 50 % of the working time"
        };
        d.say(R::TeleworkOutsideFramework, P::TeleworkFramework, format!(
            "The 2023 framework agreement on cross-border telework does not cover this request ({why}); it is handled as an ordinary Art 16(1) request."
        ));
    }
}
