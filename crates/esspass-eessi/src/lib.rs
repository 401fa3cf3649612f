//! EESSI exchange without IO: what institutions send each other, and the rules of sending it.
//!
//! What lives here:
//! - typed SEDs ([`sed`]) of the legislation-applicable sector (A001–A012), the horizontal ad-hoc
//!   exchange (H001/H002) and case administration (X001, X008, X009, X010, X011, X050), built from
//!   shared [`blocks`];
//! - their XML [`codec`], shaped like the production format (root namespace per SED and CDM
//!   version, `sedGVer`/`sedVer`), over a guarded reader ([`xml`]) that refuses DTDs, entities,
//!   oversized and over-deep documents;
//! - [`validate`]: content rules that list every problem with its path;
//! - the [`envelope`] (SBDH-shaped header: sender, receiver, document type and id, case, BUC,
//!   message id, creation time) and the message that carries a SED inside it;
//! - the [`buc`] state machines of LA_BUC_01 … LA_BUC_06 and H_BUC_01, with their rules as data;
//! - stable error [`codes`] (`ESP-72xx`, `ESP-73xx`).
//!
//! What must not: IO of any kind, async, the system clock ("now" is always a parameter),
//! cryptography (signing and receipts belong to the access point in `esspass-node`).
//! The format is described in `docs/eessi.md`.

pub mod blocks;
pub mod buc;
pub mod codec;
pub mod codes;
pub mod envelope;
pub mod ids;
pub mod sed;
pub mod validate;
pub mod xml;

pub use codec::{DecodeError, DecodeOptions, SedDocument, decode, encode};
pub use codes::{EessiCode, Problem, Problems};

pub use buc::{BucError, Case, CaseStatus, DocumentState, Role};
pub use envelope::{Envelope, Message};
pub use ids::{BucType, CaseId, CdmVersion, DocumentId, MessageId, SedType};
pub use sed::Sed;
pub use validate::{Validate, validate_sed};
pub use xml::Limits;
