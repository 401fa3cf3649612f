//! Posting: 883/2004 Art 12(1) (employed) and 12(2) (self-employed), with the criteria of 987/2009
//! Art 14(1)–(4), Decision A2 and the Practical Guide Part I.
//!
//! Every condition is checked and reported, met or not, so a case worker sees the whole picture.
//! Where the law is clear that a condition fails (more than 24 months anticipated, a permanent
//! assignment, a replacement, work not on the employer's behalf, a hire-out to a third undertaking,
//! a contract with the host undertaking, the real employer in the host state, another state's
//! legislation immediately before, purely internal management or an agency without placements in
//! its seat state, a different or not maintained self-employed activity) the posting rule does not
//! apply and the ordinary rules decide automatically (Art 11(3)(a): the state where the work is
//! done), citing every failed condition; the decision is contestable. Only an uncertain or missing
//! fact, or an indicator of Art 14(2) that calls for an overall assessment, sends the case to a
//! person. Beyond 24 months the decision also says that an Art 16 exception can be requested.

use crate::application::{ActivityKind, Extension, InsurancePeriod, Interruption, Posting, PreviousPosting, Share};
use crate::codes::{Effect, ReasonCode as R};
use crate::decision::{Candidate, Draft, Procedure, Reason};
use crate::provision::Provision as P;
use crate::situation::{Act, Situation, posting_limit};
use esspass_core::{Country, Date, StatusConfirmation};

/// Decide a single posting activity.
pub(crate) fn decide(sit: &Situation<'_>, act: Act<'_>, posting: &Posting, d: &mut Draft) {
    let a = act.activity;
    let path = act.path();
    let employed = a.kind == ActivityKind::Employed;
    let (provision, status) =
        if employed { (P::Art12_1, StatusConfirmation::PostedEmployed) } else { (P::Art12_2, StatusConfirmation::PostedSelfEmployed) };
    let sending = posting.sending_state;

    let host = match a.states.as_slice() {
        [one] => one.country,
        _ => {
            d.at(R::SeveralHostStates, P::GuideI6, format!(
                "The posting from {sending} names {} host states; a posting to several states at once, or work alternating between them, needs an assessment under Art 12 or Art 13 (987/2009 Art 14(7)).",
                a.states.len()
            ), format!("{path}.states"));
            return;
        }
    };
    if host == sending {
        d.at(R::SameState, provision, format!(
            "The host state {host} is the sending state: a posting requires work in another state."
        ), format!("{path}.states[0].country"));
        return;
    }

    let start = a.period.start;
    let candidate = Candidate {
        country: sending,
        provision,
        status,
        start,
        end: a.period.end,
        provisional: false,
        review_date: false,
        institution: sending,
        procedure: Procedure::Posting,
    };

    // The conditions are gathered apart: whether an open point matters depends on whether another
    // condition clearly fails.
    let mut c = Draft::new();
    c.instrument = d.instrument;
    let counted_from = extension(posting, host, start, &path, &mut c);
    let exceeded = duration(a.period.end, posting.permanent_assignment, counted_from, start, employed, provision, host, &path, &mut c);
    if employed {
        employed_conditions(act, posting, sending, host, &mut c);
    } else {
        self_employed_conditions(act, posting, start, &mut c);
    }
    // Self-employed postings are asked only the self-employed conditions (987/2009 Art 14(3)); the
    // employee facts count for them only where given.
    if employed || posting.prior_insurance.is_some() {
        prior_insurance(posting.prior_insurance.as_deref(), sending, start, &path, &mut c);
    }
    if employed || posting.previous_postings.is_some() {
        previous_postings(posting.previous_postings.as_deref(), posting.extends.as_ref(), host, start, employed, &path, &mut c);
    }

    if c.reasons.iter().any(|r| r.effect == Effect::NotMet) {
        // The posting rule fails whatever the open points hold: they no longer matter.
        for r in c.reasons {
            if r.effect == Effect::Review {
                d.reasons.push(Reason { code: R::Moot, article: r.article, effect: Effect::Info, text: format!("Not needed for the decision, since a condition of the posting rule is not met: {}", r.text), path: r.path });
            } else {
                d.reasons.push(r);
            }
        }
        d.say(R::PostingRuleFails, provision, format!(
            "The posting rule does not apply, for the reasons marked not met above; the work is done in {host}, so the ordinary rules decide (Art 11(3)(a)), and the legislation of {sending} does not continue to apply."
        ));
        if exceeded {
            d.say(R::ExceptionSuggested, P::GuideI12, format!(
                "The person can stay under the legislation of {sending} for this work only by an exception agreed under Art 16(1): the competent authority of {sending} may send a request (LA_BUC_01, SED A001) to {host}; it takes effect only once {host} agrees. Such exceptions are usually agreed for up to five years."
            ));
        }
        let _ = sit;
        crate::multistate::decide(sit, d);
        return;
    }
    let review = c.needs_review();
    d.reasons.extend(c.reasons);
    if review {
        // If a person finds an open point against the posting, the host state's legislation applies.
        d.alternatives.push((host, P::Art11_3a, StatusConfirmation::WorkingInCompetentStateOnly));
    }
    d.candidate = Some(candidate);
}

