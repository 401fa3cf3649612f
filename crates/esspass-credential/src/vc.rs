//! SD-JWT VC issuance of our two types: business claims are validated and normalised by
//! `esspass-core`, the JWT claims are added (`iss`, `iat`, `nbf`, `exp`, random `jti` and `sub`,
//! `cnf.jwk`, `status`, `vct`), the shipped Type Metadata decides which claims become disclosures,
//! decoys are added, and the result is signed with `typ: dc+sd-jwt` and the `x5c` chain.

use crate::sdjwt::{SdJwt, issue};
use crate::type_metadata::{Sd, TypeMetadata};
use crate::{Error, Jwk, Signer, b64};
use esspass_core::document::ClaimsMode;
use esspass_core::{CredentialType, Ehic, ErrorCode, Pda1, Problems};
use serde_json::{Map, Value, json};

/// Everything needed to issue one credential.
pub struct IssueRequest<'a> {
    pub credential_type: CredentialType,
    /// The business claims of docs/domain.md §2 (no JWT claims).
    pub claims: &'a Value,
    pub signer: &'a dyn Signer,
    /// DER certificates, leaf first, trust anchor left out.
    pub x5c: &'a [Vec<u8>],
    pub holder_jwk: &'a Jwk,
    pub iss: Option<&'a str>,
    pub iat: i64,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub status: Option<(&'a str, u64)>,
    pub decoys: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the claims are invalid: {0}")]
    Claims(Problems),
    #[error("{0}")]
    Other(#[from] Error),
}

impl IssueError {
    pub fn code(&self) -> ErrorCode {
        match self {
            IssueError::Claims(p) => p.0.first().map_or(ErrorCode::InvalidDocument, |p| p.code),
            IssueError::Other(e) => e.code,
        }
    }
}

/// Validate the business claims of a type and return them normalised (current names only).
pub fn normalise_claims(t: CredentialType, claims: &Value) -> Result<Map<String, Value>, Problems> {
    Ok(match t {
        CredentialType::Pda1 => Pda1::from_claims(claims, ClaimsMode::Business)?.to_claims(),
        CredentialType::Ehic => Ehic::from_claims(claims, ClaimsMode::Business)?.to_claims(),
        CredentialType::Pid => esspass_core::Pid::from_claims(claims, ClaimsMode::Business)?.to_claims(),
    })
}

/// Issue an SD-JWT VC (with every disclosure; the holder chooses later).
pub fn issue(req: &IssueRequest<'_>) -> Result<SdJwt, IssueError> {
    let business = normalise_claims(req.credential_type, req.claims).map_err(IssueError::Claims)?;
    if let (Some(nbf), Some(exp)) = (req.nbf, req.exp)
        && exp <= nbf {
            return Err(Error::new(ErrorCode::InconsistentDates, "exp must be after nbf").into());
        }
    if req.x5c.is_empty() {
        return Err(Error::new(ErrorCode::MissingX5c, "an x5c chain is required").into());
    }
    let meta = TypeMetadata::builtin(req.credential_type);
    let mut claims = Map::new();
    if let Some(iss) = req.iss {
        claims.insert("iss".into(), json!(iss));
    }
    claims.insert("iat".into(), json!(req.iat));
    if let Some(nbf) = req.nbf {
        claims.insert("nbf".into(), json!(nbf));
    }
    if let Some(exp) = req.exp {
        claims.insert("exp".into(), json!(exp));
    }
    claims.insert("vct".into(), json!(req.credential_type.vct()));
    claims.insert("jti".into(), json!(format!("urn:uuid:{}", uuid_v4())));
    claims.insert("sub".into(), json!(b64::encode(crate::random_bytes::<16>())));
    claims.insert("cnf".into(), json!({"jwk": req.holder_jwk.to_value()}));
    if let Some((uri, idx)) = req.status {
        claims.insert("status".into(), json!({"status_list": {"idx": idx, "uri": uri}}));
    }
    claims.extend(business);
    let policy = |p: &[crate::type_metadata::PathElem]| meta.sd_for(p) != Sd::Never;
    let disclosable = issue::make_disclosable(&claims, &policy, req.decoys);
    let mut header = Map::new();
    header.insert("typ".into(), json!("dc+sd-jwt"));
    header.insert("x5c".into(), Value::Array(req.x5c.iter().map(|c| Value::String(b64::encode_std(c))).collect()));
    Ok(issue::sign(req.signer, header, disclosable)?)
}

/// A random (version 4) UUID.
pub fn uuid_v4() -> String {
    let mut b = crate::random_bytes::<16>();
    if let Some(x) = b.get_mut(6) {
        *x = (*x & 0x0f) | 0x40;
    }
    if let Some(x) = b.get_mut(8) {
        *x = (*x & 0x3f) | 0x80;
    }
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", h.get(0..8).unwrap_or(""), h.get(8..12).unwrap_or(""), h.get(12..16).unwrap_or(""), h.get(16..20).unwrap_or(""), h.get(20..32).unwrap_or(""))
}
