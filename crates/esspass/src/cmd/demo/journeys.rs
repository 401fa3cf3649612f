//! The Communication's two journeys, through the nodes' real interfaces only: the gateway's
//! hand-over, the PID provider's and the institutions' OpenID4VCI endpoints and back-office APIs,
//! the institutions' PID sign-in (OpenID4VP), the verifiers' OpenID4VP transactions and proofs,
//! and the EESSI exchange between the Greek and Italian access points. Each step is timed and
//! says what was checked.

// The nodes' JSON answers are read with `value["key"]`: indexing a `serde_json::Value` by key gives
// `Null` for what is missing and never panics (only `IndexMut` would).
#![allow(clippy::indexing_slicing)]

use super::network::{Network, WALLET_CLIENT_ID};
use crate::Failure;
use esspass_core::ErrorCode;
use esspass_credential::proof::VerificationProof;
use esspass_credential::trust::TrustedList;
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_wallet::Oid4vciClient;
use esspass_wallet::holder::{Consent, Received, SignIn};
use esspass_wallet::store::WalletFile;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Instant;

/// One step of a journey, as the timeline shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub journey: &'static str,
    pub n: usize,
    /// Who acts (a person, an institution, a node).
    pub actor: String,
    pub country: &'static str,
    pub title: String,
    pub ok: bool,
    pub millis: u64,
    /// What was checked, in plain words.
    pub checks: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the step produced (ids, states, codes — no personal data beyond the demo people's).
    pub details: Value,
}

pub struct Timeline {
    pub steps: Vec<Step>,
    pub print: bool,
}

type Outcome = Result<(Vec<String>, Value), String>;

impl Timeline {
    /// Record a step; `false` when it failed (the journey stops there).
    fn record(&mut self, journey: &'static str, actor: &str, country: &'static str, title: &str, started: Instant, r: Outcome) -> bool {
        let n = self.steps.iter().filter(|s| s.journey == journey).count() + 1;
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (ok, checks, details, error) = match r {
            Ok((c, d)) => (true, c, d, None),
            Err(e) => (false, Vec::new(), Value::Null, Some(e)),
        };
        let step = Step { journey, n, actor: actor.to_owned(), country, title: title.to_owned(), ok, millis, checks, error, details };
        if self.print {
            print_step(&step);
        }
        self.steps.push(step);
        ok
    }
}

