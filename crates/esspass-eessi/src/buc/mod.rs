//! BUC state machines: the rules of LA_BUC_01 … LA_BUC_06 and H_BUC_01 as data ([`tables`]), and
//! one participant's view of a case that follows them ([`case`]).

pub mod case;
pub mod tables;

pub use case::{
    BucError, Case, CaseDocument, CaseEvent, CaseStatus, DocumentState, DueClosure, DueReminder,
    HistoryEntry, Role,
};
pub use tables::{BucSpec, spec};
