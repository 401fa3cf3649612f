//! The web wallet's pages (`crate::webwallet`): create or open a wallet with its passphrase, see
//! its documents, receive one from an offer link (with the transaction code when one was given),
//! answer a verifier's request after a consent page that names the verifier (checked in the
//! Verifier Trusted List), the purpose and exactly what will be disclosed, and lock it again.

use super::{Ctx, LangQuery, Page, Site, css, ctx, field, see_other};
use crate::webwallet::WebWalletState;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use esspass_wallet::holder::{HolderError, Received};
use esspass_wallet::store::WalletFile;
use std::sync::Arc;

type Shared = Arc<WebWalletState>;
type Q = Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(|| async { see_other("/wallet", None) }))
        .route("/wallet", get(home))
        .route("/wallet/open", post(open))
        .route("/wallet/create", post(create))
        .route("/wallet/receive", post(receive))
        .route("/wallet/present", post(present))
        .route("/wallet/present/answer", post(answer))
        .route("/wallet/lock", post(lock))
        .route("/portal/static/portal.css", get(css))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
}

fn site(s: &WebWalletState) -> Site<'_> {
    Site { store: &s.store, name: &s.name, cookie: &s.cookie, now: s.now() }
}

pub struct DocLine {
    pub kind: String,
    pub issuer: String,
    pub received: String,
}

#[derive(Template)]
#[template(path = "portal/wallet_home.html")]
struct HomePage<'a> {
    p: &'a Page,
    open: bool,
    name: String,
    documents: Vec<DocLine>,
}

#[derive(Template)]
#[template(path = "portal/wallet_consent.html")]
struct ConsentPage<'a> {
    p: &'a Page,
    asks: String,
    purpose: Option<String>,
    disclosed: Vec<String>,
    always: Vec<String>,
}

fn kind(c: &Ctx<'_>, vct: &str) -> String {
    c.tr.t(match vct {
        "urn:eudi:ehic:1" => "type-ehic",
        "urn:eudi:pda1:1" => "type-pda1",
        _ => "type-pid",
    })
}

/// The wallet page: closed (open or create), or the documents of the opened wallet.
async fn page(s: &WebWalletState, c: &Ctx<'_>, status: StatusCode, notice: Option<String>) -> Response {
    let opened = c.subject("wallet").and_then(|_| s.opened(&c.session.sid));
    let mut documents = Vec::new();
    let name = opened.as_ref().map(|(n, _)| n.clone()).unwrap_or_default();
    if let Some((_, file)) = &opened {
        let w = file.lock().await;
        for d in w.contents.credentials.iter().rev() {
            documents.push(DocLine { kind: kind(c, &d.vct), issuer: d.issuer.clone(), received: c.tr.time(d.received_at) });
        }
    }
    let p = c.page("wallet-title", "/wallet", notice.or_else(|| (c.subject("wallet").is_some() && opened.is_none()).then(|| c.tr.t("session-expired"))));
    let mut p = p;
    p.signed_in = false; // the base page's sign-out is the wallet's "lock" here
    c.html(status, HomePage { p: &p, open: opened.is_some(), name, documents }.render())
}

async fn home(State(s): State<Shared>, h: HeaderMap, q: Q) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = ctx(site(&s), &h, q.lang.as_deref());
    page(&s, &c, StatusCode::OK, None).await
}

/// Open (or, with `create`, make) the wallet named in the form with its passphrase.
async fn unlock(s: &WebWalletState, h: &HeaderMap, body: &Bytes, create: bool) -> Response {
    let c = ctx(site(s), h, None);
    if let Err(r) = c.check_csrf(field(body, "csrf").as_deref()) {
        return r;
    }
    let name = field(body, "name").unwrap_or_default().trim().to_owned();
    let pass = field(body, "passphrase").unwrap_or_default();
    let Some(path) = s.path_of(&name) else {
        return page(s, &c, StatusCode::UNPROCESSABLE_ENTITY, Some(c.tr.t(if create { "wallet-weak" } else { "wallet-wrong" }))).await;
    };
    if !create && s.locked(&name) {
        let _ = s.store.append_audit(c.site.now, "web-wallet", "wallet_open_locked", &name, "web wallet", &serde_json::json!({})).await;
        return page(s, &c, StatusCode::TOO_MANY_REQUESTS, Some(c.tr.t("wallet-locked"))).await;
    }
    let file = if create {
        if pass.chars().count() < 12 {
            return page(s, &c, StatusCode::UNPROCESSABLE_ENTITY, Some(c.tr.t("wallet-weak"))).await;
        }
        if path.exists() {
            return page(s, &c, StatusCode::CONFLICT, Some(c.tr.t("wallet-exists"))).await;
        }
        WalletFile::create(&path, &pass)
    } else if path.exists() {
        WalletFile::open(&path, &pass)
    } else {
        Err(esspass_wallet::WalletError::Passphrase)
    };
    if !create {
        s.failed(&name, file.is_err());
    }
    match file {
        Ok(f) => {
            let session = super::session::Session::signed_in(&format!("wallet:{name}"), c.site.now);
            s.keep_open(&session.sid, &name, f);
            let _ = s.store.append_audit(c.site.now, &format!("wallet:{name}"), if create { "wallet_created" } else { "wallet_opened" }, &name, "web wallet", &serde_json::json!({})).await;
            see_other("/wallet", session.set_cookie(&s.store, &s.cookie, c.site.now))
        }
        Err(_) => page(s, &c, StatusCode::FORBIDDEN, Some(c.tr.t("wallet-wrong"))).await,
    }
}

