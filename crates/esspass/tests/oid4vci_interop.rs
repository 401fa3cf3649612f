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
//! Authorization-code flow with PAR, PKCE S256 and DPoP for the EHIC (wallet-initiated): the
//! library pushes the request (scope `ehic`), the script signs in on the demo eID page as the
//! person's browser, the library checks the redirect's `iss` (RFC 9207) and redeems the code with
//! the verifier and the same DPoP key; the credential verifies and is holder-bound as above. The
//! node's access log shows the library's `use_dpop_nonce` retry at PAR. The spent code is refused at
//! the token endpoint (`invalid_grant`), the pushed request cannot be opened twice, and a sign-in
//! that does not match the record ends in manual review without a code.
//!
//! Pre-authorized code flow with DPoP for the PDA1: an e-EFKA node (`credential_types = ["pda1"]`),
//! an A1 application the rules engine decides at once, an offer naming it; the credential verifies
//! (trusted list authorises EL:EFKA01 for the PDA1) with the decision's legislation and employer.
//!
//! Authorization-code flow from a PDA1 offer (issuer-initiated): the library resolves the
//! `credential_offer_uri` and starts the authorization from the resolved offer, so it pushes the
//! offer's `issuer_state` itself (the script records the PAR form); Georgios signs in on the demo
//! eID page, the code and token name the offer's A1 application, and the credential verifies with
//! the decision's legislation and employer. Another insured person who signs in as herself on an
//! offer for Georgios ends on the manual-review page with no code (no redirect, no token request).
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

/// The institution a node runs as: its slug in the demo PKI and what its config names.
struct Institution {
    slug: &'static str,
    id: &'static str,
    name: &'static str,
    country: &'static str,
    /// `source_name` of the config (the EHIC names its source), when set.
    source_name: Option<&'static str>,
    credential_types: &'static str,
}

