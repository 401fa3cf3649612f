//! The authorization-code flow over real HTTPS on 127.0.0.1, against SQLite and (when
//! `ESSPASS_TEST_POSTGRES` is set) PostgreSQL: PAR with DPoP (and its nonce retry), the demo eID
//! sign-in matched after Unicode normalisation, the redirect with `code`, `state` and `iss`, the
//! token with PKCE, and a credential that verifies; then the refusals — reused and wrong values,
//! and sign-ins that go to manual review without a code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use esspass_credential::{EcdsaP256Signer, b64};
use esspass_credential::verify::Outcome;
use esspass_credential::x509::Certificate;
use esspass_node::node::{RunningNode, start};
use serde_json::{Value, json};
use std::path::PathBuf;
use support::{key_proof, now};

const BO_KEY: &str = "bo-test-key-0123456789";
const AUDITOR_KEY: &str = "auditor-test-key-0123456789";
const CASE_WORKER_KEY: &str = "case-worker-test-key-0123456789";
const REDIRECT: &str = "https://wallet.example/cb?app=1";
const CLIENT: &str = "wallet-client-1";
const DEMO: &str = "DEMO eID — not a real identification";

struct TestNode {
    node: RunningNode,
    client: reqwest::Client,
    url: String,
    pki: PathBuf,
    root: Certificate,
    nonce: String,
}

async fn start_node(database: &str) -> TestNode {
    let support::Setup { pki, listener, url, root } = support::setup("si-zzzs");
    let cfg = format!(
        r#"role = "institution"
listen = "127.0.0.1:0"
public_url = "{url}"
database = "{database}"
max_body_bytes = 16384

[institution]
id = "SI:ZZZS"
name = "ZZZS"
country = "SI"
source_name = "Zavod za zdravstveno zavarovanje Slovenije"
signing_key = "institutions/si-zzzs/signing.key"
chain = "institutions/si-zzzs/chain.pem"
tls_key = "institutions/si-zzzs/tls.key"
tls_chain = "institutions/si-zzzs/tls-chain.pem"
credential_types = ["ehic"]

[status]
list_size = 65536

[sign_in]
demo_eid = true
max_attempts_per_address = 1000
max_attempts_per_person = 1000

[[clients]]
client_id = "wallet-client-1"
redirect_uris = ["https://wallet.example/cb?app=1", "https://wallet.example/other"]

[[api_keys]]
name = "back-office"
role = "back_office"
sha256 = "{bo}"

[[api_keys]]
name = "auditor"
role = "auditor"
sha256 = "{au}"

[[api_keys]]
name = "case-worker"
role = "case_worker"
sha256 = "{cw}"
"#,
        bo = esspass_store::hash_secret(BO_KEY),
        au = esspass_store::hash_secret(AUDITOR_KEY),
        cw = esspass_store::hash_secret(CASE_WORKER_KEY),
    );
    std::fs::write(pki.join("esspass.toml"), cfg).unwrap();
    let cfg = esspass_node::config::NodeConfig::load(&pki.join("esspass.toml")).unwrap();
    let node = start(cfg, Some(listener)).await.unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_merge([reqwest::Certificate::from_der(&root.der).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Learn the DPoP nonce the way a wallet does: a PAR without one is refused with it.
    let wallet = EcdsaP256Signer::generate().unwrap();
    let par_url = format!("{url}/par");
    let resp = client.post(&par_url).header("DPoP", dpop_with(&wallet, "POST", &par_url, None, None)).form(&par_form("ehic", None)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let nonce = resp.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "use_dpop_nonce");
    TestNode { node, client, url, pki, root, nonce }
}

fn dpop_with(key: &EcdsaP256Signer, method: &str, url: &str, token: Option<&str>, nonce: Option<&str>) -> String {
    support::dpop_proof(key, method, url, token, nonce, now())
}

/// A fresh PKCE verifier (43+ unreserved characters).
fn verifier() -> String {
    b64::encode(esspass_credential::random_bytes::<32>())
}

fn par_form(scope: &str, verifier: Option<&str>) -> Vec<(String, String)> {
    let mut f = vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("client_id".to_owned(), CLIENT.to_owned()),
        ("redirect_uri".to_owned(), REDIRECT.to_owned()),
        ("scope".to_owned(), scope.to_owned()),
        ("code_challenge_method".to_owned(), "S256".to_owned()),
    ];
    if let Some(v) = verifier {
        f.push(("code_challenge".to_owned(), esspass_oid4vc::pkce::s256_challenge(v)));
    }
    f
}

fn set(form: &mut Vec<(String, String)>, k: &str, v: Option<&str>) {
    form.retain(|(key, _)| key != k);
    if let Some(v) = v {
        form.push((k.to_owned(), v.to_owned()));
    }
}

/// The value of `name="…" value="…"` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn query_param(location: &str, k: &str) -> Option<String> {
    url::Url::parse(location).unwrap().query_pairs().find(|(key, _)| key == k).map(|(_, v)| v.into_owned())
}

