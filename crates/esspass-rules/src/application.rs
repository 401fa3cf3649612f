//! The application the engine decides: the person, each activity with its states and posting facts,
//! an optional Art 16 exception request, and the decision date. Documented field by field in
//! `docs/rules/README.md` and `docs/rules/application.schema.json`; read from JSON by
//! [`crate::parse_application`].
//!
//! A fact the law needs but the sender did not know is an `Option` holding `None`: the engine then
//! sends the case to a person naming the missing fact. Only the structure (where, when, who) is
//! required to parse.

use esspass_core::{Country, Date};
use serde::{Serialize, Serializer};

/// A share of the person's (or the employer's) total, held exactly in billionths so that thresholds
/// compare without floating-point error: `0.25` is exactly 250 000 000 and counts as 25 %, `0.249`
/// is 249 000 000 and does not. Inputs with more than nine decimals are rounded to nine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Share(u32);

impl Share {
    /// One whole (100 %), in billionths.
    pub const WHOLE: u32 = 1_000_000_000;

    /// A share from a decimal between 0 and 1 (both included); `None` outside that range.
    pub fn from_decimal(x: f64) -> Option<Share> {
        if !x.is_finite() || !(0.0..=1.0).contains(&x) {
            return None;
        }
        // x * 1e9 is at most 1e9, well within u32; the rounding error of the product is far
        // below half a billionth for inputs with up to nine decimals.
        let scaled = (x * f64::from(Self::WHOLE)).round();
        let n = scaled as u32;
        (n <= Self::WHOLE).then_some(Share(n))
    }

    /// A share from billionths; `None` above one whole.
    pub fn from_billionths(n: u32) -> Option<Share> {
        (n <= Self::WHOLE).then_some(Share(n))
    }

    /// The share in billionths (0 ..= 1 000 000 000).
    pub fn billionths(self) -> u32 {
        self.0
    }

    /// The share as a decimal (for display and JSON output only, never for comparisons).
    pub fn as_decimal(self) -> f64 {
        f64::from(self.0) / f64::from(Self::WHOLE)
    }

    /// The share in percent, for sentences (`25`, `24.9`, `33.333`).
    pub fn percent_text(self) -> String {
        percent_text(u64::from(self.0))
    }
}

/// Billionths as a percentage for sentences, without trailing zeros (`250000000` → `25`).
pub(crate) fn percent_text(billionths: u64) -> String {
    // one percent = 10 000 000 billionths; keep up to three decimals of a percent
    let thousandths = (billionths + 5_000) / 10_000;
    let whole = thousandths / 1_000;
    let frac = thousandths % 1_000;
    if frac == 0 {
        format!("{whole}")
    } else {
        let s = format!("{whole}.{frac:03}");
        s.trim_end_matches('0').to_string()
    }
}

impl Serialize for Share {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_decimal())
    }
}

/// A stretch of calendar days, both ends inclusive; `end` is `None` when open-ended.
/// Unlike [`esspass_core::Period`] it orders, so activities can be put in a canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub start: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

impl Span {
    /// Whether the two spans share at least one day.
    pub fn overlaps(&self, other: &Span) -> bool {
        let self_before = self.end.is_some_and(|e| e < other.start);
        let other_before = other.end.is_some_and(|e| e < self.start);
        !(self_before || other_before)
    }
}

/// The application as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Application {
    /// The day the decision is taken. The engine never reads a clock: this date is the "today" of
    /// every rule that needs one.
    pub decision_date: Date,
    /// The sender's own reference, echoed in nothing the engine decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub person: Person,
    /// At least one activity. Their order carries no meaning.
    pub activities: Vec<Activity>,
    /// A request for an exception agreed between states (883/2004 Art 16(1)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception_request: Option<ExceptionRequest>,
}

/// The person the legislation is determined for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Person {
    /// State of residence (883/2004 Art 1(j): where the person habitually resides); `None` when
    /// the sender does not know it (`"residence": "unknown"`): a person then decides.
    #[serde(serialize_with = "residence_ser")]
    pub residence: Option<Country>,
    /// Every nationality; empty only for a stateless person or a refugee.
    pub nationalities: Vec<Country>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stateless: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refugee: bool,
    /// Legal residence in the state of residence; needed for third-country nationals only
    /// (Reg. 1231/2010 Art 1, TCA Protocol on Social Security Coordination).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legally_resident: Option<bool>,
}

fn residence_ser<S: Serializer>(r: &Option<Country>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(c) => c.serialize(s),
        None => s.serialize_str("unknown"),
    }
}