/// The certificate this posting extends: the duration counts from its start (Decision A2 point 3(c)).
fn extension(p: &Posting, host: Country, start: Date, path: &str, d: &mut Draft) -> Date {
    let Some(x) = &p.extends else { return start };
    if x.host_state != host {
        d.at(R::ExtensionOtherHost, P::A2Point3c, format!(
            "The certificate said to be extended concerns a posting to {}, not to {host}: an extension continues the same posting.",
            x.host_state
        ), format!("{path}.posting.extends.host_state"));
        return start;
    }
    let why = match x.interruption {
        Interruption::None => "without interruption".to_string(),
        other => format!("after an interruption ({}), which neither restarts nor lengthens the posting period", other.name()),
    };
    d.say(R::ExtensionCounted, P::A2Point3c, format!(
        "This posting extends the certificate for {host} from {} to {}, {why}: the anticipated duration counts from {}.",
        x.start, x.end, x.start
    ));
    x.start.min(start)
}

/// Duration (Art 12(1)/(2)): end ≤ counted-from + 24 months − 1 day. Returns whether it is exceeded.
#[allow(clippy::too_many_arguments)]
fn duration(end: Option<Date>, permanent: Option<bool>, from: Date, start: Date, employed: bool, provision: P, host: Country, path: &str, d: &mut Draft) -> bool {
    match (end, posting_limit(from)) {
        (None, _) if permanent == Some(true) => {
            d.at(R::PermanentAssignment, provision, format!(
                "The person is assigned to {host} permanently from {start}: Art 12 covers only work for an anticipated period of at most 24 months, so this is not a posting."
            ), format!("{path}.posting.permanent_assignment"));
            false
        }
        (None, _) => {
            d.at(R::OpenEnded, provision, format!(
                "The posting from {start} has no anticipated end (and is not stated to be permanent); Art 12 requires the anticipated duration, at most 24 months."
            ), format!("{path}.period.end"));
            false
        }
        (Some(end), Some(limit)) if end <= limit => {
            let code = if employed { R::DurationOk } else { R::SelfEmployedDurationOk };
            d.say(code, provision, format!(
                "The anticipated end {end} is on or before {limit}, the last day of 24 months from {from}: the anticipated duration does not exceed 24 months."
            ));
            false
        }
        (Some(end), limit) => {
            let code = if employed { R::DurationExceeded } else { R::SelfEmployedDurationExceeded };
            let limit = limit.map(|l| l.to_string()).unwrap_or_else(|| "the 24-month limit".into());
            d.at(code, provision, format!(
                "The anticipated end {end} is after {limit}, the last day of 24 months from {from}: the anticipated duration exceeds 24 months, so the posting rule does not apply to this work at all, and without an exception the legislation of {host}, where the work is done, applies (Art 11(3)(a))."
            ), format!("{path}.period.end"));
            true
        }
    }
}

