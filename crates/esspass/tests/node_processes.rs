//! `esspass serve` as separate processes: a node killed with SIGKILL right after answering keeps
//! what it answered (SQLite and PostgreSQL), and four nodes on one PostgreSQL issue at once without
//! a duplicate document number or status index.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod procs;

use procs::*;

use esspass_credential::EcdsaP256Signer;
use esspass_wallet::Oid4vciClient;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn status_value(token: &str, idx: usize) -> u8 {
    let payload = token.split('.').nth(1).unwrap();
    let v: Value = serde_json::from_slice(&esspass_credential::b64::decode(payload).unwrap()).unwrap();
    esspass_credential::status::StatusList::from_json(&v["status_list"]).unwrap().get(idx).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_after_an_answer_loses_nothing() {
    for db in databases("kill").await {
        let dir = tmp("kill-pki");
        let port = free_port();
        let config = setup(&dir, port, &db);
        let (c, root) = client(&dir);
        let wallet = Oid4vciClient::new(&[root]).unwrap();
        let mut node = spawn(&config, &c).await;
        let p = person(&c, &node.url, 1).await;
        let _credential = issue(&c, &wallet, &node.url, &p).await;
        // Killed right after answering the issuance.
        node.child.kill().unwrap();
        node.child.wait().unwrap();
        let node2 = spawn(&node.config, &c).await;
        let (_, list) = api(&c, &node2.url, reqwest::Method::GET, &format!("/api/v1/persons/{p}/credentials"), None).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{db}: the issued credential survived SIGKILL");
        let id = list[0]["credential_id"].as_str().unwrap().to_owned();
        let idx = usize::try_from(list[0]["idx"].as_u64().unwrap()).unwrap();
        let (s, _) = api(&c, &node2.url, reqwest::Method::POST, &format!("/api/v1/credentials/{id}/revoke"), Some(json!({"reason": "test"}))).await;
        assert_eq!(s, 200);
        // Killed right after answering the revocation.
        let mut node2 = node2;
        node2.child.kill().unwrap();
        node2.child.wait().unwrap();
        let node3 = spawn(&node.config, &c).await;
        let token = c.get(format!("{}/status/1", node3.url)).send().await.unwrap().text().await.unwrap();
        assert_eq!(status_value(&token, idx), 1, "{db}: the revocation survived SIGKILL and is served");
        let (_, list) = api(&c, &node3.url, reqwest::Method::GET, &format!("/api/v1/persons/{p}/credentials"), None).await;
        assert_eq!(list[0]["state"], "revoked");
        drop(node);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_on_one_postgresql_issue_at_once_without_duplicates() {
    let Ok(pg) = std::env::var("ESSPASS_TEST_POSTGRES") else {
        eprintln!("ESSPASS_TEST_POSTGRES is not set: the four-process PostgreSQL test is skipped");
        return;
    };
    let per_node: usize = std::env::var("ESSPASS_CONCURRENCY_N").ok().and_then(|n| n.parse().ok()).unwrap_or(25);
    let db = pg_schema(&pg, "four").await;
    let dir = tmp("four-pki");
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let configs: Vec<PathBuf> = ports.iter().map(|p| setup(&dir, *p, &db)).collect();
    let (c, root) = client(&dir);
    let mut nodes = Vec::new();
    for cfg in &configs {
        nodes.push(spawn(cfg, &c).await);
    }
    let urls: Vec<String> = nodes.iter().map(|n| n.url.clone()).collect();
    let mut tasks = Vec::new();
    for (k, url) in urls.iter().enumerate() {
        let (c, url, root) = (c.clone(), url.clone(), root.clone());
        tasks.push(tokio::spawn(async move {
            let wallet = Oid4vciClient::new(&[root]).unwrap();
            for i in 0..per_node {
                let p = person(&c, &url, k * 1_000_000 + i).await;
                issue(&c, &wallet, &url, &p).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let store = esspass_store::Store::connect(&db).await.unwrap();
    let esspass_store::Db::Postgres(pool) = store.db() else { panic!("postgres") };
    let row: (i64, i64, i64) = sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT document_number), COUNT(DISTINCT (list_id, idx)) FROM credentials").fetch_one(pool).await.unwrap();
    let total = i64::try_from(4 * per_node).unwrap();
    assert_eq!(row, (total, total, total), "every credential has its own document number and status index");
    let audit: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_log").fetch_one(pool).await.unwrap();
    let (seq, hash) = store.audit_head().await.unwrap();
    assert_eq!(audit.0, seq);
    esspass_store::verify_chain(&store.audit_records(1, 1_000_000).await.unwrap(), seq, &hash).unwrap();
}

/// A DPoP proof for `url` with the node's nonce.
fn dpop(key: &EcdsaP256Signer, url: &str, nonce: &str) -> String {
    use esspass_credential::Signer;
    let mut h = serde_json::Map::new();
    h.insert("typ".into(), json!("dpop+jwt"));
    h.insert("jwk".into(), key.public_jwk().to_value());
    let jti = esspass_credential::b64::encode(esspass_credential::random_bytes::<12>());
    let p = json!({"jti": jti, "htm": "POST", "htu": url, "iat": time::OffsetDateTime::now_utc().unix_timestamp(), "nonce": nonce});
    esspass_credential::jose::sign_compact(key, h, p.as_object().unwrap()).unwrap()
}

/// Two `esspass serve` processes of one institution on one database take 80 concurrent wrong
/// `tx_code` guesses for one pre-authorized code: at most 5 are evaluated in all, and the right
/// code afterwards finds it dead (SQLite and PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_code_limit_holds_across_processes() {
    for db in databases("guess").await {
        let dir = tmp("guess-pki");
        let (pa, pb) = (free_port(), free_port());
        let (ca, cb) = (setup(&dir, pa, &db), setup(&dir, pb, &db));
        let (c, _) = client(&dir);
        let a = spawn(&ca, &c).await;
        let b = spawn(&cb, &c).await;
        let p = person(&c, &a.url, 77).await;
        let (s, o) = api(&c, &a.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "ehic", "person_id": p}))).await;
        assert_eq!(s, 201, "{o}");
        let code = o["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"].as_str().unwrap().to_owned();
        let tx = o["tx_code"].as_str().unwrap().to_owned();
        let mut tasks = Vec::new();
        for i in 0..80 {
            let url = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
            let (c, code) = (c.clone(), code.clone());
            let guess = format!("{:06}", 100_000 + i);
            let guess = if guess == tx { "999999".to_owned() } else { guess };
            tasks.push(tokio::spawn(async move {
                let key = EcdsaP256Signer::generate().unwrap();
                let token_url = format!("{url}/token");
                let nonce = c.post(&token_url).send().await.unwrap().headers()["dpop-nonce"].to_str().unwrap().to_owned();
                let resp = c
                    .post(&token_url)
                    .header("DPoP", dpop(&key, &token_url, &nonce))
                    .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", code.as_str()), ("tx_code", guess.as_str())])
                    .send()
                    .await
                    .unwrap();
                resp.json::<Value>().await.unwrap()
            }));
        }
        let mut evaluated = 0;
        for t in tasks {
            let v = t.await.unwrap();
            assert_eq!(v["error"], "invalid_grant", "{v}");
            evaluated += usize::from(v["error_description"].as_str().unwrap_or_default().contains("wrong tx_code"));
        }
        assert!(evaluated <= 5, "{db}: {evaluated} guesses evaluated against a limit of 5 across two processes");
        let key = EcdsaP256Signer::generate().unwrap();
        let token_url = format!("{}/token", b.url);
        let nonce = c.post(&token_url).send().await.unwrap().headers()["dpop-nonce"].to_str().unwrap().to_owned();
        let v: Value = c
            .post(&token_url)
            .header("DPoP", dpop(&key, &token_url, &nonce))
            .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", code.as_str()), ("tx_code", tx.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["error"], "invalid_grant", "{db}: the code survived: {v}");
    }
}

/// The round trip of issue 11 through a running node: an EHIC issued into a wallet, its paper
/// version printed by the node (audited), the page rasterised and its QR code checked offline
/// against a bundle built from the node's revocation export; then revoked, the bundle rebuilt and
/// fetched again (only the changed parts), and the same page — and the SD-JWT VC — now refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_round_trip_through_the_node_and_the_offline_bundle() {
    let dir = tmp("paper");
    let port = free_port();
    let config = setup(&dir, port, &format!("sqlite:{}", dir.join("node.db").display()));
    let (c, root) = client(&dir);
    let node = spawn(&config, &c).await;
    let wallet = Oid4vciClient::new(&[root]).unwrap();
    let person = person(&c, &node.url, 911).await;
    let sd_jwt = issue(&c, &wallet, &node.url, &person).await;
    std::fs::write(dir.join("ehic.sd-jwt"), &sd_jwt).unwrap();
    let (s, creds) = api(&c, &node.url, reqwest::Method::GET, &format!("/api/v1/persons/{person}/credentials"), None).await;
    assert_eq!(s, 200, "{creds}");
    let id = creds[0]["credential_id"].as_str().unwrap().to_owned();
    // The paper version: PDF, PNG and text; only the back office and case workers print.
    let get = |path: String, key: Option<&'static str>| {
        let c = c.clone();
        async move {
            let mut r = c.get(path);
            if let Some(k) = key {
                r = r.bearer_auth(k);
            }
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            (status, ct, resp.bytes().await.unwrap().to_vec())
        }
    };
    let paper_url = format!("{}/api/v1/credentials/{id}/paper", node.url);
    let (s, ct, pdf) = get(paper_url.clone(), Some(BO_KEY)).await;
    assert_eq!((s, ct.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let (s, _, text) = get(format!("{paper_url}?format=text"), Some(BO_KEY)).await;
    assert_eq!(s, 200);
    assert!(text.starts_with(b"EH1:"));
    let (s, ct, png) = get(format!("{paper_url}?format=png"), Some(BO_KEY)).await;
    assert_eq!((s, ct.as_str()), (200, "image/png"));
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(get(format!("{paper_url}?format=docx"), Some(BO_KEY)).await.0, 400);
    assert_eq!(get(paper_url.clone(), None).await.0, 401);
    assert_eq!(get(format!("{}/api/v1/credentials/nope/paper", node.url), Some(BO_KEY)).await.0, 404);
    std::fs::write(dir.join("ehic.pdf"), &pdf).unwrap();
    let r = Command::new("pdftoppm").args(["-r", "150", "-png", "-singlefile"]).arg(dir.join("ehic.pdf")).arg(dir.join("page")).status().expect("pdftoppm (poppler-utils) is needed: .ci/run installs it");
    assert!(r.success());
    let cli = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_esspass")).args(args).current_dir(&dir).output().unwrap();
        (o.status.code(), serde_json::from_slice::<Value>(&o.stdout).unwrap_or(Value::Null), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let revocations = format!("{}/revocations", node.url);
    let build = || cli(&["bundle", "build", "--json", "--trust-anchor", "root/ca.pem", "--trusted-list", "trusted-lists/issuers.jwt", "--key", "trust-operator/signing.key", "--chain", "trust-operator/chain.pem", "--revocations", &revocations, "--out", "published"]);
    let fetch = || cli(&["bundle", "fetch", "--json", "published", "--into", "held", "--trust-anchor", "root/ca.pem"]);
    let offline = |input: &str, extra: &[&str]| {
        let mut args = vec!["verify", "--json", "--offline", "held", "--trust-anchor", "root/ca.pem"];
        args.extend_from_slice(extra);
        args.push(input);
        cli(&args)
    };
    let (code, v, err) = build();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!((v["sequence"].as_u64(), v["revoked"].as_u64(), v["status_lists"].as_u64()), (Some(1), Some(0), Some(1)), "{v}");
    let (code, v, err) = fetch();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["fetched"], v["parts"], "{v}");
    let (code, v, err) = offline("page.png", &[]);
    assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("valid")), "{v} {err}");
    let (code, v, err) = offline("ehic.sd-jwt", &["--credential-only"]);
    assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("valid")), "{v} {err}");
    // Revoked at the institution; the next bundle says so, and a verifier fetches only what changed.
    let (s, v) = api(&c, &node.url, reqwest::Method::POST, &format!("/api/v1/credentials/{id}/revoke"), Some(json!({"reason": "card reported stolen"}))).await;
    assert_eq!(s, 200, "{v}");
    let (code, v, err) = build();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!((v["sequence"].as_u64(), v["revoked"].as_u64(), v["partitions"].as_u64()), (Some(2), Some(1), Some(1)), "{v}");
    let (code, v, err) = fetch();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!((v["parts"].as_u64(), v["fetched"].as_u64()), (Some(2), Some(2)), "the new partition and the changed status list: {v}");
    let (code, v, _) = fetch();
    assert_eq!((code, v["fetched"].as_u64()), (Some(0), Some(0)), "nothing changed: {v}");
    let (code, v, err) = offline("page.png", &[]);
    assert_eq!((code, v["code"].as_str()), (Some(1), Some("ESP-8013")), "{v} {err}");
    let (code, v, err) = offline("ehic.sd-jwt", &["--credential-only"]);
    assert_eq!((code, v["outcome"].as_str()), (Some(1), Some("invalid")), "{v} {err}");
    // No paper for a revoked credential.
    let (s, _, body) = get(paper_url, Some(BO_KEY)).await;
    assert_eq!(s, 409);
    assert!(String::from_utf8_lossy(&body).contains("ESP-8017"));
}

