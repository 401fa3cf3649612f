//! OpenID4VCI interoperability with a third-party wallet client: Animo's `@openid4vc/openid4vci`
//! + `@openid4vc/oauth2` 0.4.6 (interop/wallet-vci.mjs) against `esspass serve` over HTTPS.
//!
//! Pre-authorized code flow with DPoP for the EHIC: the back office creates a person with health
//! coverage and an offer by reference; the npm wallet resolves the offer and both metadata
//! documents, gets a DPoP-bound token (pre-authorized code + tx_code), a `c_nonce` from the nonce
//! endpoint, signs a key proof and receives the credential. `esspass verify` (demo root + Issuer
//! Trusted List, status fetched from the running node) says valid, and `esspass present` with the
//! wallet's holder key + `verify --nonce --aud` proves the holder binding. Running the wallet again
//! fails: the offer by reference is consumed, and the pre-authorized code (offered by value) is
//! single-use.
//!
//! Needs node >= 20 and npm (installed by the interop harness); a missing tool fails, never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "interop/support.rs"]
#[allow(dead_code)]
mod support;

use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BO_KEY: &str = "bo-interop-key-0123456789";

/// `esspass serve` as a child process, killed when dropped.
struct Served {
    child: Child,
    url: String,
    pki: PathBuf,
    http: reqwest::blocking::Client,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(dir: &Path) -> Served {
    let now = time::OffsetDateTime::now_utc();
    let pki = dir.join("pki");
    esspass_keys::pki::init_demo(&pki, now).unwrap();
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}");
    // The signing certificate's SAN URI is the node's URL (the credential `iss`).
    esspass_keys::pki::reissue_institution(&pki, "si-zzzs", &url, now).unwrap();
    let cfg = format!(
        r#"role = "institution"
listen = "127.0.0.1:{port}"
public_url = "{url}"
database = "sqlite:{db}"
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
"#,
        db = dir.join("db/node.db").display(),
        bo = esspass_store::hash_secret(BO_KEY),
    );
    let cfg_path = pki.join("esspass.toml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_esspass")).arg("serve").arg("--config").arg(&cfg_path).stdout(Stdio::null()).stderr(log).spawn().expect("start esspass serve");
    let root = std::fs::read(pki.join("root/ca.pem")).unwrap();
    let http = reqwest::blocking::Client::builder().tls_certs_merge([reqwest::Certificate::from_pem(&root).unwrap()]).timeout(Duration::from_secs(10)).build().unwrap();
    let mut served = Served { child, url, pki, http };
    // Ready when the issuer metadata answers.
    let started = Instant::now();
    loop {
        if let Ok(r) = served.http.get(format!("{}/.well-known/openid-credential-issuer", served.url)).send()
            && r.status().is_success()
        {
            break;
        }
        if let Ok(Some(status)) = served.child.try_wait() {
            let mut log = String::new();
            let _ = std::fs::File::open(dir.join("serve.log")).and_then(|mut f| f.read_to_string(&mut log));
            panic!("esspass serve exited with {status}:\n{log}");
        }
        assert!(started.elapsed() < Duration::from_secs(30), "esspass serve did not answer within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    served
}

impl Served {
    fn api(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}{path}", self.url)).bearer_auth(BO_KEY).header("Content-Type", "application/json").body(body.to_string()).send().unwrap();
        let s = resp.status().as_u16();
        let text = resp.text().unwrap();
        (s, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn root(&self) -> PathBuf {
        self.pki.join("root/ca.pem")
    }

    fn trusted_list(&self) -> PathBuf {
        self.pki.join("trusted-lists/issuers.jwt")
    }
}

/// Run the npm wallet; returns (exit code, its JSON answer).
fn wallet(root: &Path, link: &str, tx_code: &str) -> (i32, Value) {
    let e = support::env();
    let out = Command::new("node")
        .arg(e.interop.join("wallet-vci.mjs"))
        .args(["pre-authorized", link, tx_code])
        .current_dir(&e.interop)
        .env("NODE_EXTRA_CA_CERTS", root)
        .output()
        .expect("run node wallet-vci.mjs");
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("wallet-vci.mjs: exit {code}, no JSON ({err})\n--- stdout\n{}\n--- stderr\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    assert!(matches!((code, v["ok"].as_bool()), (0, Some(true)) | (1, Some(false))), "wallet-vci.mjs broke: exit {code}\n{v:#}\n--- stderr\n{stderr}");
    if code != 0 {
        eprintln!("wallet-vci.mjs refused (stage {}): {}\n{stderr}", v["stage"], v["error"]);
    }
    (code, v)
}

fn esspass(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_esspass")).args(args).output().expect("run esspass");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn verify(n: &Served, file: &Path, kb: Option<(&str, &str)>) -> Value {
    let (root, itl) = (n.root(), n.trusted_list());
    let mut args: Vec<&std::ffi::OsStr> = vec!["verify".as_ref(), "--trust-anchor".as_ref(), root.as_os_str(), "--trusted-list".as_ref(), itl.as_os_str(), "--json".as_ref()];
    if let Some((nonce, aud)) = kb {
        args.extend::<[&std::ffi::OsStr; 4]>(["--nonce".as_ref(), nonce.as_ref(), "--aud".as_ref(), aud.as_ref()]);
    }
    args.push(file.as_os_str());
    let (code, stdout, stderr) = esspass(&args);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("esspass verify printed no JSON ({e}): {stdout}\n{stderr}"));
    assert_eq!(code, 0, "esspass verify: exit {code}\n{report:#}\n{stderr}");
    assert_eq!(report["outcome"], "valid", "{report:#}");
    report
}

/// The result of one check of a verification report.
fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    &report["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id}: {report:#}"))["result"]
}

#[test]
fn animo_openid4vci_wallet_gets_a_verifiable_ehic_through_the_pre_authorized_flow_with_dpop() {
    let e = support::env();
    let dir = e.scratch("oid4vci-pre-authorized-ehic");
    let n = serve(&dir);

    let (s, person) = n.api(
        "/api/v1/persons",
        &json!({"personal_number": "SI0000000042", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "residence": "SI", "coverage_kind": "health", "coverage_start": "2020-01-01"}),
    );
    assert_eq!(s, 201, "{person}");
    let (s, offer) = n.api("/api/v1/credential-offers", &json!({"credential_configuration_id": "ehic", "person_id": person["person_id"]}));
    assert_eq!(s, 201, "{offer}");
    let link = offer["credential_offer_uri"].as_str().unwrap();
    let tx_code = offer["tx_code"].as_str().unwrap();
    assert!(link.starts_with("openid-credential-offer://?credential_offer_uri=https%3A%2F%2F127.0.0.1"), "{link}");

    // The third-party wallet, end to end.
    let (code, got) = wallet(&n.root(), link, tx_code);
    assert_eq!(code, 0, "the @openid4vc wallet failed at stage {}: {}\n{:#}", got["stage"], got["error"], got["details"]);
    assert_eq!(got["token_type"], "DPoP");
    assert_eq!(got["credential_configuration_id"], "ehic");
    assert_eq!(got["credentials"].as_array().unwrap().len(), 1);
    let credential = got["credential"].as_str().unwrap();
    let cred_file = dir.join("ehic.sd-jwt");
    std::fs::write(&cred_file, credential).unwrap();

    // esspass verify: signature, x5c chain to the demo root, Issuer Trusted List, status (fetched
    // from the running node over HTTPS), Type Metadata.
    let report = verify(&n, &cred_file, None);
    for id in ["x5c.chain", "jws.signature", "trusted_list", "iss.san", "type_metadata", "status"] {
        assert_eq!(check(&report, id), "pass", "{id}: {report:#}");
    }
    let claims = &report["claims"];
    assert_eq!(claims["vct"], "urn:eudi:ehic:1", "{report:#}");
    assert_eq!(claims["iss"], n.url.as_str());
    assert_eq!(claims["issuing_authority"]["id"], "SI:ZZZS");
    // Bound to the key the wallet proved possession of.
    let cnf = &claims["cnf"]["jwk"];
    for k in ["kty", "crv", "x", "y"] {
        assert_eq!(cnf[k], got["holder_public_jwk"][k], "cnf.jwk.{k}");
    }

    // Holder binding: the wallet's key presents the credential with a KB-JWT that esspass verifies.
    let holder = dir.join("holder.pem");
    std::fs::write(&holder, got["holder_private_pem"].as_str().unwrap()).unwrap();
    let (nonce, aud) = ("n-4b1d9e", "https://verifier.example");
    let (code, presentation, stderr) = esspass(&["present".as_ref(), "--credential".as_ref(), cred_file.as_os_str(), "--holder-key".as_ref(), holder.as_os_str(), "--all".as_ref(), "--nonce".as_ref(), nonce.as_ref(), "--aud".as_ref(), aud.as_ref()]);
    assert_eq!(code, 0, "esspass present: {stderr}");
    let pres_file = dir.join("ehic.presentation");
    std::fs::write(&pres_file, presentation.trim()).unwrap();
    let report = verify(&n, &pres_file, Some((nonce, aud)));
    assert_eq!(check(&report, "holder_binding"), "pass", "{report:#}");
    assert_eq!(report["claims"]["iss"], n.url.as_str());

    // Used once. Again with the same link: the offer by reference is consumed.
    let (code, again) = wallet(&n.root(), link, tx_code);
    assert_eq!(code, 1, "a second run on the same offer link succeeded: {again:#}");
    assert_eq!(again["stage"], "resolve_offer", "{again:#}");
    // Again with the same offer by value (same pre-authorized code and tx_code): the token endpoint refuses.
    let by_value = format!("openid-credential-offer://?credential_offer={}", url::form_urlencoded::byte_serialize(got["offer"].to_string().as_bytes()).collect::<String>());
    let (code, again) = wallet(&n.root(), &by_value, tx_code);
    assert_eq!(code, 1, "a second run with the same pre-authorized code succeeded: {again:#}");
    assert_eq!(again["stage"], "token", "{again:#}");
    assert!(again.to_string().contains("invalid_grant"), "{again:#}");
}
