//! OpenID4VP 1.0 interoperability with third-party code, both ways, over loopback HTTPS between
//! processes (interop/openid4vp.mjs: Animo's `@openid4vc/openid4vp` 0.4.6 with `@sd-jwt/*` 0.19.0
//! and `jose` for the encrypted response).
//!
//! Their wallet, our verifier: the EHIC is received by Animo's OpenID4VCI client
//! (interop/wallet-vci.mjs), the hospital's `esspass serve` verifier node opens a transaction, and
//! the Animo wallet resolves the signed request by reference (`x509_hash` checked by the library
//! against the x5c leaf, the chain to the demo root by the script), builds the presentation the DCQL
//! query asks for with a KB-JWT and answers `direct_post.jwt` (ECDH-ES, `apv` = nonce). The node
//! verifies it (only the profile's claims kept, a proof); the same response posted again is refused
//! with its code and changes nothing.
//!
//! Our wallet, their verifier: `esspass wallet` holds the EHIC; the Animo verifier (with the demo
//! hospital's request-signing certificate, registered in the Verifier Trusted List) serves a request
//! it created — signed, by reference, `x509_hash`, DCQL, `direct_post.jwt` with an ephemeral key —
//! and `esspass wallet present` answers; the library decrypts and validates the response and
//! `@sd-jwt/sd-jwt-vc` verifies the presentation (issuer signature, disclosures, KB-JWT with nonce,
//! `aud` = the prefixed client id). A request from the same library asking beyond the hospital's
//! registration is refused by our wallet with ESP-7113 and nothing is sent.
//!
//! Needs node >= 20 and npm (installed by the interop harness); a missing tool fails, never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "interop/support.rs"]
#[allow(dead_code)]
mod support;

mod procs;

use procs::*;
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// The claims the hospital's profile and registration allow (docs/domain.md §2.6).
const HOSPITAL_CLAIMS: [&str; 8] = ["issuing_authority", "authentic_source", "document_number", "personal_administrative_number", "date_of_issuance", "date_of_expiry", "starting_date", "ending_date"];

/// `node <interop/script>` with the demo root trusted by Node's fetch.
fn node(dir: &Path, script: &str) -> Command {
    let mut c = Command::new("node");
    c.arg(support::env().interop.join(script)).env("NODE_EXTRA_CA_CERTS", dir.join("root/ca.pem"));
    c
}

/// `node <script> <args>` with `stdin` as its input and the demo root trusted by Node's fetch; its
/// exit code and the JSON object it printed.
fn script(dir: &Path, script: &str, args: &[&str], stdin: Option<&Value>) -> (i32, Value) {
    let mut child = node(dir, script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let mut input = child.stdin.take().unwrap();
    if let Some(v) = stdin {
        input.write_all(v.to_string().as_bytes()).unwrap();
    }
    drop(input);
    let o = child.wait_with_output().unwrap();
    let code = o.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{script} printed no JSON (exit {code}):\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)));
    assert!(code == 0 || code == 1, "{script} broke (exit {code}): {v}\n{}", String::from_utf8_lossy(&o.stderr));
    (code, v)
}

/// An institution (ZZZS, EHIC) and the hospital's verifier node, as processes, and one insured person
/// with an offer for her EHIC.
async fn world(tag: &str) -> (std::path::PathBuf, reqwest::Client, Node, Node, Value) {
    let dir = tmp(tag);
    let port = free_port();
    let config = setup(&dir, port, &format!("sqlite:{}", dir.join("node.db").display()));
    let (c, _) = client(&dir);
    let node = spawn(&config, &c).await;
    let verifier = spawn(&verifier_config(&dir, free_port()), &c).await;
    let person = person(&c, &node.url, 1).await;
    let (s, offer) = api(&c, &node.url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "ehic", "person_id": person}))).await;
    assert_eq!(s, 201, "{offer}");
    (dir, c, node, verifier, offer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_animo_wallet_answers_our_verifier() {
    let (dir, c, _node, verifier, offer) = world("vpi-wallet").await;
    // The third-party wallet receives the EHIC over OpenID4VCI.
    let (code, received) = tokio::task::block_in_place(|| script(&dir, "wallet-vci.mjs", &["pre-authorized", offer["credential_offer_uri"].as_str().unwrap(), offer["tx_code"].as_str().unwrap()], None));
    assert_eq!(code, 0, "{received}");
    let (s, tx) = desk(&c, &verifier.url, reqwest::Method::POST, "/api/v1/verifications", Some(json!({"profile": "ehic-healthcare"}))).await;
    assert_eq!(s, 201, "{tx}");
    let link = tx["authorization_request"].as_str().unwrap();
    let req = json!({"link": link, "credential": received["credential"], "holder_private_pem": received["holder_private_pem"], "root": dir.join("root/ca.pem"), "replay": true});
    let (code, v) = tokio::task::block_in_place(|| script(&dir, "openid4vp.mjs", &["wallet"], Some(&req)));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["version"], 100, "the library reads our request as OpenID4VP 1.0: {v}");
    assert_eq!(v["status"], 200, "{v}");
    let client_id = v["client_id"].as_str().unwrap();
    assert!(client_id.starts_with("x509_hash:"), "{v}");
    let jwe = &v["jwe_header"];
    assert!(jwe["kid"].is_string() && jwe["epk"].is_object() && jwe["apv"].is_string() && jwe["alg"] == "ECDH-ES", "{v}");
    let presented: Vec<String> = v["presented"].as_array().unwrap().iter().map(|p| p[0].as_str().unwrap().to_owned()).collect();
    assert_eq!(presented, HOSPITAL_CLAIMS, "the wallet disclosed what the DCQL query named: {v}");
    // The replay of the same encrypted response: refused with its code.
    assert!(v["replay"]["status"].as_u64().is_some_and(|s| (400..500).contains(&s)), "{v}");
    assert!(v["replay"]["body"]["code"].as_str().is_some_and(|c| c.starts_with("ESP-")), "{v}");
    let id = tx["transaction_id"].as_str().unwrap();
    let (s, done) = desk(&c, &verifier.url, reqwest::Method::GET, &format!("/api/v1/verifications/{id}"), None).await;
    assert_eq!((s, done["state"].as_str(), done["outcome"].as_str()), (200, Some("verified"), Some("valid")), "{done}");
    let claims = done["claims"].as_object().unwrap();
    let mut keys: Vec<&str> = claims.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = HOSPITAL_CLAIMS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "only the profile's claims are kept: {done}");
    let resp = c.get(format!("{}/api/v1/verifications/{id}/proof", verifier.url)).bearer_auth(DESK_KEY).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

