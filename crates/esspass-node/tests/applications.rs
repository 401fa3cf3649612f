//! A1 applications end to end over HTTPS (SQLite; PostgreSQL when `ESSPASS_TEST_POSTGRES` is set):
//! an employer applies, the rules engine decides the clear case at once and the PDA1 is issued;
//! an unclear case waits for a case worker and the PDA1 follows by deferred issuance; a refusal
//! ends in `credential_request_denied`; employers see only their own workers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use esspass_credential::EcdsaP256Signer;
use esspass_credential::verify::Outcome;
use esspass_credential::x509::Certificate;
use esspass_wallet::{Oid4vciClient, Redeemed};
use serde_json::{Value, json};
use std::path::PathBuf;

const BO: &str = "bo-a1-key-0123456789";
const EMPLOYER: &str = "employer-yiannis-key-0123456789";
const OTHER_EMPLOYER: &str = "employer-other-key-0123456789";
const CASE_WORKER: &str = "case-worker-key-0123456789";

struct T {
    node: esspass_node::node::RunningNode,
    c: reqwest::Client,
    url: String,
    pki: PathBuf,
    root: Certificate,
}

async fn start(db: &str) -> T {
    let support::Setup { pki, listener, url, root } = support::setup("el-efka");
    let h = esspass_store::hash_secret;
    let cfg = format!(
        "role = \"institution\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{url}\"\ndatabase = \"{db}\"\n\n[institution]\nid = \"EL:EFKA01\"\nname = \"e-EFKA\"\ncountry = \"GR\"\nsigning_key = \"institutions/el-efka/signing.key\"\nchain = \"institutions/el-efka/chain.pem\"\ntls_key = \"institutions/el-efka/tls.key\"\ntls_chain = \"institutions/el-efka/tls-chain.pem\"\ncredential_types = [\"pda1\"]\n\n[status]\nlist_size = 65536\n\n[[api_keys]]\nname = \"bo\"\nrole = \"back_office\"\nsha256 = \"{}\"\n\n[[api_keys]]\nname = \"yiannis\"\nrole = \"employer\"\nemployer_id = \"EL094019245\"\nsha256 = \"{}\"\n\n[[api_keys]]\nname = \"other\"\nrole = \"employer\"\nemployer_id = \"EL000000001\"\nsha256 = \"{}\"\n\n[[api_keys]]\nname = \"case-worker\"\nrole = \"case_worker\"\nsha256 = \"{}\"\n",
        h(BO),
        h(EMPLOYER),
        h(OTHER_EMPLOYER),
        h(CASE_WORKER)
    );
    std::fs::write(pki.join("node.toml"), cfg).unwrap();
    let node = esspass_node::node::start(esspass_node::config::NodeConfig::load(&pki.join("node.toml")).unwrap(), Some(listener)).await.unwrap();
    let c = support::client(&root);
    T { node, c, url, pki, root }
}