fn employed_conditions(act: Act<'_>, p: &Posting, sending: Country, host: Country, d: &mut Draft) {
    let path = act.path();
    let Some(employer) = act.activity.effective_employer() else {
        d.missing(P::Art12_1, "The posting employer", format!("{path}.employer"));
        return;
    };
    let name = &employer.name;
    if let (Some(real), Some(formal)) = (&act.activity.real_employer, &act.activity.employer) {
        d.say(R::RealEmployer, P::CjeuFormat, format!(
            "{} has authority over the person, pays and can dismiss, although {} is the formal employer: the posting is judged on {}'s facts (Guide Part I §4).",
            real.name, formal.name, real.name
        ));
        if real.seat == host {
            d.at(R::RealEmployerInHost, P::GuideI4, format!(
                "{}, the real employer, is established in {host}, the state where the work is done: the person works for an undertaking of {host} and is not posted from {sending}.",
                real.name
            ), format!("{path}.real_employer.seat"));
        }
    }
    if employer.temporary_work_agency {
        match employer.agency_placements_in_seat_state {
            None => d.missing(P::A2Point2, "Whether the temporary-work agency places workers in its seat state", format!("{path}.employer.agency_placements_in_seat_state")),
            Some(true) => d.say(R::AgencyPlacements, P::A2Point2, format!(
                "{name} is a temporary-work agency that places workers with user undertakings in {}: a business of its own there.",
                employer.seat
            )),
            Some(false) => d.at(R::AgencyNoPlacements, P::A2Point2, format!(
                "{name} is a temporary-work agency that places no workers in {}, only abroad: it does not normally carry out its activities in the sending state (987/2009 Art 14(2)).",
                employer.seat
            ), format!("{path}.employer.agency_placements_in_seat_state")),
        }
    }
    match (p.hired_out_to_third_undertaking, p.contract_with_host_undertaking) {
        (Some(false), Some(false)) => d.say(R::DirectRelationship, P::A2Point4, format!(
            "The person is neither put at the disposal of a third undertaking nor under contract with the undertaking in {host}: the relationship with {name} stays direct."
        )),
        (hired, contract) => {
            if hired == Some(true) {
                d.at(R::HiredOut, P::A2Point4, format!(
                    "The undertaking in {host} puts the person at the disposal of a third undertaking: Decision A2 point 4 excludes Art 12(1)."
                ), format!("{path}.posting.hired_out_to_third_undertaking"));
            }
            if contract == Some(true) {
                d.at(R::ContractWithHost, P::GuideI4, format!(
                    "The person has an employment contract with the undertaking in {host}: the direct relationship with {name} that Art 12(1) needs is broken."
                ), format!("{path}.posting.contract_with_host_undertaking"));
            }
        }
    }
    if employer.seat != sending {
        d.at(R::EmployerElsewhere, P::Impl14_2, format!(
            "{name} is seated in {}, not in the sending state {sending}: Art 12(1) requires an employer that normally carries out its activities in the sending state.",
            employer.seat
        ), format!("{path}.employer.seat"));
    }
    match p.on_behalf_of_employer {
        None => d.missing(P::Art12_1, "Whether the work abroad is done on the posting employer's behalf", format!("{path}.posting.on_behalf_of_employer")),
        Some(true) => d.say(R::OnBehalf, P::GuideI4, format!("The work abroad is done on behalf of {name}, which keeps the employment relationship throughout the posting.")),
        Some(false) => d.at(R::NotOnBehalf, P::GuideI4, format!(
            "The work abroad is not done on behalf of {name}; Art 12(1) requires a direct relationship with the posting employer throughout."
        ), format!("{path}.posting.on_behalf_of_employer")),
    }
    match p.replaces_posted_person {
        None => d.missing(P::Art12_1, "Whether the person replaces another posted person", format!("{path}.posting.replaces_posted_person")),
        Some(false) => d.say(R::NoReplacement, P::Art12_1, "The person is not sent to replace another posted person.".into()),
        Some(true) => d.at(R::Replacement, P::CjeuAlpenrind, "The person is sent to replace another posted person, which Art 12(1) excludes, whether the other person was posted by the same employer or by another (CJEU C-527/16 Alpenrind).".into(), format!("{path}.posting.replaces_posted_person")),
    }
    substantial_activity(act, sending, d);
}

