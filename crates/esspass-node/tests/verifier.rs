//! The verifier role over real HTTPS on 127.0.0.1, beside an institution node: every refusal of
//! issue 9 with its code, and nothing stored as verified — a replayed response, a wrong nonce or
//! audience, a response for another transaction, disclosures beyond the query, a missing holder
//! binding, an expired transaction, a tampered or wrongly encrypted response; a request signed by a
//! verifier not in the Verifier Trusted List (the wallet refuses it); a profile asking beyond its
//! registration (the node does not start); suspension and reinstatement; an unreachable issuer
//! (cached status within the maximum age, and beyond it "could not check").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use esspass_credential::sdjwt::SdJwt;
use esspass_credential::x509::ChainValidator;
use esspass_credential::{EcdsaP256Signer, Signer, b64};
use esspass_node::verifier::RunningVerifier;
use esspass_wallet::present::{CheckedRequest, check_request, plan, response_body};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use support::now;

const BO_KEY: &str = "bo-verifier-test-key-0123456789";
const DESK_KEY: &str = "desk-verifier-test-key-0123456789";

struct World {
    institution: std::sync::Mutex<Option<esspass_node::node::RunningNode>>,
    inst: esspass_node::http::AppState,
    verifier: RunningVerifier,
    vurl: String,
    client: reqwest::Client,
    pki: std::path::PathBuf,
    chains: ChainValidator,
    vtl: esspass_credential::trust::TrustedList,
    clock: Arc<esspass_core::ShiftedClock>,
}

fn verifier_toml(pki: &Path, port: u16, db: &str, profiles: &str) -> std::path::PathBuf {
    let cfg = format!(
        "role = \"verifier\"\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"https://127.0.0.1:{port}\"\ndatabase = \"{db}\"\nsecret_file = \"verifier.secret\"\n\n[verifier]\nid = \"ES-HULP\"\nname = \"Hospital Universitario La Paz\"\nsigning_key = \"verifiers/es-hospital/signing.key\"\nchain = \"verifiers/es-hospital/chain.pem\"\ntls_key = \"verifiers/es-hospital/tls.key\"\ntls_chain = \"verifiers/es-hospital/tls-chain.pem\"\n\n[trust]\nanchor = \"root/ca.pem\"\nissuer_list = \"trusted-lists/issuers.jwt\"\nverifier_list = \"trusted-lists/verifiers.jwt\"\n\n[verification]\nstatus_max_age = 600\n\n{profiles}\n[[api_keys]]\nname = \"desk\"\nrole = \"verifier\"\nsha256 = \"{}\"\n",
        esspass_store::hash_secret(DESK_KEY)
    );
    let path = pki.join(format!("verifier-{port}.toml"));
    std::fs::write(&path, cfg).unwrap();
    path
}

const PROFILES: &str = "[[profiles]]\nname = \"ehic-healthcare\"\ncredential_type = \"ehic\"\nclaims = [[\"issuing_authority\"], [\"authentic_source\"], [\"document_number\"], [\"personal_administrative_number\"], [\"date_of_issuance\"], [\"date_of_expiry\"], [\"starting_date\"], [\"ending_date\"]]\npolicy_version = \"2026-1\"\n\n[[profiles]]\nname = \"ehic-number-only\"\ncredential_type = \"ehic\"\nclaims = [[\"issuing_authority\"], [\"document_number\"], [\"starting_date\"], [\"ending_date\"]]\npolicy_version = \"2026-1\"\n";

