//! Stable reason codes. A code never changes meaning; its sentence may. Every code is listed with its
//! usual article and meaning in `docs/rules/README.md` (a test keeps the two in step).

use serde::{Serialize, Serializer};

/// What a reason does to the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// A condition of the article applied is met.
    Met,
    /// A condition of an article is clearly not met, so that article does not apply and the
    /// ordinary rules decide; the decision stays automatic (and contestable).
    NotMet,
    /// Information: how a rule was applied, what follows, what the institution does next.
    Info,
    /// The case needs a person: a fact is missing or contradictory, or an indicator calls for an
    /// overall assessment.
    Review,
    /// The case is outside the material, personal or territorial scope of the instruments.
    Excluded,
}

macro_rules! reason_codes {
    ($( $v:ident = $code:literal, $effect:ident, $meaning:literal; )*) => {
        /// Every reason the engine can give.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ReasonCode { $( #[doc = $meaning] $v, )* }

        impl ReasonCode {
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$v,)*];

            /// The stable code, e.g. `R-12-1-DURATION-OK`.
            pub fn code(self) -> &'static str {
                match self { $(ReasonCode::$v => $code,)* }
            }

            /// What the reason does to the outcome.
            pub fn effect(self) -> Effect {
                match self { $(ReasonCode::$v => Effect::$effect,)* }
            }

            /// What the code means, in one sentence.
            pub fn meaning(self) -> &'static str {
                match self { $(ReasonCode::$v => $meaning,)* }
            }
        }
    };
}

