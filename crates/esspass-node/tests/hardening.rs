//! Issuance that cannot be abused (issue 7): each test states a property an independent review
//! broke on the earlier node, on SQLite and (with `ESSPASS_TEST_POSTGRES`) on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use esspass_credential::verify::Outcome;
use esspass_credential::{EcdsaP256Signer, Signer};
use esspass_node::node::RunningNode;
use esspass_wallet::Oid4vciClient;
use serde_json::{Value, json};
use std::path::PathBuf;

const BO: &str = "bo-key-hardening-0123456789abcdef";
const EMPLOYER: &str = "employer-key-hardening-0123456789";
const AUDITOR: &str = "auditor-key-hardening-0123456789";
const CLIENT: &str = "wallet-hardening";
const REDIRECT: &str = "https://wallet.example/cb";

struct Node {
    node: RunningNode,
    c: reqwest::Client,
    url: String,
    pki: PathBuf,
    root: esspass_credential::x509::Certificate,
}

/// Start a node of `slug` (`si-zzzs` EHIC, `el-efka` PDA1) on `db`, with `extra` TOML appended.
async fn start(slug: &str, db: &str, extra: &str) -> Node {
    let support::Setup { pki, listener, url, root } = support::setup(slug);
    let (id, name, country, types) = match slug {
        "el-efka" => ("EL:EFKA01", "e-EFKA", "GR", "[\"pda1\"]"),
        _ => ("SI:ZZZS", "ZZZS", "SI", "[\"ehic\"]"),
    };
    let h = esspass_store::hash_secret;
    let cfg = format!(
        r#"role = "institution"
listen = "127.0.0.1:0"
public_url = "{url}"
database = "{db}"
max_body_bytes = 16384

[institution]
id = "{id}"
name = "{name}"
country = "{country}"
signing_key = "institutions/{slug}/signing.key"
chain = "institutions/{slug}/chain.pem"
tls_key = "institutions/{slug}/tls.key"
tls_chain = "institutions/{slug}/tls-chain.pem"
credential_types = {types}

[status]
list_size = 65536

[[api_keys]]
name = "bo"
role = "back_office"
sha256 = "{bo}"

[[api_keys]]
name = "yiannis"
role = "employer"
employer_id = "EL094019245"
sha256 = "{em}"

[[api_keys]]
name = "auditor"
role = "auditor"
sha256 = "{au}"
{extra}"#,
        bo = h(BO),
        em = h(EMPLOYER),
        au = h(AUDITOR),
    );
    std::fs::write(pki.join("node.toml"), cfg).unwrap();
    let cfg = esspass_node::config::NodeConfig::load(&pki.join("node.toml")).unwrap();
    let node = esspass_node::node::start(cfg, Some(listener)).await.unwrap();
    let c = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_der(&root.der).unwrap()]).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Node { node, c, url, pki, root }
}

