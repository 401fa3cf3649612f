//! The institution node over real HTTPS on 127.0.0.1, against SQLite and (when
//! `ESSPASS_TEST_POSTGRES` is set) PostgreSQL: the pre-authorized OpenID4VCI flow with DPoP, the
//! credential verified by esspass's verifier, revocation visible in the served list at once, and
//! the protocol's refusals — each rejected with the right code and nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use esspass_credential::EcdsaP256Signer;
use esspass_credential::verify::Outcome;
use esspass_credential::x509::Certificate;
use esspass_node::node::RunningNode;
use serde_json::{Value, json};
use std::path::PathBuf;
use support::{key_proof, now};

const BO_KEY: &str = "bo-test-key-0123456789";
const AUDITOR_KEY: &str = "auditor-test-key-0123456789";

struct TestNode {
    node: RunningNode,
    client: reqwest::Client,
    url: String,
    pki: PathBuf,
    root: Certificate,
    /// The server's current DPoP nonce (RFC 9449 §8).
    nonce: String,
    /// Seconds the node's clock runs ahead of the real one (proofs are made in its time).
    shift: i64,
}

async fn start_node(database: &str) -> TestNode {
    start_node_with_clock(database, std::sync::Arc::new(esspass_core::SystemClock)).await
}

async fn start_node_with_clock(database: &str, clock: std::sync::Arc<dyn esspass_core::Clock>) -> TestNode {
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

[[api_keys]]
name = "back-office"
role = "back_office"
sha256 = "{bo}"

[[api_keys]]
name = "auditor"
role = "auditor"
sha256 = "{au}"
"#,
        bo = esspass_store::hash_secret(BO_KEY),
        au = esspass_store::hash_secret(AUDITOR_KEY),
    );
    std::fs::write(pki.join("esspass.toml"), cfg).unwrap();
    let cfg = esspass_node::config::NodeConfig::load(&pki.join("esspass.toml")).unwrap();
    let node = esspass_node::node::start_with_clock(cfg, Some(listener), clock).await.unwrap();
    let client = support::client(&root);
    let nonce = support::dpop_nonce(&client, &url).await;
    TestNode { node, client, url, pki, root, nonce, shift: 0 }
}

fn dpop_with(key: &EcdsaP256Signer, method: &str, url: &str, token: Option<&str>, nonce: Option<&str>) -> String {
    support::dpop_proof(key, method, url, token, nonce, now())
}