/// What kind of activity: it decides which article can apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// Activity as an employed person (883/2004 Art 1(a)).
    Employed,
    /// Activity as a self-employed person (883/2004 Art 1(b)).
    SelfEmployed,
    /// Civil servant of a state's administration (883/2004 Art 1(d), Art 11(3)(b)).
    CivilServant,
    /// Contract staff of the European Union (883/2004 Art 15).
    EuContractStaff,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 4] =
        [ActivityKind::Employed, ActivityKind::SelfEmployed, ActivityKind::CivilServant, ActivityKind::EuContractStaff];

    /// The JSON spelling.
    pub fn name(self) -> &'static str {
        match self {
            ActivityKind::Employed => "employed",
            ActivityKind::SelfEmployed => "self_employed",
            ActivityKind::CivilServant => "civil_servant",
            ActivityKind::EuContractStaff => "eu_contract_staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// One activity of the person.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Activity {
    pub kind: ActivityKind,
    /// When the activity is pursued; for a posting, the anticipated posting period.
    pub period: Span,
    /// The employer (required for `employed`; not given for `self_employed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employer: Option<Employer>,
    /// For a civil servant: the state to which the employing administration is subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub administration: Option<Country>,
    /// Where the activity is pursued, with its share of the person's total activity.
    /// For a posting: the host state.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<StateShare>,
    /// Present when the activity is a posting from `sending_state` (883/2004 Art 12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posting: Option<Posting>,
    /// Present when the activity is normally pursued on board a vessel at sea (883/2004 Art 11(4)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vessel: Option<Vessel>,
    /// Present for flight or cabin crew: the state of the home base (883/2004 Art 11(5)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_base: Option<Country>,
    /// The undertaking that actually has authority over the worker, pays the remuneration and can
    /// dismiss, when it is not the formal employer: its facts decide (Guide Part I §4; CJEU C-115/11
    /// *Format*, C-527/16 *Alpenrind*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_employer: Option<Employer>,
    /// Work on an installation at sea, outside any state's territory (Art 11(3)(a) as read in CJEU
    /// C-347/10 *Salemink*): where it stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offshore: Option<Offshore>,
    /// `false`: the sender states the activity is not a posting (the person was engaged for work in
    /// that state), which settles the unreported-posting question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posted: Option<bool>,
    /// EU contract staff: the option exercised under 883/2004 Art 15 (987/2009 Art 15(2)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_staff_option: Option<ContractStaffOption>,
}

impl Activity {
    /// The employer whose facts count: the real employer where one is given, else the formal one.
    pub fn effective_employer(&self) -> Option<&Employer> {
        self.real_employer.as_ref().or(self.employer.as_ref())
    }
}

/// An installation at sea (platform, wind farm, rig).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Offshore {
    /// The state on whose continental shelf (or exclusive economic zone) the installation stands;
    /// `None`: outside any state's shelf (the high seas).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continental_shelf_of: Option<Country>,
}

/// On what ground an EU contract staff member opted (883/2004 Art 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionBasis {
    /// The state in which the person is employed.
    EmploymentState,
    /// The state whose legislation the person was last subject to.
    LastLegislation,
    /// The state of which the person is a national.
    Nationality,
}

impl OptionBasis {
    pub const ALL: [OptionBasis; 3] = [OptionBasis::EmploymentState, OptionBasis::LastLegislation, OptionBasis::Nationality];
    pub fn name(self) -> &'static str {
        match self {
            OptionBasis::EmploymentState => "employment_state",
            OptionBasis::LastLegislation => "last_legislation",
            OptionBasis::Nationality => "nationality",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// The Art 15 option of EU contract staff.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ContractStaffOption {
    pub country: Country,
    pub basis: OptionBasis,
}

/// A state where an activity is pursued, and the activity's share there of the person's total
/// (working time, remuneration or income, turnover), each a decimal from 0 to 1.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StateShare {
    pub country: Country,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_time_share: Option<Share>,
    /// Remuneration for employed activity; income for self-employed activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remuneration_share: Option<Share>,
    /// Turnover (self-employed activity; 987/2009 Art 14(8)(b)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnover_share: Option<Share>,
}

/// The employer (or the undertaking paying a mariner, 883/2004 Art 11(4)).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Employer {
    pub name: String,
    /// A registration, social security or tax number; employers with the same id are one employer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Registered office or place of business: where the essential decisions are adopted and the
    /// central administration is carried out (987/2009 Art 14(5a)).
    pub seat: Country,
    /// Indicators of substantial activity in the seat state (987/2009 Art 14(2); Decision A2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substantial_activity: Option<SubstantialActivity>,
    /// A temporary-work agency (987/2009 Art 14(2); Decision A2 point 2; Guide Part I §3).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub temporary_work_agency: bool,
    /// Agency: it places workers with user undertakings in the seat state itself, a business of its
    /// own there (not only placements abroad).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency_placements_in_seat_state: Option<bool>,
}

/// The indicators that the employer "normally carries out its activities" in the sending state
/// (987/2009 Art 14(2), Practical Guide Part I §3). Each one that fires calls for an overall
/// assessment by a person.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SubstantialActivity {
    /// Share of the employer's turnover achieved in the sending state (fires below 25 %).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnover_share: Option<Share>,
    /// Share of the employer's staff in the sending state doing administrative work (fires above 50 %).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub administrative_staff_share: Option<Share>,
    /// Share of the employer's contracts with customers concluded in the sending state (fires below 50 %).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contracts_share: Option<Share>,
    /// Staff mainly recruited outside the sending state (fires when true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recruitment_mainly_abroad: Option<bool>,
    /// Only purely internal management in the sending state (fires when true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_management_only: Option<bool>,
}