/// The Animo verifier as a process: its first line (the link), then its verdict on the answer.
struct AnimoVerifier {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl AnimoVerifier {
    fn start(dir: &Path, claims: &[Vec<&str>]) -> (Self, Value) {
        let party = dir.join("verifiers/es-hospital");
        let req = json!({
            "port": free_port(), "signing_key": party.join("signing.key"), "chain": party.join("chain.pem"),
            "tls_key": party.join("tls.key"), "tls_chain": party.join("tls-chain.pem"), "root": dir.join("root/ca.pem"),
            "vct": "urn:eudi:ehic:1", "claims": claims, "enc": "A256GCM",
        });
        let mut child = node(dir, "openid4vp.mjs")
            .arg("verifier")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node");
        let mut input = child.stdin.take().unwrap();
        input.write_all(req.to_string().as_bytes()).unwrap();
        drop(input);
        let mut me = Self { stdout: std::io::BufReader::new(child.stdout.take().unwrap()), child };
        let first = me.line();
        (me, first)
    }

    fn line(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("openid4vp.mjs verifier sent no JSON line ({e}): {line:?}"))
    }
}

impl Drop for AnimoVerifier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_wallet_answers_an_animo_verifier() {
    let (dir, _c, _node, _verifier, offer) = world("vpi-verifier").await;
    let cli = |args: &[&str]| esspass_with_wallet(&dir, "w.esspass", WALLET_PASSPHRASE, args);
    let (code, v, err) = cli(&["wallet", "receive", "--json", "--tls-ca", "root/ca.pem", "--tx-code", offer["tx_code"].as_str().unwrap(), offer["credential_offer_uri"].as_str().unwrap()]);
    assert_eq!(code, Some(0), "{v} {err}");
    let present = |link: &str| cli(&["wallet", "present", "--json", "--yes", "--trust-anchor", "root/ca.pem", "--verifier-list", "trusted-lists/verifiers.jwt", link]);

    let paths: Vec<Vec<&str>> = HOSPITAL_CLAIMS.iter().map(|c| vec![*c]).collect();
    let (mut animo, first) = AnimoVerifier::start(&dir, &paths);
    let link = first["link"].as_str().unwrap();
    assert!(link.starts_with("openid4vp://?client_id=x509_hash%3A"), "{first}");
    let (code, v, err) = tokio::task::block_in_place(|| present(link));
    assert_eq!((code, v["outcome"].as_str()), (Some(0), Some("sent")), "{v} {err}");
    let verdict = animo.line();
    assert_eq!(verdict["ok"], true, "the Animo verifier refused our answer: {verdict}");
    let claims = verdict["claims"].as_object().unwrap();
    for c in HOSPITAL_CLAIMS {
        assert!(claims.contains_key(c), "{c} was asked and not disclosed: {verdict}");
    }
    for never in ["family_name", "given_name", "birth_date"] {
        assert!(!claims.contains_key(never), "{never} was not asked: {verdict}");
    }
    assert_eq!(verdict["kb"]["payload"]["aud"], first["client_id"], "{verdict}");
    assert_eq!(verdict["kb"]["payload"]["nonce"], first["nonce"], "{verdict}");
    assert_eq!(verdict["jwe_header"]["enc"], "A256GCM", "{verdict}");
    drop(animo);

    // The same library asking for the holder's names, which the hospital is not registered for.
    let mut beyond = paths.clone();
    beyond.push(vec!["family_name"]);
    let (_animo, first) = AnimoVerifier::start(&dir, &beyond);
    let (code, v, err) = tokio::task::block_in_place(|| present(first["link"].as_str().unwrap()));
    assert_eq!(code, Some(1), "{v} {err}");
    assert_eq!(v["error"]["code"], "ESP-7113", "{v} {err}");
}