impl Node {
    async fn api(&self, method: reqwest::Method, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut r = self.c.request(method, format!("{}{path}", self.url));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let s = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (s, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn person(&self, extra: Value) -> String {
        self.person_with_number(extra).await.0
    }

    async fn person_with_number(&self, extra: Value) -> (String, String) {
        let number = format!("NR{:010}", support::unique());
        let mut rec = json!({"personal_number": number, "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "coverage_kind": "health", "coverage_start": "2020-01-01"});
        for (k, v) in extra.as_object().unwrap() {
            rec[k] = v.clone();
        }
        let (s, v) = self.api(reqwest::Method::POST, "/api/v1/persons", Some(BO), Some(rec)).await;
        assert_eq!(s, 201, "{v}");
        (v["person_id"].as_str().unwrap().to_owned(), number)
    }

    async fn offer(&self, key: &str, body: Value) -> (u16, Value) {
        self.api(reqwest::Method::POST, "/api/v1/credential-offers", Some(key), Some(body)).await
    }

    async fn audit_actions(&self) -> Vec<Value> {
        let (s, v) = self.api(reqwest::Method::GET, "/api/v1/audit?from=1&limit=1000", Some(AUDITOR), None).await;
        assert_eq!(s, 200, "{v}");
        v["records"].as_array().unwrap().clone()
    }
}

fn pre_auth_code(offer: &Value) -> String {
    offer["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"].as_str().unwrap().to_owned()
}

/// A token request with the pre-authorized code (DPoP with the node's current nonce).
async fn token_request(n: &Node, key: &EcdsaP256Signer, nonce: &str, code: &str, tx: &str) -> (u16, Value) {
    let url = format!("{}/token", n.url);
    let resp = n
        .c
        .post(&url)
        .header("DPoP", support::dpop_proof(key, "POST", &url, None, Some(nonce), support::now()))
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", code), ("tx_code", tx)])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// Nothing in the database lets its reader redeem: codes, `issuer_state`s, offer ids and
/// `tx_code`s are neither there in clear nor as a plain hash, and a node running on a copy of the
/// database without the node secret redeems nothing. Database files are 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_database_redeems_nothing() {
    for db in support::databases("esspass_h").await {
        let n = start("si-zzzs", &db, "\n[sign_in]\ndemo_eid = true\n").await;
        let person = n.person(json!({})).await;
        let (s, offer) = n.offer(BO, json!({"credential_configuration_id": "ehic", "person_id": person})).await;
        assert_eq!(s, 201, "{offer}");
        let code = pre_auth_code(&offer);
        let tx = offer["tx_code"].as_str().unwrap().to_owned();
        let state = offer["credential_offer"]["grants"]["authorization_code"]["issuer_state"].as_str().unwrap().to_owned();
        let offer_id = offer["offer_id"].as_str().unwrap().to_owned();
        // What a reader of the database sees.
        let copy_db = if let Some(path) = db.strip_prefix("sqlite:") {
            use std::os::unix::fs::PermissionsExt;
            for suffix in ["", "-wal", "-shm"] {
                let p = format!("{path}{suffix}");
                if let Ok(m) = std::fs::metadata(&p) {
                    assert_eq!(m.permissions().mode() & 0o777, 0o600, "{p}");
                }
            }
            // A copy as a backup or a stolen disk would have it (the WAL folded in first).
            let store = esspass_store::Store::connect(&db).await.unwrap();
            let esspass_store::Db::Sqlite(pool) = store.db() else { panic!() };
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await.unwrap();
            store.close().await;
            let copy = format!("{path}.copy");
            std::fs::copy(path, &copy).unwrap();
            let bytes = std::fs::read(&copy).unwrap();
            for secret in [&code, &tx, &state, &offer_id] {
                for needle in [secret.clone(), esspass_store::hash_secret(secret)] {
                    assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()), "the database holds {needle:?}");
                }
            }
            format!("sqlite:{copy}")
        } else {
            // PostgreSQL: the reader uses the same schema; what it holds is checked row by row.
            let store = esspass_store::Store::connect(&db).await.unwrap();
            let esspass_store::Db::Postgres(pool) = store.db() else { panic!() };
            let rows: Vec<(String, String, Option<String>)> = sqlx::query_as("SELECT value_hash, payload, check_hash FROM single_use").fetch_all(pool).await.unwrap();
            assert!(!rows.is_empty());
            for (h, payload, check) in &rows {
                let all = format!("{h} {payload} {}", check.clone().unwrap_or_default());
                for secret in [&code, &tx, &state, &offer_id] {
                    assert!(!all.contains(secret.as_str()) && !all.contains(&esspass_store::hash_secret(secret)), "the database holds {secret}");
                }
            }
            store.close().await;
            db.clone()
        };
        // A node on the copy, without the node secret (it makes its own), redeems nothing.
        let thief = start("si-zzzs", &copy_db, "\n[sign_in]\ndemo_eid = true\n").await;
        let wallet = EcdsaP256Signer::generate().unwrap();
        let nonce = support::dpop_nonce(&thief.c, &thief.url).await;
        let (s, v) = token_request(&thief, &wallet, &nonce, &code, &tx).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")), "{db}: the copy redeemed the code: {v}");
        assert_eq!(thief.api(reqwest::Method::GET, &format!("/credential-offer/{offer_id}"), None, None).await.0, 404, "{db}: offer by reference from the copy");
        thief.node.stop();
        // The node with its secret still redeems the offer (once).
        let nonce = support::dpop_nonce(&n.c, &n.url).await;
        let (s, v) = token_request(&n, &wallet, &nonce, &code, &tx).await;
        assert_eq!(s, 200, "{v}");
        n.node.stop();
    }
}

/// Concurrent wrong `tx_code` guesses over HTTP are evaluated at most `max_tx_code_attempts`
/// times; the right code after them finds the code dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tx_code_guesses_stop_at_the_limit() {
    for db in support::databases("esspass_h").await {
        let n = start("si-zzzs", &db, "").await;
        let person = n.person(json!({})).await;
        let (_, offer) = n.offer(BO, json!({"credential_configuration_id": "ehic", "person_id": person})).await;
        let code = pre_auth_code(&offer);
        let tx = offer["tx_code"].as_str().unwrap().to_owned();
        let nonce = support::dpop_nonce(&n.c, &n.url).await;
        let n = std::sync::Arc::new(n);
        let mut tasks = Vec::new();
        for i in 0..60 {
            let (n, code, nonce) = (n.clone(), code.clone(), nonce.clone());
            let guess = if tx == format!("{:06}", 900_000 + i) { "000000".to_owned() } else { format!("{:06}", 900_000 + i) };
            tasks.push(tokio::spawn(async move {
                let key = EcdsaP256Signer::generate().unwrap();
                token_request(&n, &key, &nonce, &code, &guess).await
            }));
        }
        let mut evaluated = 0;
        for t in tasks {
            let (s, v) = t.await.unwrap();
            assert_eq!(s, 400, "{v}");
            if v["error_description"].as_str().unwrap_or_default().contains("wrong tx_code") {
                evaluated += 1;
            }
        }
        assert!(evaluated <= 5, "{db}: {evaluated} guesses were evaluated against a limit of 5");
        let key = EcdsaP256Signer::generate().unwrap();
        let (s, v) = token_request(&n, &key, &nonce, &code, &tx).await;
        assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")), "{db}: the code survived the guesses");
        std::sync::Arc::try_unwrap(n).ok().unwrap().node.stop();
    }
}

/// The demo sign-in exists only where the configuration enables it, serves registered wallets
/// with their registered redirect URIs (and a wallet attestation where required), and locks out a
/// personal number after too many attempts, with the lockout in the audit trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_off_unless_asked_and_only_for_known_wallets() {
    let db = support::databases("esspass_h").await.remove(0);
    let off = start("si-zzzs", &db, "").await;
    let (s, v) = off.api(reqwest::Method::POST, "/par", None, None).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("ESP-7010")), "{v}");
    let (_, meta) = off.api(reqwest::Method::GET, "/.well-known/oauth-authorization-server", None, None).await;
    assert!(meta.get("authorization_endpoint").is_none() && meta.get("pushed_authorization_request_endpoint").is_none(), "{meta}");
    let person = off.person(json!({})).await;
    let (_, offer) = off.offer(BO, json!({"credential_configuration_id": "ehic", "person_id": person})).await;
    assert!(offer["credential_offer"]["grants"].get("authorization_code").is_none(), "{offer}");
    off.node.stop();

    // A wallet provider and a wallet that must present its attestation.
    let provider = EcdsaP256Signer::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("esspass-h-provider-{}-{}", std::process::id(), support::unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let jwk = dir.join("provider.jwk");
    std::fs::write(&jwk, provider.public_jwk().to_value().to_string()).unwrap();
    let extra = format!(
        "\n[sign_in]\ndemo_eid = true\nmax_attempts_per_person = 3\n\n[[clients]]\nclient_id = \"{CLIENT}\"\nredirect_uris = [\"{REDIRECT}\"]\n\n[[clients]]\nclient_id = \"attested-wallet\"\nredirect_uris = [\"{REDIRECT}\"]\nrequire_attestation = true\n\n[[wallet_providers]]\nname = \"demo-provider\"\njwk = \"{}\"\n",
        jwk.display()
    );
    let n = start("si-zzzs", &support::databases("esspass_h").await.remove(0), &extra).await;
    let par = |client: &str, redirect: &str| {
        let verifier = esspass_credential::b64::encode(esspass_credential::random_bytes::<32>());
        vec![
            ("response_type".to_owned(), "code".to_owned()),
            ("client_id".to_owned(), client.to_owned()),
            ("redirect_uri".to_owned(), redirect.to_owned()),
            ("scope".to_owned(), "ehic".to_owned()),
            ("code_challenge_method".to_owned(), "S256".to_owned()),
            ("code_challenge".to_owned(), esspass_oid4vc::pkce::s256_challenge(&verifier)),
        ]
    };
    let post_par = |form: Vec<(String, String)>, headers: Vec<(&'static str, String)>| {
        let mut r = n.c.post(format!("{}/par", n.url)).form(&form);
        for (k, v) in headers {
            r = r.header(k, v);
        }
        async move {
            let resp = r.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = post_par(par("stranger", REDIRECT), vec![]).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_client")), "unknown client: {v}");
    let (s, v) = post_par(par(CLIENT, "https://attacker.example/cb"), vec![]).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_request")), "unregistered redirect: {v}");
    let (s, v) = post_par(par("attested-wallet", REDIRECT), vec![]).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_client")), "attestation required: {v}");
    let attest = |signer: &EcdsaP256Signer, instance: &EcdsaP256Signer, jti: &str| {
        let obj = |v: Value| v.as_object().unwrap().clone();
        let a = esspass_credential::jose::sign_compact(signer, obj(json!({"typ": "oauth-client-attestation+jwt"})), &obj(json!({"iss": "https://provider.example", "sub": "attested-wallet", "exp": support::now() + 600, "cnf": {"jwk": instance.public_jwk().to_value()}}))).unwrap();
        let p = esspass_credential::jose::sign_compact(instance, obj(json!({"typ": "oauth-client-attestation-pop+jwt"})), &obj(json!({"aud": n.url, "jti": jti, "iat": support::now()}))).unwrap();
        vec![("OAuth-Client-Attestation", a), ("OAuth-Client-Attestation-PoP", p)]
    };
    let instance = EcdsaP256Signer::generate().unwrap();
    let (s, v) = post_par(par("attested-wallet", REDIRECT), attest(&provider, &instance, "pop-1")).await;
    assert_eq!(s, 201, "attested wallet: {v}");
    let (s, v) = post_par(par("attested-wallet", REDIRECT), attest(&provider, &instance, "pop-1")).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_client")), "replayed PoP: {v}");
    let impostor = EcdsaP256Signer::generate().unwrap();
    let (s, v) = post_par(par("attested-wallet", REDIRECT), attest(&impostor, &instance, "pop-2")).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_client")), "attestation of an unknown provider: {v}");

    // Lockout per personal number: the fourth attempt is refused, and audited once.
    let number = "SI9999999999";
    for attempt in 1..=5 {
        let (s, v) = post_par(par(CLIENT, REDIRECT), vec![]).await;
        assert_eq!(s, 201, "{v}");
        let uri = v["request_uri"].as_str().unwrap();
        let link = format!("{}/authorize?client_id={CLIENT}&request_uri={}", n.url, url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>());
        let page = n.c.get(link).send().await.unwrap().text().await.unwrap();
        let signin = page.split("name=\"signin\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let resp = n
            .c
            .post(format!("{}/authorize", n.url))
            .form(&[("signin", signin.as_str()), ("family_name", "Novak"), ("given_name", "Živa"), ("birth_date", "1985-04-12"), ("personal_number", number)])
            .send()
            .await
            .unwrap();
        if attempt <= 3 {
            assert_ne!(resp.status().as_u16(), 429, "attempt {attempt}");
        } else {
            assert_eq!(resp.status().as_u16(), 429, "attempt {attempt}");
            assert!(resp.headers().contains_key("retry-after"));
        }
    }
    let locks = n.audit_actions().await.into_iter().filter(|r| r["action"] == "sign_in_locked").count();
    assert_eq!(locks, 1, "the lockout is audited once per window");
    n.node.stop();
}

/// Georgios posted by Yiannis (GR → IT) for a year from today; `legislation_here` false makes him
/// work in Italy for an Italian employer instead (Italian legislation, Art 11(3)(a)).
fn application(legislation_here: bool) -> Value {
    let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
    if legislation_here {
        support::georgios_posting(12)
    } else {
        json!({
            "decision_date": today.to_string(),
            "person": {"residence": "GR", "nationalities": ["GR"]},
            "activities": [{"kind": "employed", "period": {"start": today.to_string()}, "employer": {"name": "Costruzioni Milano S.p.A.", "seat": "IT"}, "states": [{"country": "IT"}]}]
        })
    }
}

fn work() -> Value {
    json!({"work_address": [{"locality": "Milano", "country": "IT"}]})
}

/// Who employs whom comes from the authentic source; the employer never receives the `tx_code`;
/// a node issues a PDA1 only for its own legislation; a revoked PDA1 ends its application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employer_binding_competence_and_final_revocation() {
    for db in support::databases("esspass_h").await {
        let n = start("el-efka", &db, &format!("\n[sign_in]\ndemo_eid = true\n\n[[clients]]\nclient_id = \"{CLIENT}\"\nredirect_uris = [\"{REDIRECT}\"]\n")).await;
        let (stranger, stranger_number) = n.person_with_number(json!({})).await;
        let (s, found) = n.api(reqwest::Method::GET, &format!("/api/v1/persons?personal_number={stranger_number}"), Some(BO), None).await;
        assert_eq!((s, found["person"]["person_id"].as_str()), (200, Some(stranger.as_str())), "{found}");
        let (s, v) = n.api(reqwest::Method::GET, "/api/v1/persons?personal_number=NOSUCH0000", Some(BO), None).await;
        assert_eq!((s, v["code"].as_str()), (404, Some("ESP-7003")), "{v}");
        assert!(n.audit_actions().await.iter().filter(|r| r["action"] == "find_person").count() == 2, "lookups are audited");
        let body = |p: &str, a: Value| json!({"person_id": p, "application": a, "work_information": work()});
        let (s, v) = n.api(reqwest::Method::POST, "/api/v1/applications/a1", Some(EMPLOYER), Some(body(&stranger, application(true)))).await;
        assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7015")), "{db}: an employer applied for a person it does not employ: {v}");
        // The authentic source records the employment; now the employer may apply.
        let (s, v) = n.api(reqwest::Method::POST, "/api/v1/employments", Some(BO), Some(json!({"person_id": stranger, "employer_id": "EL094019245", "start": "2015-09-01"}))).await;
        assert_eq!(s, 201, "{v}");
        let (s, app) = n.api(reqwest::Method::POST, "/api/v1/applications/a1", Some(EMPLOYER), Some(body(&stranger, application(true)))).await;
        assert_eq!((s, app["state"].as_str()), (201, Some("determined")), "{app}");
        let app_id = app["application_id"].as_str().unwrap().to_owned();
        // The employer's offer: no tx_code, no pre-authorized grant — the person signs in.
        let (s, offer) = n.offer(EMPLOYER, json!({"credential_configuration_id": "pda1", "person_id": stranger, "application_id": app_id})).await;
        assert_eq!(s, 201, "{offer}");
        assert!(offer.get("tx_code").is_none(), "{offer}");
        let grants = &offer["credential_offer"]["grants"];
        assert!(grants.get("urn:ietf:params:oauth:grant-type:pre-authorized_code").is_none() && grants["authorization_code"]["issuer_state"].is_string(), "{grants}");
        let (_, by_ref) = n.api(reqwest::Method::GET, &format!("/credential-offer/{}", offer["offer_id"].as_str().unwrap()), None, None).await;
        assert!(by_ref.to_string().find("pre-authorized").is_none(), "{by_ref}");

        // The back office hands the tx_code to the person; the PDA1 is issued and verifies.
        let (s, offer) = n.offer(BO, json!({"credential_configuration_id": "pda1", "person_id": stranger, "application_id": app_id})).await;
        assert_eq!(s, 201, "{offer}");
        let wallet = Oid4vciClient::new(std::slice::from_ref(&n.root.der)).unwrap();
        let o = wallet.resolve_offer(offer["credential_offer_uri"].as_str().unwrap()).await.unwrap();
        let (dpop, holder) = (EcdsaP256Signer::generate().unwrap(), EcdsaP256Signer::generate().unwrap());
        let creds = wallet.redeem(&o, offer["tx_code"].as_str(), &dpop, &[&holder]).await.unwrap();
        let r = support::verify(&n.c, &n.url, &n.pki, &n.root, &creds[0]).await;
        assert_eq!(r.outcome, Outcome::Valid, "{}", serde_json::to_string(&r).unwrap());
        // Revoked: the application never yields a credential again.
        let (_, list) = n.api(reqwest::Method::GET, &format!("/api/v1/persons/{stranger}/credentials"), Some(BO), None).await;
        let cred_id = list[0]["credential_id"].as_str().unwrap().to_owned();
        assert_eq!(list[0]["application_id"], app_id.as_str());
        let (s, _) = n.api(reqwest::Method::POST, &format!("/api/v1/credentials/{cred_id}/revoke"), Some(BO), Some(json!({"reason": "posting ended"}))).await;
        assert_eq!(s, 200);
        let (s, v) = n.offer(BO, json!({"credential_configuration_id": "pda1", "person_id": stranger, "application_id": app_id})).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7017")), "{db}: a revoked PDA1's application offered again: {v}");
        // A revoked credential says so when someone tries to change it; a used offer says so too.
        let (s, v) = n.api(reqwest::Method::POST, &format!("/api/v1/credentials/{cred_id}/reinstate"), Some(BO), None).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7022")), "{v}");
        let (s, v) = n.api(reqwest::Method::GET, "/credential-offer/no-such-offer", None, None).await;
        assert_eq!((s, v["code"].as_str()), (404, Some("ESP-7021")), "{v}");
        // Unknown fields: every one listed.
        let (s, v) = n.api(reqwest::Method::POST, "/api/v1/employments", Some(BO), Some(json!({"person_id": stranger, "employer_id": "E1", "start": "2020-01-01", "colour": "red", "size": 3}))).await;
        assert_eq!((s, v["code"].as_str()), (400, Some("ESP-1010")), "{v}");
        assert_eq!(v["problems"].as_array().map(Vec::len), Some(2), "{v}");
        // The revocation and its audit record were written together.
        let audit = n.audit_actions().await;
        assert!(audit.iter().any(|r| r["action"] == "revoke_credential" && r["details"]["credential"] == cred_id.as_str()));
        assert!(audit.iter().all(|r| r["details"].get("offer_id").is_none()), "offer ids are bearer capabilities and stay out of the audit");

        // Competence: Italian legislation decided at the Greek institution → not competent, no PDA1.
        let (s, app) = n.api(reqwest::Method::POST, "/api/v1/applications/a1", Some(BO), Some(body(&stranger, application(false)))).await;
        assert_eq!(s, 201, "{app}");
        assert_eq!((app["state"].as_str(), app["final_decision"]["competent_state"].as_str()), (Some("not_competent"), Some("IT")), "{app}");
        let (s, v) = n.offer(BO, json!({"credential_configuration_id": "pda1", "person_id": stranger, "application_id": app["application_id"]})).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("ESP-7014")), "{db}: a PDA1 for another state's legislation: {v}");
        n.node.stop();
    }
}