/// 987/2009 Art 14(2), Decision A2, Guide Part I §3: each indicator that fires is a reason for review.
fn substantial_activity(act: Act<'_>, sending: Country, d: &mut Draft) {
    let path = act.path();
    let Some(employer) = act.activity.effective_employer() else { return };
    let who = if act.activity.real_employer.is_some() { "real_employer" } else { "employer" };
    let sp = format!("{path}.{who}.substantial_activity");
    let Some(sa) = employer.substantial_activity.as_ref() else {
        d.missing(P::Impl14_2, "The indicators of the employer's substantial activity in the sending state", sp);
        return;
    };
    let name = &employer.name;
    let mut complete = true;
    let mut fired = false;
    let quarter = Share::WHOLE / 4;
    let half = Share::WHOLE / 2;
    match sa.turnover_share {
        None => {
            complete = false;
            d.missing(P::Impl14_2, "The share of the employer's turnover achieved in the sending state", format!("{sp}.turnover_share"));
        }
        Some(t) if t.billionths() < quarter => {
            fired = true;
            d.at(R::TurnoverIndicator, P::GuideI3, format!(
                "{name} achieves {} % of its turnover in {sending}, less than 25 %: an indicator that it may not carry out substantial activities there, which calls for an overall assessment.",
                t.percent_text()
            ), format!("{sp}.turnover_share"));
        }
        Some(_) => {}
    }
    match sa.administrative_staff_share {
        None => {
            complete = false;
            d.missing(P::Impl14_2, "The share of the employer's staff in the sending state doing administrative work", format!("{sp}.administrative_staff_share"));
        }
        Some(s) if s.billionths() > half => {
            fired = true;
            d.at(R::AdministrativeStaffIndicator, P::GuideI3, format!(
                "{} % of the staff of {name} in {sending} do administrative work, more than half: an indicator of purely internal management there.",
                s.percent_text()
            ), format!("{sp}.administrative_staff_share"));
        }
        Some(_) => {}
    }
    match sa.contracts_share {
        None => {
            complete = false;
            d.missing(P::Impl14_2, "The share of the employer's contracts concluded in the sending state", format!("{sp}.contracts_share"));
        }
        Some(c) if c.billionths() < half => {
            fired = true;
            d.at(R::ContractsIndicator, P::GuideI3, format!(
                "{name} concludes {} % of its contracts in {sending}: most are concluded elsewhere, an indicator that calls for an overall assessment.",
                c.percent_text()
            ), format!("{sp}.contracts_share"));
        }
        Some(_) => {}
    }
    match sa.recruitment_mainly_abroad {
        None => {
            complete = false;
            d.missing(P::Impl14_2, "Where the employer recruits its staff", format!("{sp}.recruitment_mainly_abroad"));
        }
        Some(true) => {
            fired = true;
            d.at(R::RecruitmentIndicator, P::GuideI3, format!(
                "{name} recruits its staff mainly outside {sending}: an indicator that calls for an overall assessment."
            ), format!("{sp}.recruitment_mainly_abroad"));
        }
        Some(false) => {}
    }
    match sa.internal_management_only {
        None => {
            complete = false;
            d.missing(P::Impl14_2, "Whether the employer carries out only internal management in the sending state", format!("{sp}.internal_management_only"));
        }
        Some(true) => {
            fired = true;
            d.at(R::InternalManagementIndicator, P::Impl14_2, format!(
                "{name} carries out only purely internal management in {sending}, which 987/2009 Art 14(2) excludes from 'normally carries out its activities'."
            ), format!("{sp}.internal_management_only"));
        }
        Some(false) => {}
    }
    if complete && !fired {
        d.say(R::EmployerActive, P::Impl14_2, format!(
            "{name} carries out substantial activities in {sending}: it achieves at least 25 % of its turnover there, at most half of its staff there is administrative, at least half of its contracts are concluded there, it recruits there and does more than internal management."
        ));
    }
}

