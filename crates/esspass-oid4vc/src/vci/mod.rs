//! OpenID for Verifiable Credential Issuance 1.0 (Final, September 2025): issuer metadata, the
//! credential offer, token, nonce, credential, deferred credential and notification messages, and
//! the error responses. Split by endpoint; everything is re-exported here.

pub mod credential;
pub mod error;
pub mod metadata;
pub mod offer;
pub mod token;

pub use credential::{
    CheckedCredentialRequest, CredentialRequest, CredentialResponse, CredentialTarget, DeferredCredentialRequest, IssuedCredential,
    NonceResponse, NotificationEvent, NotificationRequest,
};
pub use error::{Endpoint, ErrorCode, ErrorResponse};
pub use metadata::{
    BatchCredentialIssuance, ClaimDescription, ClaimPathElement, CredentialConfiguration, CredentialIssuerMetadata, CredentialMetadata,
    Display, Logo, ProofTypeMetadata,
};
pub use offer::{AuthorizationCodeGrant, CredentialOffer, Grants, InputMode, PreAuthorizedCodeGrant, TxCode, offer_uri_link};
pub use token::{AuthorizationDetail, TokenGrant, TokenRequest, TokenResponse, TokenType};
