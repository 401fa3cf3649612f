//! Staff sign-in with a PID: the institution's people — case workers, auditors, back-office staff,
//! each listed in `[[staff]]` with a role — sign in to the back office by presenting their PID over
//! OpenID4VP to the institution's own verifier (`[sign_in.pid]`, the same transaction as a person's
//! sign-in). A PID that verifies and matches a listed member (the personal number, the names after
//! Unicode normalisation, the birth date) gives a session token with that member's role for
//! [`SESSION_SECONDS`]; the API takes it like a key (`Authorization: Bearer ess-staff.…`) and
//! records every action under `staff:{name}`.
//!
//! 1. `POST /api/v1/staff/sign-in` (no key): a PID transaction; the answer has its `openid4vp://`
//!    link and QR code, and a `poll` reference that only the requester holds (stored keyed-hashed,
//!    single use, as long as the transaction).
//! 2. The member's wallet presents the PID to the transaction's response URI.
//! 3. `POST /api/v1/staff/sign-in/session {"poll": …}`: `202` while the wallet has not answered;
//!    then once: `200 {token, name, role, expires_at}`, or `403` when the PID did not verify
//!    (`ESP-7025`) or matches no member (`ESP-7023`). Each outcome is audited.
//!
//! The token is `ess-staff.{payload}.{tag}`: the payload (base64url JSON: name, role, expiry, a
//! random id) and an HMAC-SHA-256 under the node secret, so every process of the institution checks
//! it without a database read. A member removed from `[[staff]]` or given another role loses the
//! session when the node starts with that configuration; otherwise it ends at its expiry (there is
//! no sign-out list).

use crate::config::{ApiKeyConfig, NodeConfig};
use crate::http::{AppState, json_response, problem};
use crate::services::issuance::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use esspass_core::ErrorCode;
use esspass_credential::b64;
use serde_json::{Value, json};

/// How long a staff session lasts (a working day).
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// The prefix of a staff session token.
pub const TOKEN_PREFIX: &str = "ess-staff.";
const KIND: &str = "staff_sign_in";
const ACTOR: &str = "staff-sign-in";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/staff/sign-in", post(start))
        .route("/api/v1/staff/sign-in/session", post(session))
}

/// The API identity a staff session token stands for, if the token is genuine, unexpired and its
/// member still listed with that role.
pub fn authorize_token<'a>(state: &'a AppState, token: &str, now: i64) -> Option<&'a ApiKeyConfig> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (payload, tag) = rest.split_once('.')?;
    let expected = state.issuer.store.keyed(&format!("{KIND}:{payload}")).ok()?;
    if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), tag.as_bytes()).is_err() {
        return None;
    }
    let claims: Value = serde_json::from_slice(&b64::decode(payload).ok()?).ok()?;
    let (name, role, exp) = (claims.get("name")?.as_str()?, claims.get("role")?.as_str()?, claims.get("exp")?.as_i64()?);
    if now >= exp {
        return None;
    }
    member_key(&state.cfg, name).filter(|k| k.role.name() == role)
}

/// The member of `[[staff]]` a verified PID stands for: the personal number, the birth date and
/// the names (after Unicode normalisation and case folding) all match.
pub fn member_for<'a>(cfg: &'a NodeConfig, p: &crate::authorize::matching::SignIn) -> Option<&'a crate::config::StaffConfig> {
    cfg.staff.iter().find(|m| {
        m.personal_number.trim() == p.personal_number
            && esspass_core::Date::parse(&m.birth_date) == Some(p.birth_date)
            && crate::authorize::matching::fold_name(&m.family_name) == crate::authorize::matching::fold_name(&p.family_name)
            && crate::authorize::matching::fold_name(&m.given_name) == crate::authorize::matching::fold_name(&p.given_name)
    })
}

/// The API identity (`staff:{name}`, with the member's role) of a listed member.
pub fn member_key<'a>(cfg: &'a NodeConfig, name: &str) -> Option<&'a ApiKeyConfig> {
    cfg.staff_keys.iter().find(|k| k.name.strip_prefix("staff:") == Some(name))
}


