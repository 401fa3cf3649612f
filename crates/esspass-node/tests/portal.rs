//! The portal for insured persons over HTTPS, as a browser would use it (cookies kept by hand, no
//! script): Živa signs in at ZZZS with the PID in her wallet (a PID provider node beside it),
//! requests her EHIC, sees the transaction code (only she does), takes the EHIC into her wallet,
//! sees it in her documents and prints it. And the attacks: a form without, or with another
//! session's, CSRF token; markup in what a stranger sends; someone else's document; the session
//! after its 30 minutes; a portal cookie on the API; a 10 MB form.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use esspass_credential::x509::ChainValidator;
use esspass_wallet::Oid4vciClient;
use esspass_wallet::holder::{Consent, Received};
use esspass_wallet::store::WalletFile;
use serde_json::{Value, json};
use std::sync::Arc;
use support::now;

const BO_KEY: &str = "bo-portal-test-key-0123456789";
const CW_KEY: &str = "cw-portal-test-key-0123456789";
const EMPLOYER_KEY: &str = "employer-portal-test-key-0123456789";
const STAFF: &str = "\n[[staff]]\nname = \"maja.horvat\"\nrole = \"case_worker\"\npersonal_number = \"SI1982031544\"\nfamily_name = \"Horvat\"\ngiven_name = \"Maja\"\nbirth_date = \"1982-03-15\"\n\n[[staff]]\nname = \"tone.audit\"\nrole = \"auditor\"\npersonal_number = \"SI1970070766\"\nfamily_name = \"Kralj\"\ngiven_name = \"Tone\"\nbirth_date = \"1970-07-07\"\n";

struct World {
    url: String,
    pid_url: String,
    client: reqwest::Client,
    wallet_client: Oid4vciClient,
    chains: ChainValidator,
    vtl: esspass_credential::trust::TrustedList,
    clock: Arc<esspass_core::ShiftedClock>,
    dir: std::path::PathBuf,
    _nodes: (esspass_node::node::RunningNode, esspass_node::node::RunningNode),
}

async fn world() -> World {
    let support::Setup { pki, listener, url, root } = support::setup("si-zzzs");
    let db = support::databases("esspass_portal").await.remove(0);
    let pl = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let pid_url = format!("https://127.0.0.1:{}", pl.local_addr().unwrap().port());
    esspass_keys::pki::reissue_institution(&pki, "si-pid", &pid_url, time::OffsetDateTime::now_utc()).unwrap();
    let key = |name: &str, role: &str, k: &str| format!("\n[[api_keys]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n", esspass_store::hash_secret(k));
    std::fs::write(
        pki.join("pid.toml"),
        format!(
            "role = \"pid_provider\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{pid_url}\"\ndatabase = \"{}\"\nsecret_file = \"pid.secret\"\n\n[institution]\nid = \"SI:PID01\"\nname = \"Demo PID provider\"\ncountry = \"SI\"\nsigning_key = \"institutions/si-pid/signing.key\"\nchain = \"institutions/si-pid/chain.pem\"\ntls_key = \"institutions/si-pid/tls.key\"\ntls_chain = \"institutions/si-pid/tls-chain.pem\"\ncredential_types = [\"pid\"]\n{}",
            db.replace("node.db", "pid.db"),
            key("bo", "back_office", BO_KEY)
        ),
    )
    .unwrap();
    let pid = esspass_node::node::start(esspass_node::config::NodeConfig::load(&pki.join("pid.toml")).unwrap(), Some(pl)).await.unwrap();
    std::fs::write(
        pki.join("esspass.toml"),
        format!(
            "role = \"institution\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{url}\"\ndatabase = \"{db}\"\n\n[institution]\nid = \"SI:ZZZS\"\nname = \"ZZZS\"\ncountry = \"SI\"\nsigning_key = \"institutions/si-zzzs/signing.key\"\nchain = \"institutions/si-zzzs/chain.pem\"\ntls_key = \"institutions/si-zzzs/tls.key\"\ntls_chain = \"institutions/si-zzzs/tls-chain.pem\"\ncredential_types = [\"ehic\", \"pda1\"]\n\n[status]\nlist_size = 65536\n\n[sign_in.pid]\nverifier_id = \"SI:ZZZS\"\nsigning_key = \"verifiers/si-zzzs-signin/signing.key\"\nchain = \"verifiers/si-zzzs-signin/chain.pem\"\ntrust_anchor = \"root/ca.pem\"\nissuer_list = \"trusted-lists/issuers.jwt\"\nverifier_list = \"trusted-lists/verifiers.jwt\"\n{}{}",
            key("bo", "back_office", BO_KEY),
            key("cw", "case_worker", CW_KEY) + &key("firm", "employer", EMPLOYER_KEY) + "employer_id = \"SI5012345\"\n" + STAFF
        ),
    )
    .unwrap();
    let clock = Arc::new(esspass_core::ShiftedClock::default());
    let node = esspass_node::node::start_with_clock(esspass_node::config::NodeConfig::load(&pki.join("esspass.toml")).unwrap(), Some(listener), clock.clone()).await.unwrap();
    let client = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_der(&root.der).unwrap()]).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let chains = ChainValidator::new(vec![root.clone()]);
    let vtl = esspass_credential::trust::TrustedList::verify(std::fs::read_to_string(pki.join("trusted-lists/verifiers.jwt")).unwrap().trim(), &chains, now()).unwrap();
    World { url, pid_url, client, wallet_client: Oid4vciClient::new(std::slice::from_ref(&root.der)).unwrap(), chains, vtl, clock, dir: pki, _nodes: (pid, node) }
}