/// Errors are RFC 9457 everywhere, strangers are rate-limited, slow clients are cut off, and the
/// issuer metadata lists its claims.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_for_strangers() {
    let db = support::databases("esspass_h").await.remove(0);
    let n = start("si-zzzs", &db, "\n[limits]\nrequests_per_minute = 8\nheader_read_timeout = 1\n").await;
    let (s, v) = n.api(reqwest::Method::GET, "/no/such/route", None, None).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("ESP-7010")), "{v}");
    let (s, v) = n.api(reqwest::Method::GET, "/token", None, None).await;
    assert_eq!((s, v["code"].as_str()), (405, Some("ESP-7013")), "{v}");
    let (s, v) = n.api(reqwest::Method::GET, "/api/v1/audit?from=x", Some(AUDITOR), None).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("ESP-7008")), "{v}");
    let (s, meta) = n.api(reqwest::Method::GET, "/.well-known/openid-credential-issuer", None, None).await;
    assert_eq!(s, 200);
    let claims = meta["credential_configurations_supported"]["ehic"]["credential_metadata"]["claims"].as_array().unwrap();
    assert!(!claims.is_empty() && claims.iter().all(|c| c["path"].is_array() && c["display"][0]["name"].is_string()), "{claims:?}");
    // Rate limit: the 9th request in a minute from this address gets 429 with Retry-After.
    let mut limited = None;
    for _ in 0..12 {
        let resp = n.c.post(format!("{}/nonce", n.url)).send().await.unwrap();
        if resp.status().as_u16() == 429 {
            limited = Some((resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()), resp.json::<Value>().await.unwrap()));
            break;
        }
    }
    let (retry, v) = limited.expect("no 429 after 12 requests with a limit of 8");
    assert!(retry.is_some_and(|r| (1..=60).contains(&r)), "{retry:?}");
    assert_eq!(v["code"], "ESP-7012");
    // Back-office calls with an API key are not limited per address; a junk key does not lift
    // the limit.
    let (s, _) = n.api(reqwest::Method::GET, "/api/v1/audit", Some(AUDITOR), None).await;
    assert_eq!(s, 200);
    let (s, v) = n.api(reqwest::Method::GET, "/api/v1/audit", Some("not-a-key-of-this-node"), None).await;
    assert_eq!((s, v["code"].as_str()), (429, Some("ESP-7012")), "{v}");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A client that announces a 10 MB body and waits for `100 Continue` gets the 413 instead,
    // before it sends anything.
    let mut tls = raw_tls(&n).await;
    tls.write_all(b"POST /api/v1/persons HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n").await.unwrap();
    let mut head = vec![0u8; 512];
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), tls.read(&mut head)).await.unwrap().unwrap();
    let head = String::from_utf8_lossy(&head[..got]).to_string();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.to_ascii_lowercase().contains("application/problem+json"), "{head}");
    // A client that sends half a request line is disconnected after the header-read timeout.
    let mut tls = raw_tls(&n).await;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), tls.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the slow connection was still open after 10 s");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "closed after {:?}", started.elapsed());
    n.node.stop();

    // The connection cap: with two connections held open, a third is closed at accept.
    let db = support::databases("esspass_h").await.remove(0);
    let n = start("si-zzzs", &db, "\n[limits]\nmax_connections = 2\nheader_read_timeout = 5\n").await;
    let _held: Vec<tokio::net::TcpStream> = vec![tokio::net::TcpStream::connect(n.node.addr).await.unwrap(), tokio::net::TcpStream::connect(n.node.addr).await.unwrap()];
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let third = n.c.get(format!("{}/healthz", n.url)).send().await;
    assert!(third.is_err(), "a third connection was served over a cap of two");
    drop(_held);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let fresh = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_der(&n.root.der).unwrap()]).build().unwrap();
    assert_eq!(fresh.get(format!("{}/healthz", n.url)).send().await.unwrap().status().as_u16(), 200, "served again once the held connections closed");
    n.node.stop();
}

