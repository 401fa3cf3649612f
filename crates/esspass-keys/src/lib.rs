//! Keys that touch the world: PKCS#8 PEM key files (written with mode 0600), PEM certificate chains,
//! and the demo PKI (`esspass pki init`): a trust-operator root, an intermediate CA, and for each demo
//! institution and verifier a signing key + chain and a TLS server certificate for 127.0.0.1, plus the
//! signed Issuer and Verifier Trusted Lists.
//!
//! What must not live here: credential semantics (that is `esspass-credential`), network IO.

pub mod files;
pub mod pki;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("certificate generation failed: {0}")]
    Certificate(String),
    #[error(transparent)]
    Credential(#[from] esspass_credential::Error),
}

impl KeyError {
    pub fn code(&self) -> esspass_core::ErrorCode {
        match self {
            KeyError::Io { .. } => esspass_core::ErrorCode::FileUnreadable,
            KeyError::Certificate(_) => esspass_core::ErrorCode::KeyInvalid,
            KeyError::Credential(e) => e.code,
        }
    }
}

impl From<rcgen::Error> for KeyError {
    fn from(e: rcgen::Error) -> Self {
        KeyError::Certificate(e.to_string())
    }
}