reason_codes! {
    // Scope: material, personal, territorial, temporal.
    ScopeEu = "R-SCOPE-EU", Met, "every state involved is an EU Member State and the person is covered: Regulation 883/2004 applies";
    ScopeEea = "R-SCOPE-EEA", Met, "an EEA EFTA state (IS, LI, NO) is involved: the Regulations apply through the EEA Agreement";
    ScopeSwitzerland = "R-SCOPE-CH", Met, "Switzerland is involved: the Regulations apply through the EU-Swiss Agreement";
    ScopeUk = "R-SCOPE-UK", Met, "the United Kingdom is involved: the TCA Protocol on Social Security Coordination applies";
    ScopeThirdCountryNational = "R-SCOPE-TCN", Met, "a third-country national legally resident in a Member State is covered through Regulation 1231/2010";
    ScopeStatelessRefugee = "R-SCOPE-STATELESS-REFUGEE", Met, "a stateless person or refugee residing in a participating state is covered";
    ScopeOutside = "R-SCOPE-OUTSIDE", Excluded, "no activity is pursued in a participating state, or a posting leads to or from a state outside: the instruments do not apply";
    ScopeThirdStateActivity = "R-SCOPE-THIRD-STATE-ACTIVITY", Review, "part of the activity is pursued outside the participating states; bilateral agreements may apply";
    ScopePersonNotCovered = "R-SCOPE-PERSON-NOT-COVERED", Excluded, "the person's nationality is not covered by the instrument that applies between the states involved";
    ScopeTcnDenmark = "R-SCOPE-TCN-DENMARK", Excluded, "Regulation 1231/2010 does not apply to Denmark: a third-country national is not covered when Denmark is involved";
    ScopeTcnNotResident = "R-SCOPE-TCN-NOT-RESIDENT", Excluded, "a third-country national (or stateless person or refugee) is covered only when (legally) resident in a participating state";
    ScopeSeveralAgreements = "R-SCOPE-SEVERAL-AGREEMENTS", Review, "the states involved coordinate through different agreements (for example the UK with an EEA EFTA state or Switzerland)";
    ScopeBeforeApplication = "R-SCOPE-BEFORE-APPLICATION", Review, "the period starts before the instrument applied between these states; earlier rules or transitional provisions may apply";
    ScopePurelyInternal = "R-SCOPE-PURELY-INTERNAL", Excluded, "nothing crosses a border (residence, nationality, work and employer in one state): no coordination question arises";
    ScopeUkNotAutomated = "R-SCOPE-UK-NOT-AUTOMATED", Review, "under the TCA the engine decides only work in one state and detached workers; other UK cases go to a person";

    // Art 11.
    OneState = "R-11-3-A-ONE-STATE", Met, "all (non-marginal) activity is pursued in one state, whose legislation applies";
    CivilServant = "R-11-3-B-CIVIL-SERVANT", Met, "a civil servant is subject to the legislation of the state to which the employing administration is subject";
    SeveralAdministrations = "R-11-3-B-SEVERAL-ADMINISTRATIONS", Review, "civil service for administrations of different states is not covered by one rule";
    FlagState = "R-11-4-FLAG-STATE", Met, "activity on board a vessel at sea is deemed pursued in the flag state";
    MarinerEmployerResidence = "R-11-4-EMPLOYER-RESIDENCE", Met, "a mariner paid by an undertaking seated in another state where the mariner resides is subject to that state's legislation";
    FlagOutside = "R-11-4-FLAG-OUTSIDE", Review, "the vessel flies the flag of a state outside the participating states";
    HomeBase = "R-11-5-HOME-BASE", Met, "flight or cabin crew activity is deemed pursued in the state of the home base";
    HomeBaseOutside = "R-11-5-HOME-BASE-OUTSIDE", Review, "the home base lies outside the participating states";
    Offshore = "R-11-3-A-OFFSHORE", Met, "work on an installation on a state's continental shelf counts as work in that state";
    OffshoreOutside = "R-11-OFFSHORE-OUTSIDE", Review, "work on an installation outside any state's continental shelf: no state of work";

    // Art 12: posting.
    DurationOk = "R-12-1-DURATION-OK", Met, "posted employed person: the anticipated end is on or before the start plus 24 months minus one day";
    DurationExceeded = "R-12-1-DURATION-EXCEEDED", NotMet, "posted employed person: the anticipated duration exceeds 24 months, so Art 12(1) cannot apply";
    SelfEmployedDurationOk = "R-12-2-DURATION-OK", Met, "posted self-employed person: the anticipated end is on or before the start plus 24 months minus one day";
    SelfEmployedDurationExceeded = "R-12-2-DURATION-EXCEEDED", NotMet, "posted self-employed person: the anticipated duration exceeds 24 months, so Art 12(2) cannot apply";
    OpenEnded = "R-12-OPEN-ENDED", Review, "the posting has no anticipated end, so its duration cannot be checked";
    NoReplacement = "R-12-1-NO-REPLACEMENT", Met, "the person is not sent to replace another posted person";
    Replacement = "R-12-1-REPLACEMENT", NotMet, "the person is sent to replace another posted person (by the same or another employer)";
    OnBehalf = "R-12-1-ON-BEHALF", Met, "the work abroad is done on the posting employer's behalf, which keeps the employment relationship";
    NotOnBehalf = "R-12-1-NOT-ON-BEHALF", NotMet, "the work abroad is not done on the posting employer's behalf";
    EmployerElsewhere = "R-12-1-EMPLOYER-ELSEWHERE", Review, "the employer's seat is not in the sending state";
    EmployerActive = "R-14-2-EMPLOYER-ACTIVE", Met, "no indicator questions the employer's substantial activity in the sending state";
    TurnoverIndicator = "R-14-2-TURNOVER", Review, "less than 25 % of the employer's turnover is achieved in the sending state";
    AdministrativeStaffIndicator = "R-14-2-ADMIN-STAFF", Review, "more than half of the employer's staff in the sending state do administrative work";
    ContractsIndicator = "R-14-2-CONTRACTS", Review, "most of the employer's contracts are concluded outside the sending state";
    RecruitmentIndicator = "R-14-2-RECRUITMENT", Review, "the employer mainly recruits its staff outside the sending state";
    InternalManagementIndicator = "R-14-2-INTERNAL-MANAGEMENT", NotMet, "the employer carries out only purely internal management in the sending state";
    PriorInsuranceOk = "R-14-1-PRIOR-INSURANCE-OK", Met, "the person was insured in the sending state for at least one month immediately before the posting";
    PriorInsuranceShort = "R-14-1-PRIOR-INSURANCE-SHORT", Review, "the person was insured in the sending state immediately before the posting, but for less than one month";
    NotInsuredBefore = "R-14-1-NOT-INSURED-BEFORE", NotMet, "the person was subject to another state's legislation, not the sending state's, immediately before the posting";
    NoInsuranceRecord = "R-14-1-NO-RECORD", Review, "no insurance is recorded for the day before the posting: whether the person was subject to the sending state's legislation is not known";
    GapOk = "R-12-GAP-OK", Met, "no earlier posting to the same state ended less than two months before this one starts";
    GapTooShort = "R-12-GAP-TOO-SHORT", Review, "an earlier posting to the same state ended less than two months before this one starts";
    PreviousOverlap = "R-12-PREVIOUS-OVERLAP", Review, "an earlier posting to the same state has not ended before this one starts";
    SameState = "R-12-SAME-STATE", Review, "the host state is the sending state: the facts contradict a posting";
    SeveralHostStates = "R-12-SEVERAL-HOST-STATES", Review, "the posting names several host states";
    ActiveForSomeTime = "R-14-3-ACTIVE-FOR-SOME-TIME", Met, "the self-employed activity was pursued for at least two months before the posting";
    ActiveTooShort = "R-14-3-ACTIVE-TOO-SHORT", Review, "the self-employed activity was pursued for less than two months before the posting";
    BusinessMaintained = "R-14-3-BUSINESS-MAINTAINED", Met, "the self-employed person keeps the means to pursue the activity in the sending state";
    BusinessNotMaintained = "R-14-3-BUSINESS-NOT-MAINTAINED", NotMet, "the self-employed person does not keep the means to pursue the activity in the sending state";
    Similar = "R-14-4-SIMILAR", Met, "the self-employed activity abroad is similar in nature to the usual one";
    NotSimilar = "R-14-4-NOT-SIMILAR", NotMet, "the self-employed activity abroad is not similar to the usual one";
    PermanentAssignment = "R-12-PERMANENT", NotMet, "the person is assigned permanently, not for an anticipated period: not a posting";
    DirectRelationship = "R-12-1-DIRECT-RELATIONSHIP", Met, "the person is neither hired out by the host undertaking to a third one nor under contract with the host undertaking";
    HiredOut = "R-A2-4-HIRED-OUT", NotMet, "the host undertaking puts the person at the disposal of a third undertaking, which excludes Art 12(1)";
    ContractWithHost = "R-12-1-CONTRACT-WITH-HOST", NotMet, "the person has an employment contract with the host undertaking: the direct relationship with the posting employer is broken";
    RealEmployer = "R-REAL-EMPLOYER", Info, "the undertaking that has authority over the worker, pays and can dismiss is not the formal employer: its facts decide";
    RealEmployerInHost = "R-12-1-REAL-EMPLOYER-IN-HOST", NotMet, "the real employer is established in the host state: the person is not posted from the sending state";
    AgencyPlacements = "R-14-2-AGENCY-PLACEMENTS", Met, "a temporary-work agency that places workers in its seat state carries out substantial activity there";
    AgencyNoPlacements = "R-14-2-AGENCY-NO-PLACEMENTS", NotMet, "a temporary-work agency that places no workers in its seat state does not normally carry out its activities there";
    ExtensionCounted = "R-A2-3C-EXTENSION", Info, "the posting extends an earlier certificate: its duration counts from the earlier start, and an interruption neither restarts nor lengthens it";
    ExtensionOtherHost = "R-12-EXTENSION-OTHER-HOST", Review, "the certificate said to be extended concerns another host state";
    PostingRuleFails = "R-12-CONDITIONS-NOT-MET", Info, "a condition of the posting rule is not met: the ordinary rules decide, and the conditions not met are cited";
    Moot = "R-12-MOOT", Info, "an open point of the posting rule that no longer matters because another condition is not met";
    PossiblePosting = "R-12-POSSIBLE-POSTING", Review, "employer and residence in one state, all work temporarily in another and no posting stated: whether a posting was intended must be asked";
    ExceptionSuggested = "R-16-SUGGESTED", Info, "a posting beyond 24 months can continue under the sending state's legislation only by an exception agreed under Art 16";

    // Art 13: activity in two or more states.
    Marginal = "R-14-5B-MARGINAL", Info, "activity of less than 5 % of working time and remuneration in a state is marginal and disregarded";
    MarginalUnclear = "R-14-5B-MARGINAL-UNCLEAR", Review, "activity in a state is below 5 % by one measure and not by another: whether it is marginal needs an assessment";
    ResidenceSubstantial = "R-13-1-A-RESIDENCE", Met, "a substantial part (at least 25 %) of the employed activity is pursued in the state of residence";
    ResidenceNotSubstantial = "R-13-NOT-SUBSTANTIAL-IN-RESIDENCE", Met, "less than 25 % of the activity is pursued in the state of residence";
    CriteriaDiverge = "R-14-8-CRITERIA-DIVERGE", Review, "the residence share is at least 25 % by one criterion and below 25 % by another: an overall assessment is needed";
    EmployerSeat = "R-13-1-B-I-SEAT", Met, "one employer: the legislation of the state of its registered office or place of business applies";
    EmployersOneSeat = "R-13-1-B-II-SEATS-ONE-STATE", Met, "several employers all seated in one state: that state's legislation applies";
    EmployersSeatOtherThanResidence = "R-13-1-B-III-SEAT-OTHER-THAN-RESIDENCE", Met, "several employers seated in two states, one the state of residence: the other state's legislation applies";
    EmployersSeveralSeats = "R-13-1-B-IV-RESIDENCE", Met, "several employers, at least two seated in different states other than the residence: the residence state's legislation applies";
    EmployerOutsideUnion = "R-14-11-EMPLOYER-OUTSIDE", Met, "an employer established outside the participating states, no substantial activity in the residence state: the residence state's legislation applies";
    EmployerSeatOutside = "R-13-EMPLOYER-SEAT-OUTSIDE", Review, "one of several employers is established outside the participating states";
    EmployerContradictory = "R-13-EMPLOYER-CONTRADICTORY", Review, "the same employer is given with different seats";
    ResidenceOutside = "R-13-RESIDENCE-OUTSIDE", Review, "the person resides outside the participating states, which Art 13 does not foresee";
    SelfEmployedResidence = "R-13-2-A-RESIDENCE", Met, "a substantial part (at least 25 %) of the self-employed activity is pursued in the state of residence";
    CentreOfInterest = "R-13-2-B-CENTRE-OF-INTEREST", Review, "no substantial part in the residence state: the centre of interest of the activities decides, which needs an overall assessment";
    EmployedState = "R-13-3-EMPLOYED-STATE", Met, "employed and self-employed in different states: the legislation of the state of the employed activity applies";
    CivilServantAndOther = "R-13-4-CIVIL-SERVANT", Met, "a civil servant also active in other states stays subject to the legislation of the administration's state";
    Provisional = "R-16-PROVISIONAL", Info, "the residence-state institution's determination is provisional and becomes definitive two months after the other institutions are informed, unless contested";

    // Art 15 and Art 16.
    ContractStaff = "R-15-CONTRACT-STAFF", Review, "EU contract staff choose the applicable legislation; the choice must be recorded by a person";
    ContractStaffOption = "R-15-OPTION", Met, "EU contract staff opted for the legislation of a state open to them (employment, last legislation or nationality)";
    ContractStaffOptionNotOpen = "R-15-OPTION-NOT-OPEN", Review, "the state chosen does not match the ground given for the Art 15 option";
    TeleworkFramework = "R-16-TELEWORK-FRAMEWORK", Info, "the request falls under the 2023 framework agreement on cross-border telework: telework in the residence state of at least 25 % and under 50 %";
    TeleworkOutsideFramework = "R-16-TELEWORK-OUTSIDE-FRAMEWORK", Info, "the conditions of the 2023 telework framework agreement are not met: the request is an ordinary Art 16 request";
    Contestable = "R-CONTESTABLE", Info, "an automatic decision that does not give what was applied for: the person or employer may ask for a human review (GDPR Art 22(3))";
    ExceptionRequest = "R-16-1-REQUEST", Review, "an exception needs the agreement of the competent authorities of the states concerned; the request (A001) is prepared for a person to send";
    ExceptionNormalRule = "R-16-1-NORMAL-RULE", Info, "what the ordinary rules would give without the exception";
    ExceptionOverFiveYears = "R-16-1-OVER-FIVE-YEARS", Info, "the exception asked for covers more than five years, longer than exceptions are usually agreed";
    ExceptionNotNeeded = "R-16-1-NOT-NEEDED", Info, "the ordinary rules already give the legislation asked for, for the whole period asked for: no exception is needed";

    // Facts and periods.
    FactMissing = "R-FACT-MISSING", Review, "a fact the article needs is missing from the application";
    SharesIncomplete = "R-FACT-SHARES-INCOMPLETE", Review, "the shares given add up to less than the whole activity, or are missing for some states";
    NotConcurrent = "R-FACT-NOT-CONCURRENT", Review, "the activities are not pursued at the same time; each period needs its own determination";
    CombinationNotAutomated = "R-COMBINATION-NOT-AUTOMATED", Review, "this combination of activities calls for an overall assessment that the engine leaves to a person";
    PeriodPartial = "R-PERIOD-PARTIAL", Info, "the determination covers only the period in which all the activities are pursued together";
    PeriodReviewDate = "R-PERIOD-REVIEW-DATE", Info, "the activity is open-ended: the period ends on the review date, five years after the start";
}

impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_shaped() {
        let mut seen = std::collections::HashSet::new();
        for c in ReasonCode::ALL {
            assert!(seen.insert(c.code()), "duplicate {}", c.code());
            assert!(c.code().starts_with("R-") && c.code().chars().all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '-'));
        }
    }

    #[test]
    fn readme_lists_every_code() {
        let doc = include_str!("../../../docs/rules/README.md");
        for c in ReasonCode::ALL {
            assert!(doc.contains(&format!("`{}`", c.code())), "{} missing from docs/rules/README.md", c.code());
        }
    }
}
