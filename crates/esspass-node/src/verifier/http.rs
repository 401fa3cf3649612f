//! The verifier role's HTTPS interface: the verifier's own systems start verifications and read
//! their results and proofs (API keys of role `verifier`); wallets fetch the signed request and post
//! their answer (no key: the transaction's secrets are the authorisation).

use super::service::VerifierState;
use crate::config::{ApiKeyConfig, ApiRole};
use crate::http::{json_response, problem};
use crate::services::issuance::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use esspass_core::ErrorCode;
use serde::Deserialize;
use std::sync::Arc;

pub type Shared = Arc<VerifierState>;

pub fn router(state: Shared) -> Router {
    let limit = state.cfg.max_body_bytes;
    Router::new()
        .route("/api/v1/verifications", post(create))
        .route("/api/v1/verifications/paper", post(paper))
        .route("/api/v1/verifications/{id}", get(read))
        .route("/api/v1/verifications/{id}/proof", get(proof))
        .route("/api/v1/verifications/{id}/qr", get(qr))
        .route("/request/{id}", get(request_object).post(request_object_post))
        .route("/response/{id}", post(response))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .merge(crate::portal::desk::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(crate::http::problems_for_plain_errors))
        .layer(axum::middleware::from_fn(crate::http::access_log))
        .with_state(state)
}

/// Only what a wallet calls (the signed request, the answer): mounted by an institution that signs
/// people in with a PID, beside its own routes.
pub fn wallet_routes<S>(state: Shared) -> Router<S> {
    let limit = state.cfg.max_body_bytes;
    Router::new()
        .route("/request/{id}", get(request_object).post(request_object_post))
        .route("/response/{id}", post(response))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

fn authorize<'a>(s: &'a VerifierState, h: &HeaderMap) -> Result<&'a ApiKeyConfig, ApiError> {
    let key = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|a| a.strip_prefix("Bearer ")).ok_or_else(|| ApiError::new(401, ErrorCode::Unauthenticated, "send the API key as Authorization: Bearer …"))?;
    desk_key(s, key)
}

/// The verifier's key `key` stands for (the API's bearer key, or what a desk types into the portal).
pub(crate) fn desk_key<'a>(s: &'a VerifierState, key: &str) -> Result<&'a ApiKeyConfig, ApiError> {
    let hash = esspass_store::hash_secret(key);
    let k = s.cfg.api_keys.iter().find(|k| k.sha256 == hash).ok_or_else(|| ApiError::new(401, ErrorCode::Unauthenticated, "unknown API key"))?;
    if k.role != ApiRole::Verifier {
        return Err(ApiError::new(403, ErrorCode::Forbidden, "only the verifier role uses this node's API"));
    }
    Ok(k)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    profile: String,
    /// The treatment or inspection date (YYYY-MM-DD); today when absent.
    #[serde(default)]
    date: Option<String>,
}

async fn create(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h)?;
        let req: CreateRequest = serde_json::from_slice(&body).map_err(|e| ApiError::new(400, ErrorCode::InvalidJson, format!("body: {e}")))?;
        let created = s.create(&req.profile, req.date.as_deref(), &format!("api:{}", k.name)).await?;
        Ok::<_, ApiError>(json_response(StatusCode::CREATED, &created))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaperQuery {
    profile: String,
}

/// A paper credential: the QR text (text/plain) or a PNG/JPEG photo of it, for `?profile=…`.
async fn paper(State(s): State<Shared>, h: HeaderMap, q: Result<Query<PaperQuery>, axum::extract::rejection::QueryRejection>, body: Bytes) -> Response {
    let run = async {
        let k = authorize(&s, &h)?;
        let Query(q) = q.map_err(|e| ApiError::new(400, ErrorCode::BadRequest, format!("{} (give ?profile=…)", e.body_text())))?;
        let v = s.verify_paper(&q.profile, &body, &format!("api:{}", k.name)).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &v))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

async fn read(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let run = async {
        let k = authorize(&s, &h)?;
        let v = s.get(&id, &format!("api:{}", k.name)).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, &v))
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

async fn proof(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let run = async {
        authorize(&s, &h)?;
        let jws = s.proof(&id).await?;
        Ok::<_, ApiError>((StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/verification-proof+jwt"))], jws).into_response())
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QrQuery {
    #[serde(default)]
    format: Option<String>,
}

/// The `openid4vp://` link as a QR code (SVG by default, or PNG) for the holder's wallet to scan.
async fn qr(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>, q: Result<Query<QrQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let run = async {
        authorize(&s, &h)?;
        let Query(q) = q.map_err(|e| ApiError::new(400, ErrorCode::BadRequest, e.body_text()))?;
        let link = s.link(&id).await?;
        let (ct, bytes) = match q.format.as_deref().unwrap_or("svg") {
            "svg" => ("image/svg+xml", esspass_paper::print::qr_svg(&link).map_err(|e| ApiError::new(500, e.code, e.detail))?.into_bytes()),
            "png" => ("image/png", esspass_paper::print::qr_png(&link, 6).map_err(|e| ApiError::new(500, e.code, e.detail))?),
            other => return Err(ApiError::new(400, ErrorCode::BadRequest, format!("format {other:?}: svg or png"))),
        };
        Ok::<_, ApiError>((StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(ct)), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], bytes).into_response())
    };
    run.await.unwrap_or_else(|e| problem(&e))
}

async fn request_object(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    match s.request_object(&id).await {
        Ok(jwt) => (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/oauth-authz-req+jwt")), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], jwt).into_response(),
        Err(e) => problem(&e),
    }
}

/// `request_uri_method=post`: the wallet may post its metadata; the request object is the same.
async fn request_object_post(state: State<Shared>, path: Path<String>) -> Response {
    request_object(state, path).await
}

async fn response(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let ct = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match s.respond(&id, ct, &body).await {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => problem(&e),
    }
}
