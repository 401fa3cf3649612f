//! Domain types of esspass.
//!
//! What lives here: the vocabulary every other crate speaks — countries (ISO and EESSI spellings),
//! institution ids, calendar dates and periods, the PDA1 status-confirmation codes, employer types,
//! the two credential documents (PDA1 and EHIC) with their validation, the stable error codes, and
//! the `Clock` through which time enters.
//!
//! What must not: IO of any kind (files, sockets, the system clock outside `SystemClock`), async,
//! cryptography. Everything here is deterministic and can be fuzzed.

pub mod clock;
pub mod codes;
pub mod country;
pub mod date;
pub mod document;
pub mod error;
pub mod institution;
pub mod person;

pub use clock::{Clock, FixedClock, ShiftedClock, SystemClock};
pub use codes::{EmployerType, StatusConfirmation};
pub use country::{Area, Country};
pub use date::{Date, Period};
pub use document::{CredentialType, Ehic, Pda1, Pid};
pub use error::{ErrorCode, Problem, Problems};
pub use institution::InstitutionId;