/// A TLS connection to the node, trusting the demo root, for requests written by hand.
async fn raw_tls(n: &Node) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from(n.root.der.clone())).unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider())).with_safe_default_protocol_versions().unwrap().with_root_certificates(roots).with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(n.node.addr).await.unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg)).connect(rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap(), tcp).await.unwrap()
}

/// The status list grows into several lists: a new one starts before the current passes the fill
/// threshold, and credentials on the next list verify against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_roll_over_as_they_fill() {
    let db = support::databases("esspass_h").await.remove(0);
    let n = start("si-zzzs", &db, "").await;
    n.node.stop();
    // A node of tiny lists: 16 entries, a new list at half.
    let cfg_path = n.pki.join("node.toml");
    let cfg = std::fs::read_to_string(&cfg_path).unwrap().replace("list_size = 65536", "list_size = 16\nmax_fill_percent = 50");
    std::fs::write(&cfg_path, cfg).unwrap();
    let db2 = support::databases("esspass_h").await.remove(0);
    let cfg = std::fs::read_to_string(&cfg_path).unwrap().replace(&db, &db2);
    std::fs::write(&cfg_path, cfg).unwrap();
    let state = esspass_node::node::build_state(esspass_node::config::NodeConfig::load(&cfg_path).unwrap(), std::sync::Arc::new(esspass_core::SystemClock)).await.unwrap();
    let person = {
        let p = esspass_store::Person { person_id: "p-roll".into(), personal_number: "SI0000000077".into(), family_name: "Novak".into(), given_name: "Živa".into(), birth_date: "1985-04-12".into(), nationality: None, residence: None, birth_country: None, birth_place: None, created_at: 0 };
        let c = esspass_store::CoverageRow { coverage_id: "c-roll".into(), person_id: "p-roll".into(), kind: "health".into(), start_date: "2020-01-01".into(), end_date: None, created_at: 0 };
        state.issuer.store.insert_person_with_coverage(&p, &[c]).await.unwrap();
        p.person_id
    };
    let holder = EcdsaP256Signer::generate().unwrap().public_jwk();
    let mut lists = std::collections::BTreeMap::new();
    for _ in 0..20 {
        let (_, row) = state.issuer.issue_for(esspass_core::CredentialType::Ehic, &person, &holder, support::now()).await.unwrap();
        *lists.entry(row.list_id).or_insert(0) += 1;
    }
    assert!(lists.len() >= 3, "{lists:?}");
    assert!(lists.values().all(|n| *n <= 8), "a list was filled past its threshold: {lists:?}");
    for (list_id, _, _) in state.issuer.store.status_list_fill().await.unwrap() {
        assert!(state.issuer.store.status_list(&list_id).await.unwrap().unwrap().token.is_some(), "list {list_id} is published");
    }
}

