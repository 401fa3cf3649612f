//! The esspass node: the service functions that the HTTPS API, the portal and the CLI all call, so
//! that no business rule lives in a handler or a template.
//!
//! This first cut holds the authentic-source import (`esspass import`); the OpenID4VCI issuer, the
//! back-office API and the status-list publisher come next (see the README's status table).
//! What must not live here: SQL (that is `esspass-store`), protocol parsing (`esspass-oid4vc`),
//! credential semantics (`esspass-credential`).

pub mod authorize;
pub mod config;
pub mod http;
pub mod node;
pub mod services;
pub mod tls;
