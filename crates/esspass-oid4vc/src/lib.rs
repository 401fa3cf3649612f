//! The OpenID4VCI protocol layer of esspass: the messages of OpenID for Verifiable Credential
//! Issuance 1.0 and the OAuth 2.0 pieces it stands on, as serde types, plus the validation of what a
//! wallet sends (key proofs, DPoP proofs, PKCE verifiers, form-encoded token requests).
//!
//! One module per specification, named after it: [`vci`] (OpenID4VCI 1.0), [`proof`] (its `jwt` key
//! proof, Appendix F.1), [`dpop`] (RFC 9449), [`pkce`] (RFC 7636), [`oauth_metadata`] (RFC 8414
//! and the RFC 9126 PAR response). [`jwt`] holds the JWT checks the two proof kinds share.
//!
//! What must not live here: IO of any kind (sockets, files, databases), async, and the system
//! clock. "Now" is a parameter (Unix seconds); single-use bookkeeping (burning a `c_nonce`, recording
//! a DPoP `jti`, consuming a code) is the caller's job — the validators return the values to record.
//! HTTP handlers stay thin: they map the errors here to status codes with
//! [`vci::ErrorCode::http_status`].

pub mod dpop;
pub mod jwt;
pub mod oauth_metadata;
pub mod pkce;
pub mod proof;
pub mod vci;