/// What the person types into the demo eID form.
struct Typed<'a> {
    family: &'a str,
    given: &'a str,
    birth: &'a str,
    number: &'a str,
}

impl TestNode {
    fn dpop(&self, key: &EcdsaP256Signer, method: &str, url: &str, token: Option<&str>) -> String {
        dpop_with(key, method, url, token, Some(&self.nonce))
    }

    async fn api(&self, method: reqwest::Method, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut r = self.client.request(method, format!("{}{path}", self.url));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A person with health coverage: Novak, Živa, 1985-04-12; returns (person_id, personal number).
    async fn person(&self) -> (String, String) {
        let number = format!("SI{:010}", support::unique());
        let rec = json!({"personal_number": number, "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "residence": "SI", "coverage_kind": "health", "coverage_start": "2020-01-01"});
        let (s, v) = self.api(reqwest::Method::POST, "/api/v1/persons", Some(BO_KEY), Some(rec)).await;
        assert_eq!(s, 201, "{v}");
        (v["person_id"].as_str().unwrap().to_owned(), number)
    }

    /// `POST /par`, with a DPoP proof when a key is given.
    async fn par(&self, key: Option<&EcdsaP256Signer>, form: &[(String, String)]) -> (u16, reqwest::header::HeaderMap, Value) {
        let url = format!("{}/par", self.url);
        let mut r = self.client.post(&url).form(form);
        if let Some(k) = key {
            r = r.header("DPoP", self.dpop(k, "POST", &url, None));
        }
        let resp = r.send().await.unwrap();
        let (s, h) = (resp.status().as_u16(), resp.headers().clone());
        (s, h, resp.json().await.unwrap_or(Value::Null))
    }

    async fn request_uri(&self, key: Option<&EcdsaP256Signer>, form: &[(String, String)]) -> String {
        let (s, h, v) = self.par(key, form).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(v["expires_in"], json!(60), "integer expires_in");
        let uri = v["request_uri"].as_str().unwrap().to_owned();
        assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"), "{uri}");
        uri
    }

    async fn authorize_page(&self, client_id: &str, request_uri: &str) -> (u16, String) {
        let mut url = url::Url::parse(&format!("{}/authorize", self.url)).unwrap();
        url.query_pairs_mut().append_pair("client_id", client_id).append_pair("request_uri", request_uri);
        let resp = self.client.get(url.as_str()).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Post the sign-in form: status, `Location` (if any), body.
    async fn sign_in(&self, signin: &str, t: &Typed<'_>) -> (u16, Option<String>, String) {
        let resp = self
            .client
            .post(format!("{}/authorize", self.url))
            .form(&[("signin", signin), ("family_name", t.family), ("given_name", t.given), ("birth_date", t.birth), ("personal_number", t.number)])
            .send()
            .await
            .unwrap();
        let loc = resp.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        (resp.status().as_u16(), loc, resp.text().await.unwrap())
    }

    /// PAR → page → sign-in; the sign-in answer.
    async fn flow_to_sign_in(&self, key: Option<&EcdsaP256Signer>, form: &[(String, String)], t: &Typed<'_>) -> (u16, Option<String>, String) {
        let uri = self.request_uri(key, form).await;
        let (s, page) = self.authorize_page(CLIENT, &uri).await;
        assert_eq!(s, 200, "{page}");
        self.sign_in(&hidden(&page, "signin"), t).await
    }

    /// A code for the person, through the whole front channel.
    async fn code(&self, key: &EcdsaP256Signer, verifier: &str, number: &str) -> String {
        let (s, loc, body) = self.flow_to_sign_in(Some(key), &par_form("ehic", Some(verifier)), &Typed { family: "Novak", given: "Živa", birth: "1985-04-12", number }).await;
        assert_eq!(s, 303, "{body}");
        query_param(&loc.unwrap(), "code").unwrap()
    }

    async fn token(&self, key: &EcdsaP256Signer, code: &str, verifier: &str, redirect_uri: &str) -> (u16, Value) {
        let url = format!("{}/token", self.url);
        let resp = self
            .client
            .post(&url)
            .header("DPoP", self.dpop(key, "POST", &url, None))
            .form(&[("grant_type", "authorization_code"), ("code", code), ("code_verifier", verifier), ("redirect_uri", redirect_uri), ("client_id", CLIENT), ("resource", self.url.as_str())])
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn nonce(&self) -> String {
        let v: Value = self.client.post(format!("{}/nonce", self.url)).send().await.unwrap().json().await.unwrap();
        v["c_nonce"].as_str().unwrap().to_owned()
    }

    async fn credential(&self, key: &EcdsaP256Signer, token: &str, body: Value) -> (u16, Value) {
        let url = format!("{}/credential", self.url);
        let resp = self.client.post(&url).header("Authorization", format!("DPoP {token}")).header("DPoP", self.dpop(key, "POST", &url, Some(token))).json(&body).send().await.unwrap();
        let s = resp.status().as_u16();
        (s, resp.json().await.unwrap_or(Value::Null))
    }

    async fn verify(&self, credential: &str) -> esspass_credential::verify::Report {
        support::verify(&self.client, &self.url, &self.pki, &self.root, credential).await
    }

    async fn audit_actions(&self) -> Vec<esspass_store::AuditRecord> {
        let (s, audit) = self.api(reqwest::Method::GET, "/api/v1/audit", Some(AUDITOR_KEY), None).await;
        assert_eq!(s, 200);
        let records: Vec<esspass_store::AuditRecord> = serde_json::from_value(audit["records"].clone()).unwrap();
        esspass_store::verify_chain(&records, audit["head"]["seq"].as_i64().unwrap(), audit["head"]["hash"].as_str().unwrap()).unwrap();
        records
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_flow_with_par_pkce_dpop_and_demo_eid_issues_a_verifiable_ehic() {
    for db in support::databases("esspass_oauth").await {
        let n = start_node(&db).await;
        let (person_id, number) = n.person().await;
        let wallet = EcdsaP256Signer::generate().unwrap();
        let holder = EcdsaP256Signer::generate().unwrap();

        // "ZIVA" is not "Živa": the sign-in goes to manual review, and no code is issued.
        let v = verifier();
        let mut form = par_form("ehic", Some(&v));
        set(&mut form, "state", Some("st-1"));
        set(&mut form, "resource", Some(&n.url));
        let (s, loc, body) = n.flow_to_sign_in(Some(&wallet), &form, &Typed { family: "Novak", given: "ZIVA", birth: "1985-04-12", number: &number }).await;
        assert_eq!((s, loc), (200, None), "{body}");
        assert!(body.contains("manual review"), "{body}");
        assert!(body.contains(DEMO));

        // The same person typing "živa" decomposed (NFD) and in another case, a padded family name.
        let uri = n.request_uri(Some(&wallet), &form).await;
        let (s, page) = n.authorize_page(CLIENT, &uri).await;
        assert_eq!(s, 200);
        assert!(page.contains(DEMO), "{page}");
        assert!(page.contains("<html lang=\"en\">"));
        assert!(page.contains("<label for=\"family_name\">") && page.contains("<label for=\"birth_date\">"));
        assert!(!page.to_lowercase().contains("<script"));
        let signin = hidden(&page, "signin");
        assert!(!page.contains(&uri) && signin != uri, "the form refers to the request by a fresh value");
        let typed = Typed { family: "  NOVAK ", given: "Z\u{30C}iVA", birth: "1985-04-12", number: &number };
        let (s, loc, body) = n.sign_in(&signin, &typed).await;
        assert_eq!(s, 303, "{body}");
        let loc = loc.unwrap();
        assert!(loc.starts_with("https://wallet.example/cb?app=1&"), "{loc}");
        assert_eq!(query_param(&loc, "state").as_deref(), Some("st-1"));
        assert_eq!(query_param(&loc, "iss").as_deref(), Some(n.url.as_str()), "RFC 9207 iss");
        let code = query_param(&loc, "code").unwrap();
        // The sign-in reference is single use.
        let (s, loc2, _) = n.sign_in(&signin, &typed).await;
        assert_eq!((s, loc2), (400, None));

        let (s, tok) = n.token(&wallet, &code, &v, REDIRECT).await;
        assert_eq!(s, 200, "{tok}");
        assert_eq!(tok["token_type"], "DPoP");
        let token = tok["access_token"].as_str().unwrap();
        let c_nonce = n.nonce().await;
        let (s, r) = n.credential(&wallet, token, json!({"credential_configuration_id": "ehic", "proofs": {"jwt": [key_proof(&holder, &n.url, &c_nonce)]}})).await;
        assert_eq!(s, 200, "{r}");
        let report = n.verify(r["credentials"][0]["credential"].as_str().unwrap()).await;
        assert_eq!(report.outcome, Outcome::Valid, "{}", serde_json::to_string_pretty(&report).unwrap());
        assert_eq!(report.claims.unwrap()["personal_administrative_number"], number.as_str());

        // The code is used once.
        let (s, v2) = n.token(&wallet, &code, &v, REDIRECT).await;
        assert_eq!((s, v2["error"].as_str()), (400, Some("invalid_grant")), "reused code");

        // Without state, no state comes back (the Animo helpers never send one); PAR without DPoP works.
        let v3 = verifier();
        let (s, loc, _) = n.flow_to_sign_in(None, &par_form("ehic", Some(&v3)), &Typed { family: "novak", given: "živa", birth: "1985-04-12", number: &number }).await;
        assert_eq!(s, 303);
        let loc = loc.unwrap();
        assert_eq!(query_param(&loc, "state"), None);
        assert!(query_param(&loc, "code").is_some() && query_param(&loc, "iss").is_some());

        // authorization_details instead of scope.
        let v4 = verifier();
        let mut form = par_form("ehic", Some(&v4));
        set(&mut form, "scope", None);
        set(&mut form, "authorization_details", Some(r#"[{"type":"openid_credential","credential_configuration_id":"ehic"}]"#));
        let (s, loc, _) = n.flow_to_sign_in(Some(&wallet), &form, &Typed { family: "Novak", given: "Živa", birth: "1985-04-12", number: &number }).await;
        assert_eq!(s, 303);
        let (s, tok) = n.token(&wallet, &query_param(&loc.unwrap(), "code").unwrap(), &v4, REDIRECT).await;
        assert_eq!(s, 200, "{tok}");

        // The audit trail names the sign-ins and the review, with no personal data beyond the id.
        let records = n.audit_actions().await;
        let sign_ins: Vec<_> = records.iter().filter(|r| r.action == "sign_in").collect();
        assert_eq!(sign_ins.len(), 3);
        assert!(sign_ins.iter().all(|r| r.actor == "demo-eid" && r.subject == person_id));
        let review: Vec<_> = records.iter().filter(|r| r.action == "sign_in_manual_review").collect();
        assert_eq!(review.len(), 1);
        for r in sign_ins.iter().chain(review.iter()) {
            let d = r.details.to_string();
            assert!(!d.contains(&number) && !d.contains("Novak") && !d.contains("1985"), "{d}");
        }
        n.node.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_the_authorization_code_flow() {
    for db in support::databases("esspass_oauth").await {
        let n = start_node(&db).await;
        let (_, number) = n.person().await;
        let wallet = EcdsaP256Signer::generate().unwrap();

        // PAR: PKCE required (S256 only), known scope, https redirect without fragment, our resource.
        let v = verifier();
        let (s, _, e) = n.par(Some(&wallet), &par_form("ehic", None)).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")), "PAR without code_challenge: {e}");
        let mut plain = par_form("ehic", None);
        set(&mut plain, "code_challenge", Some(&v));
        set(&mut plain, "code_challenge_method", Some("plain"));
        let (s, _, e) = n.par(None, &plain).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")), "plain PKCE: {e}");
        let (s, h, e) = n.par(Some(&wallet), &par_form("pda1", Some(&v))).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_scope")), "pda1 is not offered by this node: {e}");
        assert_eq!(h["content-type"], "application/json");
        let (s, _, e) = n.par(None, &par_form("nope", Some(&v))).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_scope")));
        for (k, bad) in [("redirect_uri", Some("http://wallet.example/cb")), ("redirect_uri", Some("https://wallet.example/cb#x")), ("redirect_uri", None), ("client_id", None), ("response_type", None)] {
            let mut f = par_form("ehic", Some(&v));
            set(&mut f, k, bad);
            let (s, _, e) = n.par(None, &f).await;
            assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")), "{k}={bad:?}: {e}");
        }
        let mut f = par_form("ehic", Some(&v));
        set(&mut f, "resource", Some("https://elsewhere.example"));
        let (s, _, e) = n.par(None, &f).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_target")));
        let mut f = par_form("ehic", Some(&v));
        set(&mut f, "scope", None);
        set(&mut f, "authorization_details", Some(r#"[{"type":"openid_credential","credential_configuration_id":"nope"}]"#));
        let (s, _, e) = n.par(None, &f).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_authorization_details")));
        let resp = n.client.post(format!("{}/par", n.url)).basic_auth(CLIENT, Some("secret")).form(&par_form("ehic", Some(&v))).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_client");
        // dpop_jkt must name the proof's key (RFC 9449 §10).
        let mut f = par_form("ehic", Some(&v));
        set(&mut f, "dpop_jkt", Some("not-the-thumbprint"));
        let (s, _, e) = n.par(Some(&wallet), &f).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_dpop_proof")));
        // A replayed DPoP proof at PAR is refused.
        let par_url = format!("{}/par", n.url);
        let proof = n.dpop(&wallet, "POST", &par_url, None);
        let first = n.client.post(&par_url).header("DPoP", &proof).form(&par_form("ehic", Some(&v))).send().await.unwrap();
        assert_eq!(first.status().as_u16(), 201);
        let again = n.client.post(&par_url).header("DPoP", &proof).form(&par_form("ehic", Some(&v))).send().await.unwrap();
        assert_eq!(again.status().as_u16(), 400);
        assert_eq!(again.json::<Value>().await.unwrap()["error"], "invalid_dpop_proof");

        // The request_uri: used once, only by its client, never made up.
        let uri = n.request_uri(Some(&wallet), &par_form("ehic", Some(&v))).await;
        let (s, page) = n.authorize_page("another-client", &uri).await;
        assert_eq!(s, 400, "{page}");
        let head = n.client.head(format!("{}/authorize?client_id={CLIENT}&request_uri={}", n.url, url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>())).send().await.unwrap();
        assert_eq!(head.status().as_u16(), 200);
        let (s, _) = n.authorize_page(CLIENT, &uri).await;
        assert_eq!(s, 200, "neither a wrong client_id nor a HEAD request spends it");
        let (s, page) = n.authorize_page(CLIENT, &uri).await;
        assert_eq!(s, 400, "reused request_uri");
        assert!(page.contains(DEMO));
        let (s, _) = n.authorize_page(CLIENT, "urn:ietf:params:oauth:request_uri:made-up").await;
        assert_eq!(s, 400);
        let resp = n.client.get(format!("{}/authorize?client_id={CLIENT}&response_type=code", n.url)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "no authorization request without PAR");

        // Bad form input: 400 with the form again (the reference still usable), no code.
        let uri = n.request_uri(Some(&wallet), &par_form("ehic", Some(&v))).await;
        let (_, page) = n.authorize_page(CLIENT, &uri).await;
        let signin = hidden(&page, "signin");
        let (s, loc, body) = n.sign_in(&signin, &Typed { family: "Novak", given: "Živa", birth: "12.04.1985", number: &number }).await;
        assert_eq!((s, loc), (400, None));
        assert!(body.contains("role=\"alert\"") && body.contains(&signin), "{body}");
        // Mismatched details and an unknown personal number: the same manual-review page, no code.
        let (s, loc, mismatch) = n.sign_in(&signin, &Typed { family: "Novak", given: "Živa", birth: "1985-04-13", number: &number }).await;
        assert_eq!((s, loc), (200, None));
        assert!(mismatch.contains("manual review"));
        let (s, loc, unknown) = n.flow_to_sign_in(Some(&wallet), &par_form("ehic", Some(&v)), &Typed { family: "Novak", given: "Živa", birth: "1985-04-12", number: "SI9999999999" }).await;
        assert_eq!((s, loc), (200, None));
        assert_eq!(mismatch, unknown, "whether the personal number exists does not show");
        let (s, loc, _) = n.flow_to_sign_in(Some(&wallet), &par_form("ehic", Some(&v)), &Typed { family: "Nowak", given: "Živa", birth: "1985-04-12", number: &number }).await;
        assert_eq!((s, loc), (200, None), "another family name");

        // Token: wrong verifier, wrong redirect_uri, wrong client, malformed verifier, missing verifier.
        let code = n.code(&wallet, &v, &number).await;
        let (s, e) = n.token(&wallet, &code, &verifier(), REDIRECT).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")), "wrong code_verifier: {e}");
        let (s, e) = n.token(&wallet, &code, &v, REDIRECT).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")), "a failed redemption spends the code");
        // A code from a DPoP-bound PAR is redeemed only with the same DPoP key (RFC 9449 §10).
        let code = n.code(&wallet, &v, &number).await;
        let thief = EcdsaP256Signer::generate().unwrap();
        let (s, e) = n.token(&thief, &code, &v, REDIRECT).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_dpop_proof")), "code redeemed with another DPoP key: {e}");
        let code = n.code(&wallet, &v, &number).await;
        let (s, e) = n.token(&wallet, &code, &v, "https://wallet.example/cb").await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")), "wrong redirect_uri: {e}");
        let code = n.code(&wallet, &v, &number).await;
        let (s, e) = n.token(&wallet, &code, "short", REDIRECT).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")), "malformed code_verifier: {e}");
        let url = format!("{}/token", n.url);
        let resp = n
            .client
            .post(&url)
            .header("DPoP", n.dpop(&wallet, "POST", &url, None))
            .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("code_verifier", v.as_str()), ("redirect_uri", REDIRECT), ("client_id", "another-client")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_grant", "wrong client_id");
        let (s, e) = n.token(&wallet, "made-up-code", &v, REDIRECT).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));

        // Manual reviews are audited: two mismatches and one unknown number.
        let records = n.audit_actions().await;
        let review: Vec<_> = records.iter().filter(|r| r.action == "sign_in_manual_review").collect();
        assert_eq!(review.len(), 3);
        assert!(review.iter().any(|r| r.subject == "unmatched" && r.details["reason"] == "no_record"));
        assert!(review.iter().all(|r| !r.details.to_string().contains("SI9999999999")));
        // …and wait for a case worker, with what was typed (not in the audit trail, in the review).
        let (s, open) = n.api(reqwest::Method::GET, "/api/v1/sign-in-reviews", Some(CASE_WORKER_KEY), None).await;
        assert_eq!(s, 200, "{open}");
        let open = open.as_array().unwrap().clone();
        assert_eq!(open.len(), 3);
        let unknown = open.iter().find(|r| r["reason"] == "no_record").unwrap();
        assert_eq!(unknown["entered"]["personal_number"], "SI9999999999");
        assert!(unknown["person_id"].is_null());
        let (s, v) = n.api(reqwest::Method::GET, "/api/v1/sign-in-reviews", Some(BO_KEY), None).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7002")));
        let id = unknown["review_id"].as_str().unwrap();
        let path = format!("/api/v1/sign-in-reviews/{id}/close");
        let (s, _) = n.api(reqwest::Method::POST, &path, Some(CASE_WORKER_KEY), Some(json!({"note": "no such insured person; told the caller"}))).await;
        assert_eq!(s, 200);
        let (s, _) = n.api(reqwest::Method::POST, &path, Some(CASE_WORKER_KEY), Some(json!({"note": "again"}))).await;
        assert_eq!(s, 409, "closed once");
        n.node.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_is_used_once_whichever_grant_takes_it() {
    for db in support::databases("esspass_oauth").await {
        let n = start_node(&db).await;
        let (person, number) = n.person().await;
        let wallet = EcdsaP256Signer::generate().unwrap();
        let offer = |n: &TestNode, person: String| {
            let (c, url) = (n.client.clone(), n.url.clone());
            async move {
                let v: Value = c.post(format!("{url}/api/v1/credential-offers")).bearer_auth(BO_KEY).json(&json!({"credential_configuration_id": "ehic", "person_id": person})).send().await.unwrap().json().await.unwrap();
                let grants = &v["credential_offer"]["grants"];
                (
                    grants["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"].as_str().unwrap().to_owned(),
                    v["tx_code"].as_str().unwrap().to_owned(),
                    grants["authorization_code"]["issuer_state"].as_str().unwrap().to_owned(),
                )
            }
        };
        let pre_auth_token = |n: &TestNode, code: String, tx: String, key: &EcdsaP256Signer| {
            let url = format!("{}/token", n.url);
            let proof = n.dpop(key, "POST", &url, None);
            let c = n.client.clone();
            async move {
                let r = c.post(&url).header("DPoP", proof).form(&[("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", code.as_str()), ("tx_code", tx.as_str())]).send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let typed = Typed { family: "Novak", given: "Živa", birth: "1985-04-12", number: &number };
        // Authorization code first: the sign-in uses the offer up, its pre-authorized code dies.
        let (code, tx, issuer_state) = offer(&n, person.clone()).await;
        let v = verifier();
        let mut form = par_form("ehic", Some(&v));
        set(&mut form, "issuer_state", Some(&issuer_state));
        let (s, loc, body) = n.flow_to_sign_in(Some(&wallet), &form, &typed).await;
        assert_eq!(s, 303, "{body}");
        assert!(query_param(&loc.unwrap(), "code").is_some());
        let (s, e) = pre_auth_token(&n, code, tx, &wallet).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")), "{db}: the offer was taken through the authorization code: {e}");
        // Pre-authorized first: the same offer's issuer_state no longer signs anyone in.
        let (code, tx, issuer_state) = offer(&n, person.clone()).await;
        let (s, t) = pre_auth_token(&n, code, tx, &wallet).await;
        assert_eq!(s, 200, "{t}");
        let mut form = par_form("ehic", Some(&v));
        set(&mut form, "issuer_state", Some(&issuer_state));
        let (s, loc, _) = n.flow_to_sign_in(Some(&wallet), &form, &typed).await;
        assert_eq!((s, loc), (400, None), "{db}: a used offer cannot be taken again");
        n.node.stop();
    }
}
