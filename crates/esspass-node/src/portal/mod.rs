//! The portal: server-rendered pages (askama) without any script, in five languages (Fluent,
//! [`i18n`]), over a signed cookie session with CSRF tokens on every form ([`session`]) and a strict
//! Content-Security-Policy. [`person`] is the institution's portal for insured persons; [`desk`] the
//! verifier's for a hospital's or an inspectorate's desk.
//!
//! Handlers here parse, check the session and the form's token, call the same service functions as
//! the JSON API and render; no business rule lives in a handler or a template.

pub mod desk;
pub mod employer;
pub mod i18n;
pub mod person;
pub mod staff;
pub mod wallet;
pub mod session;

use askama::Template;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use esspass_store::Store;
use i18n::{Lang, Tr};
use serde::Deserialize;
use session::{Found, Session};

/// The node a page belongs to: its store (session keys), its name, its cookie, the time.
#[derive(Clone, Copy)]
pub struct Site<'a> {
    pub store: &'a Store,
    pub name: &'a str,
    pub cookie: &'a str,
    pub now: i64,
}

/// A language link of the switcher.
pub struct LangLink {
    pub code: &'static str,
    pub native: &'static str,
    pub href: String,
    pub current: bool,
}

/// What every page shows.
pub struct Page {
    pub tr: Tr,
    pub lang: &'static str,
    pub title: String,
    pub site_title: String,
    pub institution: String,
    pub csrf: String,
    pub signed_in: bool,
    pub langs: Vec<LangLink>,
    pub notice: Option<String>,
}

impl Page {
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }
}

/// The request as the portal sees it: language, session (a new anonymous one when none or
/// expired) and whether the cookie must be (re)set.
pub struct Ctx<'a> {
    pub site: Site<'a>,
    pub tr: Tr,
    pub session: Session,
    set_session: bool,
    pub expired: bool,
    set_lang: Option<Lang>,
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    pub lang: Option<String>,
    pub expired: Option<String>,
}

pub fn ctx<'a>(site: Site<'a>, h: &HeaderMap, asked: Option<&str>) -> Ctx<'a> {
    let (session, set_session, expired) = match Session::read(site.store, h, site.cookie, site.now) {
        Found::Valid(x) => (x, false, false),
        Found::Expired => (Session::anonymous(site.now), true, true),
        Found::None => (Session::anonymous(site.now), true, false),
    };
    let asked = asked.and_then(Lang::parse);
    let lang = asked
        .or_else(|| session::cookie(h, session::LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or_else(|| Lang::negotiate(h.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("")));
    Ctx { site, tr: Tr { lang }, session, set_session, expired, set_lang: asked }
}

#[derive(Template)]
#[template(path = "portal/message.html")]
pub(crate) struct MessagePage<'a> {
    pub p: &'a Page,
    pub heading: String,
    pub text: String,
}

/// A sign-in with the wallet: the QR code, the same-device link, and the form that continues it.
#[derive(Template)]
#[template(path = "portal/sign_in.html")]
pub(crate) struct SignInPage<'a> {
    pub p: &'a Page,
    pub asks: String,
    pub qr_svg: String,
    pub link: String,
    pub poll: String,
    pub continue_to: &'static str,
}