/// `esspass wallet`: an EHIC received from a running node with its transaction code, kept
/// encrypted (nothing readable in the file, the wrong passphrase opens nothing), listed, shown,
/// verified from the wallet's copy, deleted; an offer is used once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_cli_receives_lists_shows_and_deletes() {
    let dir = tmp("wallet");
    let port = free_port();
    let config = setup(&dir, port, &format!("sqlite:{}", dir.join("node.db").display()));
    let (c, _) = client(&dir);
    let node = spawn(&config, &c).await;
    let person = person(&c, &node.url, 912).await;
    let (s, o) = api(&c, &node.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "ehic", "person_id": person}))).await;
    assert_eq!(s, 201, "{o}");
    let link = o["credential_offer_uri"].as_str().unwrap().to_owned();
    let tx = o["tx_code"].as_str().unwrap().to_owned();
    let wallet = |pass: &str, args: &[&str]| esspass_with_wallet(&dir, "w.esspass", pass, &[&["wallet"], args].concat());
    let pass = WALLET_PASSPHRASE;
    let (code, v, err) = wallet(pass, &["receive", "--json", "--tls-ca", "root/ca.pem", "--tx-code", &tx, &link]);
    assert_eq!(code, Some(0), "{v} {err}");
    let id = v["received"][0].as_str().unwrap().to_owned();
    // The same offer again: the issuer refuses it (single use), the wallet says so.
    let (code, _, err) = wallet(pass, &["receive", "--json", "--tls-ca", "root/ca.pem", "--tx-code", &tx, &link]);
    assert_eq!(code, Some(1), "{err}");
    let file = std::fs::read_to_string(dir.join("w.esspass")).unwrap();
    // Ciphertext in base64 may contain any short run ("eyJ" turns up in ~2 % of files): look for
    // what a readable credential would show — its type, the person, a JWS header.
    for readable in ["urn:eudi", "Novak", "SI0000000912", "eyJhbGci", "eyJ0eXAi"] {
        assert!(!file.contains(readable), "the wallet file holds nothing readable: {readable} found");
    }
    let (code, v, err) = wallet("not the passphrase", &["list", "--json"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(v["error"]["message"].as_str().unwrap().contains("passphrase"), "{v}");
    let (code, v, _) = wallet(pass, &["list", "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["credentials"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["credentials"][0]["vct"], "urn:eudi:ehic:1");
    let (code, v, _) = wallet(pass, &["show", "--json", &id[..6]]);
    assert_eq!(code, Some(0), "a unique prefix of the id is enough");
    assert_eq!(v["claims"]["personal_administrative_number"], "SI0000000912", "{v}");
    assert!(v["disclosable"].as_array().unwrap().iter().any(|p| p == "document_number"), "{v}");
    let (code, v, _) = wallet(pass, &["delete", "--json", &id]);
    assert_eq!((code, v["deleted"].as_str()), (Some(0), Some(id.as_str())));
    let (_, v, _) = wallet(pass, &["list", "--json"]);
    assert!(v["credentials"].as_array().unwrap().is_empty(), "{v}");
    let (code, _, err) = wallet(pass, &["show", &id]);
    assert_eq!(code, Some(2), "{err}");
}

/// Issue 9's journey over loopback HTTPS between processes: the institution issues an EHIC into
/// `esspass wallet`, the hospital's verifier node asks for it over OpenID4VP (signed request by
/// reference, x509_hash, DCQL, direct_post.jwt), the wallet checks the verifier against the
/// Verifier Trusted List and answers; the result holds only the profile's claims and a proof the
/// institution verifies against the document number. A transaction answers once. After revocation
/// the next verification says revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ehic_verified_in_real_time_by_a_hospital_over_openid4vp() {
    let dir = tmp("vp");
    let port = free_port();
    let config = setup(&dir, port, &format!("sqlite:{}", dir.join("node.db").display()));
    // Verifiers may cache the status list for one second only: the revocation shows at once.
    let text = std::fs::read_to_string(&config).unwrap().replace("[status]\nlist_size = 1048576\n", "[status]\nlist_size = 1048576\nttl = 1\n");
    std::fs::write(&config, text).unwrap();
    let (c, _) = client(&dir);
    let node = spawn(&config, &c).await;
    let vport = free_port();
    let verifier = spawn(&verifier_config(&dir, vport), &c).await;
    let person = person(&c, &node.url, 913).await;
    let (s, o) = api(&c, &node.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "ehic", "person_id": person}))).await;
    assert_eq!(s, 201, "{o}");
    let cli = |args: &[&str]| esspass_with_wallet(&dir, "w.esspass", WALLET_PASSPHRASE, args);
    let (code, v, err) = cli(&["wallet", "receive", "--json", "--tls-ca", "root/ca.pem", "--tx-code", o["tx_code"].as_str().unwrap(), o["credential_offer_uri"].as_str().unwrap()]);
    assert_eq!(code, Some(0), "{v} {err}");
    let present = |link: &str| cli(&["wallet", "present", "--json", "--yes", "--trust-anchor", "root/ca.pem", "--verifier-list", "trusted-lists/verifiers.jwt", link]);
    let (s, v) = desk(&c, &verifier.url, reqwest::Method::POST, "/api/v1/verifications", Some(json!({"profile": "pda1-inspection"}))).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("ESP-7101")), "{v}");
    let (s, tx) = desk(&c, &verifier.url, reqwest::Method::POST, "/api/v1/verifications", Some(json!({"profile": "ehic-healthcare"}))).await;
    assert_eq!(s, 201, "{tx}");
    let link = tx["authorization_request"].as_str().unwrap().to_owned();
    assert!(link.starts_with("openid4vp://?client_id=x509_hash%3A"), "{link}");
    let id = tx["transaction_id"].as_str().unwrap().to_owned();
    let (s, pending) = desk(&c, &verifier.url, reqwest::Method::GET, &format!("/api/v1/verifications/{id}"), None).await;
    assert_eq!((s, pending["state"].as_str()), (200, Some("pending")), "{pending}");
    let (code, v, err) = present(&link);
    assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("sent")), "{v} {err}");
    let (s, done) = desk(&c, &verifier.url, reqwest::Method::GET, &format!("/api/v1/verifications/{id}"), None).await;
    assert_eq!((s, done["state"].as_str(), done["outcome"].as_str()), (200, Some("verified"), Some("valid")), "{done}");
    let claims = done["claims"].as_object().unwrap();
    let number = claims["document_number"].as_str().unwrap().to_owned();
    assert!(claims.contains_key("personal_administrative_number") && claims.contains_key("ending_date"), "{done}");
    for never in ["cnf", "iss", "status", "vct", "sub"] {
        assert!(!claims.contains_key(never), "{never} is not part of the profile: {done}");
    }
    assert_eq!(done["report"]["status"]["source"], "fetched", "{done}");
    // The proof: the institution matches it to its document, without personal data in it.
    let resp = c.get(format!("{}/api/v1/verifications/{id}/proof", verifier.url)).bearer_auth(DESK_KEY).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let proof = resp.text().await.unwrap();
    assert!(!proof.contains(&number));
    std::fs::write(dir.join("proof.jwt"), &proof).unwrap();
    let (code, v, err) = cli(&["proof", "verify", "--json", "proof.jwt", "--document-number", &number, "--institution-id", "SI:ZZZS", "--trust-anchor", "root/ca.pem", "--verifier-list", "trusted-lists/verifiers.jwt"]);
    assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("valid")), "{v} {err}");
    assert_eq!(v["proof"]["status"]["value"], "valid", "{v}");
    assert_eq!(v["proof"]["transaction_id"], id.as_str(), "the proof names its transaction: {v}");
    // Answered once: the same link again is refused, nothing changes.
    let (code, v, _) = present(&link);
    assert_eq!(code, Some(1), "{v}");
    // Revoked: the next verification says so.
    let creds = api(&c, &node.url, reqwest::Method::GET, &format!("/api/v1/persons/{person}/credentials"), None).await.1;
    let cred = creds[0]["credential_id"].as_str().unwrap().to_owned();
    assert_eq!(api(&c, &node.url, reqwest::Method::POST, &format!("/api/v1/credentials/{cred}/revoke"), None).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, tx2) = desk(&c, &verifier.url, reqwest::Method::POST, "/api/v1/verifications", Some(json!({"profile": "ehic-healthcare"}))).await;
    let (code, v, err) = present(tx2["authorization_request"].as_str().unwrap());
    assert_eq!(code, Some(0), "{v} {err}");
    let (_, done) = desk(&c, &verifier.url, reqwest::Method::GET, &format!("/api/v1/verifications/{}", tx2["transaction_id"].as_str().unwrap()), None).await;
    assert_eq!((done["state"].as_str(), done["outcome"].as_str()), (Some("rejected"), Some("invalid")), "{done}");
    assert_eq!(done["code"], "ESP-4010", "{done}");
    assert!(done["claims"].is_null(), "nothing of a rejected credential is kept: {done}");
    // Only the desk's key reads results.
    assert_eq!(c.get(format!("{}/api/v1/verifications/{id}", verifier.url)).send().await.unwrap().status().as_u16(), 401);
}

