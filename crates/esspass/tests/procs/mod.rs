//! `esspass serve` as child processes for the tests that drive nodes over loopback HTTPS: a demo PKI
//! per test directory, institution and verifier configurations, start-up until `/readyz`, the
//! back-office API.
#![allow(dead_code)]

use esspass_credential::EcdsaP256Signer;
use esspass_wallet::Oid4vciClient;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const BO_KEY: &str = "bo-process-test-key-0123456789";
pub static N: AtomicUsize = AtomicUsize::new(0);

pub struct Node {
    pub child: Child,
    pub url: String,
    pub config: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("esspass-proc-{}-{}-{name}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A PKI whose si-zzzs certificate names `url`, and a config for a node at `port` on `database`.
pub fn setup(dir: &Path, port: u16, database: &str) -> PathBuf {
    let t = time::OffsetDateTime::now_utc();
    if !dir.join("pki.json").exists() {
        esspass_keys::pki::init_demo(dir, t).unwrap();
    }
    // Each node's signing certificate names its own URL (the node refuses a public_url that is not
    // in it): a key and chain per port.
    esspass_keys::pki::reissue_institution(dir, "si-zzzs", &format!("https://127.0.0.1:{port}"), t).unwrap();
    let inst = dir.join("institutions/si-zzzs");
    std::fs::copy(inst.join("signing.key"), inst.join(format!("signing-{port}.key"))).unwrap();
    std::fs::copy(inst.join("chain.pem"), inst.join(format!("chain-{port}.pem"))).unwrap();
    let cfg = format!(
        "role = \"institution\"\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"https://127.0.0.1:{port}\"\ndatabase = \"{database}\"\n\n[institution]\nid = \"SI:ZZZS\"\nname = \"ZZZS\"\ncountry = \"SI\"\nsigning_key = \"institutions/si-zzzs/signing-{port}.key\"\nchain = \"institutions/si-zzzs/chain-{port}.pem\"\ntls_key = \"institutions/si-zzzs/tls.key\"\ntls_chain = \"institutions/si-zzzs/tls-chain.pem\"\ncredential_types = [\"ehic\"]\n\n[status]\nlist_size = 1048576\n\n[issuance]\nbatch_size = 4\n\n[limits]\nrequests_per_minute = 10000000\n\n[[api_keys]]\nname = \"bo\"\nrole = \"back_office\"\nsha256 = \"{}\"\n",
        esspass_store::hash_secret(BO_KEY)
    );
    let path = dir.join(format!("node-{port}.toml"));
    std::fs::write(&path, cfg).unwrap();
    path
}

pub async fn spawn(config: &Path, client: &reqwest::Client) -> Node {
    let text = std::fs::read_to_string(config).unwrap();
    let url = text.lines().find_map(|l| l.strip_prefix("public_url = \"")).unwrap().trim_end_matches('"').to_owned();
    let child = Command::new(env!("CARGO_BIN_EXE_esspass")).args(["serve", "--config", config.to_str().unwrap()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // The Node owns the child from here on: dropping it (also on a failed start) kills and reaps it.
    let node = Node { child, url, config: config.to_path_buf() };
    for _ in 0..200 {
        if client.get(format!("{}/readyz", node.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            return node;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("node did not start: {}", config.display());
}

pub fn client(dir: &Path) -> (reqwest::Client, Vec<u8>) {
    let root = esspass_credential::x509::Certificate::from_pem(&std::fs::read_to_string(dir.join("root/ca.pem")).unwrap()).unwrap();
    (reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_der(&root.der).unwrap()]).build().unwrap(), root.der)
}

/// A request to a node's API with `key`; the status and the JSON answer (the text when not JSON).
pub async fn call(c: &reqwest::Client, key: &str, url: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = c.request(method, format!("{url}{path}")).bearer_auth(key);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let s = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (s, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The back office's request to an institution node.
pub async fn api(c: &reqwest::Client, url: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(c, BO_KEY, url, method, path, body).await
}

/// The hospital desk's request to a verifier node.
pub async fn desk(c: &reqwest::Client, url: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(c, DESK_KEY, url, method, path, body).await
}

pub async fn person(c: &reqwest::Client, url: &str, n: usize) -> String {
    let (s, v) = api(c, url, reqwest::Method::POST, "/api/v1/persons", Some(json!({"personal_number": format!("SI{n:010}"), "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "coverage_kind": "health", "coverage_start": "2020-01-01"}))).await;
    assert_eq!(s, 201, "{v}");
    v["person_id"].as_str().unwrap().to_owned()
}

pub async fn issue(c: &reqwest::Client, wallet: &Oid4vciClient, url: &str, person: &str) -> String {
    let (s, o) = api(c, url, reqwest::Method::POST, "/api/v1/credential-offers", Some(json!({"credential_configuration_id": "ehic", "person_id": person}))).await;
    assert_eq!(s, 201, "{o}");
    let offer = wallet.resolve_offer(o["credential_offer_uri"].as_str().unwrap()).await.unwrap();
    let dpop = EcdsaP256Signer::generate().unwrap();
    let holder = EcdsaP256Signer::generate().unwrap();
    wallet.redeem(&offer, o["tx_code"].as_str(), &dpop, &[&holder]).await.unwrap().remove(0)
}

pub async fn databases(tag: &str) -> Vec<String> {
    let mut v = vec![format!("sqlite:{}", tmp(tag).join("node.db").display())];
    if let Ok(url) = std::env::var("ESSPASS_TEST_POSTGRES") {
        v.push(pg_schema(&url, tag).await);
    } else {
        eprintln!("ESSPASS_TEST_POSTGRES is not set: the PostgreSQL variant of this test is skipped");
    }
    v
}

pub async fn pg_schema(url: &str, tag: &str) -> String {
    static CLEAN: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    CLEAN.get_or_init(|| async { esspass_store::Store::drop_postgres_schemas(url, "esspass_p").await.unwrap(); }).await;
    let schema = format!("esspass_p{}_{tag}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    esspass_store::Store::connect_postgres_schema(url, &schema).await.unwrap().close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}


pub const DESK_KEY: &str = "desk-verifier-test-key-0123456789";

/// A verifier node (the Spanish hospital of the demo PKI) beside the institution node at `dir`.
pub fn verifier_config(dir: &Path, port: u16) -> PathBuf {
    let cfg = format!(
        r#"role = "verifier"
listen = "127.0.0.1:{port}"
public_url = "https://127.0.0.1:{port}"
database = "sqlite:{db}"
secret_file = "verifier.secret"

[verifier]
id = "ES-HULP"
name = "Hospital Universitario La Paz"
signing_key = "verifiers/es-hospital/signing.key"
chain = "verifiers/es-hospital/chain.pem"
tls_key = "verifiers/es-hospital/tls.key"
tls_chain = "verifiers/es-hospital/tls-chain.pem"

[trust]
anchor = "root/ca.pem"
issuer_list = "trusted-lists/issuers.jwt"
verifier_list = "trusted-lists/verifiers.jwt"

[[profiles]]
name = "ehic-healthcare"
credential_type = "ehic"
claims = [["issuing_authority"], ["authentic_source"], ["document_number"], ["personal_administrative_number"], ["date_of_issuance"], ["date_of_expiry"], ["starting_date"], ["ending_date"]]
policy_version = "2026-1"
purpose = "Treatment under the EHIC: entitlement and reimbursement"

[limits]
requests_per_minute = 10000000

[[api_keys]]
name = "desk"
role = "verifier"
sha256 = "{key}"
"#,
        db = dir.join("verifier.db").display(),
        key = esspass_store::hash_secret(DESK_KEY)
    );
    let path = dir.join(format!("verifier-{port}.toml"));
    std::fs::write(&path, cfg).unwrap();
    path
}

/// The passphrase of the test wallets.
pub const WALLET_PASSPHRASE: &str = "a long wallet passphrase";

/// `esspass ARGS` run in `dir` with the wallet file `wallet` (in `dir`) and `passphrase`: exit code,
/// the JSON it printed (null when none), stderr.
pub fn esspass_with_wallet(dir: &Path, wallet: &str, passphrase: &str, args: &[&str]) -> (Option<i32>, Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_esspass")).args(args).env("ESSPASS_WALLET", dir.join(wallet)).env("ESSPASS_WALLET_PASSPHRASE", passphrase).current_dir(dir).output().unwrap();
    (o.status.code(), serde_json::from_slice::<Value>(&o.stdout).unwrap_or(Value::Null), String::from_utf8_lossy(&o.stderr).into_owned())
}
