//! Signing someone in with a PID over the institution's own OpenID4VP transaction (`[sign_in.pid]`),
//! outside the authorization-code flow: the back office's staff (`crate::staff`) and the portal's
//! insured persons (`crate::portal`). [`start`] opens the transaction and a `poll` reference only the
//! requester holds (stored keyed, single use, as long as the transaction); [`answer`] says whether
//! the wallet has answered and, once, what the verified PID says.

use crate::authorize::matching::SignIn;
use crate::services::issuance::ApiError;
use crate::verifier::service::VerifierState;
use esspass_core::ErrorCode;
use esspass_credential::b64;
use esspass_store::Store;
use serde::Serialize;
use serde_json::{Value, json};

/// A sign-in waiting for the person's wallet.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    pub transaction_id: String,
    /// The `openid4vp://` link (same-device), also in the QR code.
    pub authorization_request: String,
    pub request_uri: String,
    /// The link as a QR code (SVG).
    pub qr_svg: String,
    pub poll: String,
    pub expires_at: i64,
}

/// What a sign-in came to.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The wallet has not answered yet; the request link to show again.
    Pending { authorization_request: String },
    /// The PID verified (signature, trusted PID provider, status); what it says.
    Verified { transaction_id: String, sign_in: SignIn },
}

/// The codes a caller's refusals carry.
#[derive(Debug, Clone, Copy)]
pub struct Codes {
    /// The poll reference is unknown, used or expired.
    pub gone: ErrorCode,
    /// The PID did not verify.
    pub refused: ErrorCode,
}

/// Open a PID transaction for a sign-in of `kind` (`staff_sign_in`, `portal_sign_in`).
pub async fn start(v: &VerifierState, store: &Store, kind: &str, actor: &str) -> Result<Started, ApiError> {
    let created = v.create(crate::authorize::pid::PROFILE, None, actor).await?;
    let poll = b64::encode(esspass_credential::random_bytes::<32>());
    store.create_single_use_sealed(kind, &poll, &json!({"transaction_id": created.transaction_id, "authorization_request": created.authorization_request}), created.expires_at).await?;
    let qr_svg = esspass_paper::print::qr_svg(&created.authorization_request).map_err(|e| ApiError::new(500, ErrorCode::Internal, e.to_string()))?;
    Ok(Started { transaction_id: created.transaction_id, authorization_request: created.authorization_request, request_uri: created.request_uri, qr_svg, poll, expires_at: created.expires_at })
}

/// Whether the wallet answered the sign-in `poll` stands for. Once answered the reference is used
/// up, whatever the outcome; a PID that did not verify is refused (and audited) here.
pub async fn answer(v: &VerifierState, store: &Store, kind: &str, poll: &str, codes: Codes, actor: &str, now: i64) -> Result<Answer, ApiError> {
    let gone = || ApiError::new(404, codes.gone, "no such sign-in: unknown, already completed or expired");
    let (pending, _) = store.peek_single_use(kind, poll, now).await?.ok_or_else(gone)?;
    let tx = pending.get("transaction_id").and_then(Value::as_str).ok_or_else(gone)?.to_owned();
    let row = v.store.verification(&tx).await?.ok_or_else(gone)?;
    if row.state == "pending" {
        let authorization_request = pending.get("authorization_request").and_then(Value::as_str).unwrap_or_default().to_owned();
        return if now >= row.expires_at { Err(gone()) } else { Ok(Answer::Pending { authorization_request }) };
    }
    store.consume_single_use(kind, poll, now).await?.ok_or_else(gone)?;
    if row.outcome.as_deref() != Some("valid") {
        let code = row.code.clone().unwrap_or_default();
        store.append_audit(now, actor, &format!("{kind}_refused"), "unverified", "sign-in with a PID", &json!({"transaction": tx, "code": code})).await?;
        return Err(ApiError::new(403, codes.refused, format!("the PID did not verify ({code})")));
    }
    let claims = v.get(&tx, actor).await?.get("claims").cloned().unwrap_or(Value::Null);
    let sign_in = crate::authorize::pid::as_sign_in(&claims).map_err(|why| ApiError::new(403, codes.refused, format!("the PID lacks what a sign-in needs: {why}")))?;
    Ok(Answer::Verified { transaction_id: tx, sign_in })
}

/// The person of this institution's register the verified PID stands for: the personal number
/// selects the record, the names and the birth date must match it (as the authorization-code
/// flow's sign-in matches). `None` (audited with why, never shown) when there is no such record.
pub async fn find_person(store: &Store, sign_in: &SignIn, transaction_id: &str, actor: &str, now: i64) -> Result<Option<String>, ApiError> {
    let person = store.person_by_number(&sign_in.personal_number).await?;
    match crate::authorize::matching::matches(sign_in, person.as_ref()) {
        Ok(()) => {
            let id = person.map(|p| p.person_id).unwrap_or_default();
            store.append_audit(now, &format!("person:{id}"), "portal_signed_in", &id, "sign-in with a PID", &json!({"transaction": transaction_id})).await?;
            Ok(Some(id))
        }
        Err(why) => {
            store.append_audit(now, actor, "portal_sign_in_unmatched", "unmatched", "sign-in with a PID", &json!({"transaction": transaction_id, "why": why.as_str()})).await?;
            Ok(None)
        }
    }
}