fn pid_verifier(s: &AppState) -> Result<&std::sync::Arc<crate::verifier::service::VerifierState>, ApiError> {
    match (&s.pid_sign_in, s.cfg.staff.is_empty()) {
        (Some(v), false) => Ok(v),
        _ => Err(ApiError::new(404, ErrorCode::SignInDisabled, "staff sign-in is not enabled on this node ([[staff]] and [sign_in.pid])")),
    }
}

/// `POST /api/v1/staff/sign-in`: a PID transaction for a member of staff to answer.
#[utoipa::path(post, path = "/api/v1/staff/sign-in", tag = "staff",
    responses((status = 201, description = "`{transaction_id, authorization_request (openid4vp://), request_uri, qr_svg, poll, expires_at}`: present the PID with the wallet, then ask for the session with `poll`"), (status = 404, description = "staff sign-in not enabled", body = crate::http::ProblemDetails)))]
pub(crate) async fn start(State(s): State<AppState>) -> Response {
    let run = async {
        let v = pid_verifier(&s)?;
        let started = crate::services::pid_sign_in::start(v, &s.issuer.store, KIND, ACTOR).await?;
        Ok::<_, ApiError>(json_response(StatusCode::CREATED, &started))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

/// The staff sign-in to complete.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// The `poll` reference `POST /api/v1/staff/sign-in` answered.
    pub poll: String,
}

/// `POST /api/v1/staff/sign-in/session`: the session, once the wallet has answered.
#[utoipa::path(post, path = "/api/v1/staff/sign-in/session", tag = "staff", request_body = SessionRequest,
    responses((status = 200, description = "`{token, name, role, expires_at}`: send the token as `Authorization: Bearer`"), (status = 202, description = "the wallet has not answered yet"), (status = 403, description = "the PID did not verify (ESP-7025) or matches no staff member (ESP-7023)", body = crate::http::ProblemDetails), (status = 404, description = "unknown, completed or expired (ESP-7024)", body = crate::http::ProblemDetails)))]
pub(crate) async fn session(State(s): State<AppState>, body: Bytes) -> Response {
    let run = async {
        let v = pid_verifier(&s)?;
        let req: SessionRequest = serde_json::from_slice(&body).map_err(|e| ApiError::new(400, ErrorCode::BadRequest, format!("the body is {{\"poll\": …}}: {e}")))?;
        let now = s.clock.now().unix_timestamp();
        let codes = crate::services::pid_sign_in::Codes { gone: ErrorCode::StaffSignInGone, refused: ErrorCode::StaffSignInRefused };
        let (tx, p) = match crate::services::pid_sign_in::answer(v, &s.issuer.store, KIND, &req.poll, codes, ACTOR, now).await? {
            crate::services::pid_sign_in::Answer::Pending { .. } => return Ok(json_response(StatusCode::ACCEPTED, &json!({"state": "pending"}))),
            crate::services::pid_sign_in::Answer::Verified { transaction_id, sign_in } => (transaction_id, sign_in),
        };
        let member = member_for(&s.cfg, &p);
        let Some(member) = member else {
            s.issuer.store.append_audit(now, ACTOR, "staff_sign_in_refused", "unlisted", "back-office sign-in", &json!({"transaction": tx})).await?;
            return Err(ApiError::new(403, ErrorCode::StaffNotListed, "the PID matches no member of this institution's staff"));
        };
        let key = member_key(&s.cfg, &member.name).ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "staff key"))?;
        let (role, exp) = (key.role.name(), now + SESSION_SECONDS);
        let payload = b64::encode(serde_json::to_vec(&json!({"name": member.name, "role": role, "exp": exp, "jti": b64::encode(esspass_credential::random_bytes::<12>())})).map_err(|e| ApiError::new(500, ErrorCode::Internal, e.to_string()))?);
        let tag = s.issuer.store.keyed(&format!("{KIND}:{payload}"))?;
        s.issuer.store.append_audit(now, &key.name, "staff_signed_in", &key.name, "back-office sign-in", &json!({"transaction": tx, "role": role, "expires_at": exp})).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &json!({"token": format!("{TOKEN_PREFIX}{payload}.{tag}"), "name": member.name, "role": role, "expires_at": exp})))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}