async fn world(db: &str) -> World {
    let support::Setup { pki, listener, url, root } = support::setup("si-zzzs");
    let cfg = format!(
        "role = \"institution\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{url}\"\ndatabase = \"{db}\"\n\n[institution]\nid = \"SI:ZZZS\"\nname = \"ZZZS\"\ncountry = \"SI\"\nsigning_key = \"institutions/si-zzzs/signing.key\"\nchain = \"institutions/si-zzzs/chain.pem\"\ntls_key = \"institutions/si-zzzs/tls.key\"\ntls_chain = \"institutions/si-zzzs/tls-chain.pem\"\ncredential_types = [\"ehic\"]\n\n[status]\nlist_size = 65536\nttl = 1\n\n[[api_keys]]\nname = \"back-office\"\nrole = \"back_office\"\nsha256 = \"{}\"\n",
        esspass_store::hash_secret(BO_KEY)
    );
    std::fs::write(pki.join("esspass.toml"), cfg).unwrap();
    let institution = esspass_node::node::start(esspass_node::config::NodeConfig::load(&pki.join("esspass.toml")).unwrap(), Some(listener)).await.unwrap();
    let vlistener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = vlistener.local_addr().unwrap().port();
    let vdb = db.replace("node.db", "verifier.db");
    let vcfg = esspass_node::verifier::config::VerifierConfig::load(&verifier_toml(&pki, port, &vdb, PROFILES)).unwrap();
    let clock = Arc::new(esspass_core::ShiftedClock::default());
    let verifier = esspass_node::verifier::start_with_clock(vcfg, Some(vlistener), clock.clone()).await.unwrap();
    let chains = ChainValidator::new(vec![root.clone()]);
    let vtl = esspass_credential::trust::TrustedList::verify(std::fs::read_to_string(pki.join("trusted-lists/verifiers.jwt")).unwrap().trim(), &chains, now()).unwrap();
    World { inst: institution.state.clone(), institution: std::sync::Mutex::new(Some(institution)), verifier, vurl: format!("https://127.0.0.1:{port}"), client: support::client(&root), pki, chains, vtl, clock }
}