/// Issue 11's last point: the verifier role checks paper. The institution prints an EHIC's paper
/// version; the hospital's node, given the offline bundle, checks a PNG of its QR code (valid, the
/// claims limited to the profile, a proof), and after revocation and a bundle refresh the same
/// picture is refused as revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_node_checks_paper_against_the_offline_bundle() {
    let dir = tmp("vpaper");
    let port = free_port();
    let config = setup(&dir, port, &format!("sqlite:{}", dir.join("node.db").display()));
    let (c, root) = client(&dir);
    let node = spawn(&config, &c).await;
    let wallet = Oid4vciClient::new(&[root]).unwrap();
    let person = person(&c, &node.url, 914).await;
    issue(&c, &wallet, &node.url, &person).await;
    let id = api(&c, &node.url, reqwest::Method::GET, &format!("/api/v1/persons/{person}/credentials"), None).await.1[0]["credential_id"].as_str().unwrap().to_owned();
    let png = c.get(format!("{}/api/v1/credentials/{id}/paper?format=png", node.url)).bearer_auth(BO_KEY).send().await.unwrap().bytes().await.unwrap().to_vec();
    let cli = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_esspass")).args(args).current_dir(&dir).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    let revocations = format!("{}/revocations", node.url);
    let refresh = || {
        cli(&["bundle", "build", "--trust-anchor", "root/ca.pem", "--trusted-list", "trusted-lists/issuers.jwt", "--key", "trust-operator/signing.key", "--chain", "trust-operator/chain.pem", "--revocations", &revocations, "--out", "published"]);
        cli(&["bundle", "fetch", "published", "--into", "held", "--trust-anchor", "root/ca.pem"]);
    };
    refresh();
    let vport = free_port();
    let vcfg = verifier_config(&dir, vport);
    let text = std::fs::read_to_string(&vcfg).unwrap().replace("verifier_list = \"trusted-lists/verifiers.jwt\"\n", "verifier_list = \"trusted-lists/verifiers.jwt\"\noffline_bundle = \"held\"\n");
    std::fs::write(&vcfg, text).unwrap();
    let verifier = spawn(&vcfg, &c).await;
    let check = |body: Vec<u8>, profile: &'static str| {
        let c = c.clone();
        let url = format!("{}/api/v1/verifications/paper?profile={profile}", verifier.url);
        async move {
            let resp = c.post(url).bearer_auth(DESK_KEY).body(body).send().await.unwrap();
            let s = resp.status().as_u16();
            (s, resp.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = check(png.clone(), "ehic-healthcare").await;
    assert_eq!((s, v["state"].as_str(), v["outcome"].as_str()), (200, Some("verified"), Some("valid")), "{v}");
    assert_eq!(v["report"]["revocation"]["checked"], true, "{v}");
    let claims = v["claims"].as_object().unwrap();
    assert!(claims.contains_key("document_number") && !claims.contains_key("subject"), "only the profile's claims: {v}");
    let tx = v["transaction_id"].as_str().unwrap();
    let proof = c.get(format!("{}/api/v1/verifications/{tx}/proof", verifier.url)).bearer_auth(DESK_KEY).send().await.unwrap();
    assert_eq!(proof.status().as_u16(), 200);
    // Not an image, not a paper credential.
    let (s, v) = check(b"hello".to_vec(), "ehic-healthcare").await;
    assert_eq!((s, v["code"].as_str()), (200, Some("ESP-8001")), "{v}");
    let (s, v) = check(vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 0], "ehic-healthcare").await;
    assert_eq!((s, v["code"].as_str()), (422, Some("ESP-8012")), "{v}");
    // Revoked, the bundle refreshed: the same picture is refused.
    assert_eq!(api(&c, &node.url, reqwest::Method::POST, &format!("/api/v1/credentials/{id}/revoke"), None).await.0, 200);
    refresh();
    let (s, v) = check(png, "ehic-healthcare").await;
    assert_eq!((s, v["state"].as_str(), v["code"].as_str()), (200, Some("rejected"), Some("ESP-8013")), "{v}");
}

