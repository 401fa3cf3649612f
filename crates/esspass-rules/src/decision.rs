//! The decision: outcome, legislation, article, PDA1 status confirmation, period, the EESSI case the
//! institution opens, and the reasons. Also the [`Draft`] the rules fill in while they run.

use crate::codes::{Effect, ReasonCode};
use crate::provision::{Instrument, Provision};
use esspass_core::{Country, Date, StatusConfirmation};
use serde::Serialize;

/// The three outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every condition of the article applied is met; the institution can issue the PDA1.
    Determined,
    /// A person must decide; the reasons with effect `review` say exactly why.
    ManualReview,
    /// The coordination instruments do not apply.
    NotApplicable,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Determined => "determined",
            Outcome::ManualReview => "manual_review",
            Outcome::NotApplicable => "not_applicable",
        }
    }
}

/// Legislation-applicable business use cases (EESSI sector LA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Buc {
    /// Request for exception (Art 16).
    #[serde(rename = "LA_BUC_01")]
    LaBuc01,
    /// Determination of applicable legislation, activity in two or more states (Art 13).
    #[serde(rename = "LA_BUC_02")]
    LaBuc02,
    /// Notification of posting (Art 12).
    #[serde(rename = "LA_BUC_04")]
    LaBuc04,
    /// Notification of applicable legislation (Art 11, 15).
    #[serde(rename = "LA_BUC_05")]
    LaBuc05,
}

impl Buc {
    pub fn name(self) -> &'static str {
        match self {
            Buc::LaBuc01 => "LA_BUC_01",
            Buc::LaBuc02 => "LA_BUC_02",
            Buc::LaBuc04 => "LA_BUC_04",
            Buc::LaBuc05 => "LA_BUC_05",
        }
    }

    /// The SED that starts the case.
    pub fn first_sed(self) -> Sed {
        match self {
            Buc::LaBuc01 => Sed::A001,
            Buc::LaBuc02 => Sed::A003,
            Buc::LaBuc04 => Sed::A009,
            Buc::LaBuc05 => Sed::A010,
        }
    }
}

/// The first SED of each legislation-applicable BUC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Sed {
    /// Request for exception.
    A001,
    /// Determination of applicable legislation.
    A003,
    /// Notification of posting.
    A009,
    /// Notification of applicable legislation.
    A010,
}

impl Sed {
    pub fn name(self) -> &'static str {
        match self {
            Sed::A001 => "A001",
            Sed::A003 => "A003",
            Sed::A009 => "A009",
            Sed::A010 => "A010",
        }
    }
}

/// The period the legislation applies for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct DecisionPeriod {
    pub start: Date,
    /// Inclusive. `None` only in a manual review where the end is the missing fact.
    pub end: Option<Date>,
    /// The determination is provisional (987/2009 Art 16(2)); the PDA1 says so (field 2.5).
    pub provisional: bool,
    /// The activity is open-ended and `end` is the review date (start + 5 years − 1 day), not an
    /// end of the activity.
    pub review_date: bool,
}

/// One reason: a stable code, the article it rests on, what it does to the outcome, a sentence a
/// case worker and a court can read, and where the fact lives in the application.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub article: &'static str,
    pub effect: Effect,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// An outcome the law allows on the facts given: what a case worker may approve without an override.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Allowed {
    pub legislation_country: Country,
    pub article: &'static str,
    pub status_confirmation: StatusConfirmation,
    /// An Art 16 exception: it takes effect only with the other states' agreement (A001 / A002 / A011).
    pub requires_agreement: bool,
}

/// The decision on one application.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Decision {
    pub outcome: Outcome,
    /// The instrument under which the states coordinate (none when not applicable or unclear).
    pub instrument: Option<Instrument>,
    /// The state whose legislation applies; in a manual review, the candidate if there is one.
    pub legislation_country: Option<Country>,
    /// The article applied (or, in a manual review, the candidate article).
    pub article: Option<&'static str>,
    /// PDA1 `status_confirmation`.
    pub status_confirmation: Option<StatusConfirmation>,
    pub period: Option<DecisionPeriod>,
    /// The state whose institution takes the decision and opens the EESSI case.
    pub institution_country: Option<Country>,
    /// The other states involved, which the institution informs.
    pub other_states: Vec<Country>,
    pub buc: Option<Buc>,
    pub first_sed: Option<Sed>,
    /// Every participating state whose institutions must be told (residence, places of work, the
    /// employers' seats, the sending state, the state asked for an exception), sorted; the BUC goes
    /// to each of them other than `institution_country`.
    pub states_concerned: Vec<Country>,
    /// The outcomes the law allows on these facts; the first is where a case worker's approval starts.
    /// A determined decision has exactly its own result; an empty list in a review means the reasons
    /// leave no candidate and the case worker decides from the facts.
    pub allowed: Vec<Allowed>,
    /// An automatic decision that does not give what was applied for (a posting condition not met,
    /// outside the instruments): the person or the employer may ask for a human review (GDPR Art 22(3)).
    pub contestable: bool,
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// The reasons that sent the case to a person.
    pub fn review_reasons(&self) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().filter(|r| r.effect == Effect::Review)
    }

    /// Whether any reason carries this code.
    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }
}

