//! The HTML of the demo eID sign-in: plain, accessible pages (language, landmarks, labels, no
//! JavaScript), each clearly marked as a demonstration.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The marking every page carries.
pub const DEMO_MARK: &str = "DEMO eID — not a real identification";

/// Escape text for HTML element content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#111;background:#fff}\
.demo{border:3px dashed #b00020;background:#fff4f4;color:#7a0014;padding:.75rem 1rem;font-weight:bold;font-size:1.1rem}\
label{display:block;margin-top:1rem;font-weight:600}input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;border:2px solid #444}\
input:focus,button:focus{outline:3px solid #1a56db;outline-offset:2px}.hint{color:#333;font-size:.9rem;margin:.1rem 0}\
button{margin-top:1.5rem;font-size:1rem;padding:.6rem 1.2rem;background:#1a56db;color:#fff;border:0}.error{border-left:4px solid #b00020;padding-left:.75rem}";

/// A whole page of the demo eID (marked as a demonstration): `title` is plain text, `main`
/// already-escaped HTML.
pub fn render(status: StatusCode, title: &str, main: &str) -> Response {
    render_page(status, title, main, true)
}

/// A whole page; `demo` puts the demonstration marking at its top.
pub fn render_page(status: StatusCode, title: &str, main: &str, demo: bool) -> Response {
    let (title_mark, banner) = if demo {
        (format!(" — {DEMO_MARK}"), format!("<header><p class=\"demo\" role=\"note\">{DEMO_MARK}. This sign-in is a demonstration: it does not check who you are. Do not use it for anything real.</p></header>\n"))
    } else {
        (String::new(), String::new())
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t}{title_mark}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{banner}<main>\n<h1>{t}</h1>\n{main}\n</main>\n</body>\n</html>\n",
        t = escape(title),
    );
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // No scripts, no framing, no referrer (the page URL carries the request_uri). No `form-action`:
    // browsers apply it to the redirect that follows the form, and that goes to the wallet.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

/// Values to put back into the form after a correctable mistake.
#[derive(Debug, Default)]
pub struct Prefill<'a> {
    pub family_name: &'a str,
    pub given_name: &'a str,
    pub birth_date: &'a str,
    pub personal_number: &'a str,
}

/// The sign-in form. `signin` is the single-use reference to the pending request.
pub fn sign_in_form(status: StatusCode, institution: &str, credential: &str, client_id: &str, signin: &str, error: Option<&str>, prefill: &Prefill<'_>) -> Response {
    let error_html = error.map_or_else(String::new, |e| format!("<div class=\"error\" role=\"alert\" id=\"form-error\"><h2>There is a problem</h2><p>{}</p></div>\n", escape(e)));
    let described = if error.is_some() { " aria-describedby=\"form-error\"" } else { "" };
    let main = format!(
        "<p>The wallet <strong>{client}</strong> asks {inst} for your <strong>{cred}</strong>. Sign in with the demo eID to continue.</p>\n\
{error_html}<form method=\"post\" action=\"/authorize\"{described}>\n\
<input type=\"hidden\" name=\"signin\" value=\"{signin}\">\n\
<label for=\"family_name\">Family name</label>\n<input id=\"family_name\" name=\"family_name\" type=\"text\" autocomplete=\"family-name\" required maxlength=\"200\" value=\"{fam}\">\n\
<label for=\"given_name\">Given name</label>\n<input id=\"given_name\" name=\"given_name\" type=\"text\" autocomplete=\"given-name\" required maxlength=\"200\" value=\"{giv}\">\n\
<label for=\"birth_date\">Birth date</label>\n<p class=\"hint\" id=\"birth_date_hint\">Year-month-day, for example 1985-04-12.</p>\n<input id=\"birth_date\" name=\"birth_date\" type=\"text\" inputmode=\"numeric\" autocomplete=\"bday\" required maxlength=\"10\" aria-describedby=\"birth_date_hint\" value=\"{bd}\">\n\
<label for=\"personal_number\">Personal number</label>\n<input id=\"personal_number\" name=\"personal_number\" type=\"text\" autocomplete=\"off\" required maxlength=\"200\" value=\"{pn}\">\n\
<button type=\"submit\">Sign in with demo eID</button>\n</form>",
        client = escape(client_id),
        inst = escape(institution),
        cred = escape(credential),
        signin = escape(signin),
        fam = escape(prefill.family_name),
        giv = escape(prefill.given_name),
        bd = escape(prefill.birth_date),
        pn = escape(prefill.personal_number),
    );
    render(status, "Sign in with the demo eID", &main)
}

/// The sign-in with a PID: the wallet's link as a QR code (for a wallet on another device) and as a
/// same-device link, a button to continue once the wallet has answered, and — where the node offers
/// it — the demo eID form below, marked as a demonstration.
pub struct PidPage<'a> {
    pub institution: &'a str,
    pub credential: &'a str,
    pub client_id: &'a str,
    pub signin: &'a str,
    pub link: &'a str,
    /// The QR code as an SVG document (rendered inline: no request, no script).
    pub qr_svg: &'a str,
    /// Shown above the QR code (e.g. "not received yet").
    pub notice: Option<&'a str>,
    pub demo_eid: bool,
}

pub fn pid_sign_in(status: StatusCode, p: &PidPage<'_>) -> Response {
    let svg = p.qr_svg.split_once("<svg").map_or(String::new(), |(_, rest)| format!("<svg role=\"img\" aria-label=\"QR code to scan with your wallet\"{rest}"));
    let notice = p.notice.map_or_else(String::new, |n| format!("<div class=\"error\" role=\"alert\"><p>{}</p></div>\n", escape(n)));
    let demo = if p.demo_eid {
        format!(
            "<section aria-labelledby=\"demo-heading\">\n<h2 id=\"demo-heading\">No wallet? Demo eID</h2>\n<p class=\"demo\" role=\"note\">{DEMO_MARK}. The form below is a demonstration: it does not check who you are.</p>\n\
<form method=\"post\" action=\"/authorize\">\n<input type=\"hidden\" name=\"signin\" value=\"{signin}\">\n\
<label for=\"family_name\">Family name</label>\n<input id=\"family_name\" name=\"family_name\" type=\"text\" autocomplete=\"family-name\" required maxlength=\"200\">\n\
<label for=\"given_name\">Given name</label>\n<input id=\"given_name\" name=\"given_name\" type=\"text\" autocomplete=\"given-name\" required maxlength=\"200\">\n\
<label for=\"birth_date\">Birth date</label>\n<p class=\"hint\" id=\"birth_date_hint\">Year-month-day, for example 1985-04-12.</p>\n<input id=\"birth_date\" name=\"birth_date\" type=\"text\" inputmode=\"numeric\" autocomplete=\"bday\" required maxlength=\"10\" aria-describedby=\"birth_date_hint\">\n\
<label for=\"personal_number\">Personal number</label>\n<input id=\"personal_number\" name=\"personal_number\" type=\"text\" autocomplete=\"off\" required maxlength=\"200\">\n\
<button type=\"submit\">Sign in with demo eID</button>\n</form>\n</section>",
            signin = escape(p.signin),
        )
    } else {
        String::new()
    };
    let main = format!(
        "<p>The wallet <strong>{client}</strong> asks {inst} for your <strong>{cred}</strong>. Sign in by presenting your person identification data (PID) from your EU Digital Identity Wallet: {inst} sees only your names, birth date and personal number.</p>\n\
{notice}<section aria-labelledby=\"pid-heading\">\n<h2 id=\"pid-heading\">Sign in with your wallet</h2>\n\
<p>Scan the code with your wallet, or <a href=\"{link}\">open your wallet on this device</a>. When your wallet says it is done, continue here.</p>\n\
<figure>{svg}<figcaption>QR code for your wallet</figcaption></figure>\n\
<form method=\"post\" action=\"/authorize/pid\">\n<input type=\"hidden\" name=\"signin\" value=\"{signin}\">\n<button type=\"submit\">Continue</button>\n</form>\n</section>\n{demo}",
        client = escape(p.client_id),
        inst = escape(p.institution),
        cred = escape(p.credential),
        link = escape(p.link),
        signin = escape(p.signin),
    );
    render_page(status, "Sign in with your wallet", &main, false)
}

/// The answer when the sign-in did not match a record — identical whether or not the personal
/// number exists.
pub fn manual_review() -> Response {
    render(
        StatusCode::OK,
        "Your request was passed to manual review",
        "<p>We could not confirm your details automatically. Your request was passed to a case worker for manual review; the institution will contact you.</p>\n<p>You can close this page and return to your wallet.</p>",
    )
}

/// A dead end: the link or form is unknown, used, expired or malformed. Nothing is redirected to
/// the wallet because its redirect URI could not be trusted.
pub fn problem(status: StatusCode, message: &str) -> Response {
    render(status, "This sign-in cannot continue", &format!("<p>{}</p>\n<p>Start again from your wallet.</p>", escape(message)))
}