/// A PID provider node (`role = "pid_provider"`, the demo PKI's `si-pid`) at `port`.
fn pid_provider_config(dir: &Path, port: u16) -> PathBuf {
    let url = format!("https://127.0.0.1:{port}");
    esspass_keys::pki::reissue_institution(dir, "si-pid", &url, time::OffsetDateTime::now_utc()).unwrap();
    let cfg = format!(
        "role = \"pid_provider\"\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{url}\"\ndatabase = \"sqlite:{db}\"\nsecret_file = \"pid.secret\"\n\n[institution]\nid = \"SI:PID01\"\nname = \"Demo PID provider\"\ncountry = \"SI\"\nsigning_key = \"institutions/si-pid/signing.key\"\nchain = \"institutions/si-pid/chain.pem\"\ntls_key = \"institutions/si-pid/tls.key\"\ntls_chain = \"institutions/si-pid/tls-chain.pem\"\ncredential_types = [\"pid\"]\n\n[limits]\nrequests_per_minute = 10000000\n\n[[api_keys]]\nname = \"bo\"\nrole = \"back_office\"\nsha256 = \"{}\"\n",
        esspass_store::hash_secret(BO_KEY),
        db = dir.join("pid.db").display(),
    );
    let path = dir.join(format!("pid-{port}.toml"));
    std::fs::write(&path, cfg).unwrap();
    path
}

