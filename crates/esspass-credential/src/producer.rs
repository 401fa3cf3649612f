//! What a producer checks before it writes anything a verifier would reject: the signing key is the
//! leaf certificate's key, the chain is linked and leaves out the trust anchor, the leaf is valid
//! now and may sign credentials (not a TLS, list-signing or relying-party certificate), and the
//! issuer identifier is one of its subjectAltName URIs. `esspass issue`, `esspass status-list sign`
//! and `esspass serve` run these checks; the verifier runs the same ones on the other side.

use crate::x509::Certificate;
use crate::{Error, Result, Signer};
use esspass_core::ErrorCode;

/// The checked chain: its parsed certificates (leaf first).
#[derive(Debug)]
pub struct CheckedChain {
    pub certs: Vec<Certificate>,
}

impl CheckedChain {
    pub fn leaf(&self) -> Option<&Certificate> {
        self.certs.first()
    }
}

/// Check a signing key and its chain (leaf first, DER) at `now`. `credentials` asks also that the
/// leaf may sign credentials; `iss`, when given, must be a subjectAltName URI of the leaf.
pub fn check_signing_setup(signer: &dyn Signer, chain: &[Vec<u8>], iss: Option<&str>, credentials: bool, now: i64) -> Result<CheckedChain> {
    if chain.is_empty() {
        return Err(Error::new(ErrorCode::MissingX5c, "the certificate chain is empty"));
    }
    let certs = chain.iter().map(|d| Certificate::from_der(d)).collect::<Result<Vec<_>>>()?;
    let (Some(leaf), Some(top)) = (certs.first(), certs.last()) else {
        return Err(Error::new(ErrorCode::MissingX5c, "the certificate chain is empty"));
    };
    let key = signer.public_jwk().point()?;
    if leaf.public_key != key {
        return Err(Error::new(ErrorCode::KeyInvalid, format!("the signing key is not the key of the chain's first certificate ({}): give the key that belongs to it, or the chain of this key", leaf.subject_text)));
    }
    for pair in certs.windows(2) {
        if let [c, issuer] = pair
            && !(c.issuer == issuer.subject && c.signed_by(issuer))
        {
            return Err(Error::new(ErrorCode::CertificateSignatureInvalid, format!("{} is not issued by the next certificate in the chain ({}): order the chain leaf first, each followed by its issuer", c.subject_text, issuer.subject_text)));
        }
    }
    if top.subject == top.issuer && top.signed_by(top) {
        return Err(Error::new(ErrorCode::TrustAnchorInX5c, format!("the chain ends with a self-signed certificate ({}): leave the trust anchor out of the chain (HAIP)", top.subject_text)));
    }
    for c in &certs {
        if !c.valid_at(now) {
            return Err(Error::new(ErrorCode::CertificateNotValidAtTime, format!("{} is not valid now", c.subject_text)));
        }
    }
    if credentials {
        // Without a trusted list a verifier needs the credential-signing purpose; with one, the list
        // decides — but a certificate made for another purpose never signs credentials.
        leaf.check_credential_signer(true)?;
    }
    if let Some(iss) = iss
        && !leaf.san_uris.iter().any(|u| u == iss)
    {
        let have = if leaf.san_uris.is_empty() { "none".to_owned() } else { leaf.san_uris.join(", ") };
        return Err(Error::new(ErrorCode::IssNotInSan, format!("{iss} is not a subjectAltName URI of the signing certificate (it has: {have}); use one of those, or a certificate issued for this URL")));
    }
    Ok(CheckedChain { certs })
}

/// The country (`C=`) of a certificate's subject, if it names one.
pub fn subject_country(c: &Certificate) -> Option<String> {
    c.subject_text.split(',').map(str::trim).find_map(|p| p.strip_prefix("C=")).map(str::to_owned)
}