async fn open(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    unlock(&s, &h, &body, false).await
}

async fn create(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    unlock(&s, &h, &body, true).await
}

fn refused(c: &Ctx<'_>, e: &HolderError) -> String {
    let reason = match e {
        HolderError::Refused(r) => format!("{} {}", r.code.code(), r.reason),
        other => other.to_string(),
    };
    c.tr.ta("wallet-refused", &[("reason", &reason)])
}

async fn receive(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some((name, file)) = c.subject("wallet").and_then(|_| s.opened(&c.session.sid)) else {
        return see_other("/wallet", None);
    };
    let link = field(&body, "offer").unwrap_or_default().trim().to_owned();
    let tx = field(&body, "tx_code").map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let offer = match s.client.resolve_offer(&link).await {
        Ok(o) => o,
        Err(e) => return page(&s, &c, StatusCode::UNPROCESSABLE_ENTITY, Some(refused(&c, &HolderError::Wallet(e)))).await,
    };
    let mut w = file.lock().await;
    let mut never = |_: &esspass_wallet::holder::Consent| false;
    let got = s.client.receive_into(&mut w, &offer, tx.as_deref(), None, &mut never, c.site.now).await;
    drop(w);
    let notice = match &got {
        Ok(Received::Issued(_)) => c.tr.t("wallet-received"),
        Ok(Received::Pending(_)) => c.tr.t("wallet-pending"),
        Err(e) => refused(&c, e),
    };
    let _ = s.store.append_audit(c.site.now, &format!("wallet:{name}"), "wallet_received", &name, "web wallet", &serde_json::json!({"ok": got.is_ok()})).await;
    page(&s, &c, if got.is_ok() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }, Some(notice)).await
}

async fn present(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some((_, file)) = c.subject("wallet").and_then(|_| s.opened(&c.session.sid)) else {
        return see_other("/wallet", None);
    };
    let link = field(&body, "request").unwrap_or_default().trim().to_owned();
    let w = file.lock().await;
    let consent = s.client.prepare_presentation(&w, &link, &s.chains, &s.verifiers(), None, c.site.now).await;
    drop(w);
    match consent {
        Ok(consent) => {
            let v = &consent.request.verifier;
            let asks = c.tr.ta("wallet-consent-verifier", &[("verifier", &v.name), ("country", v.country.iso()), ("document", &kind(&c, &consent.vct))]);
            let purpose = consent.request.purpose.as_ref().map(|p| c.tr.ta("wallet-consent-purpose", &[("purpose", p)]));
            let label = |k: &String| c.tr.t_or(&format!("claim-{k}"), k);
            let disclosed = consent.plan.disclosed.iter().map(label).collect();
            let always = consent.plan.always_visible.iter().map(label).collect();
            s.set_consent(&c.session.sid, Some(consent));
            let p = c.page("wallet-consent-title", "/wallet", None);
            c.html(StatusCode::OK, ConsentPage { p: &p, asks, purpose, disclosed, always }.render())
        }
        Err(e) => page(&s, &c, StatusCode::UNPROCESSABLE_ENTITY, Some(refused(&c, &e))).await,
    }
}

async fn answer(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    let Some((name, _)) = c.subject("wallet").and_then(|_| s.opened(&c.session.sid)) else {
        return see_other("/wallet", None);
    };
    let Some(consent) = s.take_consent(&c.session.sid) else {
        return see_other("/wallet", None);
    };
    if field(&body, "decision").as_deref() != Some("share") {
        return page(&s, &c, StatusCode::OK, Some(c.tr.t("wallet-declined"))).await;
    }
    let verifier = consent.request.verifier.name.clone();
    let verifier_id = consent.request.verifier.verifier_id.clone();
    let disclosed = consent.plan.disclosed.clone();
    match s.client.send_presentation(consent, c.site.now).await {
        Ok(_) => {
            // Who was shown what, in the wallet's own trail (the names of the claims, not their values).
            let _ = s.store.append_audit(c.site.now, &format!("wallet:{name}"), "wallet_presented", &name, "web wallet", &serde_json::json!({"verifier": verifier_id, "disclosed": disclosed})).await;
            page(&s, &c, StatusCode::OK, Some(c.tr.ta("wallet-shared", &[("verifier", &verifier)]))).await
        }
        Err(e) => page(&s, &c, StatusCode::UNPROCESSABLE_ENTITY, Some(refused(&c, &e))).await,
    }
}

async fn lock(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let c = ctx(site(&s), &h, None);
    if let Err(r) = c.check_csrf(field(&body, "csrf").as_deref()) {
        return r;
    }
    s.close(&c.session.sid);
    c.sign_out("/wallet")
}