/// The value of `name="…" value="…"` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Sign-in with a PID (issue 9): the PID provider issues Živa's PID (`urn:eudi:pid:1`) into
/// `esspass wallet`; the SI institution, asked by a wallet for an EHIC through the
/// authorization-code flow, opens its own OpenID4VP transaction for the PID and shows it as a QR code
/// and a same-device link; the wallet checks the institution against the Verifier Trusted List and
/// presents only names, birth date and personal number; the institution verifies the PID (signature,
/// PID provider in the Issuer Trusted List, status) and matches it to its record: the wallet gets
/// its code. Continuing before the wallet answered says so; the demo eID form is not served when
/// only the PID sign-in is on; a PID of someone the institution does not know ends in manual review.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_institution_signs_a_person_in_with_a_pid_from_her_wallet() {
    let dir = tmp("pid");
    let port = free_port();
    let config = setup(&dir, port, &format!("sqlite:{}", dir.join("node.db").display()));
    let pport = free_port();
    let pid_config = pid_provider_config(&dir, pport);
    let text = std::fs::read_to_string(&config).unwrap()
        + "\n[sign_in.pid]\nverifier_id = \"SI:ZZZS\"\nsigning_key = \"verifiers/si-zzzs-signin/signing.key\"\nchain = \"verifiers/si-zzzs-signin/chain.pem\"\ntrust_anchor = \"root/ca.pem\"\nissuer_list = \"trusted-lists/issuers.jwt\"\nverifier_list = \"trusted-lists/verifiers.jwt\"\n\n[[clients]]\nclient_id = \"wallet-1\"\nredirect_uris = [\"https://wallet.example/cb\"]\n";
    std::fs::write(&config, text).unwrap();
    let c = reqwest::Client::builder()
        .tls_certs_merge([reqwest::Certificate::from_der(&esspass_credential::x509::Certificate::from_pem(&std::fs::read_to_string(dir.join("root/ca.pem")).unwrap()).unwrap().der).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let provider = spawn(&pid_config, &c).await;
    let node = spawn(&config, &c).await;
    // The PID provider's register and the institution's record of the same person.
    let record = json!({"personal_number": "SI1985041277", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "residence": "SI", "birth_country": "SI", "birth_place": "Ljubljana"});
    let (s, p) = api(&c, &provider.url, reqwest::Method::POST, "/api/v1/persons", Some(record.clone())).await;
    assert_eq!(s, 201, "{p}");
    let mut insured = record.clone();
    insured["coverage_kind"] = json!("health");
    insured["coverage_start"] = json!("2020-01-01");
    let (s, insured) = api(&c, &node.url, reqwest::Method::POST, "/api/v1/persons", Some(insured)).await;
    assert_eq!(s, 201, "{insured}");
    let (s, o) = api(&c, &provider.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "pid", "person_id": p["person_id"]}))).await;
    assert_eq!(s, 201, "{o}");
    let cli = |args: &[&str]| esspass_with_wallet(&dir, "w.esspass", WALLET_PASSPHRASE, args);
    let (code, v, err) = cli(&["wallet", "receive", "--json", "--tls-ca", "root/ca.pem", "--tx-code", o["tx_code"].as_str().unwrap(), o["credential_offer_uri"].as_str().unwrap()]);
    assert_eq!(code, Some(0), "{v} {err}");
    // The PID verifies on its own: PID provider in the Issuer Trusted List, authorised for the PID.
    let (code, v, err) = cli(&["wallet", "list", "--json"]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert!(v.to_string().contains("urn:eudi:pid:1"), "{v}");

    // The wallet asks the institution for an EHIC (authorization-code flow, PAR with PKCE).
    let sign_in = async |verifier: &str| {
        let challenge = esspass_credential::b64::encode(esspass_credential::sha256(verifier.as_bytes()));
        let form = [
            ("response_type", "code"),
            ("client_id", "wallet-1"),
            ("redirect_uri", "https://wallet.example/cb"),
            ("scope", "ehic"),
            ("code_challenge_method", "S256"),
            ("code_challenge", challenge.as_str()),
            ("state", "st-1"),
        ];
        let r = c.post(format!("{}/par", node.url)).form(&form).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let request_uri = r.json::<Value>().await.unwrap()["request_uri"].as_str().unwrap().to_owned();
        let q: String = url::form_urlencoded::Serializer::new(String::new()).append_pair("client_id", "wallet-1").append_pair("request_uri", &request_uri).finish();
        let r = c.get(format!("{}/authorize?{q}", node.url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'none'") && !csp.contains("script"), "{csp}");
        r.text().await.unwrap()
    };
    let page = sign_in("a-pkce-verifier-of-enough-length-0123456789").await;
    assert!(page.contains("<svg role=\"img\"") && page.contains("Sign in with your wallet"), "{page}");
    assert!(!page.contains("DEMO eID"), "no demo eID where only the PID sign-in is on: {page}");
    let link = page.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    assert!(link.starts_with("openid4vp://?client_id=x509_hash%3A"), "{link}");
    let signin = hidden(&page, "signin");
    // Continuing before the wallet answered: the same page, saying so.
    let r = c.post(format!("{}/authorize/pid", node.url)).form(&[("signin", &signin)]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("has not answered yet"));
    // The demo eID form is not served.
    let r = c.post(format!("{}/authorize", node.url)).form(&[("signin", signin.as_str()), ("family_name", "Novak"), ("given_name", "Živa"), ("birth_date", "1985-04-12"), ("personal_number", "SI1985041277")]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // The wallet presents the PID: only what the sign-in asks for.
    let (code, v, err) = cli(&["wallet", "present", "--json", "--yes", "--trust-anchor", "root/ca.pem", "--verifier-list", "trusted-lists/verifiers.jwt", &link]);
    assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("sent")), "{v} {err}");
    let disclosed = v.to_string();
    for never in ["place_of_birth", "nationalities", "Ljubljana", "address"] {
        assert!(!disclosed.contains(never), "{never} is not asked for: {v}");
    }
    let r = c.post(format!("{}/authorize/pid", node.url)).form(&[("signin", &signin)]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap_or_default());
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert!(location.as_str().starts_with("https://wallet.example/cb?"), "{location}");
    assert!(q.contains_key("code") && q["state"] == "st-1" && q["iss"] == node.url, "{location}");
    // The sign-in reference is spent.
    let r = c.post(format!("{}/authorize/pid", node.url)).form(&[("signin", &signin)]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // The wallet's own authorization-code flow: the CLI plays the person's browser on the sign-in
    // page, presents its PID and receives the EHIC — wallet-initiated, then from the institution's
    // offer (its issuer_state), which that uses up.
    let receive = |target: &str| cli(&["wallet", "receive", "--json", "--sign-in-with-pid", "--client-id", "wallet-1", "--redirect-uri", "https://wallet.example/cb", "--trust-anchor", "root/ca.pem", "--verifier-list", "trusted-lists/verifiers.jwt", "--yes", target]);
    let (code, v, err) = receive(&format!("{}#ehic", node.url));
    assert_eq!((code, v["received"].as_array().map(Vec::len)), (Some(0), Some(1)), "{v} {err}");
    let (s, offer) = api(&c, &node.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "ehic", "person_id": insured["person_id"]}))).await;
    assert_eq!(s, 201, "{offer}");
    let (code, v, err) = receive(offer["credential_offer_uri"].as_str().unwrap());
    assert_eq!((code, v["received"].as_array().map(Vec::len)), (Some(0), Some(1)), "{v} {err}");
    let (_, v, _) = cli(&["wallet", "list", "--json"]);
    assert_eq!(v["credentials"].as_array().unwrap().iter().filter(|c| c["vct"] == "urn:eudi:ehic:1").count(), 2, "{v}");
    // Without a PID the wallet cannot sign in; it says why.
    let bare = |args: &[&str]| esspass_with_wallet(&dir, "empty.esspass", WALLET_PASSPHRASE, args);
    let (code, v, err) = bare(&["wallet", "receive", "--json", "--sign-in-with-pid", "--client-id", "wallet-1", "--redirect-uri", "https://wallet.example/cb", "--trust-anchor", "root/ca.pem", "--verifier-list", "trusted-lists/verifiers.jwt", "--yes", &format!("{}#ehic", node.url)]);
    assert_eq!(code, Some(1), "{v} {err}");
    assert!(v.to_string().contains("urn:eudi:pid:1"), "{v}");

    // Someone the institution has no record of: manual review, no code.
    let (s, p2) = api(&c, &provider.url, reqwest::Method::POST, "/api/v1/persons", Some(json!({"personal_number": "SI1990010155", "family_name": "Kovač", "given_name": "Ana", "birth_date": "1990-01-01", "nationality": "SI", "birth_country": "SI"}))).await;
    assert_eq!(s, 201, "{p2}");
    let (_, o2) = api(&c, &provider.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "pid", "person_id": p2["person_id"]}))).await;
    std::fs::remove_file(dir.join("w.esspass")).unwrap();
    let (code, v, err) = cli(&["wallet", "receive", "--json", "--tls-ca", "root/ca.pem", "--tx-code", o2["tx_code"].as_str().unwrap(), o2["credential_offer_uri"].as_str().unwrap()]);
    assert_eq!(code, Some(0), "{v} {err}");
    let page = sign_in("another-pkce-verifier-of-enough-length-0123456789").await;
    let link = page.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    let (code, v, err) = cli(&["wallet", "present", "--json", "--yes", "--trust-anchor", "root/ca.pem", "--verifier-list", "trusted-lists/verifiers.jwt", &link]);
    assert_eq!(code, Some(0), "{v} {err}");
    let r = c.post(format!("{}/authorize/pid", node.url)).form(&[("signin", &hidden(&page, "signin"))]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("manual review"));
    // A PID provider issues PIDs only, and a PID needs the place of birth in the record.
    let (s, p3) = api(&c, &provider.url, reqwest::Method::POST, "/api/v1/persons", Some(json!({"personal_number": "SI1970010199", "family_name": "Horvat", "given_name": "Jan", "birth_date": "1970-01-01", "nationality": "SI"}))).await;
    assert_eq!(s, 201, "{p3}");
    let (s, v) = api(&c, &provider.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "pid", "person_id": p3["person_id"]}))).await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = api(&c, &provider.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "ehic", "person_id": p["person_id"]}))).await;
    assert_eq!(s, 400, "{v}");
}

