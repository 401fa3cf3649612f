//! The applicable-legislation engine: which state's social security legislation applies to a person
//! who works across borders, under Title II of Regulation (EC) 883/2004 (Arts 11–16) and the criteria
//! of Regulation (EC) 987/2009 (Arts 14–16, 18), as the EEA Agreement, the EU–Swiss Agreement and the
//! EU–UK Trade and Cooperation Agreement extend them.
//!
//! What lives here: the application format and its validation ([`parse_application`]), the rules
//! ([`decide`]), the decision with its reasons — each a stable code, the article it rests on and a
//! sentence a case worker and a court can read — and its text rendering ([`explain`]). A case the
//! rules settle comes out `determined`; a missing or contradictory fact, or an indicator that calls
//! for an overall assessment, comes out `manual_review` naming exactly what a person must look at;
//! a case outside the instruments comes out `not_applicable`. The engine never refuses on its own.
//!
//! Bulk use: [`jsonl::decide_line`] turns one line of JSON into one line of decision.
//!
//! What must not: IO of any kind, the system clock (the decision date is part of the application),
//! randomness, async, logging. Every function is pure and deterministic, and the order of the
//! activities in an application never changes the decision.
//!
//! ```
//! let json = r#"{
//!   "decision_date": "2026-12-01",
//!   "person": {"residence": "GR", "nationalities": ["GR"]},
//!   "activities": [{
//!     "kind": "employed",
//!     "period": {"start": "2027-01-04", "end": "2027-12-31"},
//!     "employer": {"name": "Yiannis Constructions", "seat": "GR", "substantial_activity": {
//!       "turnover_share": 0.9, "administrative_staff_share": 0.1, "contracts_share": 0.95,
//!       "recruitment_mainly_abroad": false, "internal_management_only": false}},
//!     "states": [{"country": "IT"}],
//!     "posting": {"sending_state": "GR", "on_behalf_of_employer": true, "replaces_posted_person": false,
//!       "prior_insurance": [{"country": "GR", "start": "2019-03-01"}], "previous_postings": []}
//!   }]
//! }"#;
//! let app = esspass_rules::parse_application(json).unwrap();
//! let decision = esspass_rules::decide(&app);
//! assert_eq!(decision.outcome, esspass_rules::Outcome::Determined);
//! assert_eq!(decision.article, Some("883/2004 Art 12(1)"));
//! println!("{}", esspass_rules::explain(&decision));
//! ```

pub mod application;
pub mod codes;
pub mod decision;
mod engine;
mod exception;
mod explain;
pub mod jsonl;
mod multistate;
pub mod parse;
mod posting;
pub mod provision;
mod scope;
mod situation;
mod special;

pub use application::{
    Activity, ActivityKind, Application, ContractStaffOption, Employer, ExceptionRequest, Extension, Framework, InsurancePeriod, Interruption,
    Offshore, OptionBasis, Person, Posting, PreviousPosting, Share, Span, StateShare, SubstantialActivity, Vessel,
};
pub use codes::{Effect, ReasonCode};
pub use decision::{Allowed, Buc, Decision, DecisionPeriod, Outcome, Reason, Sed};
pub use parse::application_from_value;
pub use provision::{Instrument, Provision};

/// Read and validate an application from JSON. On failure, every problem with its JSON path
/// (`$.activities[1].states[0].working_time_share`) and a stable code: `ESP-6xxx`, or `ESP-1004`
/// (country), `ESP-1006` (date), `ESP-1007` (period reversed). Never panics.
pub fn parse_application(json: &str) -> Result<Application, esspass_core::Problems> {
    parse::parse_application(json)
}

/// Decide which legislation applies. Pure and deterministic: the same application always gives the
/// same decision, whatever the order of its activities; "today" is the application's decision date.
pub fn decide(app: &Application) -> Decision {
    engine::decide(app)
}

/// The decision as readable text (for `esspass rules explain`).
pub fn explain(decision: &Decision) -> String {
    explain::explain(decision)
}