/// The PDA1 status an ordinary-rule article gives.
fn ordinary_status(p: Provision) -> StatusConfirmation {
    match p {
        Provision::Art12_1 => StatusConfirmation::PostedEmployed,
        Provision::Art12_2 => StatusConfirmation::PostedSelfEmployed,
        Provision::Art11_4 | Provision::Art11_4Second => StatusConfirmation::Mariner,
        Provision::Art11_5 => StatusConfirmation::FlightCrew,
        Provision::Art11_3b => StatusConfirmation::CivilServant,
        Provision::Art13_4 => StatusConfirmation::CivilServantAndEmployedOrSelfEmployed,
        Provision::Art13_3 => StatusConfirmation::EmployedAndSelfEmployed,
        Provision::Art13_2a | Provision::Art13_2b => StatusConfirmation::SelfEmployedTwoOrMoreStates,
        Provision::Art13_1a | Provision::Art13_1bi | Provision::Art13_1bii | Provision::Art13_1biii | Provision::Art13_1biv | Provision::Impl14_11 => {
            StatusConfirmation::EmployedTwoOrMoreStates
        }
        Provision::Art16_1 => StatusConfirmation::Exception,
        Provision::Art15 => StatusConfirmation::ContractStaff,
        _ => StatusConfirmation::WorkingInCompetentStateOnly,
    }
}

/// Which exchange follows the determination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Procedure {
    /// Art 12: LA_BUC_04 / A009 from the sending state (987/2009 Art 15).
    Posting,
    /// Art 13 and marginal activities: LA_BUC_02 / A003 from the residence state (987/2009 Art 16).
    MultiState,
    /// Art 11: LA_BUC_05 / A010 (987/2009 Art 15).
    Notification,
    /// Art 16: LA_BUC_01 / A001 to the other states' competent authorities (987/2009 Art 18).
    Exception,
}

impl Procedure {
    fn buc(self) -> Buc {
        match self {
            Procedure::Posting => Buc::LaBuc04,
            Procedure::MultiState => Buc::LaBuc02,
            Procedure::Notification => Buc::LaBuc05,
            Procedure::Exception => Buc::LaBuc01,
        }
    }
}

/// The legislation a rule arrives at (or proposes, in a manual review).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub country: Country,
    pub provision: Provision,
    pub status: StatusConfirmation,
    pub start: Date,
    pub end: Option<Date>,
    pub provisional: bool,
    pub review_date: bool,
    pub institution: Country,
    pub procedure: Procedure,
}

/// The decision while the rules run.
#[derive(Debug)]
pub(crate) struct Draft {
    /// Citations follow this instrument; `Regulation883` until scope says otherwise.
    pub instrument: Instrument,
    /// The instrument scope established, if it did.
    pub scope: Option<Instrument>,
    pub candidate: Option<Candidate>,
    /// What the ordinary rules give when the candidate is something else (a posting beyond 24
    /// months falls back to the host state's legislation; the candidate is then an exception).
    pub ordinary: Option<(Country, Provision)>,
    /// Other outcomes the law allows besides the candidate, depending on how a person settles the
    /// open points (a posting under review: the host state's legislation if a condition fails).
    pub alternatives: Vec<(Country, Provision, StatusConfirmation)>,
    pub reasons: Vec<Reason>,
}

impl Draft {
    pub fn new() -> Self {
        Draft { instrument: Instrument::Regulation883, scope: None, candidate: None, ordinary: None, alternatives: Vec::new(), reasons: Vec::with_capacity(12) }
    }

    /// Add a reason; its effect comes from its code.
    pub fn push(&mut self, code: ReasonCode, provision: Provision, text: String, path: Option<String>) {
        self.reasons.push(Reason { code, article: provision.cite(self.instrument), effect: code.effect(), text, path });
    }

    pub fn say(&mut self, code: ReasonCode, provision: Provision, text: String) {
        self.push(code, provision, text, None);
    }