/// Back-office sign-in with a PID (issue 9): Anna, a case worker listed in `[[staff]]`, asks the
/// node for a staff sign-in, presents her PID with `esspass wallet`, and receives a session token
/// with her role: the case workers' routes take it, others refuse it, the audit trail names her.
/// The session is handed out once; a tampered token, an unlisted person's PID and a sign-in before
/// the wallet answered are refused with their codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_worker_signs_in_to_the_back_office_with_her_pid() {
    let dir = tmp("staff");
    let port = free_port();
    let config = setup(&dir, port, &format!("sqlite:{}", dir.join("node.db").display()));
    let pport = free_port();
    let pid_config = pid_provider_config(&dir, pport);
    let text = std::fs::read_to_string(&config).unwrap()
        + "\n[sign_in.pid]\nverifier_id = \"SI:ZZZS\"\nsigning_key = \"verifiers/si-zzzs-signin/signing.key\"\nchain = \"verifiers/si-zzzs-signin/chain.pem\"\ntrust_anchor = \"root/ca.pem\"\nissuer_list = \"trusted-lists/issuers.jwt\"\nverifier_list = \"trusted-lists/verifiers.jwt\"\n\n[[staff]]\nname = \"anna.kos\"\nrole = \"case_worker\"\npersonal_number = \"SI1979061433\"\nfamily_name = \"KOS\"\ngiven_name = \"Ana\"\nbirth_date = \"1979-06-14\"\n";
    std::fs::write(&config, text).unwrap();
    let c = reqwest::Client::builder()
        .tls_certs_merge([reqwest::Certificate::from_der(&esspass_credential::x509::Certificate::from_pem(&std::fs::read_to_string(dir.join("root/ca.pem")).unwrap()).unwrap().der).unwrap()])
        .build()
        .unwrap();
    let provider = spawn(&pid_config, &c).await;
    let node = spawn(&config, &c).await;
    // Anna's PID (names as her PID provider writes them) and Živa's, each in a wallet.
    let mut wallets = Vec::new();
    for (file, person) in [
        ("anna.esspass", json!({"personal_number": "SI1979061433", "family_name": "Kos", "given_name": "Ana", "birth_date": "1979-06-14", "nationality": "SI", "birth_country": "SI", "birth_place": "Maribor"})),
        ("ziva.esspass", json!({"personal_number": "SI1985041277", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "birth_country": "SI", "birth_place": "Ljubljana"})),
    ] {
        let (s, p) = api(&c, &provider.url, reqwest::Method::POST, "/api/v1/persons", Some(person)).await;
        assert_eq!(s, 201, "{p}");
        let (_, o) = api(&c, &provider.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "pid", "person_id": p["person_id"]}))).await;
        let (code, v, err) = esspass_with_wallet(&dir, file, WALLET_PASSPHRASE, &["wallet", "receive", "--json", "--tls-ca", "root/ca.pem", "--tx-code", o["tx_code"].as_str().unwrap(), o["credential_offer_uri"].as_str().unwrap()]);
        assert_eq!(code, Some(0), "{v} {err}");
        wallets.push(file);
    }
    let post = |path: &str, body: Value| {
        let (c, url) = (c.clone(), format!("{}{path}", node.url));
        async move {
            let r = c.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or_default())
        }
    };
    let present = |wallet: &str, link: &str| esspass_with_wallet(&dir, wallet, WALLET_PASSPHRASE, &["wallet", "present", "--json", "--yes", "--trust-anchor", "root/ca.pem", "--verifier-list", "trusted-lists/verifiers.jwt", link]);
    let (s, start) = post("/api/v1/staff/sign-in", json!({})).await;
    assert_eq!(s, 201, "{start}");
    assert!(start["authorization_request"].as_str().unwrap().starts_with("openid4vp://") && start["qr_svg"].as_str().unwrap().contains("<svg"), "{start}");
    let poll = start["poll"].as_str().unwrap().to_owned();
    let (s, v) = post("/api/v1/staff/sign-in/session", json!({"poll": poll})).await;
    assert_eq!((s, v["state"].as_str()), (202, Some("pending")), "{v}");
    // A guessed reference, and a 10 MB body, get nothing.
    let (s, v) = post("/api/v1/staff/sign-in/session", json!({"poll": "guessed-reference"})).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("ESP-7024")), "{v}");
    let big = c.post(format!("{}/api/v1/staff/sign-in/session", node.url)).header("Content-Type", "application/json").body(vec![b' '; 10 * 1024 * 1024]).send().await.map(|r| r.status().as_u16());
    assert!(big.as_ref().map_or(true, |s| *s == 413), "{big:?}");
    let (code, v, err) = present(wallets[0], start["authorization_request"].as_str().unwrap());
    assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("sent")), "{v} {err}");
    let (s, session) = post("/api/v1/staff/sign-in/session", json!({"poll": poll})).await;
    assert_eq!((s, session["name"].as_str(), session["role"].as_str()), (200, Some("anna.kos"), Some("case_worker")), "{session}");
    let (s, v) = post("/api/v1/staff/sign-in/session", json!({"poll": poll})).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("ESP-7024")), "handed out once: {v}");
    let token = session["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ess-staff."));
    let get = |path: &str, token: &str| {
        let (c, url, token) = (c.clone(), format!("{}{path}", node.url), token.to_owned());
        async move { c.get(url).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get("/api/v1/tasks", &token).await, 200, "a case worker's route");
    let r = c.post(format!("{}/api/v1/persons", node.url)).bearer_auth(&token).json(&json!({"personal_number": "X1", "family_name": "A", "given_name": "B", "birth_date": "1990-01-01"})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "not a back-office route for a case worker");
    // A token altered in its payload (another role) or its tag is refused.
    let (payload, tag) = token.strip_prefix("ess-staff.").unwrap().split_once('.').unwrap();
    let mut claims: Value = serde_json::from_slice(&esspass_credential::b64::decode(payload).unwrap()).unwrap();
    claims["role"] = json!("back_office");
    let forged = format!("ess-staff.{}.{tag}", esspass_credential::b64::encode(serde_json::to_vec(&claims).unwrap()));
    assert_eq!(get("/api/v1/tasks", &forged).await, 401);
    assert_eq!(get("/api/v1/tasks", &format!("{}x", &token[..token.len() - 1])).await, 401);
    // Živa has a valid PID but is not staff.
    let (_, start) = post("/api/v1/staff/sign-in", json!({})).await;
    let (code, v, err) = present(wallets[1], start["authorization_request"].as_str().unwrap());
    assert_eq!(code, Some(0), "{v} {err}");
    let (s, v) = post("/api/v1/staff/sign-in/session", json!({"poll": start["poll"]})).await;
    assert_eq!((s, v["code"].as_str()), (403, Some("ESP-7023")), "{v}");
    // The audit trail names Anna's sign-in, and the refused one.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}?mode=ro", dir.join("node.db").display())).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT actor, action FROM audit_log WHERE action LIKE 'staff_%' ORDER BY seq").fetch_all(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(rows, [("staff:anna.kos".to_owned(), "staff_signed_in".to_owned()), ("staff-sign-in".to_owned(), "staff_sign_in_refused".to_owned())]);
    drop(provider);
    drop(node);
}
