//! The esspass node: the service functions that the HTTPS API, the portal and the CLI all call, so
//! that no business rule lives in a handler or a template.
//!
//! It holds the authentic-source import, the OpenID4VCI issuer with its authorization-code flow, the
//! back-office API, A1 applications, status lists and the audit trail (see the README).
//! What must not live here: SQL (that is `esspass-store`), protocol parsing (`esspass-oid4vc`),
//! credential semantics (`esspass-credential`).

pub mod attestation;
pub mod authorize;
pub mod batch;
pub mod config;
pub mod eessi;
pub mod gateway;
pub mod http;
pub mod limits;
pub mod node;
pub mod portal;
pub mod services;
pub mod staff;
pub mod tls;
pub mod trust;
pub mod trusted_lists;
pub mod verifier;
pub mod webwallet;