fn self_employed_conditions(act: Act<'_>, p: &Posting, start: Date, d: &mut Draft) {
    let path = act.path();
    let sending = p.sending_state;
    match (p.self_employed_since, start.add_months(-2)) {
        (None, _) => d.missing(P::Impl14_3, "Since when the self-employed activity has been pursued in the sending state", format!("{path}.posting.self_employed_since")),
        (Some(since), Some(two_months_before)) if since <= two_months_before => d.say(R::ActiveForSomeTime, P::GuideI9, format!(
            "The person has pursued the activity in {sending} since {since}, at least two months before the posting starts on {start} ({two_months_before} at the latest)."
        )),
        (Some(since), _) => d.at(R::ActiveTooShort, P::GuideI9, format!(
            "The person has pursued the activity in {sending} only since {since}, less than two months before {start}: 'for some time' (987/2009 Art 14(3)) needs a case-by-case assessment."
        ), format!("{path}.posting.self_employed_since")),
    }
    match p.maintains_business_in_sending_state {
        None => d.missing(P::Impl14_3, "Whether the person keeps the means to pursue the activity in the sending state", format!("{path}.posting.maintains_business_in_sending_state")),
        Some(true) => d.say(R::BusinessMaintained, P::GuideI9, format!("The person keeps the means to pursue the activity in {sending} (office, registrations, tax and VAT numbers) during the posting.")),
        Some(false) => d.at(R::BusinessNotMaintained, P::GuideI9, format!(
            "The person does not keep the means to pursue the activity in {sending} during the posting, so does not 'normally pursue' it there."
        ), format!("{path}.posting.maintains_business_in_sending_state")),
    }
    match p.similar_activity {
        None => d.missing(P::Impl14_4, "Whether the activity abroad is similar to the usual one", format!("{path}.posting.similar_activity")),
        Some(true) => d.say(R::Similar, P::Impl14_4, "The activity abroad is similar in nature to the activity normally pursued.".into()),
        Some(false) => d.at(R::NotSimilar, P::Impl14_4, "The activity abroad is not similar in nature to the activity normally pursued, which Art 12(2) requires.".into(), format!("{path}.posting.similar_activity")),
    }
}