impl World {
    async fn ehic(&self) -> (SdJwt, EcdsaP256Signer, esspass_store::CredentialRow) {
        let s = &self.inst;
        let rec = json!({"personal_number": format!("SI{:010}", support::unique()), "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "coverage_kind": "health", "coverage_start": "2020-01-01"});
        let resp = self.client.post(format!("{}/api/v1/persons", s.cfg.public_url)).bearer_auth(BO_KEY).json(&rec).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let person: Value = resp.json().await.unwrap();
        let holder = EcdsaP256Signer::generate().unwrap();
        let (sd, row) = s.issuer.issue_for(esspass_core::CredentialType::Ehic, person["person_id"].as_str().unwrap(), &holder.public_jwk(), now()).await.unwrap();
        (SdJwt::parse(&sd).unwrap(), holder, row)
    }

    async fn desk(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.client.request(method, format!("{}{path}", self.vurl)).bearer_auth(DESK_KEY);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let s = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (s, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A new transaction and the wallet's check of its request.
    async fn transaction(&self, profile: &str) -> (String, CheckedRequest) {
        let (s, tx) = self.desk(reqwest::Method::POST, "/api/v1/verifications", Some(json!({"profile": profile}))).await;
        assert_eq!(s, 201, "{tx}");
        let (client_id, request_uri, _) = esspass_wallet::present::parse_link(tx["authorization_request"].as_str().unwrap()).unwrap();
        let jwt = self.client.get(&request_uri).send().await.unwrap().text().await.unwrap();
        let req = check_request(&jwt, &client_id, &self.chains, &self.vtl, now()).unwrap();
        (tx["transaction_id"].as_str().unwrap().to_owned(), req)
    }

    async fn post(&self, req: &CheckedRequest, body: String) -> (u16, Value) {
        let resp = self.client.post(&req.response_uri).header("Content-Type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
        let s = resp.status().as_u16();
        (s, resp.json().await.unwrap_or(Value::Null))
    }

    async fn state(&self, id: &str) -> Value {
        self.desk(reqwest::Method::GET, &format!("/api/v1/verifications/{id}"), None).await.1
    }

    fn answer(&self, req: &CheckedRequest, sd: &SdJwt, holder: &EcdsaP256Signer) -> String {
        self.answer_at(req, sd, holder, now())
    }

    fn answer_at(&self, req: &CheckedRequest, sd: &SdJwt, holder: &EcdsaP256Signer, at: i64) -> String {
        let (selected, _) = plan(req, sd).unwrap();
        response_body(req, selected, holder, at).unwrap()
    }
}

/// An encrypted answer with `fields` as the JWE payload, to the request's key.
fn encrypted(req: &CheckedRequest, fields: &Value) -> String {
    let (key, enc) = req.encryption.as_ref().unwrap();
    let jwe = esspass_credential::jwe::encrypt(&serde_json::to_vec(fields).unwrap(), key, enc, b"", b"").unwrap();
    format!("response={}", url::form_urlencoded::byte_serialize(jwe.as_bytes()).collect::<String>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_has_its_code_and_nothing_is_stored_as_verified() {
    for db in support::databases("esspass_v").await {
        let w = world(&db).await;
        let (sd, holder, _) = w.ehic().await;

        // The good answer, then the same body again: answered once.
        let (id, req) = w.transaction("ehic-healthcare").await;
        let body = w.answer(&req, &sd, &holder);
        assert_eq!(w.post(&req, body.clone()).await.0, 200);
        assert_eq!(w.state(&id).await["state"], "verified");
        let (s, v) = w.post(&req, body).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7104")), "{v}");

        // Wrong nonce, wrong audience: the holder binding fails; the transaction is rejected, not verified.
        for (case, change) in [("nonce", 0), ("aud", 1)] {
            let (id, mut req) = w.transaction("ehic-healthcare").await;
            if change == 0 {
                req.nonce = "another-nonce".into();
            } else {
                req.client_id = "x509_hash:someone-else".into();
            }
            let body = w.answer(&req, &sd, &holder);
            assert_eq!(w.post(&req, body).await.0, 200, "{case}: answered, then judged");
            let st = w.state(&id).await;
            assert_eq!((st["state"].as_str(), st["outcome"].as_str()), (Some("rejected"), Some("invalid")), "{case}: {st}");
            assert!(st["code"].as_str().unwrap().starts_with("ESP-50"), "{case}: a holder-binding code: {st}");
            assert!(st["claims"].is_null(), "{case}");
        }

        // A response for another transaction (its state): refused, both stay pending.
        let (a, req_a) = w.transaction("ehic-healthcare").await;
        let (b, req_b) = w.transaction("ehic-healthcare").await;
        let mut crossed = req_a.clone();
        crossed.response_uri = req_b.response_uri.clone();
        crossed.encryption = req_b.encryption.clone();
        let (s, v) = w.post(&crossed, w.answer(&crossed, &sd, &holder)).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7105")), "{v}");
        assert_eq!((w.state(&a).await["state"].as_str(), w.state(&b).await["state"].as_str()), (Some("pending"), Some("pending")));

        // Disclosures beyond the query: the personal number to a profile that does not ask for it.
        let (id, mut req) = w.transaction("ehic-number-only").await;
        req.paths.push(vec![esspass_credential::type_metadata::Selector::Key("personal_administrative_number".into())]);
        assert_eq!(w.post(&req, w.answer(&req, &sd, &holder)).await.0, 200);
        let st = w.state(&id).await;
        assert_eq!((st["state"].as_str(), st["code"].as_str()), (Some("rejected"), Some("ESP-7109")), "{st}");

        // No holder binding: the credential without a KB-JWT.
        let (id, req) = w.transaction("ehic-healthcare").await;
        let (selected, _) = plan(&req, &sd).unwrap();
        let fields = json!({"vp_token": {req.query_id.clone(): [selected.serialize()]}, "state": req.state});
        assert_eq!(w.post(&req, encrypted(&req, &fields)).await.0, 200);
        let st = w.state(&id).await;
        assert_eq!((st["state"].as_str(), st["code"].as_str()), (Some("rejected"), Some("ESP-5001")), "{st}");

        // A tampered ciphertext; an answer encrypted to another key; a plain answer where the
        // profile requires encryption; garbage.
        let (id, req) = w.transaction("ehic-healthcare").await;
        let body = w.answer(&req, &sd, &holder);
        let jwe: String = url::form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == "response").unwrap().1.into_owned();
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        let ct = parts[3].clone();
        parts[3] = format!("{}{}", if ct.starts_with('A') { 'B' } else { 'A' }, &ct[1..]);
        let tampered = format!("response={}", url::form_urlencoded::byte_serialize(parts.join(".").as_bytes()).collect::<String>());
        let (s, v) = w.post(&req, tampered).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7106")), "{v}");
        let other = aws_lc_rs::agreement::PrivateKey::generate(&aws_lc_rs::agreement::ECDH_P256).unwrap();
        let op = other.compute_public_key().unwrap();
        let op = op.as_ref();
        let mut wrong = req.clone();
        let kid = req.encryption.as_ref().unwrap().0["kid"].clone();
        wrong.encryption = Some((json!({"kty": "EC", "crv": "P-256", "x": b64::encode(&op[1..33]), "y": b64::encode(&op[33..65]), "kid": kid}), "A128GCM".into()));
        let (s, v) = w.post(&req, w.answer(&wrong, &sd, &holder)).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7106")), "{v}");
        let mut plain = req.clone();
        plain.encryption = None;
        let (s, v) = w.post(&req, w.answer(&plain, &sd, &holder)).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7107")), "{v}");
        let (s, v) = w.post(&req, "response=not.a.jwe".into()).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7106")), "{v}");
        assert_eq!(w.state(&id).await["state"], "pending", "none of these answered the transaction");

        // An expired transaction: the request is gone, and so is the chance to answer.
        let (id, req) = w.transaction("ehic-healthcare").await;
        w.clock.advance(400);
        let (s, v) = w.post(&req, w.answer(&req, &sd, &holder)).await;
        assert_eq!((s, v["code"].as_str()), (410, Some("ESP-7103")), "{v}");
        assert_eq!(w.state(&id).await["state"], "expired");
        w.clock.advance(-400);

        // Unknown transaction, unknown profile, no key.
        assert_eq!(w.client.get(format!("{}/request/nope", w.vurl)).send().await.unwrap().status().as_u16(), 404);
        assert_eq!(w.desk(reqwest::Method::POST, "/api/v1/verifications", Some(json!({"profile": "x"}))).await.1["code"], "ESP-7101");
        assert_eq!(w.client.post(format!("{}/api/v1/verifications", w.vurl)).json(&json!({"profile": "ehic-healthcare"})).send().await.unwrap().status().as_u16(), 401);
        w.verifier.stop();
        w.institution.lock().unwrap().take().unwrap().stop();
    }
}

/// The wallet refuses a request signed by someone not in the Verifier Trusted List (here an
/// institution's key, with a correct x509_hash client id), and a request for more than the
/// verifier's registration; the node refuses to start with a profile beyond its registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_requests_and_profiles_beyond_registration_are_refused() {
    let db = support::databases("esspass_v").await.remove(0);
    let w = world(&db).await;
    let (_, req) = w.transaction("ehic-healthcare").await;
    let (client_id, request_uri, _) = esspass_wallet::present::parse_link(&esspass_node::verifier::protocol::authorization_link("x", &req.response_uri.replace("/response/", "/request/"))).unwrap();
    let _ = client_id;
    let jwt = w.client.get(&request_uri).send().await.unwrap().text().await.unwrap();
    // Re-signed by the institution: valid chain, not a listed verifier.
    let parsed = esspass_credential::jose::CompactJws::parse(&jwt).unwrap();
    let inst_key = esspass_keys::files::load_signer(&w.pki.join("institutions/si-zzzs/signing.key")).unwrap();
    let inst_chain = esspass_keys::files::load_chain(&w.pki.join("institutions/si-zzzs/chain.pem")).unwrap();
    let forged_id = format!("x509_hash:{}", b64::encode(esspass_credential::sha256(&inst_chain[0])));
    let mut payload = parsed.payload.clone();
    payload.insert("client_id".into(), json!(forged_id));
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("oauth-authz-req+jwt"));
    header.insert("x5c".into(), json!(inst_chain.iter().map(b64::encode_std).collect::<Vec<_>>()));
    let forged = esspass_credential::jose::sign_compact(&inst_key, header.clone(), &payload).unwrap();
    let e = check_request(&forged, &forged_id, &w.chains, &w.vtl, now()).unwrap_err();
    assert_eq!(e.code, esspass_core::ErrorCode::RequestUntrusted, "{e:?}");
    // The hospital's own key asking for more than its registration (the holder's names).
    let hosp_key = esspass_keys::files::load_signer(&w.pki.join("verifiers/es-hospital/signing.key")).unwrap();
    let hosp_chain = esspass_keys::files::load_chain(&w.pki.join("verifiers/es-hospital/chain.pem")).unwrap();
    let hosp_id = format!("x509_hash:{}", b64::encode(esspass_credential::sha256(&hosp_chain[0])));
    let mut greedy = parsed.payload.clone();
    greedy["dcql_query"]["credentials"][0]["claims"].as_array_mut().unwrap().push(json!({"path": ["subject"]}));
    header.insert("x5c".into(), json!(hosp_chain.iter().map(b64::encode_std).collect::<Vec<_>>()));
    let greedy = esspass_credential::jose::sign_compact(&hosp_key, header.clone(), &greedy).unwrap();
    let e = check_request(&greedy, &hosp_id, &w.chains, &w.vtl, now()).unwrap_err();
    assert_eq!(e.code, esspass_core::ErrorCode::RequestBeyondRegistration, "{e:?}");
    // The client id must be the certificate's.
    let e = check_request(&greedy, "x509_hash:AAAA", &w.chains, &w.vtl, now()).unwrap_err();
    assert_eq!(e.code, esspass_core::ErrorCode::RequestUntrusted, "{e:?}");
    // A node configured beyond its registration does not start.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let greedy_profile = "[[profiles]]\nname = \"ehic-everything\"\ncredential_type = \"ehic\"\nclaims = [[\"document_number\"], [\"subject\"]]\npolicy_version = \"1\"\n";
    let cfg = esspass_node::verifier::config::VerifierConfig::load(&verifier_toml(&w.pki, port, &db.replace("node.db", "greedy.db"), greedy_profile)).unwrap();
    let err = esspass_node::verifier::start(cfg, None).await.unwrap_err();
    assert!(err.starts_with("ESP-7111") && err.contains("subject"), "{err}");
}

/// Suspension shows as suspended, reinstatement as valid; an issuer that cannot be reached: the
/// cached list is used within the maximum age and the report says so; beyond it, "could not check".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_reinstatement_and_an_unreachable_issuer() {
    let db = support::databases("esspass_v").await.remove(0);
    let w = world(&db).await;
    let (sd, holder, row) = w.ehic().await;
    let bo = |action: &str| {
        let c = w.client.clone();
        let url = format!("{}/api/v1/credentials/{}/{action}", w.inst.cfg.public_url, row.credential_id);
        async move { c.post(url).bearer_auth(BO_KEY).send().await.unwrap().status().as_u16() }
    };
    let verify_at = |shift: i64| {
        let (w, sd, holder) = (&w, &sd, &holder);
        async move {
            let (id, req) = w.transaction("ehic-healthcare").await;
            assert_eq!(w.post(&req, w.answer_at(&req, sd, holder, now() + shift)).await.0, 200);
            w.state(&id).await
        }
    };
    let verify = || verify_at(0);
    assert_eq!(verify().await["outcome"], "valid");
    assert_eq!(bo("suspend").await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let st = verify().await;
    assert_eq!((st["outcome"].as_str(), st["code"].as_str()), (Some("invalid"), Some("ESP-4011")), "{st}");
    assert_eq!(bo("reinstate").await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let st = verify().await;
    assert_eq!((st["outcome"].as_str(), st["report"]["status"]["source"].as_str()), (Some("valid"), Some("fetched")), "{st}");
    // The issuer goes away: within the maximum age (600 s) the cached list is used and said to be.
    w.institution.lock().unwrap().take().unwrap().stop();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let st = verify().await;
    assert_eq!((st["outcome"].as_str(), st["report"]["status"]["source"].as_str()), (Some("valid"), Some("stale_cache")), "{st}");
    assert!(st["report"]["status"]["age_seconds"].as_i64().unwrap() >= 1, "{st}");
    // Beyond the maximum age: the status could not be checked, and the result says so.
    w.clock.advance(700);
    let st = verify_at(700).await;
    assert_ne!(st["outcome"], "valid", "{st}");
    assert_eq!(st["report"]["status"].get("value"), None, "{st}");
    let status_check = st["report"]["checks"].as_array().unwrap().iter().find(|c| c["id"] == "status").unwrap().clone();
    assert_eq!((status_check["result"].as_str(), status_check["code"].as_str()), (Some("error"), Some("ESP-4013")), "{st}");
}

/// Trusted lists by URL: the verifier reads both lists over HTTPS at start-up (trusting the anchor)
/// and again every `refresh_seconds`; a newer Issuer Trusted List replaces the one in use (an
/// institution taken off it is no longer trusted), an older one (rollback), one that does not verify
/// and an unreachable server leave the one in use; plain http is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_lists_by_url_are_refreshed_and_never_rolled_back() {
    let support::Setup { pki, listener, url, .. } = support::setup("si-zzzs");
    let served = pki.join("served");
    std::fs::create_dir_all(&served).unwrap();
    for f in ["issuers.jwt", "verifiers.jwt"] {
        std::fs::copy(pki.join("trusted-lists").join(f), served.join(f)).unwrap();
    }
    // The trust operator's publication point: static files over HTTPS.
    let dir = served.clone();
    let router = axum::Router::new().route(
        "/{file}",
        axum::routing::get(move |axum::extract::Path(file): axum::extract::Path<String>| {
            let dir = dir.clone();
            async move { std::fs::read_to_string(dir.join(file)).map_err(|_| axum::http::StatusCode::NOT_FOUND) }
        }),
    );
    let tls = esspass_node::tls::tls_config(&pki.join("institutions/si-zzzs/tls-chain.pem"), &pki.join("institutions/si-zzzs/tls.key")).unwrap();
    let (_, server) = esspass_node::tls::serve_listener_with(listener, tls, router, esspass_node::tls::ServeLimits::default()).unwrap();
    let vlistener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = vlistener.local_addr().unwrap().port();
    let toml = std::fs::read_to_string(verifier_toml(&pki, port, &format!("sqlite:{}", pki.join("v.db").display()), PROFILES))
        .unwrap()
        .replace("issuer_list = \"trusted-lists/issuers.jwt\"\nverifier_list = \"trusted-lists/verifiers.jwt\"\n", &format!("issuer_list = \"{url}/issuers.jwt\"\nverifier_list = \"{url}/verifiers.jwt\"\nrefresh_seconds = 10\n"));
    std::fs::write(pki.join("by-url.toml"), &toml).unwrap();
    let v = esspass_node::verifier::start(esspass_node::verifier::config::VerifierConfig::load(&pki.join("by-url.toml")).unwrap(), Some(vlistener)).await.unwrap();
    let listed = |v: &RunningVerifier| {
        let l = v.state.issuers.read().unwrap().clone();
        let ids: Vec<String> = match &l.body {
            esspass_credential::trust::ListBody::Issuers { issuers } => issuers.iter().map(|e| e.institution_id.clone()).collect(),
            esspass_credential::trust::ListBody::Verifiers { .. } | esspass_credential::trust::ListBody::Institutions { .. } => vec![],
        };
        (l.sequence, ids)
    };
    let (first, ids) = listed(&v);
    assert!(ids.contains(&"SI:ZZZS".to_owned()));
    // The operator publishes a newer list without ZZZS.
    let mut list: esspass_credential::trust::TrustedList = serde_json::from_str(&std::fs::read_to_string(pki.join("trusted-lists/issuers.json")).unwrap()).unwrap();
    let original = std::fs::read_to_string(served.join("issuers.jwt")).unwrap();
    list.sequence = first + 1;
    if let esspass_credential::trust::ListBody::Issuers { issuers } = &mut list.body {
        issuers.retain(|e| e.institution_id != "SI:ZZZS");
    }
    let operator = esspass_keys::files::load_signer(&pki.join("trust-operator/signing.key")).unwrap();
    let chain = esspass_keys::files::load_chain(&pki.join("trust-operator/chain.pem")).unwrap();
    std::fs::write(served.join("issuers.jwt"), list.sign(&operator, &chain).unwrap()).unwrap();
    // Not yet due: nothing read.
    v.state.refresh_lists(now() + 1).await;
    assert_eq!(listed(&v).0, first);
    v.state.refresh_lists(now() + 20).await;
    let (seq, ids) = listed(&v);
    assert_eq!(seq, first + 1);
    assert!(!ids.contains(&"SI:ZZZS".to_owned()), "{ids:?}");
    // The pipeline uses it at once: an EHIC signed by ZZZS is no longer from a listed issuer.
    let signer = esspass_keys::files::load_signer(&pki.join("institutions/si-zzzs/signing.key")).unwrap();
    let zchain = esspass_keys::files::load_chain(&pki.join("institutions/si-zzzs/chain.pem")).unwrap();
    let holder = EcdsaP256Signer::generate().unwrap();
    let claims: Value = serde_json::from_str(include_str!("../../../examples/ehic-claims.json")).unwrap();
    let sd = esspass_credential::vc::issue(&esspass_credential::vc::IssueRequest {
        credential_type: esspass_core::CredentialType::Ehic,
        claims: &claims,
        signer: &signer,
        x5c: &zchain,
        holder_jwk: &holder.public_jwk(),
        iss: Some(&url),
        iat: now() - 10,
        nbf: None,
        exp: None,
        status: None,
        decoys: false,
    })
    .unwrap();
    let pipeline = v.state.verifier.read().unwrap().clone();
    let r = pipeline.verify(&sd.serialize(), &esspass_credential::verify::Expectation::default(), time::OffsetDateTime::now_utc());
    let listed_check = r.check("trusted_list").unwrap();
    assert_eq!(listed_check.code.map(|c| c.code()), Some(esspass_core::ErrorCode::IssuerNotListed.code()), "{:#?}", r.checks);
    // Rollback to the older list: refused, the newer stays.
    std::fs::write(served.join("issuers.jwt"), &original).unwrap();
    v.state.refresh_lists(now() + 40).await;
    assert_eq!(listed(&v).0, first + 1);
    // Garbage, then the server gone: the list in use stays.
    std::fs::write(served.join("issuers.jwt"), "not a list").unwrap();
    v.state.refresh_lists(now() + 60).await;
    assert_eq!(listed(&v).0, first + 1);
    server.abort();
    v.state.refresh_lists(now() + 80).await;
    assert_eq!(listed(&v).0, first + 1);
    v.stop();
    // Plain http is not a source of trust.
    std::fs::write(pki.join("by-http.toml"), toml.replace(&format!("{url}/issuers.jwt"), "http://127.0.0.1:9/issuers.jwt")).unwrap();
    let err = esspass_node::verifier::start(esspass_node::verifier::config::VerifierConfig::load(&pki.join("by-http.toml")).unwrap(), Some(std::net::TcpListener::bind("127.0.0.1:0").unwrap())).await.unwrap_err();
    assert!(err.contains("https only"), "{err}");
}

/// The hospital's desk in the portal (issue 13): a wrong key is refused, the desk key signs in;
/// a verification started from the page shows its QR code and link; the wallet's answer turns the
/// page green with only the profile's claims and a proof to download; after a revocation the next
/// one is red and says why in plain words (Spanish here). Forms without the session's token and
/// pages without a session are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_verifies_in_the_portal_and_sees_green_or_red_in_plain_words() {
    let db = support::databases("esspass_v").await.remove(0);
    let w = world(&db).await;
    let (sd, holder, row) = w.ehic().await;
    let client = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_pem(std::fs::read_to_string(w.pki.join("root/ca.pem")).unwrap().as_bytes()).unwrap()]).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut cookies: Vec<(String, String)> = Vec::new();
    let send = async |cookies: &mut Vec<(String, String)>, r: reqwest::RequestBuilder| {
        let jar = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let resp = r.header("Cookie", jar).header("Accept-Language", "es-ES,es;q=0.9").send().await.unwrap();
        for c in resp.headers().get_all("set-cookie") {
            let (k, v) = c.to_str().unwrap().split(';').next().unwrap().split_once('=').unwrap();
            cookies.retain(|(n, _)| n != k);
            cookies.push((k.to_owned(), v.to_owned()));
        }
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, location, resp.text().await.unwrap())
    };
    let hidden = |page: &str, name: &str| page.split(&format!("name=\"{name}\" value=\"")).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let (s, _, page) = send(&mut cookies, client.get(format!("{}/portal", w.vurl))).await;
    assert!(s == 200 && page.contains("<html lang=\"es\">") && page.contains("Clave del puesto") && !page.contains("<script"), "{page}");
    assert!(cookies.iter().any(|(k, _)| k == "__Host-esspass-ESHULP"), "{cookies:?}");
    let csrf = hidden(&page, "csrf");
    // Without a session nothing is shown; a wrong key and a form without its token are refused.
    let (s, location, _) = send(&mut Vec::new(), client.get(format!("{}/portal/verifications/x", w.vurl))).await;
    assert_eq!((s, location.as_str()), (303, "/portal"));
    assert_eq!(send(&mut cookies, client.post(format!("{}/portal/sign-in", w.vurl)).form(&[("csrf", csrf.as_str()), ("key", "not-the-key")])).await.0, 403);
    assert_eq!(send(&mut cookies, client.post(format!("{}/portal/sign-in", w.vurl)).form(&[("key", DESK_KEY)])).await.0, 403);
    let (s, location, _) = send(&mut cookies, client.post(format!("{}/portal/sign-in", w.vurl)).form(&[("csrf", csrf.as_str()), ("key", DESK_KEY)])).await;
    assert_eq!((s, location.as_str()), (303, "/portal"));
    let (_, _, page) = send(&mut cookies, client.get(format!("{}/portal", w.vurl))).await;
    assert!(page.contains("value=\"ehic-healthcare\"") && page.contains("type=\"date\""), "{page}");
    let csrf = hidden(&page, "csrf");
    let verify = async |cookies: &mut Vec<(String, String)>| {
        let (s, location, _) = send(cookies, client.post(format!("{}/portal/verifications", w.vurl)).form(&[("csrf", csrf.as_str()), ("profile", "ehic-healthcare"), ("date", "")])).await;
        assert_eq!(s, 303);
        let (_, _, pending) = send(cookies, client.get(format!("{}{location}", w.vurl))).await;
        assert!(pending.contains("<svg") && pending.contains("href=\"openid4vp://"), "{pending}");
        let link = format!("openid4vp://{}", pending.split("href=\"openid4vp://").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&"));
        let (client_id, request_uri, _) = esspass_wallet::present::parse_link(&link).unwrap();
        let jwt = w.client.get(&request_uri).send().await.unwrap().text().await.unwrap();
        let req = check_request(&jwt, &client_id, &w.chains, &w.vtl, now()).unwrap();
        assert_eq!(w.post(&req, w.answer(&req, &sd, &holder)).await.0, 200);
        let (_, _, done) = send(cookies, client.get(format!("{}{location}", w.vurl))).await;
        (location, done)
    };
    let (location, done) = verify(&mut cookies).await;
    assert!(done.contains("result-valid") && done.contains("Válido") && done.contains("Número de documento"), "{done}");
    assert!(!done.contains("family_name") && !done.contains("birth_date"), "only the profile's claims: {done}");
    let (s, _, proof) = send(&mut cookies, client.get(format!("{}{location}/proof", w.vurl))).await;
    assert!(s == 200 && proof.split('.').count() == 3, "{proof}");
    // A paper document: the text of its QR code, as a hand scanner types it.
    let text = w.client.get(format!("{}/api/v1/credentials/{}/paper?format=text", w.inst.cfg.public_url, row.credential_id)).bearer_auth(BO_KEY).send().await.unwrap().text().await.unwrap();
    let (s, location, _) = send(&mut cookies, client.post(format!("{}/portal/paper", w.vurl)).form(&[("csrf", csrf.as_str()), ("profile", "ehic-healthcare"), ("qr", text.as_str())])).await;
    assert_eq!(s, 303, "{location}");
    let (_, _, paper) = send(&mut cookies, client.get(format!("{}{location}", w.vurl))).await;
    assert!(paper.contains("result-valid") && paper.contains("Número de documento"), "{paper}");
    // A photo of the paper version (its QR code as a PNG), uploaded as a browser sends a file.
    let png = w.client.get(format!("{}/api/v1/credentials/{}/paper?format=png", w.inst.cfg.public_url, row.credential_id)).bearer_auth(BO_KEY).send().await.unwrap().bytes().await.unwrap().to_vec();
    let boundary = "----esspassTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf.as_bytes()), ("profile", b"ehic-healthcare".as_slice())] {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"ehic.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
    body.extend_from_slice(&png);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (s, location, _) = send(&mut cookies, client.post(format!("{}/portal/paper/photo", w.vurl)).header("Content-Type", format!("multipart/form-data; boundary={boundary}")).body(body.clone())).await;
    assert_eq!(s, 303, "{location}");
    let (_, _, photo) = send(&mut cookies, client.get(format!("{}{location}", w.vurl))).await;
    assert!(photo.contains("result-valid"), "{photo}");
    // The same upload without the session's token is refused.
    let forged = String::from_utf8_lossy(&body).replace(&csrf, "not-the-token").into_bytes();
    let (s, _, _) = send(&mut cookies, client.post(format!("{}/portal/paper/photo", w.vurl)).header("Content-Type", format!("multipart/form-data; boundary={boundary}")).body(forged)).await;
    assert_eq!(s, 403);
    // Not a paper credential: a red result (recorded like any check), nothing of the input echoed.
    let (s, location, _) = send(&mut cookies, client.post(format!("{}/portal/paper", w.vurl)).form(&[("csrf", csrf.as_str()), ("profile", "ehic-healthcare"), ("qr", "<script>alert(1)</script>")])).await;
    assert_eq!(s, 303);
    let (_, _, junk) = send(&mut cookies, client.get(format!("{}{location}", w.vurl))).await;
    assert!(junk.contains("result-invalid") && !junk.contains("<script>alert"), "{junk}");
    // Revoked: red, in plain words.
    let r = w.client.post(format!("{}/api/v1/credentials/{}/revoke", w.inst.cfg.public_url, row.credential_id)).bearer_auth(BO_KEY).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, done) = verify(&mut cookies).await;
    assert!(done.contains("result-invalid") && done.contains("No válido") && done.contains("El emisor ha retirado el documento."), "{done}");
    assert!(!done.contains("Número de documento"), "nothing of a rejected credential is shown: {done}");
}