    pub fn at(&mut self, code: ReasonCode, provision: Provision, text: String, path: String) {
        self.push(code, provision, text, Some(path));
    }

    /// A fact the provision needs is missing at `path`.
    pub fn missing(&mut self, provision: Provision, what: &str, path: String) {
        let text = format!("{what} is not given; {} needs it.", provision.cite(self.instrument));
        self.push(ReasonCode::FactMissing, provision, text, Some(path));
    }

    pub fn needs_review(&self) -> bool {
        self.reasons.iter().any(|r| r.effect == Effect::Review)
    }

    pub fn excluded(&self) -> bool {
        self.reasons.iter().any(|r| r.effect == Effect::Excluded)
    }

    fn not_met(&self) -> bool {
        self.reasons.iter().any(|r| r.effect == Effect::NotMet)
    }

    fn contest_reason(&mut self, what: &str) {
        self.say(ReasonCode::Contestable, Provision::Gdpr22, format!(
            "This decision was taken automatically and {what}. The person or the employer may ask for it to be reviewed by a case worker, who sees these reasons (POST /api/v1/applications/{{id}}/contest)."
        ));
    }

    /// The decision. `involved` are all states the application names (participating ones only).
    pub fn finish(mut self, involved: &[Country]) -> Decision {
        if self.excluded() {
            self.contest_reason("finds the coordination rules not applicable");
            return Decision {
                outcome: Outcome::NotApplicable,
                instrument: None,
                legislation_country: None,
                article: None,
                status_confirmation: None,
                period: None,
                institution_country: None,
                other_states: Vec::new(),
                buc: None,
                first_sed: None,
                states_concerned: involved.to_vec(),
                allowed: Vec::new(),
                contestable: true,
                reasons: self.reasons,
            };
        }
        let outcome = if self.needs_review() || self.candidate.is_none() { Outcome::ManualReview } else { Outcome::Determined };
        let Some(c) = self.candidate.take() else {
            return Decision {
                outcome,
                instrument: self.scope,
                legislation_country: None,
                article: None,
                status_confirmation: None,
                period: None,
                institution_country: None,
                other_states: Vec::new(),
                buc: None,
                first_sed: None,
                states_concerned: involved.to_vec(),
                allowed: Vec::new(),
                contestable: false,
                reasons: self.reasons,
            };
        };
        let contestable = outcome == Outcome::Determined && self.not_met();
        if contestable {
            self.contest_reason("does not apply the posting rule asked for, because a condition is not met");
        }
        let instrument = self.instrument;
        let mut allowed = vec![Allowed {
            legislation_country: c.country,
            article: c.provision.cite(instrument),
            status_confirmation: c.status,
            requires_agreement: c.provision == Provision::Art16_1,
        }];
        if outcome == Outcome::ManualReview {
            let ordinary = self.ordinary.map(|(country, p)| (country, p, ordinary_status(p)));
            for (country, p, status) in ordinary.into_iter().chain(self.alternatives.iter().copied()) {
                let a = Allowed { legislation_country: country, article: p.cite(instrument), status_confirmation: status, requires_agreement: p == Provision::Art16_1 };
                if !allowed.iter().any(|x| x.legislation_country == a.legislation_country && x.article == a.article) {
                    allowed.push(a);
                }
            }
            // An exception is what was asked, not what the law gives without the other states'
            // agreement: a case worker's approval starts from the ordinary result.
            if allowed.first().is_some_and(|a| a.requires_agreement) && allowed.len() > 1 {
                allowed.rotate_left(1);
            }
        }
        // The state designated and the deciding institution's state are concerned too.
        let mut concerned: Vec<Country> = involved.to_vec();
        for x in [c.country, c.institution] {
            if x.area().is_some() && !concerned.contains(&x) {
                concerned.push(x);
            }
        }
        concerned.sort();
        let other_states: Vec<Country> = concerned.iter().copied().filter(|s| *s != c.institution).collect();
        let buc = (!other_states.is_empty() || c.country != c.institution).then(|| c.procedure.buc());
        Decision {
            outcome,
            instrument: self.scope,
            legislation_country: Some(c.country),
            article: Some(c.provision.cite(self.instrument)),
            status_confirmation: Some(c.status),
            period: Some(DecisionPeriod { start: c.start, end: c.end, provisional: c.provisional, review_date: c.review_date }),
            institution_country: Some(c.institution),
            other_states,
            buc,
            first_sed: buc.map(Buc::first_sed),
            states_concerned: concerned,
            allowed,
            contestable,
            reasons: self.reasons,
        }
    }
}