/// 987/2009 Art 14(1), Guide Part I §5: insured in the sending state for at least one month
/// immediately before the posting (shorter periods: case by case).
fn prior_insurance(list: Option<&[InsurancePeriod]>, sending: Country, start: Date, path: &str, d: &mut Draft) {
    let p = format!("{path}.posting.prior_insurance");
    let Some(list) = list else {
        d.missing(P::Impl14_1, "The person's insurance before the posting", p);
        return;
    };
    let (Some(day_before), Some(month_before)) = (start.pred(), start.add_months(-1)) else { return };
    let covers = |ip: &InsurancePeriod, day: Date| ip.start <= day && ip.end.is_none_or(|e| e >= day);
    // The run of sending-state insurance that contains the day before the posting, merged over
    // adjacent and overlapping periods.
    let mut own: Vec<&InsurancePeriod> = list.iter().filter(|ip| ip.country == sending).collect();
    own.sort_by_key(|ip| ip.start);
    let mut runs: Vec<(Date, Option<Date>)> = Vec::new();
    for ip in own {
        if let Some(last) = runs.last_mut() {
            match last.1 {
                None => continue,
                Some(e) if e.succ().is_some_and(|next| ip.start <= next) => {
                    last.1 = ip.end.map(|x| x.max(e));
                    continue;
                }
                Some(_) => {}
            }
        }
        runs.push((ip.start, ip.end));
    }
    let run_start = runs.iter().find(|(s, e)| *s <= day_before && e.is_none_or(|e| e >= day_before)).map(|(s, _)| *s);
    match run_start {
        Some(s) if s <= month_before => d.say(R::PriorInsuranceOk, P::GuideI5, format!(
            "The person was insured in {sending} from {s} up to the start of the posting on {start}: at least one month immediately before it (from {month_before})."
        )),
        Some(s) => d.at(R::PriorInsuranceShort, P::GuideI5, format!(
            "The person was insured in {sending} only from {s}, less than one month before the posting starts on {start}; shorter periods need a case-by-case assessment."
        ), p),
        None => {
            let other: Vec<Country> = list.iter().filter(|ip| covers(ip, day_before)).map(|ip| ip.country).collect();
            let text = if other.is_empty() {
                format!("No insurance is recorded for {day_before}, the day before the posting starts: the person must be subject to the legislation of {sending} immediately before the posting.")
            } else {
                format!(
                    "On {day_before}, the day before the posting starts, the person was insured in {}, not in {sending}: Art 14(1) requires the sending state's legislation immediately before.",
                    crate::scope::list(&other)
                )
            };
            if other.is_empty() {
                d.at(R::NoInsuranceRecord, P::Impl14_1, text, p);
            } else {
                d.at(R::NotInsuredBefore, P::A2Point1, text, p);
            }
        }
    }
}

/// Guide Part I §13 (Decision A2): a new posting to the same state after at least two months.
fn previous_postings(list: Option<&[PreviousPosting]>, extends: Option<&Extension>, host: Country, start: Date, employed: bool, path: &str, d: &mut Draft) {
    let p = format!("{path}.posting.previous_postings");
    let Some(list) = list else {
        let what = if employed { "Earlier postings of the person by this employer (or [] if none)" } else { "Earlier postings of the person (or [] if none)" };
        d.missing(P::GuideI13, what, p);
        return;
    };
    let mut problem = false;
    let mut same_state = 0usize;
    for (i, prev) in list.iter().enumerate() {
        if prev.host_state != host {
            continue;
        }
        // The certificate this posting extends is not an earlier posting.
        if extends.is_some_and(|x| x.host_state == prev.host_state && x.start == prev.start && x.end == prev.end) {
            continue;
        }
        same_state += 1;
        let pp = format!("{p}[{i}]");
        if prev.end >= start {
            problem = true;
            d.at(R::PreviousOverlap, P::GuideI13, format!(
                "An earlier posting to {host} ({} to {}) has not ended before this posting starts on {start}: either the facts contradict each other or this is an extension, whose total may not exceed 24 months.",
                prev.start, prev.end
            ), pp);
            continue;
        }
        let earliest = prev.end.succ().and_then(|n| n.add_months(2));
        if earliest.is_none_or(|e| start < e) {
            problem = true;
            let earliest = earliest.map(|e| e.to_string()).unwrap_or_default();
            d.at(R::GapTooShort, P::GuideI13, format!(
                "An earlier posting to {host} ended on {}; a new posting to the same state can start only after two months have passed, on {earliest} at the earliest, not on {start}.",
                prev.end
            ), pp);
        }
    }
    if !problem {
        let text = if same_state == 0 {
            format!("No earlier posting to {host} is recorded.")
        } else {
            format!("Every earlier posting to {host} ended at least two months before {start}.")
        };
        d.say(R::GapOk, P::GuideI13, text);
    }
}