/// Facts of a posting (883/2004 Art 12, 987/2009 Art 14(1)–(4), Practical Guide Part I).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Posting {
    /// The state the person is posted from and normally works in.
    pub sending_state: Country,
    /// Employed: the work abroad is done on the posting employer's behalf, which keeps the
    /// employment relationship (883/2004 Art 12(1); Guide Part I §4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of_employer: Option<bool>,
    /// Employed: the person is sent to replace another posted person (883/2004 Art 12(1)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces_posted_person: Option<bool>,
    /// Insurance before the posting, every state (987/2009 Art 14(1); Guide Part I §5). `[]` means none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior_insurance: Option<Vec<InsurancePeriod>>,
    /// Earlier postings of this person by this employer (or, self-employed, of this person), every
    /// state (Guide Part I §13). `[]` means none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_postings: Option<Vec<PreviousPosting>>,
    /// Self-employed: since when the activity has been pursued in the sending state (987/2009 Art 14(3)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_employed_since: Option<Date>,
    /// Self-employed: the activity abroad is similar in nature (883/2004 Art 12(2); 987/2009 Art 14(4)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similar_activity: Option<bool>,
    /// Self-employed: keeps the means to pursue the activity in the sending state (office, registrations,
    /// tax and VAT numbers) during the posting (987/2009 Art 14(3); Guide Part I §9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintains_business_in_sending_state: Option<bool>,
    /// Employed: the host undertaking puts the person at the disposal of a third undertaking
    /// (Decision A2 point 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hired_out_to_third_undertaking: Option<bool>,
    /// Employed: the person concludes an employment contract with the host undertaking (Guide
    /// Part I §4: the direct relationship with the posting employer ends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_with_host_undertaking: Option<bool>,
    /// The person is sent permanently, not for an anticipated period (which differs from an end
    /// date that is not known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permanent_assignment: Option<bool>,
    /// The posting extends an existing certificate (PDA1) for the same work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<Extension>,
}

/// The certificate a posting extends (Decision A2 point 3(c)).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Extension {
    pub host_state: Country,
    pub start: Date,
    pub end: Date,
    /// Why the earlier posting was interrupted, if it was.
    pub interruption: Interruption,
}

/// Why a posting was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interruption {
    None,
    Holiday,
    Illness,
    Training,
    Other,
}

impl Interruption {
    pub const ALL: [Interruption; 5] = [Interruption::None, Interruption::Holiday, Interruption::Illness, Interruption::Training, Interruption::Other];
    pub fn name(self) -> &'static str {
        match self {
            Interruption::None => "none",
            Interruption::Holiday => "holiday",
            Interruption::Illness => "illness",
            Interruption::Training => "training",
            Interruption::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// A period of insurance under a state's legislation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct InsurancePeriod {
    pub country: Country,
    pub start: Date,
    /// `None`: still running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

/// An earlier posting.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PreviousPosting {
    pub host_state: Country,
    pub start: Date,
    pub end: Date,
}

/// The vessel a mariner works on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Vessel {
    /// The flag state.
    pub flag: Country,
}

/// A request that a state's legislation apply by way of exception (883/2004 Art 16(1); 987/2009 Art 18).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ExceptionRequest {
    /// The state whose legislation the person or the employer asks to apply.
    pub legislation_country: Country,
    pub period: Span,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grounds: Option<String>,
    /// A framework agreement the request is made under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<Framework>,
}

/// Multilateral framework agreements under 883/2004 Art 16(1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    /// The Framework Agreement on the application of Art 16(1) in cases of habitual cross-border
    /// telework (in force 1 July 2023): telework in the residence state of at least 25 % and less than
    /// 50 % of the total working time, for an employer seated in the other signatory state.
    CrossBorderTelework2023,
}

impl Framework {
    pub fn name(self) -> &'static str {
        match self {
            Framework::CrossBorderTelework2023 => "cross_border_telework_2023",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_exact_at_the_thresholds() {
        assert_eq!(Share::from_decimal(0.25).unwrap().billionths(), 250_000_000);
        assert_eq!(Share::from_decimal(0.249).unwrap().billionths(), 249_000_000);
        assert_eq!(Share::from_decimal(0.29).unwrap().billionths(), 290_000_000);
        assert_eq!(Share::from_decimal(0.249_999_999).unwrap().billionths(), 249_999_999);
        assert_eq!(Share::from_decimal(1.0).unwrap().billionths(), Share::WHOLE);
        assert_eq!(Share::from_decimal(0.0).unwrap().billionths(), 0);
        for bad in [-0.0001, 1.0001, f64::NAN, f64::INFINITY] {
            assert!(Share::from_decimal(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn percent_text_is_short() {
        assert_eq!(Share::from_decimal(0.25).unwrap().percent_text(), "25");
        assert_eq!(Share::from_decimal(0.249).unwrap().percent_text(), "24.9");
        assert_eq!(Share::from_decimal(1.0 / 3.0).unwrap().percent_text(), "33.333");
        assert_eq!(Share::from_decimal(0.05).unwrap().percent_text(), "5");
    }
}