const ZZZS: Institution = Institution { slug: "si-zzzs", id: "SI:ZZZS", name: "ZZZS", country: "SI", source_name: Some("Zavod za zdravstveno zavarovanje Slovenije"), credential_types: r#"["ehic"]"# };
/// Greece's e-EFKA, which the Issuer Trusted List authorises for the PDA1.
const EFKA: Institution = Institution { slug: "el-efka", id: "EL:EFKA01", name: "e-EFKA", country: "GR", source_name: None, credential_types: r#"["pda1"]"# };

fn serve(dir: &Path, inst: &Institution) -> Served {
    let now = time::OffsetDateTime::now_utc();
    let pki = dir.join("pki");
    esspass_keys::pki::init_demo(&pki, now).unwrap();
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}");
    // The signing certificate's SAN URI is the node's URL (the credential `iss`).
    esspass_keys::pki::reissue_institution(&pki, inst.slug, &url, now).unwrap();
    let cfg = format!(
        r#"role = "institution"
listen = "127.0.0.1:{port}"
public_url = "{url}"
database = "sqlite:{db}"
max_body_bytes = 16384

[institution]
id = "{id}"
name = "{name}"
country = "{country}"
{source}signing_key = "institutions/{slug}/signing.key"
chain = "institutions/{slug}/chain.pem"
tls_key = "institutions/{slug}/tls.key"
tls_chain = "institutions/{slug}/tls-chain.pem"
credential_types = {types}

[status]
list_size = 65536

[sign_in]
demo_eid = true

[[clients]]
client_id = "esspass-interop-wallet"
redirect_uris = ["eu.esspass.interop-wallet:/callback"]

[[api_keys]]
name = "back-office"
role = "back_office"
sha256 = "{bo}"
"#,
        id = inst.id,
        name = inst.name,
        country = inst.country,
        slug = inst.slug,
        source = inst.source_name.map(|n| format!("source_name = \"{n}\"\n")).unwrap_or_default(),
        types = inst.credential_types,
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

/// Run the npm wallet with `args` (`pre-authorized <link> <tx_code>` or `authorization-code
/// <issuer> <configuration> <sign-in-json>`); returns (exit code, its JSON answer).
fn wallet(root: &Path, args: &[&str]) -> (i32, Value) {
    let e = support::env();
    let out = Command::new("node")
        .arg(e.interop.join("wallet-vci.mjs"))
        .args(args)
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
    } else {
        args.push("--credential-only".as_ref());
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

/// What the wallet received, checked by esspass: `esspass verify` (signature, x5c chain to the
/// demo root, Issuer Trusted List, `iss` = SAN URI, Type Metadata, status fetched from the running
/// node over HTTPS) says valid; `cnf.jwk` is the key the wallet proved possession of; and the
/// wallet's holder key presents it with a KB-JWT that `esspass verify --nonce --aud` accepts.
/// Returns the verified claims.
fn verify_issued(n: &Served, dir: &Path, got: &Value, name: &str) -> Value {
    let credential = got["credential"].as_str().unwrap();
    let cred_file = dir.join(format!("{name}.sd-jwt"));
    std::fs::write(&cred_file, credential).unwrap();

    let report = verify(n, &cred_file, None);
    for id in ["x5c.chain", "jws.signature", "trusted_list", "iss.san", "type_metadata", "status"] {
        assert_eq!(check(&report, id), "pass", "{id}: {report:#}");
    }
    let claims = report["claims"].clone();
    assert_eq!(claims["iss"], n.url.as_str(), "{report:#}");
    // Bound to the key the wallet proved possession of.
    let cnf = &claims["cnf"]["jwk"];
    for k in ["kty", "crv", "x", "y"] {
        assert_eq!(cnf[k], got["holder_public_jwk"][k], "cnf.jwk.{k}");
    }

    // Holder binding: the wallet's key presents the credential with a KB-JWT that esspass verifies.
    let holder = dir.join(format!("{name}-holder.pem"));
    std::fs::write(&holder, got["holder_private_pem"].as_str().unwrap()).unwrap();
    let (nonce, aud) = ("n-4b1d9e", "https://verifier.example");
    let (code, presentation, stderr) = esspass(&["present".as_ref(), "--credential".as_ref(), cred_file.as_os_str(), "--holder-key".as_ref(), holder.as_os_str(), "--all".as_ref(), "--nonce".as_ref(), nonce.as_ref(), "--aud".as_ref(), aud.as_ref()]);
    assert_eq!(code, 0, "esspass present: {stderr}");
    let pres_file = dir.join(format!("{name}.presentation"));
    std::fs::write(&pres_file, presentation.trim()).unwrap();
    let report = verify(n, &pres_file, Some((nonce, aud)));
    assert_eq!(check(&report, "holder_binding"), "pass", "{report:#}");
    assert_eq!(report["claims"]["iss"], n.url.as_str());
    claims
}

#[test]
fn animo_openid4vci_wallet_gets_a_verifiable_ehic_through_the_pre_authorized_flow_with_dpop() {
    let e = support::env();
    let dir = e.scratch("oid4vci-pre-authorized-ehic");
    let n = serve(&dir, &ZZZS);

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
    let (code, got) = wallet(&n.root(), &["pre-authorized", link, tx_code]);
    assert_eq!(code, 0, "the @openid4vc wallet failed at stage {}: {}\n{:#}", got["stage"], got["error"], got["details"]);
    assert_eq!(got["token_type"], "DPoP");
    assert_eq!(got["credential_configuration_id"], "ehic");
    assert_eq!(got["credentials"].as_array().unwrap().len(), 1);
    let claims = verify_issued(&n, &dir, &got, "ehic");
    assert_eq!(claims["vct"], "urn:eudi:ehic:1");
    assert_eq!(claims["issuing_authority"]["id"], "SI:ZZZS");

    // Used once. Again with the same link: the offer by reference is consumed.
    let (code, again) = wallet(&n.root(), &["pre-authorized", link, tx_code]);
    assert_eq!(code, 1, "a second run on the same offer link succeeded: {again:#}");
    assert_eq!(again["stage"], "resolve_offer", "{again:#}");
    // Again with the same offer by value (same pre-authorized code and tx_code): the token endpoint refuses.
    let by_value = format!("openid-credential-offer://?credential_offer={}", url::form_urlencoded::byte_serialize(got["offer"].to_string().as_bytes()).collect::<String>());
    let (code, again) = wallet(&n.root(), &["pre-authorized", &by_value, tx_code]);
    assert_eq!(code, 1, "a second run with the same pre-authorized code succeeded: {again:#}");
    assert_eq!(again["stage"], "token", "{again:#}");
    assert!(again.to_string().contains("invalid_grant"), "{again:#}");
}

/// Živa Novak, insured for health in Slovenia, as the back office records her and as she signs in.
fn insured_person(n: &Served) -> (Value, Value) {
    let (s, person) = n.api(
        "/api/v1/persons",
        &json!({"personal_number": "SI0000000042", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "nationality": "SI", "residence": "SI", "coverage_kind": "health", "coverage_start": "2020-01-01"}),
    );
    assert_eq!(s, 201, "{person}");
    (person, json!({"family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "personal_number": "SI0000000042"}))
}

/// The requests the node logged so far, as `"METHOD /path STATUS"`.
fn requests(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("serve.log"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request")
        .map(|v| format!("{} {} {}", v["method"].as_str().unwrap_or_default(), v["path"].as_str().unwrap_or_default(), v["status"]))
        .collect()
}

/// A DPoP proof (RFC 9449) for a request without an access token, with the server's nonce if any.
fn dpop_proof(key: &esspass_credential::EcdsaP256Signer, method: &str, url: &str, nonce: Option<&str>) -> String {
    use esspass_credential::Signer;
    let mut h = serde_json::Map::new();
    h.insert("typ".into(), json!("dpop+jwt"));
    h.insert("jwk".into(), key.public_jwk().to_value());
    let mut p = json!({"jti": esspass_credential::b64::encode(esspass_credential::random_bytes::<12>()), "htm": method, "htu": url, "iat": time::OffsetDateTime::now_utc().unix_timestamp()});
    if let Some(n) = nonce {
        p["nonce"] = json!(n);
    }
    esspass_credential::jose::sign_compact(key, h, p.as_object().unwrap()).unwrap()
}

#[test]
fn animo_openid4vci_wallet_gets_a_verifiable_ehic_through_the_authorization_code_flow_with_par_pkce_and_dpop() {
    let e = support::env();
    let dir = e.scratch("oid4vci-authorization-code-ehic");
    let n = serve(&dir, &ZZZS);
    let (_, sign_in) = insured_person(&n);

    // Wallet-initiated: the library pushes the request (PAR: scope `ehic`, PKCE S256, resource,
    // DPoP), the script signs in on the demo eID page as the person's browser, the library checks
    // the redirect's `iss` and redeems the code with the verifier and the same DPoP key.
    let (code, got) = wallet(&n.root(), &["authorization-code", &n.url, "ehic", &sign_in.to_string()]);
    assert_eq!(code, 0, "the @openid4vc wallet failed at stage {}: {}\n{:#}", got["stage"], got["error"], got["details"]);
    let a = &got["authorization"];
    assert_eq!(a["authorization_endpoint"], format!("{}/authorize", n.url), "{a:#}");
    assert!(a["request_uri"].as_str().unwrap().starts_with("urn:ietf:params:oauth:request_uri:"), "the request was pushed: {a:#}");
    assert_eq!(a["client_id"], "esspass-interop-wallet");
    // Back to the wallet's private-use scheme with `code` and `iss` (RFC 9207) — no `state`, as the
    // library's authorization helpers send none (INTEROP-NOTES, Animo 7).
    assert_eq!(a["redirect"], "eu.esspass.interop-wallet:/callback");
    assert_eq!(a["redirect_params"], json!(["code", "iss"]));
    assert_eq!(a["iss"], n.url.as_str());
    assert_eq!(got["token_type"], "DPoP");
    assert_eq!(got["credential_configuration_id"], "ehic");
    assert_eq!(got["credentials"].as_array().unwrap().len(), 1);
    // What the node saw (its access log): the first PAR is refused with `use_dpop_nonce` and the
    // library retries it with the node's DPoP nonce, which it then carries to the token and
    // credential requests.
    let seen: Vec<String> = requests(&dir).into_iter().skip_while(|r| r != "POST /api/v1/persons 201").skip(1).filter(|r| !r.starts_with("GET /.well-known/")).collect();
    assert_eq!(seen, ["POST /par 400", "POST /par 201", "GET /authorize 200", "POST /authorize 303", "POST /token 200", "POST /nonce 200", "POST /credential 200"]);
    let claims = verify_issued(&n, &dir, &got, "ehic-authorization-code");
    assert_eq!(claims["vct"], "urn:eudi:ehic:1");
    assert_eq!(claims["issuing_authority"]["id"], "SI:ZZZS");

    // The code is single-use: redeemed again with everything else right, the token endpoint refuses.
    let token_url = format!("{}/token", n.url);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", a["code"].as_str().unwrap()),
        ("code_verifier", a["code_verifier"].as_str().unwrap()),
        ("redirect_uri", a["redirect_uri"].as_str().unwrap()),
        ("client_id", "esspass-interop-wallet"),
    ];
    let key = esspass_credential::EcdsaP256Signer::generate().unwrap();
    // The node asks for a DPoP nonce first (`use_dpop_nonce`, checked before the code is looked at).
    let resp = n.http.post(&token_url).header("DPoP", dpop_proof(&key, "POST", &token_url, None)).form(&form).send().unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let nonce = resp.headers().get("dpop-nonce").map(|v| v.to_str().unwrap().to_owned());
    let v: Value = resp.json().unwrap();
    assert_eq!(v["error"], "use_dpop_nonce", "{v:#}");
    let resp = n.http.post(&token_url).header("DPoP", dpop_proof(&key, "POST", &token_url, nonce.as_deref())).form(&form).send().unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().unwrap();
    assert_eq!(v["error"], "invalid_grant", "{v:#}");
    // The pushed request is single-use: the authorization URL shows no sign-in form a second time.
    let again = n.http.get(format!("{}?client_id=esspass-interop-wallet&request_uri={}", a["authorization_endpoint"].as_str().unwrap(), url::form_urlencoded::byte_serialize(a["request_uri"].as_str().unwrap().as_bytes()).collect::<String>())).send().unwrap();
    assert_eq!(again.status().as_u16(), 400);
    assert!(!again.text().unwrap().contains("name=\"signin\""));

    // A sign-in that does not match the record gets no code: the page says manual review, and the
    // wallet stops there.
    let mut wrong = sign_in.clone();
    wrong["birth_date"] = json!("1985-04-13");
    let (code, refused) = wallet(&n.root(), &["authorization-code", &n.url, "ehic", &wrong.to_string()]);
    assert_eq!(code, 1, "a sign-in with the wrong birth date got a credential: {refused:#}");
    assert_eq!(refused["stage"], "sign_in", "{refused:#}");
    assert!(refused["error"].as_str().unwrap().contains("manual review"), "{refused:#}");
}

/// Georgios posted by Yiannis Constructions from Greece to Italy for 12 months from today: a clear
/// case the rules engine decides at once (Art 12(1)).
fn a1_application(person_id: &str) -> Value {
    let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
    let end = today.add_months(12).unwrap().pred().unwrap();
    json!({
        "person_id": person_id,
        "application": {
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
        },
        "work_information": {"work_address": [{"street_address": "Via Torino", "house_number": "40", "postal_code": "20123", "locality": "Milano", "country": "IT"}]}
    })
}

#[test]
fn animo_openid4vci_wallet_gets_a_verifiable_pda1_through_the_pre_authorized_flow_with_dpop() {
    let e = support::env();
    let dir = e.scratch("oid4vci-pre-authorized-pda1");
    let n = serve(&dir, &EFKA);

    let (s, person) = n.api("/api/v1/persons", &json!({"personal_number": "12038501234", "family_name": "Papadopoulos", "given_name": "Georgios", "birth_date": "1985-03-12"}));
    assert_eq!(s, 201, "{person}");
    let person_id = person["person_id"].as_str().unwrap();
    let (s, app) = n.api("/api/v1/applications/a1", &a1_application(person_id));
    assert_eq!(s, 201, "{app}");
    assert_eq!(app["state"], "determined", "{app:#}");
    let (s, offer) = n.api("/api/v1/credential-offers", &json!({"credential_configuration_id": "pda1", "person_id": person_id, "application_id": app["application_id"]}));
    assert_eq!(s, 201, "{offer}");

    let (code, got) = wallet(&n.root(), &["pre-authorized", offer["credential_offer_uri"].as_str().unwrap(), offer["tx_code"].as_str().unwrap()]);
    assert_eq!(code, 0, "the @openid4vc wallet failed at stage {}: {}\n{:#}", got["stage"], got["error"], got["details"]);
    assert_eq!(got["token_type"], "DPoP");
    assert_eq!(got["credential_configuration_id"], "pda1");
    assert_eq!(got["offer"]["credential_configuration_ids"], json!(["pda1"]));
    assert_eq!(got["credentials"].as_array().unwrap().len(), 1);
    let claims = verify_issued(&n, &dir, &got, "pda1");
    assert_eq!(claims["vct"], "urn:eudi:pda1:1", "{claims:#}");
    assert_eq!(claims["issuing_authority"]["id"], "EL:EFKA01");
    assert_eq!(claims["legislation_country"], "GR");
    assert_eq!(claims["status_confirmation"], "01");
    assert_eq!(claims["employer"][0]["id"], "EL094019245");
}

#[test]
fn animo_openid4vci_wallet_takes_a_pda1_offer_through_the_authorization_code_flow_with_issuer_state() {
    let e = support::env();
    let dir = e.scratch("oid4vci-authorization-code-pda1");
    let n = serve(&dir, &EFKA);

    let (s, person) = n.api("/api/v1/persons", &json!({"personal_number": "12038501234", "family_name": "Papadopoulos", "given_name": "Georgios", "birth_date": "1985-03-12"}));
    assert_eq!(s, 201, "{person}");
    let person_id = person["person_id"].as_str().unwrap();
    let (s, app) = n.api("/api/v1/applications/a1", &a1_application(person_id));
    assert_eq!(s, 201, "{app}");
    assert_eq!(app["state"], "determined", "{app:#}");
    let (s, offer) = n.api("/api/v1/credential-offers", &json!({"credential_configuration_id": "pda1", "person_id": person_id, "application_id": app["application_id"]}));
    assert_eq!(s, 201, "{offer}");
    let sign_in = json!({"family_name": "Papadopoulos", "given_name": "Georgios", "birth_date": "1985-03-12", "personal_number": "12038501234"});

    // Issuer-initiated: the library resolves the offer link and starts the authorization from the
    // resolved offer, pushing its issuer_state (PAR, scope `pda1`, PKCE S256, DPoP); Georgios
    // signs in on the demo eID page; the code, hence the token, names the offer's A1 application.
    let (code, got) = wallet(&n.root(), &["offer-authorization-code", offer["credential_offer_uri"].as_str().unwrap(), &sign_in.to_string()]);
    assert_eq!(code, 0, "the @openid4vc wallet failed at stage {}: {}\n{:#}", got["stage"], got["error"], got["details"]);
    let issuer_state = got["offer"]["grants"]["authorization_code"]["issuer_state"].as_str().unwrap();
    let a = &got["authorization"];
    assert_eq!(a["issuer_state"], issuer_state, "the library pushed the offer's issuer_state: {a:#}");
    for p in ["client_id", "code_challenge", "code_challenge_method", "issuer_state", "redirect_uri", "resource", "response_type", "scope"] {
        assert!(a["par_params"].as_array().unwrap().iter().any(|x| x == p), "PAR without {p}: {a:#}");
    }
    assert!(a["request_uri"].as_str().unwrap().starts_with("urn:ietf:params:oauth:request_uri:"), "the request was pushed: {a:#}");
    assert_eq!(a["redirect_params"], json!(["code", "iss"]));
    assert_eq!(a["iss"], n.url.as_str());
    assert_eq!(got["token_type"], "DPoP");
    assert_eq!(got["credential_configuration_id"], "pda1");
    assert_eq!(got["credentials"].as_array().unwrap().len(), 1);
    // The authorization-code route, not the offer's pre-authorized code.
    let seen: Vec<String> = requests(&dir).into_iter().skip_while(|r| r != "POST /api/v1/credential-offers 201").skip(1).filter(|r| !r.starts_with("GET /.well-known/")).collect();
    assert_eq!(seen.iter().filter(|r| r.starts_with("GET /credential-offer")).count(), 1, "{seen:#?}");
    let flow: Vec<&String> = seen.iter().filter(|r| !r.starts_with("GET /credential-offer")).collect();
    assert_eq!(flow, ["POST /par 400", "POST /par 201", "GET /authorize 200", "POST /authorize 303", "POST /token 200", "POST /nonce 200", "POST /credential 200"]);
    let claims = verify_issued(&n, &dir, &got, "pda1-authorization-code");
    assert_eq!(claims["vct"], "urn:eudi:pda1:1", "{claims:#}");
    assert_eq!(claims["issuing_authority"]["id"], "EL:EFKA01");
    assert_eq!(claims["legislation_country"], "GR");
    assert_eq!(claims["status_confirmation"], "01");
    assert_eq!(claims["employer"][0]["id"], "EL094019245");

    // Another insured person (with a record and an A1 application of her own) who takes a new offer
    // for Georgios and signs in as herself — her details match her record — gets no code: the page
    // says manual review, and the wallet stops there.
    let (s, other) = n.api("/api/v1/persons", &json!({"personal_number": "23057801234", "family_name": "Konstantinou", "given_name": "Maria", "birth_date": "1978-05-23"}));
    assert_eq!(s, 201, "{other}");
    let (s, other_app) = n.api("/api/v1/applications/a1", &a1_application(other["person_id"].as_str().unwrap()));
    assert_eq!(s, 201, "{other_app}");
    let (s, offer) = n.api("/api/v1/credential-offers", &json!({"credential_configuration_id": "pda1", "person_id": person_id, "application_id": app["application_id"]}));
    assert_eq!(s, 201, "{offer}");
    let maria = json!({"family_name": "Konstantinou", "given_name": "Maria", "birth_date": "1978-05-23", "personal_number": "23057801234"});
    let before = requests(&dir).len();
    let (code, refused) = wallet(&n.root(), &["offer-authorization-code", offer["credential_offer_uri"].as_str().unwrap(), &maria.to_string()]);
    assert_eq!(code, 1, "another person got Georgios's PDA1: {refused:#}");
    assert_eq!(refused["stage"], "sign_in", "{refused:#}");
    assert!(refused["error"].as_str().unwrap().contains("manual review"), "{refused:#}");
    let seen: Vec<String> = requests(&dir).into_iter().skip(before).filter(|r| !r.starts_with("GET /.well-known/") && !r.starts_with("GET /credential-offer")).collect();
    assert_eq!(seen, ["POST /par 400", "POST /par 201", "GET /authorize 200", "POST /authorize 200"], "no redirect, no token request");
}