impl Ctx<'_> {
    pub fn page(&self, title_key: &str, here: &str, notice: Option<String>) -> Page {
        let name = self.site.name.to_owned();
        Page {
            tr: self.tr,
            lang: self.tr.lang.code(),
            title: self.tr.t(title_key),
            site_title: self.tr.ta("site-title", &[("institution", &name)]),
            institution: name,
            csrf: self.session.csrf(self.site.store),
            signed_in: self.session.subject.is_some(),
            langs: Lang::ALL.iter().map(|l| LangLink { code: l.code(), native: l.native(), href: format!("{here}?lang={}", l.code()), current: *l == self.tr.lang }).collect(),
            notice: notice.or_else(|| self.expired.then(|| self.tr.t("session-expired"))),
        }
    }

    /// The page with the portal's headers, the session cookie when new and the language when chosen.
    pub fn html(&self, status: StatusCode, body: Result<String, askama::Error>) -> Response {
        let mut r = match body {
            Ok(b) => (status, b).into_response(),
            Err(e) => {
                tracing::error!(target: "esspass::portal", error = %e, "a page did not render");
                (StatusCode::INTERNAL_SERVER_ERROR, "<!doctype html><title>Error</title><p>The page could not be shown.</p>".to_owned()).into_response()
            }
        };
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        security_headers(h);
        if self.set_session
            && let Some(c) = self.session.set_cookie(self.site.store, self.site.cookie, self.site.now)
        {
            h.append(header::SET_COOKIE, c);
        }
        if let Some(l) = self.set_lang
            && let Ok(v) = HeaderValue::from_str(&format!("{}={}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000", session::LANG_COOKIE, l.code()))
        {
            h.append(header::SET_COOKIE, v);
        }
        r
    }

    pub fn message(&self, status: StatusCode, heading_key: &str, text: String) -> Response {
        let p = self.page(heading_key, "/portal", None);
        self.html(status, MessagePage { heading: p.t(heading_key), text, p: &p }.render())
    }

    /// A form's token checked; the refusal page otherwise.
    #[allow(clippy::result_large_err)] // the refusal is the answer, returned at once
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), Response> {
        // A form posted with a session that is new (no cookie, or an expired one) cannot carry its token.
        if !self.set_session && token.is_some_and(|t| self.session.csrf_ok(self.site.store, t)) {
            return Ok(());
        }
        Err(self.message(StatusCode::FORBIDDEN, "error-title", self.tr.t("error-csrf")))
    }

    /// A form posted by a signed-in `kind`: its token checked, then who posted it; else the answer
    /// (the refusal, or a redirect to `home` to sign in).
    #[allow(clippy::result_large_err)] // the refusal is the answer, returned at once
    pub fn form_by(&self, body: &Bytes, kind: &str, home: &str) -> Result<String, Response> {
        self.check_csrf(field(body, "csrf").as_deref())?;
        self.subject(kind).ok_or_else(|| see_other(home, None))
    }

    /// The signed-in subject of `kind` (`person`, `desk`).
    pub fn subject(&self, kind: &str) -> Option<String> {
        self.session.subject_of(kind).map(str::to_owned)
    }

    /// A new session for who signed in (the cookie on a redirect to `to`).
    pub fn sign_in_as(&self, subject: &str, to: &str) -> Response {
        let session = Session::signed_in(subject, self.site.now);
        see_other(to, session.set_cookie(self.site.store, self.site.cookie, self.site.now))
    }

    pub fn sign_out(&self, to: &str) -> Response {
        see_other(to, Session::clear_cookie(self.site.cookie))
    }
}

pub fn security_headers(h: &mut HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

pub fn see_other(to: &str, cookie: Option<HeaderValue>) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/portal")))]).into_response();
    security_headers(r.headers_mut());
    if let Some(c) = cookie {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// A posted form's field (`application/x-www-form-urlencoded`; the first of that name).
pub fn field(body: &Bytes, name: &str) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The parts of a `multipart/form-data` body (name and bytes; a file's content as sent), or `None`
/// when the body is not one. Bounded by the node's body limit before it gets here.
pub fn multipart(h: &HeaderMap, body: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let ct = h.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let (kind, params) = ct.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params.split(';').find_map(|p| p.trim().strip_prefix("boundary="))?.trim_matches('"');
    if boundary.is_empty() || boundary.len() > 70 {
        return None;
    }
    let delim = format!("--{boundary}").into_bytes();
    let find = |hay: &[u8], needle: &[u8], from: usize| hay.get(from..).and_then(|h| h.windows(needle.len()).position(|w| w == needle)).map(|i| i + from);
    let mut parts = Vec::new();
    let mut at = find(body, &delim, 0)? + delim.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(parts);
        }
        let start = at + 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", start)?;
        let head = std::str::from_utf8(body.get(start..head_end)?).ok()?;
        let name = head.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:")).and_then(|l| l.split(';').find_map(|p| p.trim().strip_prefix("name=")).map(|n| n.trim_matches('"').to_owned()))?;
        let mut next_delim = b"\r\n".to_vec();
        next_delim.extend_from_slice(&delim);
        let end = find(body, &next_delim, head_end + 4)?;
        parts.push((name, body.get(head_end + 4..end)?.to_vec()));
        at = end + next_delim.len();
        if parts.len() > 16 {
            return None;
        }
    }
}

/// The style sheet (the only one; the CSP allows `'self'` styles and nothing inline).
pub async fn css() -> Response {
    let mut r = (StatusCode::OK, include_str!("../../static/portal.css")).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}
