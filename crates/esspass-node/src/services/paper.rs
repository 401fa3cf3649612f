//! Paper documents and the revocation export for offline verifiers (docs/paper.md).
//!
//! - [`print`]: the paper version of an issued credential — the same business claims it was issued
//!   with (kept sealed in the store), signed as a QR code under the node's credential-signing key,
//!   as a printable PDF, a PNG of the QR code, or the QR text; every print audited.
//! - [`revocation_export`]: the signed list of the hashes of the document numbers this institution
//!   has revoked or suspended, and the URIs of its status lists, for the trust operator's offline
//!   bundle.

use crate::services::issuance::{ApiError, Issuer};
use esspass_core::{CredentialType, Date, ErrorCode};
use esspass_paper::bundle::{RevocationExport, document_hash};
use esspass_store::CredentialState;
use serde_json::{Value, json};

/// The forms a paper document is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperFormat {
    Pdf,
    Png,
    Text,
}

impl PaperFormat {
    pub fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s.unwrap_or("pdf") {
            "pdf" => Ok(Self::Pdf),
            "png" => Ok(Self::Png),
            "text" => Ok(Self::Text),
            other => Err(ApiError::new(400, ErrorCode::BadRequest, format!("format {other:?}: pdf, png or text"))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Text => "text/plain; charset=utf-8",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Png => "png",
            Self::Text => "text",
        }
    }
}

/// A printed paper document.
#[derive(Debug)]
pub struct Printed {
    pub format: PaperFormat,
    pub bytes: Vec<u8>,
    pub document_number: String,
    /// Only the identifiers fitted in the QR code.
    pub minimal: bool,
}

/// The paper version of credential `credential_id` for `actor`, audited (who printed whose document).
pub async fn print(issuer: &Issuer, credential_id: &str, format: PaperFormat, actor: &str, now: i64) -> Result<Printed, ApiError> {
    let cred = issuer.store.credential(credential_id).await?.ok_or_else(|| ApiError::new(404, ErrorCode::CredentialNotFound, "no such credential"))?;
    if cred.state != CredentialState::Valid {
        return Err(ApiError::new(409, ErrorCode::PaperUnavailable, format!("the credential is {}: no paper version is printed", cred.state.as_str())));
    }
    let t = CredentialType::from_vct(&cred.vct).ok_or_else(|| ApiError::new(409, ErrorCode::PaperUnavailable, "not a PDA1 or EHIC"))?;
    let claims = issuer
        .store
        .credential_claims(credential_id)
        .await?
        .ok_or_else(|| ApiError::new(409, ErrorCode::PaperUnavailable, "the credential was issued before this node kept documents for paper: issue it again"))?;
    let expiry = claims.get("date_of_expiry").and_then(Value::as_str).and_then(Date::parse).ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "the kept document has no expiry date"))?;
    // Valid to the end of the document's last day.
    let exp = expiry.start_utc().unix_timestamp() + 86_400;
    if exp <= now {
        return Err(ApiError::new(409, ErrorCode::PaperUnavailable, "the document has expired"));
    }
    let leaf = issuer.chain.first().ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "no signing certificate"))?;
    let paper = esspass_paper::issue(&esspass_paper::IssueRequest {
        credential_type: t,
        claims: &claims,
        signer: issuer.signer.as_ref(),
        cert_der: leaf,
        iss: &issuer.cfg.institution.id.to_string(),
        iat: now,
        exp,
    })
    .map_err(|e| ApiError::new(500, e.code, e.detail))?;
    let online = format!("{} — {}", issuer.cfg.institution.name, issuer.cfg.public_url);
    let bytes = match format {
        PaperFormat::Pdf => esspass_paper::pdf(&esspass_paper::PrintRequest { paper: &paper, credential_type: t, claims: &claims, online_check: Some(&online) }),
        PaperFormat::Png => esspass_paper::png(&paper, 8),
        PaperFormat::Text => Ok(paper.text.clone().into_bytes()),
    }
    .map_err(|e| ApiError::new(500, e.code, e.detail))?;
    // Recorded before anything is handed out: no audit record, no document.
    issuer.store.append_audit(now, actor, "print_paper", &cred.person_id, "paper document", &json!({"credential": credential_id, "format": format.as_str(), "minimal": paper.minimal})).await?;
    Ok(Printed { format, bytes, document_number: cred.document_number, minimal: paper.minimal })
}

/// The signed revocation export of this institution (`revocation-list+jwt`).
pub async fn revocation_export(issuer: &Issuer, now: i64) -> Result<String, ApiError> {
    let hashes = |v: Vec<String>| {
        let mut h: Vec<String> = v.iter().map(|n| document_hash(n)).collect();
        h.sort_unstable();
        h
    };
    let revoked = hashes(issuer.store.document_numbers_in_state(CredentialState::Revoked).await?);
    let suspended = hashes(issuer.store.document_numbers_in_state(CredentialState::Suspended).await?);
    let status_lists = issuer.store.status_lists().await?.iter().map(|l| issuer.status.list_uri(&l.list_id)).collect();
    let export = RevocationExport { institution_id: issuer.cfg.institution.id.to_string(), issued_at: now, revoked, suspended, status_lists };
    export.sign(issuer.signer.as_ref(), &issuer.chain).map_err(|e| ApiError::new(500, e.code, e.detail))
}