fn print_step(s: &Step) {
    println!("{:>2}. [{}] {} — {}  ({} ms) {}", s.n, s.country, s.actor, s.title, s.millis, if s.ok { "✓" } else { "✗ FAILED" });
    for c in &s.checks {
        println!("      ✓ {c}");
    }
    if let Some(e) = &s.error {
        println!("      ✗ {e}");
    }
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

fn s(v: &Value, p: &str) -> String {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// What the journeys share: the network, the wallets' HTTP client and the trust they check
/// verifiers against (read from the trust node).
pub struct World<'a> {
    pub net: &'a Network,
    wallet_client: Oid4vciClient,
    chains: ChainValidator,
    verifiers: TrustedList,
    passphrase: String,
}

const WALLET_REDIRECT: &str = "https://127.0.0.1/esspass-demo-wallet/callback";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn today() -> esspass_core::Date {
    esspass_core::Date::of_instant(time::OffsetDateTime::now_utc())
}

impl<'a> World<'a> {
    pub async fn new(net: &'a Network) -> Result<World<'a>, Failure> {
        let root = Certificate::from_der(&net.root_der).map_err(|e| Failure::usage(e.code, e.detail))?;
        let chains = ChainValidator::new(vec![root]);
        let url = format!("{}/trusted-lists/verifiers.jwt", net.node("trust")?.url);
        let verifiers = esspass_node::trusted_lists::load_list(&url, &chains, &net.client, now()).await.map_err(|e| Failure::usage(ErrorCode::FetchFailed, e))?;
        let wallet_client = Oid4vciClient::new(std::slice::from_ref(&net.root_der)).map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        Ok(World { net, wallet_client, chains, verifiers, passphrase: esspass_credential::b64::encode(esspass_credential::random_bytes::<16>()) })
    }

    fn wallet(&self, person: &str) -> Result<WalletFile, String> {
        let dir = self.net.dir.join("wallets");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        WalletFile::create(&dir.join(format!("{person}.esspass")), &self.passphrase).map_err(|e| e.to_string())
    }

    async fn call(&self, node: &str, role: &str, method: Method, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
        self.net.call(node, role, method, path, body).await.map_err(|e| e.message)
    }

    /// The PID provider registers the person and the person's wallet receives the PID.
    async fn pid_into(&self, w: &mut WalletFile, person: &Value) -> Outcome {
        let (st, p) = self.call("si-pid", "back_office", Method::POST, "/api/v1/persons", Some(person)).await?;
        ensure!(st == 201, "the PID provider's register refused the person: {st} {p}");
        let (st, o) = self.call("si-pid", "back_office", Method::POST, "/api/v1/credential-offers", Some(&json!({"credential_configuration_id": "pid", "person_id": p["person_id"]}))).await?;
        ensure!(st == 201, "no PID offer: {st} {o}");
        let offer = self.wallet_client.resolve_offer(&s(&o, "/credential_offer_uri")).await.map_err(|e| e.to_string())?;
        let mut never = |_: &Consent| false;
        let got = self.wallet_client.receive_into(w, &offer, o["tx_code"].as_str(), None, &mut never, now()).await.map_err(|e| e.to_string())?;
        ensure!(matches!(&got, Received::Issued(ids) if ids.len() == 1), "the PID was not issued: {got:?}");
        Ok((
            vec!["pre-authorized code with the transaction code given only to the person".into(), "PID (urn:eudi:pid:1) bound to a key made in the wallet, DPoP-bound tokens".into()],
            json!({"pid_provider": "SI:PID01"}),
        ))
    }

    /// A verifier asks for `profile`; the wallet checks the request and answers; the verifier's result.
    async fn verify(&self, w: &WalletFile, verifier: &str, profile: &str) -> Result<(Value, Value, Vec<String>), String> {
        let (st, tx) = self.call(verifier, "verifier", Method::POST, "/api/v1/verifications", Some(&json!({"profile": profile, "date": today().to_string()}))).await?;
        ensure!(st == 201, "the verifier did not start a transaction: {st} {tx}");
        let link = s(&tx, "/authorization_request");
        let mut shown = Vec::new();
        let consent = self.wallet_client.prepare_presentation(w, &link, &self.chains, &self.verifiers, None, now()).await.map_err(|e| e.to_string())?;
        shown.push(format!("the wallet checked the signed request: {} ({}) is in the Verifier Trusted List and asks within its registered profile", consent.request.verifier.name, consent.request.verifier.verifier_id));
        shown.push(format!("the holder consented to disclose: {}", consent.plan.disclosed.join(", ")));
        self.wallet_client.send_presentation(consent, now()).await.map_err(|e| e.to_string())?;
        let id = s(&tx, "/transaction_id");
        let (st, result) = self.call(verifier, "verifier", Method::GET, &format!("/api/v1/verifications/{id}"), None).await?;
        ensure!(st == 200, "no result: {st} {result}");
        Ok((tx, result, shown))
    }
}

/// A person's browser on a portal: cookies kept, redirects not followed, pages read as text.
struct Browser<'c> {
    client: &'c reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
}

struct Html {
    status: u16,
    location: String,
    body: String,
}

fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&").replace("&#34;", "\"").replace("&quot;", "\"")
}

impl Html {
    fn between(&self, start: &str, end: &str) -> Result<String, String> {
        let i = self.body.find(start).ok_or_else(|| format!("the page has no {start}"))? + start.len();
        Ok(unescape(self.body[i..].split(end).next().unwrap_or_default()))
    }

    fn hidden(&self, name: &str) -> Result<String, String> {
        self.between(&format!("name=\"{name}\" value=\""), "\"")
    }

    /// The first link whose address starts with `scheme`.
    fn link(&self, scheme: &str) -> Result<String, String> {
        Ok(format!("{scheme}{}", self.between(&format!("href=\"{scheme}"), "\"")?))
    }
}

impl<'c> Browser<'c> {
    fn new(client: &'c reqwest::Client) -> Self {
        Browser { client, cookies: Default::default() }
    }