/// A browser: the portal's cookies kept by hand.
struct Browser<'a> {
    w: &'a World,
    cookies: std::collections::BTreeMap<String, String>,
    lang: &'a str,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).unwrap_or_else(|| panic!("no {name} in {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    fn location(&self) -> &str {
        self.headers.get("location").map(|v| v.to_str().unwrap()).unwrap_or("")
    }
}

impl<'a> Browser<'a> {
    fn new(w: &'a World, lang: &'a str) -> Self {
        Browser { w, cookies: Default::default(), lang }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&mut self, r: reqwest::RequestBuilder) -> Page {
        let resp = r.header("Cookie", self.cookie_header()).header("Accept-Language", self.lang).send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for c in headers.get_all("set-cookie") {
            let c = c.to_str().unwrap();
            assert!(c.contains("Secure") && c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
            let (kv, _) = c.split_once(';').unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let body = resp.text().await.unwrap_or_default();
        Page { status, headers, body }
    }

    async fn get(&mut self, path: &str) -> Page {
        let r = self.w.client.get(format!("{}{path}", self.w.url));
        self.send(r).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self.w.client.post(format!("{}{path}", self.w.url)).form(form);
        self.send(r).await
    }
}

fn assert_safe_page(p: &Page) {
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src") && !csp.contains("unsafe"), "{csp}");
    assert!(!p.body.contains("<script"), "no script on any page");
    assert_eq!(p.headers["x-frame-options"], "DENY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ziva_signs_in_with_her_pid_requests_her_ehic_and_takes_it_into_her_wallet() {
    let w = world().await;
    // Živa in the PID provider's register and in ZZZS's; her PID into her wallet.
    let person = json!({"personal_number": "SI1985041277", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "birth_country": "SI", "birth_place": "Ljubljana"});
    let p: Value = w.client.post(format!("{}/api/v1/persons", w.pid_url)).bearer_auth(BO_KEY).json(&person).send().await.unwrap().json().await.unwrap();
    let mut insured = person.clone();
    insured["coverage_kind"] = json!("health");
    insured["coverage_start"] = json!("2010-01-01");
    assert_eq!(w.client.post(format!("{}/api/v1/persons", w.url)).bearer_auth(BO_KEY).json(&insured).send().await.unwrap().status().as_u16(), 201);
    let o: Value = w.client.post(format!("{}/api/v1/credential-offers", w.pid_url)).bearer_auth(BO_KEY).json(&json!({"credential_configuration_id": "pid", "person_id": p["person_id"]})).send().await.unwrap().json().await.unwrap();
    let mut wallet = WalletFile::create(&w.dir.join("ziva.esspass"), "a long wallet passphrase").unwrap();
    let offer = w.wallet_client.resolve_offer(o["credential_offer_uri"].as_str().unwrap()).await.unwrap();
    let mut never = |_: &Consent| false;
    assert!(matches!(w.wallet_client.receive_into(&mut wallet, &offer, o["tx_code"].as_str(), None, &mut never, now()).await.unwrap(), Received::Issued(_)));

    // The gateway's hand-over lands on the EHIC entry: in Slovenian, from Accept-Language.
    let mut b = Browser::new(&w, "sl-SI,sl;q=0.9,en;q=0.5");
    let home = b.get("/portal/ehic").await;
    assert_eq!(home.status, 200);
    assert_safe_page(&home);
    assert!(home.body.contains("<html lang=\"sl\">") && home.body.contains("Prijava z denarnico"), "{}", home.body);
    assert!(home.body.contains("href=\"#main\"") && home.body.contains("<main id=\"main\""), "a skip link to the main content");
    let anonymous_cookie = b.cookies.get("__Host-esspass-SIZZZS").cloned().expect("a session cookie");
    let csrf = home.hidden("csrf");
    // The switcher: English by a link, remembered.
    let en = b.get("/portal?lang=en").await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Sign in with your wallet"));
    assert_eq!(b.cookies.get("esspass-lang").map(String::as_str), Some("en"));
    b.cookies.insert("esspass-lang".into(), "sl".into());

    // CSRF: no token, a token of another session, no session at all.
    assert_eq!(b.post("/portal/sign-in", &[]).await.status, 403);
    let mut other = Browser::new(&w, "en");
    let other_csrf = other.get("/portal").await.hidden("csrf");
    let refused = b.post("/portal/sign-in", &[("csrf", &other_csrf)]).await;
    assert_eq!(refused.status, 403);
    assert_safe_page(&refused);
    let mut stranger = Browser::new(&w, "en");
    assert_eq!(stranger.post("/portal/sign-in", &[("csrf", &csrf)]).await.status, 403, "the token without its session");

    // Sign-in: the QR code and the same-device link of ZZZS's own PID transaction.
    let page = b.post("/portal/sign-in", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<svg") && page.body.contains("href=\"openid4vp://?client_id=x509_hash%3A"), "{}", page.body);
    let link = page.body.split("href=\"openid4vp://").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
    let link = format!("openid4vp://{link}");
    let poll = page.hidden("poll");
    let early = b.post("/portal/sign-in/continue", &[("csrf", &csrf), ("poll", &poll)]).await;
    assert!(early.status == 200 && early.body.contains("še ni odgovorila"), "{}", early.body);
    let consent = w.wallet_client.prepare_presentation(&wallet, &link, &w.chains, &w.vtl, None, now()).await.unwrap();
    assert!(consent.plan.disclosed.iter().all(|d| ["family_name", "given_name", "birthdate", "personal_administrative_number"].contains(&d.as_str())), "{:?}", consent.plan.disclosed);
    w.wallet_client.send_presentation(consent, now()).await.unwrap();
    let done = b.post("/portal/sign-in/continue", &[("csrf", &csrf), ("poll", &poll)]).await;
    assert_eq!((done.status, done.location()), (303, "/portal/documents"), "{}", done.body);
    let signed_in_cookie = b.cookies.get("__Host-esspass-SIZZZS").cloned().unwrap();
    assert_ne!(signed_in_cookie, anonymous_cookie, "a new session at sign-in (no fixation)");
    // The poll reference is spent: a replay with the old session's token is refused, and with the
    // new session's token the sign-in is gone.
    assert_eq!(b.post("/portal/sign-in/continue", &[("csrf", &csrf), ("poll", &poll)]).await.status, 403, "the old session's token is no longer valid");
    let fresh = b.get("/portal/documents").await.hidden("csrf");
    let replay = b.post("/portal/sign-in/continue", &[("csrf", &fresh), ("poll", &poll)]).await;
    assert!(replay.status == 404 && replay.body.contains("Prijava je potekla"), "{}", replay.body);

    // Her documents: none yet; she requests the EHIC and sees the code, only she.
    let docs = b.get("/portal/documents").await;
    assert!(docs.status == 200 && docs.body.contains("Od ZZZS še nimate dokumentov."), "{}", docs.body);
    let csrf = docs.hidden("csrf");
    let offer_page = b.post("/portal/ehic", &[("csrf", &csrf)]).await;
    assert_eq!(offer_page.status, 200, "{}", offer_page.body);
    let code = offer_page.body.split("<strong id=\"tx-code\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()), "{code}");
    let offer_link = offer_page.body.split("href=\"openid-credential-offer://").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
    let offer = w.wallet_client.resolve_offer(&format!("openid-credential-offer://{offer_link}")).await.unwrap();
    let got = w.wallet_client.receive_into(&mut wallet, &offer, Some(&code), None, &mut never, now()).await.unwrap();
    assert!(matches!(got, Received::Issued(ref ids) if ids.len() == 1), "{got:?}");
    let docs = b.get("/portal/documents").await;
    assert!(docs.body.contains("Evropska kartica zdravstvenega zavarovanja") && docs.body.contains("Veljaven"), "{}", docs.body);
    let id = docs.body.split("href=\"/portal/documents/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let pdf = b.get(&format!("/portal/documents/{id}/paper")).await;
    assert_eq!((pdf.status, pdf.headers["content-type"].to_str().unwrap()), (200, "application/pdf"));
    // Someone else's document, or one that does not exist: not found, the same way.
    let mut other_doc = b.get("/portal/documents/not-a-document/paper").await;
    assert_eq!(other_doc.status, 404);
    other_doc = other.get(&format!("/portal/documents/{id}/paper")).await;
    assert_eq!((other_doc.status, other_doc.location()), (303, "/portal"), "an anonymous session has no documents");

    // Markup from a stranger is never echoed as markup.
    let p = b.get("/portal?lang=%22%3E%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert!(p.status == 200 && !p.body.contains("<script") && !p.body.contains("alert(1)\""), "{}", p.body);
    let p = b.post("/portal/sign-in/continue", &[("csrf", &csrf), ("poll", "\"><script>alert(1)</script>")]).await;
    assert!(!p.body.contains("<script"), "{}", p.body);

    // The portal's cookie is not an API credential: a case worker's route refuses it.
    let r = w.client.get(format!("{}/api/v1/tasks", w.url)).header("Cookie", b.cookie_header()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A 10 MB form is refused before it is read.
    let big = w.client.post(format!("{}/portal/ehic", w.url)).header("Cookie", b.cookie_header()).header("Content-Type", "application/x-www-form-urlencoded").body(vec![b'a'; 10 * 1024 * 1024]).send().await.map(|r| r.status().as_u16());
    assert!(big.as_ref().map_or(true, |s| *s == 413), "{big:?}");

    // After 30 minutes the session has ended: the documents send her to sign in again, saying so;
    // a form of the old session is refused.
    let kept = b.cookies.clone();
    w.clock.advance(31 * 60);
    let late = b.get("/portal/documents").await;
    assert_eq!((late.status, late.location()), (303, "/portal?expired=1"));
    let home = b.get("/portal?expired=1").await;
    assert!(home.body.contains("Vaša seja je končana"), "{}", home.body);
    assert_eq!(b.post("/portal/ehic", &[("csrf", &csrf)]).await.status, 403);
    w.clock.advance(-31 * 60);
    b.cookies = kept;

    // Sign-out ends the session in the browser.
    let docs = b.get("/portal/documents").await;
    let csrf = docs.hidden("csrf");
    let out = b.post("/portal/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/portal"));
    assert_eq!(b.get("/portal/documents").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_in_five_languages() {
    let w = world().await;
    for (lang, words) in [("en", "Sign in with your wallet"), ("sl", "Prijava z denarnico"), ("es", "Iniciar sesión con su cartera"), ("el", "Σύνδεση με το πορτοφόλι σας"), ("it", "Accedi con il portafoglio")] {
        let mut b = Browser::new(&w, lang);
        for path in ["/portal", "/portal/ehic", "/portal/employer"] {
            let p = b.get(path).await;
            assert_eq!(p.status, 200, "{path}");
            assert_safe_page(&p);
            assert!(p.body.contains(&format!("<html lang=\"{lang}\">")), "{lang} {path}");
            for l in ["en", "sl", "es", "el", "it"] {
                assert!(p.body.contains(&format!("hreflang=\"{l}\"")), "the switcher offers {l}");
            }
        }
        assert!(b.get("/portal").await.body.contains(words), "{lang}");
    }
    let css = w.client.get(format!("{}/portal/static/portal.css", w.url)).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

/// An employer in the portal: signs in with its key, applies for its worker's A1 with a form whose
/// errors are tied to their fields (and what it typed comes back escaped), sees the rules engine's
/// decision with its reasons, and hands the offer to the worker without any code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employer_applies_for_an_a1_with_field_level_errors() {
    let w = world().await;
    let worker = json!({"personal_number": "SI1990020211", "family_name": "Zupan", "given_name": "Marko", "birth_date": "1990-02-02", "nationality": "SI", "residence": "SI", "coverage_kind": "social_security", "coverage_start": "2012-01-01", "employer_id": "SI5012345", "employment_start": "2015-01-01"});
    let p: Value = w.client.post(format!("{}/api/v1/persons", w.url)).bearer_auth(BO_KEY).json(&worker).send().await.unwrap().json().await.unwrap();
    let person = p["person_id"].as_str().unwrap().to_owned();
    let mut b = Browser::new(&w, "en");
    let home = b.get("/portal/a1").await;
    assert_eq!((home.status, home.location()), (303, "/portal/employer"), "the gateway's A1 hand-over");
    let home = b.get("/portal/employer").await;
    let csrf = home.hidden("csrf");
    assert_eq!(b.post("/portal/employer/sign-in", &[("csrf", &csrf), ("key", "wrong")]).await.status, 403);
    let signed = b.post("/portal/employer/sign-in", &[("csrf", &csrf), ("key", EMPLOYER_KEY)]).await;
    assert_eq!((signed.status, signed.location()), (303, "/portal/employer"));
    let form = b.get("/portal/employer/a1").await;
    assert!(form.status == 200 && form.body.contains(&format!("value=\"{person}\"")) && form.body.contains("Marko Zupan"), "{}", form.body);
    assert_safe_page(&form);
    let csrf = form.hidden("csrf");
    // Everything wrong: each field says what, tied to it; what was typed comes back escaped.
    let bad = b.post("/portal/employer/a1", &[("csrf", &csrf), ("employer_name", "<script>alert(1)</script>"), ("start", "2027-05-01"), ("end", "2027-04-01"), ("host", "SI"), ("turnover", "140"), ("street", "\"><img src=x>")]).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(!bad.body.contains("<script>alert") && !bad.body.contains("<img src=x>") && bad.body.contains("&#60;script&#62;alert(1)"), "{}", bad.body);
    for (field, words) in [("worker", "Fill this in."), ("end", "The last day comes before the first."), ("host", "it cannot be SI"), ("turnover", "from 0 to 100"), ("replaces", "Choose one."), ("insured_since", "Fill this in."), ("house", "Fill this in.")] {
        let at = bad.body.find(&format!("id=\"{field}-error\"")).unwrap_or_else(|| panic!("no error for {field}: {}", bad.body));
        assert!(bad.body[at..].split("</p>").next().unwrap().contains(words), "{field}: {}", &bad.body[at..at + 200]);
        if field != "replaces" {
            assert!(bad.body.contains(&format!("id=\"{field}\" name=\"{field}\"")) || bad.body.contains(&format!("<select id=\"{field}\"")), "{field}");
        }
    }
    assert!(bad.body.contains("aria-invalid=\"true\" aria-describedby=\"turnover-error\"") && bad.body.contains("href=\"#turnover\""), "the summary links to the fields");
    // Right: the rules engine decides at once.
    let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
    let end = today.add_months(6).unwrap();
    let ok = b.post("/portal/employer/a1", &[("csrf", &csrf), ("worker", &person), ("employer_name", "Gradnje Zupan d.o.o."), ("start", &today.to_string()), ("end", &end.to_string()), ("host", "AT"), ("street", "Ringstraße"), ("house", "1"), ("postal", "1010"), ("locality", "Wien"), ("turnover", "80"), ("contracts", "90"), ("admin_staff", "12"), ("recruit_abroad", "no"), ("internal_only", "no"), ("replaces", "no"), ("insured_since", "2015-01-01")]).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let app = b.get(ok.location()).await;
    assert!(app.body.contains("Decided by the rules engine") && app.body.contains("id=\"app-legislation\">SI<") && app.body.contains("883/2004 Art 12(1)") && app.body.contains("R-12-1-DURATION-OK"), "{}", app.body);
    let csrf = app.hidden("csrf");
    let handed = b.post(&format!("{}/offer", ok.location().trim_start_matches(&w.url)), &[("csrf", &csrf)]).await;
    assert!(handed.status == 200 && handed.body.contains("href=\"openid-credential-offer://") && !handed.body.contains("tx-code"), "{}", handed.body);
    let list = b.get("/portal/employer").await;
    assert!(list.body.contains("Marko Zupan") && list.body.contains("Decided by the rules engine"), "{}", list.body);
    // Someone else's application, or none: not found.
    assert_eq!(b.get("/portal/employer/applications/A1-not-yours").await.status, 404);
}

/// A wallet holding the PID of `person`, registered at the PID provider.
async fn pid_wallet(w: &World, file: &str, person: Value) -> WalletFile {
    let p: Value = w.client.post(format!("{}/api/v1/persons", w.pid_url)).bearer_auth(BO_KEY).json(&person).send().await.unwrap().json().await.unwrap();
    let o: Value = w.client.post(format!("{}/api/v1/credential-offers", w.pid_url)).bearer_auth(BO_KEY).json(&json!({"credential_configuration_id": "pid", "person_id": p["person_id"]})).send().await.unwrap().json().await.unwrap();
    let mut wallet = WalletFile::create(&w.dir.join(file), "a long wallet passphrase").unwrap();
    let offer = w.wallet_client.resolve_offer(o["credential_offer_uri"].as_str().unwrap()).await.unwrap();
    let mut never = |_: &Consent| false;
    assert!(matches!(w.wallet_client.receive_into(&mut wallet, &offer, o["tx_code"].as_str(), None, &mut never, now()).await.unwrap(), Received::Issued(_)));
    wallet
}

/// Sign in on a portal page at `base` (`/portal` or `/portal/staff`) with the PID in `wallet`.
async fn sign_in_with(w: &World, b: &mut Browser<'_>, base: &str, wallet: &WalletFile) -> Page {
    let home = b.get(base).await;
    let page = b.post(&format!("{base}/sign-in"), &[("csrf", &home.hidden("csrf"))]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let link = format!("openid4vp://{}", page.body.split("href=\"openid4vp://").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&"));
    let consent = w.wallet_client.prepare_presentation(wallet, &link, &w.chains, &w.vtl, None, now()).await.unwrap();
    w.wallet_client.send_presentation(consent, now()).await.unwrap();
    b.post(&format!("{base}/sign-in/continue"), &[("csrf", &page.hidden("csrf")), ("poll", &page.hidden("poll"))]).await
}

/// Staff in the portal: a case worker signs in with her PID, sees the application the rules engine
/// left to a person with its reasons and the outcomes the law allows, and approves it; an auditor
/// sees the audit trail verified; an insured person with a valid PID is not staff, and a person's
/// session reaches no case-worker page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_worker_decides_and_an_auditor_checks_the_trail() {
    let w = world().await;
    let worker = json!({"personal_number": "SI1990020211", "family_name": "Zupan", "given_name": "Marko", "birth_date": "1990-02-02", "nationality": "SI", "residence": "SI", "employer_id": "SI5012345", "employment_start": "2015-01-01"});
    let p: Value = w.client.post(format!("{}/api/v1/persons", w.url)).bearer_auth(BO_KEY).json(&worker).send().await.unwrap().json().await.unwrap();
    // An application the engine cannot decide alone (the employer's activity facts are missing).
    let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
    let application = json!({"decision_date": today.to_string(), "person": {"residence": "SI", "nationalities": ["SI"]}, "activities": [{"kind": "employed", "period": {"start": today.to_string(), "end": today.add_months(6).unwrap().to_string()},
        "employer": {"name": "Gradnje Zupan d.o.o.", "id": "SI5012345", "seat": "SI"}, "states": [{"country": "AT", "working_time_share": 1, "remuneration_share": 1}],
        "posting": {"sending_state": "SI", "on_behalf_of_employer": true, "replaces_posted_person": false, "prior_insurance": [{"country": "SI", "start": "2015-01-01"}], "previous_postings": []}}]});
    let app: Value = w.client.post(format!("{}/api/v1/applications/a1", w.url)).bearer_auth(EMPLOYER_KEY).json(&json!({"person_id": p["person_id"], "application": application, "work_information": {"work_address": [{"street_address": "Ring", "house_number": "1", "postal_code": "1010", "locality": "Wien", "country": "AT"}]}})).send().await.unwrap().json().await.unwrap();
    assert_eq!(app["state"], "pending_review", "{app}");
    let id = app["application_id"].as_str().unwrap().to_owned();

    // An insured person's session reaches no case-worker page; her valid PID does not make her staff.
    let ziva = pid_wallet(&w, "z.esspass", json!({"personal_number": "SI1985041277", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "birth_country": "SI", "birth_place": "Ljubljana"})).await;
    let mut zb = Browser::new(&w, "en");
    let mut insured = json!({"personal_number": "SI1985041277", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "coverage_kind": "health", "coverage_start": "2010-01-01"});
    insured["nationality"] = json!("SI");
    w.client.post(format!("{}/api/v1/persons", w.url)).bearer_auth(BO_KEY).json(&insured).send().await.unwrap();
    assert_eq!(sign_in_with(&w, &mut zb, "/portal", &ziva).await.status, 303);
    let r = zb.get(&format!("/portal/staff/applications/{id}")).await;
    assert_eq!((r.status, r.location()), (303, "/portal/staff"), "a person's session is no staff session");
    let refused = sign_in_with(&w, &mut Browser::new(&w, "en"), "/portal/staff", &ziva).await;
    assert!(refused.status == 403 && refused.body.contains("not on this institution"), "{}", refused.body);

    // Maja, case worker: the queue, the reasons, the allowed outcomes; she approves.
    let maja = pid_wallet(&w, "m.esspass", json!({"personal_number": "SI1982031544", "family_name": "Horvat", "given_name": "Maja", "birth_date": "1982-03-15", "nationality": "SI", "birth_country": "SI", "birth_place": "Celje"})).await;
    let mut b = Browser::new(&w, "sl");
    let signed = sign_in_with(&w, &mut b, "/portal/staff", &maja).await;
    assert_eq!((signed.status, signed.location()), (303, "/portal/staff"), "{}", signed.body);
    let home = b.get("/portal/staff").await;
    assert!(home.body.contains("Vloge, ki čakajo na odločitev") && home.body.contains("Marko Zupan") && home.body.contains("R-FACT-MISSING"), "{}", home.body);
    assert!(!home.body.contains("Revizijska sled"), "the audit trail is the auditors'");
    let page = b.get(&format!("/portal/staff/applications/{id}")).await;
    assert!(page.body.contains("883/2004 Art 12(1)") && page.body.contains("name=\"outcome\""), "{}", page.body);
    let decided = b.post(&format!("/portal/staff/applications/{id}/decision"), &[("csrf", &page.hidden("csrf")), ("choice", "approve"), ("outcome", "0"), ("note", "Activity in SI shown by the company register <b>ok</b>")]).await;
    assert!(decided.body.contains("Odločitev je zabeležena.") && decided.body.contains("Odobril referent"), "{}", decided.body);
    let stored: Value = w.client.get(format!("{}/api/v1/applications/{id}", w.url)).bearer_auth(CW_KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!((stored["state"].as_str(), stored["decided_by"].as_str()), (Some("approved"), Some("staff:maja.horvat")), "{stored}");
    // A form without the session's token decides nothing.
    assert_eq!(b.post(&format!("/portal/staff/applications/{id}/decision"), &[("choice", "refuse"), ("note", "x")]).await.status, 403);
    // Živa's EHIC: Maja finds it and suspends it, with a reason (none: refused).
    let zp: Value = w.client.get(format!("{}/api/v1/persons?personal_number=SI1985041277", w.url)).bearer_auth(BO_KEY).send().await.unwrap().json().await.unwrap();
    let o: Value = w.client.post(format!("{}/api/v1/credential-offers", w.url)).bearer_auth(BO_KEY).json(&json!({"credential_configuration_id": "ehic", "person_id": zp["person"]["person_id"]})).send().await.unwrap().json().await.unwrap();
    let mut zw = ziva;
    let offer = w.wallet_client.resolve_offer(o["credential_offer_uri"].as_str().unwrap()).await.unwrap();
    let mut never = |_: &Consent| false;
    w.wallet_client.receive_into(&mut zw, &offer, o["tx_code"].as_str(), None, &mut never, now()).await.unwrap();
    let found = b.get("/portal/staff/persons?number=SI1985041277").await;
    assert!(found.body.contains("Živa Novak") && found.body.contains("Veljaven"), "{}", found.body);
    let cred = found.body.split("action=\"/portal/staff/credentials/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let no_reason = b.post(&format!("/portal/staff/credentials/{cred}"), &[("csrf", &found.hidden("csrf")), ("action", "suspend"), ("reason", ""), ("number", "SI1985041277")]).await;
    assert!(no_reason.body.contains("Izpolnite to polje.") && no_reason.body.contains("Veljaven"), "{}", no_reason.body);
    let done = b.post(&format!("/portal/staff/credentials/{cred}"), &[("csrf", &found.hidden("csrf")), ("action", "suspend"), ("reason", "coverage under review"), ("number", "SI1985041277")]).await;
    assert!(done.body.contains("Stanje dokumenta je spremenjeno.") && done.body.contains("Začasno zadržan"), "{}", done.body);
    let none = b.get("/portal/staff/persons?number=SI0000000000").await;
    assert!(none.body.contains("Ni osebe s to osebno številko."), "{}", none.body);

    // Tone, auditor: the trail verified, and who read what.
    let tone = pid_wallet(&w, "t.esspass", json!({"personal_number": "SI1970070766", "family_name": "Kralj", "given_name": "Tone", "birth_date": "1970-07-07", "nationality": "SI", "birth_country": "SI", "birth_place": "Koper"})).await;
    let mut a = Browser::new(&w, "en");
    assert_eq!(sign_in_with(&w, &mut a, "/portal/staff", &tone).await.status, 303);
    let home = a.get("/portal/staff").await;
    assert!(home.body.contains("The audit trail is intact") && home.body.contains("staff:maja.horvat") && home.body.contains("approved_a1_application"), "{}", home.body);
    assert!(!home.body.contains("Applications waiting for a decision"), "the queue is the case workers'");
    let r = a.post(&format!("/portal/staff/applications/{id}/decision"), &[("csrf", &home.hidden("csrf")), ("choice", "refuse"), ("note", "x")]).await;
    assert_eq!(r.status, 403, "an auditor decides nothing");
    assert_eq!(a.get("/portal/staff/persons?number=SI1985041277").await.status, 403, "nor looks people up");
    let r = a.post(&format!("/portal/staff/credentials/{cred}"), &[("csrf", &home.hidden("csrf")), ("action", "revoke"), ("reason", "x"), ("number", "")]).await;
    assert_eq!(r.status, 403, "nor revokes");
}

/// The web wallet (role `wallet`): a weak passphrase and a wrong one are refused; Živa creates her
/// wallet, receives her PID from an offer link with its code, answers ZZZS's sign-in request after
/// a consent page that names ZZZS and exactly what it will see, and then takes her EHIC — all in the
/// browser. Locked, it shows nothing; a form without the session's token does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_wallet_receives_consents_and_presents() {
    let w = world().await;
    let wl = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let wurl = format!("https://127.0.0.1:{}", wl.local_addr().unwrap().port());
    std::fs::write(
        w.dir.join("wallet.toml"),
        format!("role = \"wallet\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{wurl}\"\ndatabase = \"sqlite:{}\"\nsecret_file = \"webwallet.secret\"\ntls_chain = \"services/wallet/tls-chain.pem\"\ntls_key = \"services/wallet/tls.key\"\ntrust_anchor = \"root/ca.pem\"\nverifier_list = \"trusted-lists/verifiers.jwt\"\nwallets = \"web-wallets\"\n", w.dir.join("webwallet.db").display()),
    )
    .unwrap();
    let _wallet = esspass_node::webwallet::start(esspass_node::webwallet::WebWalletConfig::load(&w.dir.join("wallet.toml")).unwrap(), Some(wl)).await.unwrap();
    // Živa in both registers; her PID offer from the PID provider.
    let person = json!({"personal_number": "SI1985041277", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "birth_country": "SI", "birth_place": "Ljubljana"});
    let p: Value = w.client.post(format!("{}/api/v1/persons", w.pid_url)).bearer_auth(BO_KEY).json(&person).send().await.unwrap().json().await.unwrap();
    let mut insured = person.clone();
    insured["coverage_kind"] = json!("health");
    insured["coverage_start"] = json!("2010-01-01");
    w.client.post(format!("{}/api/v1/persons", w.url)).bearer_auth(BO_KEY).json(&insured).send().await.unwrap();
    let o: Value = w.client.post(format!("{}/api/v1/credential-offers", w.pid_url)).bearer_auth(BO_KEY).json(&json!({"credential_configuration_id": "pid", "person_id": p["person_id"]})).send().await.unwrap().json().await.unwrap();

    // The web wallet in her browser (its own cookies; it is another node).
    let mut wb = Browser::new(&w, "en");
    let at = |path: &str| format!("{wurl}{path}");
    let home = wb.send(w.client.get(at("/wallet"))).await;
    assert_eq!(home.status, 200);
    assert_safe_page(&home);
    let csrf = home.hidden("csrf");
    let weak = wb.send(w.client.post(at("/wallet/create")).form(&[("csrf", csrf.as_str()), ("name", "ziva"), ("passphrase", "short")])).await;
    assert!(weak.status == 422 && weak.body.contains("at least 12 characters"), "{}", weak.body);
    let made = wb.send(w.client.post(at("/wallet/create")).form(&[("csrf", csrf.as_str()), ("name", "ziva"), ("passphrase", "a long wallet passphrase")])).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let page = wb.send(w.client.get(at("/wallet"))).await;
    assert!(page.body.contains("The wallet holds no document yet."), "{}", page.body);
    let csrf = page.hidden("csrf");
    // A form without its token does nothing.
    assert_eq!(wb.send(w.client.post(at("/wallet/receive")).form(&[("offer", o["credential_offer_uri"].as_str().unwrap())])).await.status, 403);
    let got = wb.send(w.client.post(at("/wallet/receive")).form(&[("csrf", csrf.as_str()), ("offer", o["credential_offer_uri"].as_str().unwrap()), ("tx_code", o["tx_code"].as_str().unwrap())])).await;
    assert!(got.status == 200 && got.body.contains("The document is now in your wallet.") && got.body.contains("Person identification data"), "{}", got.body);

    // ZZZS's portal asks for her PID; the web wallet shows who asks and what it will see.
    let mut pb = Browser::new(&w, "en");
    let entry = pb.get("/portal/ehic").await;
    let signin = pb.post("/portal/sign-in", &[("csrf", &entry.hidden("csrf"))]).await;
    let link = format!("openid4vp://{}", signin.body.split("href=\"openid4vp://").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&"));
    let consent = wb.send(w.client.post(at("/wallet/present")).form(&[("csrf", csrf.as_str()), ("request", link.as_str())])).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert_safe_page(&consent);
    assert!(consent.body.contains("ZZZS (SI) asks for your Person identification data"), "{}", consent.body);
    let disclosed = consent.body.split("<ul id=\"disclosed\">").nth(1).unwrap().split("</ul>").next().unwrap();
    assert!(disclosed.contains("Personal number") && !disclosed.contains("place_of_birth") && !disclosed.contains("nationalities"), "{disclosed}");
    let shared = wb.send(w.client.post(at("/wallet/present/answer")).form(&[("csrf", csrf.as_str()), ("decision", "share")])).await;
    assert!(shared.body.contains("Sent to ZZZS."), "{}", shared.body);
    // The same answer again (a replay) sends nothing: the consent was used up.
    let again = wb.send(w.client.post(at("/wallet/present/answer")).form(&[("csrf", csrf.as_str()), ("decision", "share")])).await;
    assert_eq!((again.status, again.location()), (303, "/wallet"));
    // A 10 MB form is refused before it is read.
    let big = w.client.post(at("/wallet/receive")).header("Content-Type", "application/x-www-form-urlencoded").body(vec![b'a'; 10 * 1024 * 1024]).send().await.map(|r| r.status().as_u16());
    assert!(big.as_ref().map_or(true, |s| *s == 413), "{big:?}");
    let done = pb.post("/portal/sign-in/continue", &[("csrf", &signin.hidden("csrf")), ("poll", &signin.hidden("poll"))]).await;
    assert_eq!((done.status, done.location()), (303, "/portal/documents"));
    // Her EHIC, requested on the portal, into the web wallet with the code.
    let docs = pb.get("/portal/documents").await;
    let offer_page = pb.post("/portal/ehic", &[("csrf", &docs.hidden("csrf"))]).await;
    let code = offer_page.body.split("<strong id=\"tx-code\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let offer = format!("openid-credential-offer://{}", offer_page.body.split("href=\"openid-credential-offer://").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&"));
    let got = wb.send(w.client.post(at("/wallet/receive")).form(&[("csrf", csrf.as_str()), ("offer", offer.as_str()), ("tx_code", code.as_str())])).await;
    assert!(got.body.contains("European Health Insurance Card"), "{}", got.body);
    // Declining sends nothing; locked, the wallet shows nothing and a wrong passphrase opens nothing.
    let csrf_p = pb.get("/portal").await.hidden("csrf");
    let signin = pb.post("/portal/sign-in", &[("csrf", &csrf_p)]).await;
    let link = format!("openid4vp://{}", signin.body.split("href=\"openid4vp://").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&"));
    wb.send(w.client.post(at("/wallet/present")).form(&[("csrf", csrf.as_str()), ("request", link.as_str())])).await;
    let declined = wb.send(w.client.post(at("/wallet/present/answer")).form(&[("csrf", csrf.as_str()), ("decision", "decline")])).await;
    assert!(declined.body.contains("Nothing was sent."), "{}", declined.body);
    let lock = wb.send(w.client.post(at("/wallet/lock")).form(&[("csrf", csrf.as_str())])).await;
    assert_eq!(lock.status, 303);
    let closed = wb.send(w.client.get(at("/wallet"))).await;
    assert!(!closed.body.contains("European Health Insurance Card") && closed.body.contains("id=\"open-pass\""), "{}", closed.body);
    let csrf = closed.hidden("csrf");
    let wrong = wb.send(w.client.post(at("/wallet/open")).form(&[("csrf", csrf.as_str()), ("name", "ziva"), ("passphrase", "not the passphrase")])).await;
    assert_eq!(wrong.status, 403);
    let traversal = wb.send(w.client.post(at("/wallet/open")).form(&[("csrf", csrf.as_str()), ("name", "../pid"), ("passphrase", "a long wallet passphrase")])).await;
    assert_eq!(traversal.status, 422, "a name is letters, digits, dots and dashes");
    let reopened = wb.send(w.client.post(at("/wallet/open")).form(&[("csrf", csrf.as_str()), ("name", "ziva"), ("passphrase", "a long wallet passphrase")])).await;
    assert_eq!(reopened.status, 303);
    // Guessing: after five wrong passphrases the name is locked, the right one too.
    let mut g = Browser::new(&w, "en");
    let gcsrf = g.send(w.client.get(at("/wallet"))).await.hidden("csrf");
    for i in 0..5 {
        let r = g.send(w.client.post(at("/wallet/open")).form(&[("csrf", gcsrf.as_str()), ("name", "ziva"), ("passphrase", format!("guess number {i}").as_str())])).await;
        assert_eq!(r.status, 403);
    }
    let r = g.send(w.client.post(at("/wallet/open")).form(&[("csrf", gcsrf.as_str()), ("name", "ziva"), ("passphrase", "a long wallet passphrase")])).await;
    assert!(r.status == 429 && r.body.contains("Too many wrong passphrases"), "{}", r.body);
    let page = wb.send(w.client.get(at("/wallet"))).await;
    assert!(page.body.contains("European Health Insurance Card") && page.body.contains("Person identification data"), "{}", page.body);
    // On disk the wallet is sealed.
    let file = std::fs::read_to_string(w.dir.join("web-wallets/ziva.esspass")).unwrap();
    assert!(!file.contains("Novak") && !file.contains("urn:eudi"));
}

/// A person contests an adverse automatic decision about them (GDPR Art 22(3)) from the portal: the
/// rules engine put a 30-month posting under the host state's legislation; Marko asks for a human
/// review with his reasons; the application goes back to a case worker. Another's decision cannot
/// be contested by him.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_contests_an_adverse_automatic_decision() {
    let w = world().await;
    let worker = json!({"personal_number": "SI1990020211", "family_name": "Zupan", "given_name": "Marko", "birth_date": "1990-02-02", "nationality": "SI", "residence": "SI", "employer_id": "SI5012345", "employment_start": "2015-01-01"});
    let p: Value = w.client.post(format!("{}/api/v1/persons", w.url)).bearer_auth(BO_KEY).json(&worker).send().await.unwrap().json().await.unwrap();
    let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
    let application = json!({"decision_date": today.to_string(), "person": {"residence": "SI", "nationalities": ["SI"]}, "activities": [{"kind": "employed", "period": {"start": today.to_string(), "end": today.add_months(30).unwrap().to_string()},
        "employer": {"name": "Gradnje Zupan d.o.o.", "id": "SI5012345", "seat": "SI", "substantial_activity": {"turnover_share": 0.8, "administrative_staff_share": 0.1, "contracts_share": 0.9, "recruitment_mainly_abroad": false, "internal_management_only": false}},
        "states": [{"country": "AT", "working_time_share": 1, "remuneration_share": 1}],
        "posting": {"sending_state": "SI", "on_behalf_of_employer": true, "replaces_posted_person": false, "prior_insurance": [{"country": "SI", "start": "2015-01-01"}], "previous_postings": []}}]});
    let app: Value = w.client.post(format!("{}/api/v1/applications/a1", w.url)).bearer_auth(EMPLOYER_KEY).json(&json!({"person_id": p["person_id"], "application": application, "work_information": {"work_address": [{"street_address": "Ring", "house_number": "1", "postal_code": "1010", "locality": "Wien", "country": "AT"}]}})).send().await.unwrap().json().await.unwrap();
    assert_eq!(app["decision"]["contestable"], true, "{app}");
    let id = app["application_id"].as_str().unwrap().to_owned();
    let marko = pid_wallet(&w, "marko.esspass", json!({"personal_number": "SI1990020211", "family_name": "Zupan", "given_name": "Marko", "birth_date": "1990-02-02", "nationality": "SI", "birth_country": "SI", "birth_place": "Kranj"})).await;
    let mut b = Browser::new(&w, "en");
    assert_eq!(sign_in_with(&w, &mut b, "/portal", &marko).await.status, 303);
    let docs = b.get("/portal/documents").await;
    assert!(docs.body.contains("Decisions about your social security") && docs.body.contains("Ask for a review by a person"), "{}", docs.body);
    let csrf = docs.hidden("csrf");
    let empty = b.post(&format!("/portal/decisions/{id}/contest"), &[("csrf", &csrf), ("reason", " ")]).await;
    assert!(empty.body.contains("Fill this in."), "{}", empty.body);
    let other = b.post("/portal/decisions/A1-someone-elses/contest", &[("csrf", &csrf), ("reason", "mine")]).await;
    assert!(other.body.contains("no such application"), "{}", other.body);
    let done = b.post(&format!("/portal/decisions/{id}/contest"), &[("csrf", &csrf), ("reason", "The work in Austria ends after 20 months: <b>contract attached</b>")]).await;
    assert!(done.body.contains("Your request was recorded") && !done.body.contains("<b>contract"), "{}", done.body);
    let stored: Value = w.client.get(format!("{}/api/v1/applications/{id}", w.url)).bearer_auth(CW_KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!(stored["state"], "pending_review", "{stored}");
    assert!(stored["decision_note"].as_str().unwrap().starts_with("contested by person:"), "{stored}");
}