/// With write access to the database, records are deleted, the chain recomputed and the
/// checkpoints removed: the checkpoints kept outside the database still find it, a checkpoint not
/// signed by the pinned certificate is refused, and a stale newest checkpoint fails `max_age`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_checkpoints_outside_the_database_find_a_rewrite() {
    use esspass_node::services::audit::{VerifyOptions, checkpoint, read_checkpoint_file, verify};
    for db in support::databases("esspass_h").await {
        let setup = support::setup("si-zzzs");
        let signer = esspass_keys::files::load_signer(&setup.pki.join("institutions/si-zzzs/signing.key")).unwrap();
        let chain = esspass_keys::files::load_chain(&setup.pki.join("institutions/si-zzzs/chain.pem")).unwrap();
        let pinned = esspass_credential::x509::Certificate::from_der(&chain[0]).unwrap();
        let file = setup.pki.join("audit-checkpoints.jsonl");
        let store = esspass_store::Store::connect(&db).await.unwrap().with_secret(b"audit test secret, 32 bytes or more");
        let now = support::now();
        for i in 0..12 {
            store.append_audit(now, "api:bo", "read_credentials", &format!("p{i}"), "back-office query", &json!({"i": i})).await.unwrap();
        }
        assert_eq!(checkpoint(&store, &signer, &chain, "SI:ZZZS", Some(&file), now).await.unwrap(), Some(12));
        let (outside, bad) = read_checkpoint_file(&file).unwrap();
        assert!(bad.is_empty() && outside.len() == 1);
        let opts = |outside: Vec<_>, max_age| VerifyOptions { anchors: None, pinned: Some(&pinned), outside, max_age };
        assert!(verify(&store, &opts(outside.clone(), Some(600)), now).await.unwrap().ok);
        assert!(!verify(&store, &opts(outside.clone(), Some(600)), now + 3600).await.unwrap().ok, "a stale newest checkpoint fails max_age");

        // The attack: delete records 3–9, renumber and rehash the rest, move the head, drop the checkpoints.
        let mut records = store.audit_records(1, 1000).await.unwrap();
        records.retain(|r| !(3..=9).contains(&r.seq));
        let mut prev = "genesis".to_owned();
        for (i, r) in records.iter_mut().enumerate() {
            r.seq = i64::try_from(i).unwrap() + 1;
            r.prev_hash = prev.clone();
            r.hash = r.compute_hash();
            prev = r.hash.clone();
        }
        macro_rules! rewrite {
            ($pool:expr) => {{
                sqlx::query("DELETE FROM audit_log").execute($pool).await.unwrap();
                sqlx::query("DELETE FROM audit_checkpoints").execute($pool).await.unwrap();
                for r in &records {
                    sqlx::query("INSERT INTO audit_log (seq, at, actor, action, subject, purpose, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                        .bind(r.seq).bind(r.at).bind(&r.actor).bind(&r.action).bind(&r.subject).bind(&r.purpose).bind(r.details.to_string()).bind(&r.prev_hash).bind(&r.hash)
                        .execute($pool).await.unwrap();
                }
                sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1").bind(i64::try_from(records.len()).unwrap()).bind(&prev).execute($pool).await.unwrap();
            }};
        }
        match store.db() {
            esspass_store::Db::Sqlite(pool) => rewrite!(pool),
            esspass_store::Db::Postgres(pool) => rewrite!(pool),
        }
        let inside_only = verify(&store, &opts(Vec::new(), None), now).await.unwrap();
        assert!(inside_only.ok, "{db}: without the outside checkpoints the rewrite is invisible (the attack works): {inside_only:?}");
        let v = verify(&store, &opts(outside.clone(), None), now).await.unwrap();
        assert!(!v.ok, "{db}: the outside checkpoints missed the rewrite");
        assert!(v.problems.iter().any(|p| p.contains("missing from it")), "{:?}", v.problems);
        // A checkpoint signed by another key than the pinned institution certificate is refused.
        let other = support::setup("si-zzzs");
        let other_chain = esspass_keys::files::load_chain(&other.pki.join("institutions/si-zzzs/chain.pem")).unwrap();
        let other_pin = esspass_credential::x509::Certificate::from_der(&other_chain[0]).unwrap();
        let v = verify(&store, &VerifyOptions { anchors: None, pinned: Some(&other_pin), outside: outside.clone(), max_age: None }, now).await.unwrap();
        assert!(v.problems.iter().any(|p| p.contains("pinned")), "{:?}", v.problems);
        store.close().await;
    }
}