    async fn send(&mut self, r: reqwest::RequestBuilder) -> Result<Html, String> {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let resp = r.header("Cookie", cookie).header("Accept-Language", "sl-SI,sl;q=0.9,en;q=0.5").send().await.map_err(|e| e.to_string())?;
        for c in resp.headers().get_all("set-cookie") {
            let kv = c.to_str().unwrap_or_default().split(';').next().unwrap_or_default();
            if let Some((k, v)) = kv.split_once('=') {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        Ok(Html { status, location, body: resp.text().await.map_err(|e| e.to_string())? })
    }

    async fn get(&mut self, url: &str) -> Result<Html, String> {
        let r = self.client.get(url);
        self.send(r).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Result<Html, String> {
        let r = self.client.post(url).form(form);
        self.send(r).await
    }
}

/// The checks a verification report lists, in words.
fn report_checks(result: &Value) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(checks) = result.pointer("/report/checks").and_then(Value::as_array) {
        let passed: Vec<&str> = checks.iter().filter(|c| c["result"] == "pass").filter_map(|c| c["id"].as_str()).collect();
        if !passed.is_empty() {
            v.push(format!("the verifier's checks passed: {}", passed.join(", ")));
        }
        for c in checks.iter().filter(|c| c["result"] == "fail") {
            v.push(format!("the verifier's check {} failed: {}", s(c, "/id"), s(c, "/detail")));
        }
    }
    if let Some(st) = result.pointer("/report/status") {
        v.push(format!("status {} (list {})", s(st, "/label"), s(st, "/source")));
    }
    v
}

/// A person's web wallet (the demo's `wallet` node), used through its pages as a browser would.
struct WebWallet<'c> {
    base: String,
    b: Browser<'c>,
    csrf: String,
}

impl<'c> WebWallet<'c> {
    /// Create the wallet `name` with `passphrase`.
    async fn create(client: &'c reqwest::Client, base: &str, name: &str, passphrase: &str) -> Result<WebWallet<'c>, String> {
        let mut b = Browser::new(client);
        let home = b.get(&format!("{base}/wallet")).await?;
        let made = b.post(&format!("{base}/wallet/create"), &[("csrf", &home.hidden("csrf")?), ("name", name), ("passphrase", passphrase)]).await?;
        ensure!(made.status == 303, "the web wallet was not created: {}", made.status);
        let page = b.get(&format!("{base}/wallet")).await?;
        Ok(WebWallet { csrf: page.hidden("csrf")?, base: base.to_owned(), b })
    }

    /// Receive the document an offer link stands for, with its code.
    async fn receive(&mut self, offer: &str, code: Option<&str>) -> Result<(), String> {
        let page = self.b.post(&format!("{}/wallet/receive", self.base), &[("csrf", &self.csrf), ("offer", offer), ("tx_code", code.unwrap_or(""))]).await?;
        ensure!(page.status == 200, "the web wallet did not receive the document: {} {}", page.status, page.between("role=\"alert\">", "<").unwrap_or_default());
        Ok(())
    }

    /// Answer a request after its consent page; the verifier named and what it sees.
    async fn present(&mut self, link: &str) -> Result<(String, Vec<String>), String> {
        let consent = self.b.post(&format!("{}/wallet/present", self.base), &[("csrf", &self.csrf), ("request", link)]).await?;
        ensure!(consent.status == 200, "the web wallet refused the request: {}", consent.between("role=\"alert\">", "<").unwrap_or_default());
        let asks = consent.between("<p id=\"asks\">", "<")?;
        let disclosed: Vec<String> = consent.between("<ul id=\"disclosed\">", "</ul>")?.split("<li>").skip(1).map(|x| x.split("</li>").next().unwrap_or_default().to_owned()).collect();
        let shared = self.b.post(&format!("{}/wallet/present/answer", self.base), &[("csrf", &self.csrf), ("decision", "share")]).await?;
        ensure!(shared.status == 200, "the web wallet did not send: {}", shared.status);
        Ok((asks, disclosed))
    }
}

/// Živa, insured in Slovenia, on holiday in Spain: her EHIC, in the web wallet.
pub async fn ziva(w: &World<'_>, tl: &mut Timeline) {
    const J: &str = "ziva";
    let person = json!({"personal_number": "SI1985041277", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "residence": "SI", "birth_country": "SI", "birth_place": "Ljubljana"});

    let t = Instant::now();
    let r: Result<(Vec<String>, Value), String> = async {
        let gw = &w.net.node("gateway").map_err(|e| e.message)?.url;
        let resp = w.net.client.get(format!("{gw}/api/v1/handoff?procedure=ehic&country=SI")).send().await.map_err(|e| e.to_string())?;
        ensure!(resp.status().as_u16() == 200, "the gateway found no institution: {}", resp.status());
        let h: Value = resp.json().await.map_err(|e| e.to_string())?;
        let go = w.net.client.get(format!("{gw}/go?procedure=ehic&country=SI")).send().await.map_err(|e| e.to_string())?;
        let location = go.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        ensure!(go.status().as_u16() == 303 && location == s(&h, "/url"), "the gateway's form did not hand over to {}: {} {location}", s(&h, "/url"), go.status());
        ensure!(s(&h, "/institution_id") == "SI:ZZZS", "handed to {} instead of ZZZS", s(&h, "/institution_id"));
        Ok((vec!["Institution Repository and Issuer Trusted List read from the trust node, signatures checked".into(), "ZZZS is Slovenia's institution authorised for the EHIC today".into()], h))
    }
    .await;
    let portal = r.as_ref().map(|(_, h)| s(h, "/portal")).unwrap_or_default();
    let portal_entry = r.as_ref().map(|(_, h)| s(h, "/url")).unwrap_or_default();
    if !tl.record(J, "Gateway", "EU", "Živa chooses \"European Health Insurance Card\" and Slovenia: handed to ZZZS", t, r) {
        return;
    }

    let t = Instant::now();
    let mut wallet: Option<WebWallet<'_>> = None;
    let r: Outcome = async {
        let base = w.net.node("wallet").map_err(|e| e.message)?.url.clone();
        let mut ww = WebWallet::create(&w.net.client, &base, "ziva", &w.passphrase).await?;
        let (st, p) = w.call("si-pid", "back_office", Method::POST, "/api/v1/persons", Some(&person)).await?;
        ensure!(st == 201, "the PID provider's register refused the person: {st} {p}");
        let (st, o) = w.call("si-pid", "back_office", Method::POST, "/api/v1/credential-offers", Some(&json!({"credential_configuration_id": "pid", "person_id": p["person_id"]}))).await?;
        ensure!(st == 201, "no PID offer: {st} {o}");
        ww.receive(&s(&o, "/credential_offer_uri"), o["tx_code"].as_str()).await?;
        wallet = Some(ww);
        Ok((
            vec![
                "Živa created her web wallet (an encrypted wallet file, opened with her passphrase)".into(),
                "the PID provider's offer redeemed with the code given only to her: PID (urn:eudi:pid:1) bound to a key made in the wallet, DPoP-bound tokens".into(),
            ],
            json!({"pid_provider": "SI:PID01", "wallet": base}),
        ))
    }
    .await;
    if !tl.record(J, "Demo PID provider → web wallet", "SI", "Živa opens a web wallet and receives her PID into it", t, r) {
        return;
    }
    let Some(mut wallet) = wallet else { return };

    let t = Instant::now();
    let r: Outcome = async {
        // Her browser on ZZZS's portal: the page the gateway handed her to.
        let mut b = Browser::new(&w.net.client);
        let entry = b.get(&portal_entry).await?;
        ensure!(entry.status == 200, "the portal's EHIC page: {}", entry.status);
        let page = b.post(&format!("{portal}/portal/sign-in"), &[("csrf", &entry.hidden("csrf")?)]).await?;
        ensure!(page.status == 200, "the portal's sign-in: {}", page.status);
        let (asks, disclosed) = wallet.present(&page.link("openid4vp://")?).await?;
        let done = b.post(&format!("{portal}/portal/sign-in/continue"), &[("csrf", &page.hidden("csrf")?), ("poll", &page.hidden("poll")?)]).await?;
        ensure!(done.status == 303 && done.location.ends_with("/portal/documents"), "not signed in: {} {}", done.status, done.location);
        let docs = b.get(&format!("{portal}/portal/documents")).await?;
        let offer_page = b.post(&format!("{portal}/portal/ehic"), &[("csrf", &docs.hidden("csrf")?)]).await?;
        ensure!(offer_page.status == 200, "the EHIC request: {}", offer_page.status);
        let code = offer_page.between("<strong id=\"tx-code\">", "<")?;
        wallet.receive(&offer_page.link("openid-credential-offer://")?, Some(&code)).await?;
        let docs = b.get(&format!("{portal}/portal/documents")).await?;
        ensure!(docs.body.contains("status-valid"), "her documents do not show the EHIC as valid");
        Ok((
            vec![
                "her browser on ZZZS's portal (no script; a signed session cookie, a CSRF token on every form)".into(),
                format!("her web wallet's consent page: \"{asks}\"; it will see {}", disclosed.join(", ")),
                "ZZZS verified the PID (signature, PID provider in the Issuer Trusted List, status) and matched it to her insurance record".into(),
                "she requested the EHIC; the portal showed the offer and its transaction code to her alone".into(),
                "her web wallet redeemed the offer with the code: EHIC (SD-JWT VC, x5c chain, Token Status List entry) bound to a new key; her documents show it valid".into(),
            ],
            json!({"received": "urn:eudi:ehic:1", "disclosed_for_sign_in": disclosed}),
        ))
    }
    .await;
    if !tl.record(J, "ZZZS", "SI", "Živa signs in on ZZZS's portal with her PID, requests her EHIC and takes it into her web wallet", t, r) {
        return;
    }

    let t = Instant::now();
    let r: Outcome = async {
        let (st, tx) = w.call("es-hospital", "verifier", Method::POST, "/api/v1/verifications", Some(&json!({"profile": "ehic-healthcare", "date": today().to_string()}))).await?;
        ensure!(st == 201, "the verifier did not start a transaction: {st} {tx}");
        let (asks, disclosed) = wallet.present(&s(&tx, "/authorization_request")).await?;
        let id = s(&tx, "/transaction_id");
        let (st, result) = w.call("es-hospital", "verifier", Method::GET, &format!("/api/v1/verifications/{id}"), None).await?;
        ensure!(st == 200 && s(&result, "/state") == "verified" && s(&result, "/outcome") == "valid", "the hospital's check failed: {result}");
        let claims = result["claims"].as_object().cloned().unwrap_or_default();
        ensure!(!claims.contains_key("family_name") && !claims.contains_key("birth_date"), "the hospital saw more than its profile allows: {:?}", claims.keys().collect::<Vec<_>>());
        let mut checks = vec![format!("the web wallet checked the signed request (the hospital in the Verifier Trusted List, within its registration) and asked her: \"{asks}\"; she shared {}", disclosed.join(", "))];
        checks.extend(report_checks(&result));
        checks.push(format!("the hospital sees only: {}", claims.keys().cloned().collect::<Vec<_>>().join(", ")));
        Ok((checks, json!({"transaction_id": tx["transaction_id"], "document_number": claims.get("document_number"), "outcome": result["outcome"]})))
    }
    .await;
    let verified = r.as_ref().map(|(_, d)| d.clone()).unwrap_or_default();
    if !tl.record(J, "Hospital Universitario La Paz", "ES", "The hospital verifies Živa's EHIC in real time (OpenID4VP, direct_post.jwt)", t, r) {
        return;
    }

    let t = Instant::now();
    let r: Outcome = async {
        let id = s(&verified, "/transaction_id");
        let number = s(&verified, "/document_number");
        let hospital = w.net.node("es-hospital").map_err(|e| e.message)?;
        let proof = w.net.client.get(format!("{}/api/v1/verifications/{id}/proof", hospital.url)).bearer_auth(w.net.key("es-hospital", "verifier").map_err(|e| e.message)?).send().await.map_err(|e| e.to_string())?;
        ensure!(proof.status().as_u16() == 200, "no proof: {}", proof.status());
        let text = proof.text().await.map_err(|e| e.to_string())?;
        ensure!(!text.contains(&number), "the proof carries the document number in clear");
        let (p, entry) = VerificationProof::verify_for(&text, &w.chains, &w.verifiers, &number, Some("SI:ZZZS")).map_err(|e| format!("{} {}", e.code.code(), e.detail))?;
        Ok((
            vec![
                format!("proof signed by {} ({}), listed in the Verifier Trusted List", entry.name, entry.verifier_id),
                "no personal data in it: a salted hash reference matches the EHIC's document number".into(),
                format!("ZZZS matches it to the EHIC it issued (status {} from the {} list)", p.status.as_ref().map_or("?", |s| s.value.as_str()), p.status.as_ref().map_or("?", |s| s.source.as_str())),
            ],
            json!({"proof_id": p.jti, "outcome": p.outcome, "profile": p.profile}),
        ))
    }
    .await;
    tl.record(J, "Hospital → ZZZS", "ES", "The hospital hands the signed verification proof to ZZZS for reimbursement", t, r);
}

/// The application of Yiannis Constructions for Georgios: posted from Greece to Italy for 12 months from today.
fn georgios_application() -> Value {
    let today = today();
    let end = today.add_months(12).and_then(|d| d.pred()).unwrap_or(today);
    json!({
        "decision_date": today.to_string(),
        "person": {"residence": "GR", "nationalities": ["GR"]},
        "activities": [{
            "kind": "employed",
            "period": {"start": today.to_string(), "end": end.to_string()},
            "employer": {"name": "Yiannis Constructions S.A.", "id": "EL094019245", "seat": "GR",
                "substantial_activity": {"turnover_share": 0.82, "administrative_staff_share": 0.12, "contracts_share": 0.9, "recruitment_mainly_abroad": false, "internal_management_only": false}},
            "states": [{"country": "IT", "working_time_share": 1, "remuneration_share": 1}],
            "posting": {"sending_state": "GR", "on_behalf_of_employer": true, "replaces_posted_person": false, "prior_insurance": [{"country": "GR", "start": "2015-09-01"}], "previous_postings": []}
        }]
    })
}

/// Georgios, employed in Greece, posted to a building site in Milan: his PDA1.
pub async fn georgios(w: &World<'_>, tl: &mut Timeline, georgios_at_efka: &str) {
    const J: &str = "georgios";
    let person = json!({"personal_number": "GR12038501234", "family_name": "Papadopoulos", "given_name": "Georgios", "birth_date": "1985-03-12", "nationality": "GR", "residence": "GR", "birth_country": "GR", "birth_place": "Thessaloniki"});
    let mut wallet = match w.wallet("georgios") {
        Ok(x) => x,
        Err(e) => {
            tl.record(J, "Georgios's wallet", "GR", "Georgios's web wallet is created", Instant::now(), Err(e));
            return;
        }
    };

    let t = Instant::now();
    let r: Outcome = async {
        let gw = &w.net.node("gateway").map_err(|e| e.message)?.url;
        let h: Value = w.net.client.get(format!("{gw}/api/v1/handoff?procedure=a1&country=GR")).send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        ensure!(s(&h, "/institution_id") == "EL:EFKA01", "handed to {h}");
        Ok((vec!["e-EFKA is Greece's institution authorised for the PDA1".into()], h))
    }
    .await;
    if !tl.record(J, "Gateway", "EU", "Yiannis Constructions chooses \"Portable Document A1\" and Greece: handed to e-EFKA", t, r) {
        return;
    }

    let t = Instant::now();
    let r: Outcome = async {
        let body = json!({"person_id": georgios_at_efka, "application": georgios_application(), "work_information": {"work_address": [{"street_address": "Via Torino", "house_number": "40", "postal_code": "20123", "locality": "Milano", "country": "IT"}]}});
        let (st, app) = w.call("el-efka", "employer", Method::POST, "/api/v1/applications/a1", Some(&body)).await?;
        ensure!(st == 201, "the application was refused: {st} {app}");
        ensure!(s(&app, "/state") == "determined" && s(&app, "/decided_by") == "rules-engine", "not decided automatically: {}", s(&app, "/state"));
        let d = &app["decision"];
        ensure!(s(d, "/legislation_country") == "GR", "legislation {}", s(d, "/legislation_country"));
        let met: Vec<String> = d["reasons"].as_array().map(|a| a.iter().filter(|r| r["effect"] == "met").filter_map(|r| r["code"].as_str().map(str::to_owned)).collect()).unwrap_or_default();
        Ok((
            vec![
                format!("the rules engine decided: legislation of GR under {}, status confirmation {}", s(d, "/article"), s(d, "/status_confirmation")),
                format!("conditions met: {}", met.join(", ")),
                "the employer's key is bound to its own employer id; its workers only".into(),
            ],
            json!({"application_id": app["application_id"], "state": app["state"], "article": d["article"], "buc": d["buc"]}),
        ))
    }
    .await;
    let app_id = r.as_ref().map(|(_, d)| s(d, "/application_id")).unwrap_or_default();
    if !tl.record(J, "Yiannis Constructions → e-EFKA", "GR", "The employer applies for Georgios's A1; the rules engine decides at once", t, r) {
        return;
    }

    let t = Instant::now();
    let r = w.pid_into(&mut wallet, &person).await;
    if !tl.record(J, "Demo PID provider", "SI", "Georgios's wallet receives his PID", t, r) {
        return;
    }

    let t = Instant::now();
    let r: Outcome = async {
        let (st, o) = w.call("el-efka", "employer", Method::POST, "/api/v1/credential-offers", Some(&json!({"credential_configuration_id": "pda1", "person_id": georgios_at_efka, "application_id": app_id}))).await?;
        ensure!(st == 201, "no offer: {st} {o}");
        ensure!(o.get("tx_code").is_none_or(Value::is_null), "the employer was given a transaction code");
        let offer = w.wallet_client.resolve_offer(&s(&o, "/credential_offer_uri")).await.map_err(|e| e.to_string())?;
        let sign_in = SignIn { client_id: WALLET_CLIENT_ID, redirect_uri: WALLET_REDIRECT, chains: &w.chains, verifiers: &w.verifiers };
        let mut yes = |_: &Consent| true;
        let got = w.wallet_client.receive_into(&mut wallet, &offer, None, Some(sign_in), &mut yes, now()).await.map_err(|e| e.to_string())?;
        ensure!(matches!(&got, Received::Issued(ids) if ids.len() == 1), "no PDA1: {got:?}");
        Ok((
            vec![
                "the employer's offer carries no code: only Georgios, signing in with his PID, can take it".into(),
                "e-EFKA matched his PID to its record and issued the PDA1 (SD-JWT VC) into his wallet".into(),
            ],
            json!({"application_id": app_id}),
        ))
    }
    .await;
    if !tl.record(J, "e-EFKA", "GR", "Georgios takes the PDA1 offer into his wallet, signing in with his PID", t, r) {
        return;
    }

    let t = Instant::now();
    let r: Outcome = async {
        for _ in 0..200 {
            let (st, rows) = w.call("it-inps", "case_worker", Method::GET, "/api/v1/eessi/postings?state=registered", None).await?;
            ensure!(st == 200, "IT's postings: {st} {rows}");
            if let Some(p) = rows.as_array().and_then(|a| a.iter().find(|p| p["sender"] == "EL:EFKA01")) {
                let (_, case) = w.call("it-inps", "case_worker", Method::GET, &format!("/api/v1/eessi/cases/{}", s(p, "/case_id")), None).await?;
                return Ok((
                    vec![
                        format!("e-EFKA opened {} and sent SED A009 through its outbox, signed with its institution key", s(&case, "/buc")),
                        "INPS checked the signature against the Institution Repository, answered with a signed receipt".into(),
                        "INPS's checks found nothing to look at: the posting is registered without a case worker".into(),
                    ],
                    json!({"case_id": p["case_id"], "message_id": p["message_id"], "legislation": p["legislation"], "period": [p["start_date"], p["end_date"]], "state": p["state"]}),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err("the A009 did not reach INPS within 20 s".to_owned())
    }
    .await;
    let case_id = r.as_ref().map(|(_, d)| s(d, "/case_id")).unwrap_or_default();
    if !tl.record(J, "e-EFKA → INPS (EESSI)", "IT", "The A009 reaches INPS and the posting is registered", t, r) {
        return;
    }

    let t = Instant::now();
    let r: Outcome = async {
        let (tx, result, mut checks) = w.verify(&wallet, "it-inl", "pda1-inspection").await?;
        ensure!(s(&result, "/state") == "verified" && s(&result, "/outcome") == "valid", "the inspection failed: {result}");
        ensure!(result.pointer("/claims/legislation_country").and_then(Value::as_str) == Some("GR"), "legislation {}", result["claims"]["legislation_country"]);
        checks.extend(report_checks(&result));
        Ok((checks, json!({"transaction_id": tx["transaction_id"], "outcome": result["outcome"]})))
    }
    .await;
    if !tl.record(J, "Ispettorato Nazionale del Lavoro", "IT", "Inspector Nicola verifies Georgios's PDA1 on the building site", t, r) {
        return;
    }

    let t = Instant::now();
    let r: Outcome = async {
        let (st, creds) = w.call("el-efka", "back_office", Method::GET, &format!("/api/v1/persons/{georgios_at_efka}/credentials"), None).await?;
        ensure!(st == 200, "credentials: {st} {creds}");
        let cred = creds.as_array().and_then(|a| a.iter().find(|c| c["credential_type"] == "pda1" || c["vct"] == "urn:eudi:pda1:1")).map(|c| s(c, "/credential_id")).unwrap_or_default();
        ensure!(!cred.is_empty(), "no PDA1 among {creds}");
        let (st, v) = w.call("el-efka", "back_office", Method::POST, &format!("/api/v1/credentials/{cred}/revoke"), Some(&json!({"reason": "the posting ended early: the worker returned to Greece"}))).await?;
        ensure!(st == 200, "not revoked: {st} {v}");
        for _ in 0..200 {
            let (_, case) = w.call("it-inps", "case_worker", Method::GET, &format!("/api/v1/eessi/cases/{case_id}"), None).await?;
            let (_, withdrawn) = w.call("it-inps", "case_worker", Method::GET, "/api/v1/eessi/postings?state=withdrawn", None).await?;
            if case.to_string().contains("X008") && withdrawn.as_array().is_some_and(|a| a.iter().any(|p| p["case_id"] == case_id.as_str())) {
                return Ok((
                    vec![
                        "the status list entry became INVALID and the list was re-signed".into(),
                        "an X008 (invalidate the A009) was queued in the revocation's own transaction".into(),
                        "INPS received the X008 in the LA_BUC_04 case: its registered posting is now withdrawn".into(),
                    ],
                    json!({"credential_id": cred, "case_id": case_id}),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err("INPS did not receive the X008 within 20 s".to_owned())
    }
    .await;
    if !tl.record(J, "e-EFKA → INPS (EESSI)", "GR", "e-EFKA withdraws the PDA1; INPS is notified", t, r) {
        return;
    }

    let t = Instant::now();
    let r: Outcome = async {
        // The inspectorate may keep the status list for its ttl (2 s at e-EFKA in the demo).
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let (_, result, checks) = w.verify(&wallet, "it-inl", "pda1-inspection").await?;
        ensure!(s(&result, "/state") == "rejected" && s(&result, "/code") == "ESP-4010", "the withdrawn PDA1 was not refused as revoked: {result}");
        ensure!(result["claims"].is_null(), "claims of a rejected credential were kept");
        Ok((
            [checks, report_checks(&result), vec!["the inspector's cached status list outlived its ttl and was fetched again".into(), "refused: ESP-4010 the credential is revoked; nothing of it is kept".into()]].concat(),
            json!({"outcome": result["outcome"], "code": result["code"]}),
        ))
    }
    .await;
    if !tl.record(J, "Ispettorato Nazionale del Lavoro", "IT", "The next inspection says the PDA1 is revoked", t, r) {
        return;
    }

    let t = Instant::now();
    let r: Outcome = async {
        let b = w.net.build_bundle().await.map_err(|e| e.message)?;
        ensure!(b.revoked >= 1, "the bundle lists no withdrawn document");
        let trust = &w.net.node("trust").map_err(|e| e.message)?.url;
        let m = w.net.client.get(format!("{trust}/bundle/manifest.jwt")).send().await.map_err(|e| e.to_string())?;
        ensure!(m.status().as_u16() == 200, "the trust node does not serve the bundle: {}", m.status());
        Ok((
            vec![
                format!("the trust operator rebuilt and signed the offline bundle (sequence {}): {} issuers, {} status lists", b.sequence, b.issuers, b.status_lists),
                format!("{} withdrawn document(s) in its revocation partitions, from every institution's signed export: a verifier offline refuses the paper PDA1 too", b.revoked),
                "the trust node serves it under /bundle/ (verifiers fetch only the parts that changed)".into(),
            ],
            json!({"sequence": b.sequence, "revoked": b.revoked, "partitions": b.partitions}),
        ))
    }
    .await;
    tl.record(J, "Trust operator", "EU", "The offline trust bundle carries the withdrawal to verifiers without a network", t, r);
}

/// The institutions' registers: the insured persons, the employment records and employers, through
/// the back-office APIs. Georgios's person id at e-EFKA.
pub async fn seed(net: &Network) -> Result<String, Failure> {
    let people: &[(&str, Value)] = &[
        ("si-zzzs", json!({"personal_number": "SI1985041277", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "residence": "SI", "coverage_kind": "health", "coverage_start": "2010-01-01"})),
        ("si-zzzs", json!({"personal_number": "SI1979061433", "family_name": "Kos", "given_name": "Ana", "birth_date": "1979-06-14", "nationality": "SI", "residence": "SI", "coverage_kind": "health", "coverage_start": "2001-09-01"})),
        ("el-efka", json!({"personal_number": "GR12038501234", "family_name": "Papadopoulos", "given_name": "Georgios", "birth_date": "1985-03-12", "nationality": "GR", "residence": "GR", "coverage_kind": "social_security", "coverage_start": "2015-09-01", "employer_id": "EL094019245", "employment_start": "2015-09-01"})),
        ("el-efka", json!({"personal_number": "GR02117903355", "family_name": "Nikolaou", "given_name": "Eleni", "birth_date": "1979-11-02", "nationality": "GR", "residence": "GR", "coverage_kind": "social_security", "coverage_start": "2003-03-01", "employer_id": "EL094019245", "employment_start": "2019-04-01"})),
        ("it-inps", json!({"personal_number": "RSSMRA80A01F205X", "family_name": "Rossi", "given_name": "Mario", "birth_date": "1980-01-01", "nationality": "IT", "residence": "IT", "coverage_kind": "health", "coverage_start": "2000-01-01"})),
        ("es-inss", json!({"personal_number": "ES12345678Z", "family_name": "García", "given_name": "Lucía", "birth_date": "1990-07-21", "nationality": "ES", "residence": "ES", "coverage_kind": "health", "coverage_start": "2012-05-01"})),
    ];
    let mut georgios = None;
    for (node, p) in people {
        let (st, v) = net.call(node, "back_office", Method::POST, "/api/v1/persons", Some(p)).await?;
        if st != 201 {
            return Err(Failure::usage(ErrorCode::Internal, format!("seeding {node}: {st} {v}")));
        }
        if p["given_name"] == "Georgios" {
            georgios = v["person_id"].as_str().map(str::to_owned);
        }
    }
    georgios.ok_or_else(|| Failure::usage(ErrorCode::Internal, "Georgios was not registered"))
}
