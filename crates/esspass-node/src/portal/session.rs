//! The portal's browser sessions: a cookie `__Host-esspass-{node}` (`Secure; HttpOnly;
//! SameSite=Lax; Path=/`; named after the node, since browsers share cookies between the ports of
//! one host) holding the session's id, who is signed in (if anyone) and its expiry,
//! with an HMAC-SHA-256 under the node secret — every process of the institution reads it without a
//! database, nobody can forge or extend it. A person's session ends after [`SIGNED_IN_SECONDS`]; an
//! anonymous one (kept so that its forms carry a CSRF token) after [`ANONYMOUS_SECONDS`]. Every form
//! carries a CSRF token derived from the session id under the node secret: a form from another
//! session, another site or an expired page is refused.

use axum::http::{HeaderMap, HeaderValue, header};
use esspass_credential::b64;
use esspass_store::Store;
use serde::{Deserialize, Serialize};

pub const LANG_COOKIE: &str = "esspass-lang";
/// A signed-in person's session.
pub const SIGNED_IN_SECONDS: i64 = 30 * 60;
/// A session before sign-in.
pub const ANONYMOUS_SECONDS: i64 = 2 * 3600;
const KIND: &str = "portal-session";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub sid: String,
    /// Who is signed in: `person:{id}` (an insured person), `desk:{key name}` (a verifier's desk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub exp: i64,
}

/// The session cookie's name for a node (its id, letters and digits kept).
pub fn cookie_name(node_id: &str) -> String {
    format!("__Host-esspass-{}", node_id.chars().filter(char::is_ascii_alphanumeric).collect::<String>())
}

/// What the request's cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    None,
    /// A genuine session past its expiry (the person is told it ended).
    Expired,
    Valid(Session),
}

/// A cookie's value from the request.
pub fn cookie<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| c.trim().strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

impl Session {
    pub fn anonymous(now: i64) -> Self {
        Session { sid: b64::encode(esspass_credential::random_bytes::<18>()), subject: None, exp: now + ANONYMOUS_SECONDS }
    }

    /// A new session (a new id: no fixation) for who signed in.
    pub fn signed_in(subject: &str, now: i64) -> Self {
        Session { sid: b64::encode(esspass_credential::random_bytes::<18>()), subject: Some(subject.to_owned()), exp: now + SIGNED_IN_SECONDS }
    }

    /// The signed-in subject's id when it is of `kind` (`person`, `desk`).
    pub fn subject_of(&self, kind: &str) -> Option<&str> {
        self.subject.as_deref().and_then(|s| s.strip_prefix(kind)).and_then(|s| s.strip_prefix(':'))
    }

    pub fn read(store: &Store, h: &HeaderMap, name: &str, now: i64) -> Found {
        let Some(v) = cookie(h, name) else { return Found::None };
        let Some((payload, tag)) = v.split_once('.') else { return Found::None };
        let Ok(expected) = store.keyed(&format!("{KIND}:{payload}")) else { return Found::None };
        if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), tag.as_bytes()).is_err() {
            return Found::None;
        }
        let Some(s) = b64::decode(payload).ok().and_then(|b| serde_json::from_slice::<Session>(&b).ok()) else { return Found::None };
        if now >= s.exp { Found::Expired } else { Found::Valid(s) }
    }

    /// The `Set-Cookie` value for this session.
    pub fn set_cookie(&self, store: &Store, name: &str, now: i64) -> Option<HeaderValue> {
        let payload = b64::encode(serde_json::to_vec(self).ok()?);
        let tag = store.keyed(&format!("{KIND}:{payload}")).ok()?;
        HeaderValue::from_str(&format!("{name}={payload}.{tag}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}", (self.exp - now).max(0))).ok()
    }

    /// The `Set-Cookie` value that ends the session in the browser.
    pub fn clear_cookie(name: &str) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")).ok()
    }

    /// The CSRF token of this session's forms.
    pub fn csrf(&self, store: &Store) -> String {
        store.keyed(&format!("portal-csrf:{}", self.sid)).unwrap_or_default()
    }

    /// Whether a form's token is this session's.
    pub fn csrf_ok(&self, store: &Store, token: &str) -> bool {
        let expected = self.csrf(store);
        !expected.is_empty() && aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), token.as_bytes()).is_ok()
    }
}