/// A node refuses to start with a signing setup every verifier would reject: a key that is not its
/// chain's leaf key, a public URL that the signing certificate does not name, placeholder API keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_a_signing_setup_verifiers_would_reject() {
    let db = support::databases("esspass_h").await.remove(0);
    let n = start("si-zzzs", &db, "").await;
    n.node.stop();
    let cfg_path = n.pki.join("node.toml");
    let base = std::fs::read_to_string(&cfg_path).unwrap();
    let try_start = |text: String| {
        let path = n.pki.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        async move {
            let cfg = esspass_node::config::NodeConfig::load(&path).unwrap();
            match esspass_node::node::start(cfg, Some(std::net::TcpListener::bind("127.0.0.1:0").unwrap())).await {
                Ok(node) => {
                    node.stop();
                    None
                }
                Err(e) => Some(e),
            }
        }
    };
    let e = try_start(base.replace("institutions/si-zzzs/signing.key", "institutions/el-efka/signing.key")).await.expect("started with another institution's key");
    assert!(e.contains("ESP-9003"), "{e}");
    let e = try_start(base.replace(&format!("public_url = \"{}\"", n.url), "public_url = \"https://127.0.0.1:1\"")).await.expect("started with a public_url outside the SAN");
    assert!(e.contains("ESP-3015"), "{e}");
    let e = try_start(format!("{base}\n[[api_keys]]\nname = \"placeholder\"\nrole = \"auditor\"\nsha256 = \"REPLACE-WITH-HASH\"\n")).await.expect("started with a placeholder API key");
    assert!(e.contains("placeholder") || e.contains("REPLACE"), "{e}");
}