impl T {
    async fn api(&self, method: reqwest::Method, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.c.request(method, format!("{}{path}", self.url)).bearer_auth(key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let s = resp.status().as_u16();
        (s, resp.json().await.unwrap_or(Value::Null))
    }

    async fn verify(&self, credential: &str) -> esspass_credential::verify::Report {
        support::verify(&self.c, &self.url, &self.pki, &self.root, credential).await
    }
}

fn posting(months: i32) -> Value {
    support::georgios_posting(months)
}

/// A 12-month posting whose employer achieves only 20 % of its turnover in GR: an indicator that calls
/// for an overall assessment (987/2009 Art 14(2)), so a case worker decides.
fn unclear_posting() -> Value {
    let mut v = posting(12);
    v["activities"][0]["employer"]["substantial_activity"]["turnover_share"] = json!(0.2);
    v
}

fn work() -> Value {
    json!({"work_address": [{"street_address": "Via Torino", "house_number": "40", "postal_code": "20123", "locality": "Milano", "country": "IT"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_case_issued_at_once_unclear_case_deferred_until_a_case_worker_decides() {
    for db in support::databases("esspass_a").await {
        let t = start(&db).await;
        let (s, p) = t.api(reqwest::Method::POST, "/api/v1/persons", BO, Some(json!({"personal_number": "12038501234", "family_name": "Papadopoulos", "given_name": "Georgios", "birth_date": "1985-03-12", "employer_id": "EL094019245", "employment_start": "2015-09-01"}))).await;
        assert_eq!(s, 201, "{p}");
        let person = p["person_id"].as_str().unwrap().to_owned();
        let wallet = Oid4vciClient::new(std::slice::from_ref(&t.root.der)).unwrap();

        // Clear case: 12 months → Art 12(1), determined by the engine, PDA1 at once.
        let (s, app) = t.api(reqwest::Method::POST, "/api/v1/applications/a1", EMPLOYER, Some(json!({"person_id": person, "application": posting(12), "work_information": work()}))).await;
        assert_eq!(s, 201, "{app}");
        assert_eq!(app["state"], "determined");
        assert_eq!(app["decided_by"], "rules-engine");
        let app_id = app["application_id"].as_str().unwrap().to_owned();
        // Another employer sees nothing of it and cannot apply for this worker.
        let (s, v) = t.api(reqwest::Method::GET, &format!("/api/v1/applications/{app_id}"), OTHER_EMPLOYER, None).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7009")));
        let (s, v) = t.api(reqwest::Method::POST, "/api/v1/applications/a1", OTHER_EMPLOYER, Some(json!({"person_id": person, "application": posting(12), "work_information": work()}))).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7009")));
        let (s, v) = t.api(reqwest::Method::POST, "/api/v1/credential-offers", OTHER_EMPLOYER, Some(json!({"credential_configuration_id": "pda1", "person_id": person, "application_id": app_id}))).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7009")));
        // The transaction code never goes to the employer: without sign-in on this node an
        // employer cannot hand over an offer; the back office offers and gives the code to Georgios.
        let (s, v) = t.api(reqwest::Method::POST, "/api/v1/credential-offers", EMPLOYER, Some(json!({"credential_configuration_id": "pda1", "person_id": person, "application_id": app_id}))).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7016")), "{v}");
        assert!(v.get("tx_code").is_none());
        let (s, offer) = t.api(reqwest::Method::POST, "/api/v1/credential-offers", BO, Some(json!({"credential_configuration_id": "pda1", "person_id": person, "application_id": app_id}))).await;
        assert_eq!(s, 201, "{offer}");
        let o = wallet.resolve_offer(offer["credential_offer_uri"].as_str().unwrap()).await.unwrap();
        let (dpop, holder) = (EcdsaP256Signer::generate().unwrap(), EcdsaP256Signer::generate().unwrap());
        let creds = wallet.redeem(&o, offer["tx_code"].as_str(), &dpop, &[&holder]).await.unwrap();
        let r = t.verify(&creds[0]).await;
        assert_eq!(r.outcome, Outcome::Valid, "{}", serde_json::to_string_pretty(&r).unwrap());
        let claims = r.claims.unwrap();
        assert_eq!((claims["legislation_country"].as_str(), claims["status_confirmation"].as_str()), (Some("GR"), Some("01")));
        assert_eq!(claims["employer"][0]["id"], "EL094019245");
        assert_eq!(claims["issuing_authority"]["id"], "EL:EFKA01");

        // Unclear case: a substantial-activity indicator → manual review; the PDA1 is deferred until a
        // case worker decides.
        let (s, app) = t.api(reqwest::Method::POST, "/api/v1/applications/a1", EMPLOYER, Some(json!({"person_id": person, "application": unclear_posting(), "work_information": work()}))).await;
        assert_eq!(s, 201);
        assert_eq!(app["state"], "pending_review");
        let pending_id = app["application_id"].as_str().unwrap().to_owned();
        assert!(app["decision"]["reasons"].as_array().unwrap().iter().any(|r| r["effect"] == "review"), "the reasons name what a person must look at");
        let (s, offer) = t.api(reqwest::Method::POST, "/api/v1/credential-offers", BO, Some(json!({"credential_configuration_id": "pda1", "person_id": person, "application_id": pending_id}))).await;
        assert_eq!(s, 201, "{offer}");
        let o = wallet.resolve_offer(offer["credential_offer_uri"].as_str().unwrap()).await.unwrap();
        let pending = match wallet.redeem_or_defer(&o, offer["tx_code"].as_str(), &dpop, &[&holder]).await.unwrap() {
            Redeemed::Deferred(p) => p,
            Redeemed::Issued(_) => panic!("{db}: issued before a case worker decided"),
        };
        assert!(pending.interval > 0);
        assert!(matches!(wallet.collect(&pending, &dpop).await.unwrap(), Redeemed::Deferred(_)), "still pending");
        // The case worker's queue; a back-office key may not decide.
        let (s, v) = t.api(reqwest::Method::GET, "/api/v1/tasks", BO, None).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7002")));
        let (s, queue) = t.api(reqwest::Method::GET, "/api/v1/tasks", CASE_WORKER, None).await;
        assert_eq!(s, 200);
        assert!(queue.as_array().unwrap().iter().any(|a| a["application_id"] == pending_id.as_str()));
        let (s, decided) = t.api(reqwest::Method::POST, &format!("/api/v1/applications/{pending_id}/decision"), CASE_WORKER, Some(json!({"approve": true, "note": "overall assessment: substantial activity in GR established"}))).await;
        assert_eq!(s, 200, "{decided}");
        assert_eq!((decided["state"].as_str(), decided["decided_by"].as_str()), (Some("approved"), Some("api:case-worker")));
        assert!(decided["decided_at"].as_i64().is_some());
        let (s, _) = t.api(reqwest::Method::POST, &format!("/api/v1/applications/{pending_id}/decision"), CASE_WORKER, Some(json!({"approve": false, "note": "again"}))).await;
        assert_eq!(s, 409, "decided once");
        let creds = match wallet.collect(&pending, &dpop).await.unwrap() {
            Redeemed::Issued(c) => c,
            Redeemed::Deferred(_) => panic!("still deferred after the decision"),
        };
        let r = t.verify(&creds[0]).await;
        assert_eq!(r.outcome, Outcome::Valid);
        assert_eq!(r.claims.unwrap()["status_confirmation"], "01", "the approval starts from the engine's legally supported outcome (Art 12(1))");
        assert!(wallet.collect(&pending, &dpop).await.is_err(), "a transaction delivers once");

        // A refusal ends the deferred issuance with credential_request_denied.
        let (_, app) = t.api(reqwest::Method::POST, "/api/v1/applications/a1", EMPLOYER, Some(json!({"person_id": person, "application": unclear_posting(), "work_information": work()}))).await;
        let refused_id = app["application_id"].as_str().unwrap().to_owned();
        let (_, offer) = t.api(reqwest::Method::POST, "/api/v1/credential-offers", BO, Some(json!({"credential_configuration_id": "pda1", "person_id": person, "application_id": refused_id}))).await;
        let o = wallet.resolve_offer(offer["credential_offer_uri"].as_str().unwrap()).await.unwrap();
        let Redeemed::Deferred(pending) = wallet.redeem_or_defer(&o, offer["tx_code"].as_str(), &dpop, &[&holder]).await.unwrap() else { panic!() };
        let (s, _) = t.api(reqwest::Method::POST, &format!("/api/v1/applications/{refused_id}/decision"), CASE_WORKER, Some(json!({"approve": false, "note": "no agreement"}))).await;
        assert_eq!(s, 200);
        match wallet.collect(&pending, &dpop).await {
            Err(esspass_wallet::WalletError::Issuer { status, body }) => assert_eq!((status, body["error"].as_str()), (400, Some("credential_request_denied"))),
            other => panic!("{other:?}"),
        }
        // Invalid input: every problem with its path.
        let mut bad = posting(12);
        bad["activities"][0]["states"][0]["working_time_share"] = json!(1.5);
        let (s, v) = t.api(reqwest::Method::POST, "/api/v1/applications/a1", EMPLOYER, Some(json!({"person_id": person, "application": bad, "work_information": work()}))).await;
        assert_eq!(s, 400);
        assert!(v["detail"].as_str().unwrap().contains("$.activities[0].states[0].working_time_share"), "{v}");
        let (s, _) = t.api(reqwest::Method::POST, "/api/v1/applications/a1", EMPLOYER, Some(json!({"person_id": person, "application": posting(12), "work_information": {}}))).await;
        assert_eq!(s, 400);
        t.node.stop();
    }
}

/// An adverse automatic decision says it is contestable; contested (by the employer that submitted),
/// it reaches the case workers' queue with the engine's reasons; an approval that departs from what
/// the reasons allow needs an override reason (`ESP-7018`), an Art 16 exception the other state's
/// agreement (`ESP-7019`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adverse_automatic_decision_contested_reaches_the_queue_and_overrides_need_a_reason() {
    for db in support::databases("esspass_c").await {
        let t = start(&db).await;
        let (s, p) = t.api(reqwest::Method::POST, "/api/v1/persons", BO, Some(json!({"personal_number": "12038501235", "family_name": "Papadopoulos", "given_name": "Georgios", "birth_date": "1985-03-12", "employer_id": "EL094019245", "employment_start": "2015-09-01"}))).await;
        assert_eq!(s, 201, "{p}");
        let person = p["person_id"].as_str().unwrap().to_owned();
        let submit = |a: Value| json!({"person_id": person, "application": a, "work_information": work()});

        // 30 months anticipated: the law gives Italian legislation (Art 11(3)(a)), decided at once.
        let (s, app) = t.api(reqwest::Method::POST, "/api/v1/applications/a1", EMPLOYER, Some(submit(posting(30)))).await;
        assert_eq!(s, 201, "{app}");
        assert_eq!((app["state"].as_str(), app["final_decision"]["competent_state"].as_str()), (Some("not_competent"), Some("IT")), "{app}");
        assert_eq!(app["decision"]["contestable"], true, "{app}");
        assert!(app["decision"]["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "R-12-1-DURATION-EXCEEDED" && r["effect"] == "not_met"));
        let id = app["application_id"].as_str().unwrap().to_owned();
        let contest_path = format!("/api/v1/applications/{id}/contest");

        // Only the back office and the submitting employer may contest; a reason is required.
        let (s, v) = t.api(reqwest::Method::POST, &contest_path, OTHER_EMPLOYER, Some(json!({"reason": "not ours"}))).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7009")), "{v}");
        let (s, v) = t.api(reqwest::Method::POST, &contest_path, CASE_WORKER, Some(json!({"reason": "x"}))).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7002")), "{v}");
        let (s, _) = t.api(reqwest::Method::POST, &contest_path, EMPLOYER, Some(json!({"reason": "  "}))).await;
        assert_eq!(s, 400);
        let (s, contested) = t.api(reqwest::Method::POST, &contest_path, EMPLOYER, Some(json!({"reason": "the work will end within 24 months; the contract end date was mistyped"}))).await;
        assert_eq!(s, 200, "{contested}");
        assert_eq!(contested["state"], "pending_review");
        assert!(contested["decision_note"].as_str().unwrap().contains("mistyped"));
        let (s, v) = t.api(reqwest::Method::POST, &contest_path, EMPLOYER, Some(json!({"reason": "again"}))).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7020")), "contested once: {v}");

        // It is in the queue, with the engine's reasons.
        let (s, queue) = t.api(reqwest::Method::GET, "/api/v1/tasks", CASE_WORKER, None).await;
        assert_eq!(s, 200);
        let item = queue.as_array().unwrap().iter().find(|a| a["application_id"] == id.as_str()).cloned().expect("the contested application is in the queue");
        assert!(item["decision"]["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "R-12-1-DURATION-EXCEEDED"), "{item}");

        // A decision that gives what was asked is not contestable.
        let (_, clear) = t.api(reqwest::Method::POST, "/api/v1/applications/a1", EMPLOYER, Some(submit(posting(12)))).await;
        assert_eq!(clear["state"], "determined");
        let (s, v) = t.api(reqwest::Method::POST, &format!("/api/v1/applications/{}/contest", clear["application_id"].as_str().unwrap()), BO, Some(json!({"reason": "why not"}))).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7020")), "{v}");

        // Approving GR under Art 12(1), which the reasons exclude, needs an override reason.
        let decision_path = format!("/api/v1/applications/{id}/decision");
        let (s, v) = t.api(reqwest::Method::POST, &decision_path, CASE_WORKER, Some(json!({"approve": true, "legislation_country": "GR", "status_confirmation": "01", "article": "883/2004 Art 12(1)", "note": "posting"}))).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7018")), "{v}");
        // An Art 16 exception is never approved on one side's say-so.
        let exception = json!({"approve": true, "legislation_country": "GR", "status_confirmation": "11", "article": "883/2004 Art 16(1)", "note": "exception", "override_reason": "exception agreed for the project"});
        let (s, v) = t.api(reqwest::Method::POST, &decision_path, CASE_WORKER, Some(exception.clone())).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7019")), "{v}");
        let mut agreed = exception;
        agreed["agreement"] = json!({"state": "IT", "sed": "A011", "date": "2026-12-20", "reference": "IT-INPS-LA-2026-0042"});
        let (s, decided) = t.api(reqwest::Method::POST, &decision_path, CASE_WORKER, Some(agreed)).await;
        assert_eq!(s, 200, "{decided}");
        assert_eq!((decided["state"].as_str(), decided["final_decision"]["status_confirmation"].as_str()), (Some("approved"), Some("11")), "{decided}");
        assert_eq!(decided["final_decision"]["override_reason"], "exception agreed for the project");
        assert_eq!(decided["final_decision"]["agreement"]["sed"], "A011");
        t.node.stop();
    }
}