impl TestNode {
    fn dpop(&self, key: &EcdsaP256Signer, method: &str, url: &str, token: Option<&str>) -> String {
        support::dpop_proof(key, method, url, token, Some(&self.nonce), now() + self.shift)
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

    async fn person(&self, coverage: bool) -> String {
        let mut rec = json!({"personal_number": format!("SI{:010}", support::unique()), "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "residence": "SI"});
        if coverage {
            rec["coverage_kind"] = json!("health");
            rec["coverage_start"] = json!("2020-01-01");
        }
        let (s, v) = self.api(reqwest::Method::POST, "/api/v1/persons", Some(BO_KEY), Some(rec)).await;
        assert_eq!(s, 201, "{v}");
        v["person_id"].as_str().unwrap().to_owned()
    }

    async fn offer(&self, person: &str) -> (String, String) {
        let (s, v) = self.api(reqwest::Method::POST, "/api/v1/credential-offers", Some(BO_KEY), Some(json!({"credential_configuration_id": "ehic", "person_id": person}))).await;
        assert_eq!(s, 201, "{v}");
        assert!(v["credential_offer_uri"].as_str().unwrap().starts_with("openid-credential-offer://?credential_offer_uri=https%3A%2F%2F127.0.0.1"));
        let code = v["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"].as_str().unwrap().to_owned();
        (code, v["tx_code"].as_str().unwrap().to_owned())
    }

    async fn token(&self, key: &EcdsaP256Signer, code: &str, tx: &str) -> (u16, Value) {
        let url = format!("{}/token", self.url);
        let resp = self
            .client
            .post(&url)
            .header("DPoP", self.dpop(key, "POST", &url, None))
            .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", code), ("tx_code", tx), ("user_pin", tx)])
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn nonce(&self) -> String {
        let v: Value = self.client.post(format!("{}/nonce", self.url)).send().await.unwrap().json().await.unwrap();
        v["c_nonce"].as_str().unwrap().to_owned()
    }

    async fn credential(&self, key: &EcdsaP256Signer, token: &str, dpop_proof: Option<String>, body: Value) -> (u16, Value) {
        let url = format!("{}/credential", self.url);
        let proof = dpop_proof.unwrap_or_else(|| self.dpop(key, "POST", &url, Some(token)));
        let resp = self.client.post(&url).header("Authorization", format!("DPoP {token}")).header("DPoP", proof).json(&body).send().await.unwrap();
        let s = resp.status().as_u16();
        (s, resp.json().await.unwrap_or(Value::Null))
    }

    async fn status_token(&self) -> String {
        let resp = self.client.get(format!("{}/status/1", self.url)).send().await.unwrap();
        assert_eq!(resp.headers()["content-type"], "application/statuslist+jwt");
        resp.text().await.unwrap()
    }

    async fn verify(&self, credential: &str) -> esspass_credential::verify::Report {
        let _served_as_statuslist_jwt = self.status_token().await;
        support::verify(&self.client, &self.url, &self.pki, &self.root, credential).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_authorized_flow_with_dpop_issues_a_verifiable_ehic_and_revocation_shows_at_once() {
    for db in support::databases("esspass_n").await {
        let n = start_node(&db).await;
        let (s, meta) = n.api(reqwest::Method::GET, "/.well-known/openid-credential-issuer", None, None).await;
        assert_eq!(s, 200);
        assert_eq!(meta["credential_issuer"], n.url);
        assert_eq!(meta["credential_configurations_supported"]["ehic"]["vct"], "urn:eudi:ehic:1");
        let (s, doc) = n.api(reqwest::Method::GET, "/api/v1/openapi.json", None, None).await;
        assert_eq!(s, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
        assert!(doc["paths"]["/api/v1/credential-offers"]["post"].is_object());
        let person = n.person(true).await;
        let (code, tx) = n.offer(&person).await;
        let wallet = EcdsaP256Signer::generate().unwrap();
        let holder = EcdsaP256Signer::generate().unwrap();
        let holder2 = EcdsaP256Signer::generate().unwrap();
        let (s, tok) = n.token(&wallet, &code, &tx).await;
        assert_eq!(s, 200, "{tok}");
        assert_eq!(tok["token_type"], "DPoP");
        let token = tok["access_token"].as_str().unwrap();
        let c_nonce = n.nonce().await;
        let body = json!({"credential_configuration_id": "ehic", "proofs": {"jwt": [key_proof(&holder, &n.url, &c_nonce), key_proof(&holder2, &n.url, &c_nonce)]}});
        let (s, r) = n.credential(&wallet, token, None, body).await;
        assert_eq!(s, 200, "{r}");
        let creds = r["credentials"].as_array().unwrap();
        assert_eq!(creds.len(), 2, "one credential per proof key (batch)");
        let first = creds[0]["credential"].as_str().unwrap();
        let report = n.verify(first).await;
        assert_eq!(report.outcome, Outcome::Valid, "{}", serde_json::to_string_pretty(&report).unwrap());
        let claims = report.claims.unwrap();
        assert_eq!(claims["issuing_authority"]["id"], "SI:ZZZS");
        assert_eq!(claims["iss"], n.url);
        // The back office sees both; revocation of the first is durable and published before the answer.
        let (s, list) = n.api(reqwest::Method::GET, &format!("/api/v1/persons/{person}/credentials"), Some(BO_KEY), None).await;
        assert_eq!(s, 200);
        let ids: Vec<String> = list.as_array().unwrap().iter().map(|c| c["credential_id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 2);
        let numbers: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["document_number"].as_str().unwrap()).collect();
        assert_ne!(numbers[0], numbers[1]);
        let doc_number = report_document_number(&n, first).await;
        let target = list.as_array().unwrap().iter().find(|c| c["document_number"] == doc_number.as_str()).unwrap()["credential_id"].as_str().unwrap().to_owned();
        let started = std::time::Instant::now();
        let (s, v) = n.api(reqwest::Method::POST, &format!("/api/v1/credentials/{target}/revoke"), Some(BO_KEY), Some(json!({"reason": "coverage ended"}))).await;
        assert_eq!(s, 200, "{v}");
        let report = n.verify(first).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "revocation visible in under a second");
        assert_eq!(report.code.map(|c| c.code()), Some("ESP-4010"), "{db}");
        assert_eq!(n.verify(creds[1]["credential"].as_str().unwrap()).await.outcome, Outcome::Valid, "the other one is untouched");
        let (s, v) = n.api(reqwest::Method::POST, &format!("/api/v1/credentials/{target}/reinstate"), Some(BO_KEY), None).await;
        assert_eq!(s, 409, "a revoked credential stays revoked: {v}");
        assert_eq!(n.verify(first).await.code.map(|c| c.code()), Some("ESP-4010"));
        // The notification endpoint records the wallet's event.
        let nid = r["notification_id"].as_str().unwrap();
        let url = format!("{}/notification", n.url);
        let resp = n.client.post(&url).header("Authorization", format!("DPoP {token}")).header("DPoP", n.dpop(&wallet, "POST", &url, Some(token))).json(&json!({"notification_id": nid, "event": "credential_accepted"})).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 204);
        // The audit trail is a valid chain that names the issuance and the revocation.
        let (s, audit) = n.api(reqwest::Method::GET, "/api/v1/audit", Some(AUDITOR_KEY), None).await;
        assert_eq!(s, 200);
        let records: Vec<esspass_store::AuditRecord> = serde_json::from_value(audit["records"].clone()).unwrap();
        esspass_store::verify_chain(&records, audit["head"]["seq"].as_i64().unwrap(), audit["head"]["hash"].as_str().unwrap()).unwrap();
        let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
        for want in ["create_offer", "issue_credential", "revoke_credential", "read_credentials", "notification:credential_accepted"] {
            assert!(actions.contains(&want), "{want} not in {actions:?}");
        }
        n.node.stop();
    }
}

async fn report_document_number(n: &TestNode, credential: &str) -> String {
    n.verify(credential).await.claims.unwrap()["document_number"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_refusals_have_the_right_codes_and_write_nothing() {
    for db in support::databases("esspass_n").await {
        let n = start_node(&db).await;
        let person = n.person(true).await;
        let wallet = EcdsaP256Signer::generate().unwrap();
        let holder = EcdsaP256Signer::generate().unwrap();

        // Wrong tx_code: four attempts leave the code alive, the fifth kills it — even the right code fails then.
        let (code, tx) = n.offer(&person).await;
        for i in 1..=5 {
            let (s, v) = n.token(&wallet, &code, "000000x").await;
            assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")), "attempt {i}");
        }
        let (s, v) = n.token(&wallet, &code, &tx).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")), "dead after five wrong tx_codes");

        // DPoP server nonces: a proof without the current nonce (or with a made-up one) gets
        // use_dpop_nonce and the nonce in a DPoP-Nonce header — before the code is touched.
        let (code, tx) = n.offer(&person).await;
        let url = format!("{}/token", n.url);
        for bad in [None, Some("not-the-nonce")] {
            let resp = n
                .client
                .post(&url)
                .header("DPoP", dpop_with(&wallet, "POST", &url, None, bad))
                .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", code.as_str()), ("tx_code", tx.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 400);
            // The current nonce (the one the test started with, unless a 300 s period just ended).
            let fresh = resp.headers()["dpop-nonce"].to_str().unwrap().to_owned();
            assert!(fresh.len() >= 16 && Some(fresh.as_str()) != bad, "{fresh}");
            assert_eq!(resp.json::<Value>().await.unwrap()["error"], "use_dpop_nonce");
        }
        // A code is used once (the nonce refusals above did not consume it).
        let (s, tok) = n.token(&wallet, &code, &tx).await;
        assert_eq!(s, 200, "{tok}");
        let (s, v) = n.token(&wallet, &code, &tx).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")), "reused pre-authorized code");
        let token = tok["access_token"].as_str().unwrap().to_owned();

        // DPoP: missing, for another URL, replayed, without ath, with another key.
        let url = format!("{}/token", n.url);
        let resp = n.client.post(&url).form(&[("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", "x")]).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_dpop_proof");
        let c_nonce = n.nonce().await;
        let body = json!({"credential_configuration_id": "ehic", "proofs": {"jwt": [key_proof(&holder, &n.url, &c_nonce)]}});
        let other_url = n.dpop(&wallet, "POST", &format!("{}/nonce", n.url), Some(&token));
        let (s, v) = n.credential(&wallet, &token, Some(other_url), body.clone()).await;
        assert_eq!((s, v["error"].as_str()), (401, Some("invalid_dpop_proof")), "DPoP proof for another URL: {v}");
        let cred_url = format!("{}/credential", n.url);
        let no_ath = n.dpop(&wallet, "POST", &cred_url, None);
        let (s, v) = n.credential(&wallet, &token, Some(no_ath), body.clone()).await;
        assert_eq!((s, v["error"].as_str()), (401, Some("invalid_dpop_proof")), "missing ath");
        let thief = EcdsaP256Signer::generate().unwrap();
        let (s, v) = n.credential(&thief, &token, None, body.clone()).await;
        assert_eq!((s, v["error"].as_str()), (401, Some("invalid_dpop_proof")), "token bound to another key");
        let replayed = n.dpop(&wallet, "POST", &cred_url, Some(&token));
        let bad_aud = json!({"credential_configuration_id": "ehic", "proofs": {"jwt": [key_proof(&holder, "https://elsewhere.example", &c_nonce)]}});
        let (s, v) = n.credential(&wallet, &token, Some(replayed.clone()), bad_aud).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("invalid_proof")), "proof with wrong aud: {v}");
        let (s, v) = n.credential(&wallet, &token, Some(replayed), body.clone()).await;
        assert_eq!((s, v["error"].as_str()), (401, Some("invalid_dpop_proof")), "replayed DPoP jti");
        let unknown = json!({"credential_configuration_id": "pda1", "proofs": {"jwt": [key_proof(&holder, &n.url, &c_nonce)]}});
        let (s, v) = n.credential(&wallet, &token, None, unknown).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("unknown_credential_configuration")));
        let stale = json!({"credential_configuration_id": "ehic", "proofs": {"jwt": [key_proof(&holder, &n.url, "never-issued-nonce")]}});
        let (s, v) = n.credential(&wallet, &token, None, stale).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("invalid_nonce")));
        // Nothing was issued by any of the refused requests; then the good one works, once per c_nonce.
        let (_, list) = n.api(reqwest::Method::GET, &format!("/api/v1/persons/{person}/credentials"), Some(BO_KEY), None).await;
        assert_eq!(list.as_array().unwrap().len(), 0, "{db}: refused requests wrote nothing");
        let (s, _) = n.credential(&wallet, &token, None, body.clone()).await;
        assert_eq!(s, 200);
        let (s, v) = n.credential(&wallet, &token, None, body).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("credential_request_denied")), "the token was used: {v}");
        // One grant, one issuance: a fresh c_nonce does not make the token mint another credential.
        let fresh = n.nonce().await;
        let again = json!({"credential_configuration_id": "ehic", "proofs": {"jwt": [key_proof(&holder, &n.url, &fresh)]}});
        let (s, v) = n.credential(&wallet, &token, None, again).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("credential_request_denied")), "{db}: a used token minted again: {v}");
        let (_, list) = n.api(reqwest::Method::GET, &format!("/api/v1/persons/{person}/credentials"), Some(BO_KEY), None).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{db}: exactly one credential from one grant");

        // Oversized body.
        let big = "x".repeat(100_000);
        // A connection of its own: the server reads and drops a moderately oversized body, then answers 413.
        let once = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_der(&n.root.der).unwrap()]).build().unwrap();
        let resp = once.post(format!("{}/api/v1/persons", n.url)).bearer_auth(BO_KEY).body(big).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 413);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        assert_eq!(resp.json::<Value>().await.unwrap()["code"], "ESP-7007");

        // Roles and authentication.
        let (s, v) = n.api(reqwest::Method::GET, "/api/v1/audit", Some(BO_KEY), None).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7002")));
        let (s, v) = n.api(reqwest::Method::POST, "/api/v1/credential-offers", Some(AUDITOR_KEY), Some(json!({"credential_configuration_id": "ehic", "person_id": person}))).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7002")));
        let (s, v) = n.api(reqwest::Method::GET, "/api/v1/audit", None, None).await;
        assert_eq!((s, v["code"].as_str()), (401, Some("ESP-7001")));
        // Entitlement: no coverage, no EHIC offer.
        let uninsured = n.person(false).await;
        let (s, v) = n.api(reqwest::Method::POST, "/api/v1/credential-offers", Some(BO_KEY), Some(json!({"credential_configuration_id": "ehic", "person_id": uninsured}))).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7004")));
        let (s, v) = n.api(reqwest::Method::POST, "/api/v1/credential-offers", Some(BO_KEY), Some(json!({"credential_configuration_id": "nope", "person_id": person}))).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7006")));
        // An offer by reference is consumed by use.
        let (s, v) = n.api(reqwest::Method::POST, "/api/v1/credential-offers", Some(BO_KEY), Some(json!({"credential_configuration_id": "ehic", "person_id": person}))).await;
        assert_eq!(s, 201);
        let path = format!("/credential-offer/{}", v["offer_id"].as_str().unwrap());
        assert_eq!(n.api(reqwest::Method::GET, &path, None, None).await.0, 200);
        assert_eq!(n.api(reqwest::Method::GET, &path, None, None).await.0, 404);
        n.node.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_codes_tokens_and_nonces_are_refused() {
    for db in support::databases("esspass_n").await {
        let clock = std::sync::Arc::new(esspass_core::ShiftedClock::default());
        let n = start_node_with_clock(&db, clock.clone()).await;
        let person = n.person(true).await;
        let wallet = EcdsaP256Signer::generate().unwrap();
        let holder = EcdsaP256Signer::generate().unwrap();
        // An offer's code expires (default 900 s).
        let (old_code, old_tx) = n.offer(&person).await;
        let (code, tx) = n.offer(&person).await;
        let (s, tok) = n.token(&wallet, &code, &tx).await;
        assert_eq!(s, 200, "{tok}");
        let token = tok["access_token"].as_str().unwrap().to_owned();
        let c_nonce = n.nonce().await;
        // 16 minutes later: the access token (300 s), the c_nonce (300 s) and the unused code (900 s) are dead.
        clock.advance(16 * 60);
        let url = format!("{}/credential", n.url);
        let body = json!({"credential_configuration_id": "ehic", "proofs": {"jwt": [key_proof(&holder, &n.url, &c_nonce)]}});
        let resp = n.client.post(&url).header("Authorization", format!("DPoP {token}")).header("DPoP", n.dpop(&wallet, "POST", &url, Some(&token))).json(&body).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        assert!(resp.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
        assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_token", "{db}: expired access token");
        // The DPoP nonce moved on too: proofs must carry the current one.
        let fresh = n.client.post(format!("{}/token", n.url)).send().await.unwrap().headers()["dpop-nonce"].to_str().unwrap().to_owned();
        assert_ne!(fresh, n.nonce, "the DPoP nonce rotates");
        let later = TestNode { nonce: fresh, shift: 16 * 60, ..n };
        let (s, v) = later.token(&wallet, &old_code, &old_tx).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")), "{db}: expired pre-authorized code");
        later.node.stop();
    }
}

/// The paper version of an issued credential is the document it was issued with, printed only for
/// the back office and case workers, and every print is in the audit trail (who, whose document);
/// the public revocation export names the revoked document by its truncated hash only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_prints_are_the_issued_document_and_audited() {
    use esspass_credential::Signer;
    for db in support::databases("esspass_n").await {
        let n = start_node(&db).await;
        let person = n.person(true).await;
        let holder = EcdsaP256Signer::generate().unwrap();
        let (_, row) = n.node.state.issuer.issue_for(esspass_core::CredentialType::Ehic, &person, &holder.public_jwk(), now()).await.unwrap();
        let path = format!("/api/v1/credentials/{}/paper?format=text", row.credential_id);
        let (s, v) = n.api(reqwest::Method::GET, &path, Some(AUDITOR_KEY), None).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7002")), "{v}");
        let (s, text) = n.api(reqwest::Method::GET, &path, Some(BO_KEY), None).await;
        assert_eq!(s, 200, "{text}");
        // The QR carries the document as issued: the same number, the holder's name.
        let signer_cert = esspass_credential::x509::Certificate::from_pem(&std::fs::read_to_string(n.pki.join("institutions/si-zzzs/chain.pem")).unwrap()).unwrap();
        let trusted = |k: &[u8]| (esspass_paper::kid(&signer_cert.der) == k).then(|| esspass_paper::TrustedSigner { certificate: signer_cert.clone(), types: vec![esspass_core::CredentialType::Ehic] });
        let report = esspass_paper::verify(text.as_str().unwrap(), &trusted, now()).unwrap();
        assert_eq!(report.claims["document_number"], row.document_number);
        assert_eq!(report.claims["personal_administrative_number"].as_str().unwrap().len(), 12);
        let (s, audit) = n.api(reqwest::Method::GET, "/api/v1/audit?limit=1000", Some(AUDITOR_KEY), None).await;
        assert_eq!(s, 200);
        let prints: Vec<&Value> = audit["records"].as_array().unwrap().iter().filter(|r| r["action"] == "print_paper").collect();
        assert_eq!(prints.len(), 1, "{audit}");
        assert_eq!((prints[0]["actor"].as_str(), prints[0]["subject"].as_str()), (Some("api:back-office"), Some(person.as_str())), "{audit}");
        // The export lists nothing, then the revoked document's hash, and never a document number.
        let export = |n: &TestNode| {
            let c = n.client.clone();
            let url = format!("{}/revocations", n.url);
            async move { c.get(url).send().await.unwrap().text().await.unwrap() }
        };
        let issuers = match esspass_credential::trust::TrustedList::verify(std::fs::read_to_string(n.pki.join("trusted-lists/issuers.jwt")).unwrap().trim(), &esspass_credential::x509::ChainValidator::new(vec![n.root.clone()]), now()).unwrap().body {
            esspass_credential::trust::ListBody::Issuers { issuers } => issuers,
            _ => unreachable!(),
        };
        let chains = esspass_credential::x509::ChainValidator::new(vec![n.root.clone()]);
        let e = esspass_paper::bundle::RevocationExport::verify(&export(&n).await, &chains, &issuers, now()).unwrap();
        assert!(e.revoked.is_empty() && e.suspended.is_empty() && e.status_lists.len() == 1, "{e:?}");
        let (s, _) = n.api(reqwest::Method::POST, &format!("/api/v1/credentials/{}/suspend", row.credential_id), Some(BO_KEY), None).await;
        assert_eq!(s, 200);
        let jws = export(&n).await;
        assert!(!jws.contains(&row.document_number));
        let e = esspass_paper::bundle::RevocationExport::verify(&jws, &chains, &issuers, now()).unwrap();
        assert_eq!(e.suspended, vec![esspass_paper::bundle::document_hash(&row.document_number)]);
        let (s, v) = n.api(reqwest::Method::GET, &path, Some(BO_KEY), None).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-8017")), "no paper while suspended: {v}");
        n.node.stop();
    }
}
