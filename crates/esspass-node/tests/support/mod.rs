//! What the node's integration tests share: databases (SQLite, and PostgreSQL in a schema of its
//! own when `ESSPASS_TEST_POSTGRES` is set), a demo PKI whose institution certificate names the
//! node's URL, an HTTPS client trusting the demo root, DPoP and key proofs, and verification of
//! what the node issued.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_credential::status::{CachePolicy, StatusCache, StatusListSource};
use esspass_credential::trust::TrustedList;
use esspass_credential::verify::{Expectation, Report, Verifier};
use esspass_credential::x509::{Certificate, ChainValidator};
use esspass_credential::{EcdsaP256Signer, Signer, b64, jose::sign_compact};
use serde_json::{Map, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static N: AtomicUsize = AtomicUsize::new(0);

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A number unique within the test process.
pub fn unique() -> usize {
    N.fetch_add(1, Ordering::SeqCst)
}

/// A fresh SQLite database, and a fresh PostgreSQL schema named `<prefix><pid>_<n>` when
/// `ESSPASS_TEST_POSTGRES` is set (schemas of earlier runs with the prefix are dropped once).
pub async fn databases(prefix: &'static str) -> Vec<String> {
    let n = unique();
    let dir = std::env::temp_dir().join(format!("esspass-{prefix}-db-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut v = vec![format!("sqlite:{}", dir.join("node.db").display())];
    match std::env::var("ESSPASS_TEST_POSTGRES") {
        Ok(url) => {
            static CLEAN: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
            CLEAN.get_or_init(|| async { esspass_store::Store::drop_postgres_schemas(&url, prefix).await.unwrap() ; }).await;
            let schema = format!("{prefix}{}_{n}", std::process::id());
            esspass_store::Store::connect_postgres_schema(&url, &schema).await.unwrap().close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            v.push(format!("{url}{sep}options=-csearch_path%3D{schema}"));
        }
        Err(_) => eprintln!("ESSPASS_TEST_POSTGRES is not set: these node tests ran on SQLite only"),
    }
    v
}

/// A demo PKI and a bound port; the institution `slug`'s signing certificate names the node URL.
pub struct Setup {
    pub pki: PathBuf,
    pub listener: std::net::TcpListener,
    pub url: String,
    pub root: Certificate,
}

pub fn setup(slug: &str) -> Setup {
    let pki = std::env::temp_dir().join(format!("esspass-node-pki-{}-{}", std::process::id(), unique()));
    let _ = std::fs::remove_dir_all(&pki);
    let t = time::OffsetDateTime::now_utc();
    esspass_keys::pki::init_demo(&pki, t).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
    esspass_keys::pki::reissue_institution(&pki, slug, &url, t).unwrap();
    let root = Certificate::from_pem(&std::fs::read_to_string(pki.join("root/ca.pem")).unwrap()).unwrap();
    Setup { pki, listener, url, root }
}

/// An HTTPS client that trusts the demo root.
pub fn client(root: &Certificate) -> reqwest::Client {
    reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_der(&root.der).unwrap()]).build().unwrap()
}

/// The node's current DPoP nonce: every answer of the token endpoint carries it, a refusal too.
pub async fn dpop_nonce(client: &reqwest::Client, url: &str) -> String {
    client.post(format!("{url}/token")).send().await.unwrap().headers()["dpop-nonce"].to_str().unwrap().to_owned()
}

/// A DPoP proof (RFC 9449) made at `iat`.
pub fn dpop_proof(key: &EcdsaP256Signer, method: &str, url: &str, token: Option<&str>, nonce: Option<&str>, iat: i64) -> String {
    let mut h = Map::new();
    h.insert("typ".into(), json!("dpop+jwt"));
    h.insert("jwk".into(), key.public_jwk().to_value());
    let mut p = json!({"jti": b64::encode(esspass_credential::random_bytes::<12>()), "htm": method, "htu": url, "iat": iat});
    if let Some(t) = token {
        p["ath"] = json!(esspass_oid4vc::dpop::ath(t));
    }
    if let Some(n) = nonce.filter(|n| !n.is_empty()) {
        p["nonce"] = json!(n);
    }
    sign_compact(key, h, p.as_object().unwrap()).unwrap()
}

/// A `jwt` key proof (OpenID4VCI App. F.1).
pub fn key_proof(holder: &EcdsaP256Signer, aud: &str, nonce: &str) -> String {
    let mut h = Map::new();
    h.insert("typ".into(), json!("openid4vci-proof+jwt"));
    h.insert("jwk".into(), holder.public_jwk().to_value());
    sign_compact(holder, h, json!({"aud": aud, "nonce": nonce, "iat": now()}).as_object().unwrap()).unwrap()
}

/// The status list URI in an issued credential's payload.
pub fn credential_status_uri(credential: &str) -> Option<String> {
    let jwt = credential.split('~').next()?;
    let payload = b64::decode(jwt.split('.').nth(1)?).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    v.pointer("/status/status_list/uri").and_then(|u| u.as_str()).map(str::to_owned)
}

/// Verify an issued credential with the demo root, the (re-signed) Issuer Trusted List and the
/// node's status list as it is served now.
pub async fn verify(client: &reqwest::Client, url: &str, pki: &Path, root: &Certificate, credential: &str) -> Report {
    struct Fixed(String);
    impl StatusListSource for Fixed {
        fn fetch(&self, _: &str) -> Result<String, String> {
            Ok(self.0.clone())
        }
    }
    // The list the credential names (lists roll over as they fill).
    let list_uri = credential_status_uri(credential).unwrap_or_else(|| format!("{url}/status/1"));
    let token = client.get(&list_uri).send().await.unwrap().text().await.unwrap();
    let chains = ChainValidator::new(vec![root.clone()]);
    let itl = TrustedList::verify(&std::fs::read_to_string(pki.join("trusted-lists/issuers.jwt")).unwrap(), &chains, now()).unwrap();
    Verifier::new(chains, Some(itl), Some(StatusCache::new(Box::new(Fixed(token)), CachePolicy::default()))).for_credential_only().verify(credential, &Expectation::default(), time::OffsetDateTime::now_utc())
}

/// Georgios posted by Yiannis Constructions from Greece to Italy for `months`, starting today.
pub fn georgios_posting(months: i32) -> serde_json::Value {
    let today = esspass_core::Date::of_instant(time::OffsetDateTime::now_utc());
    let end = today.add_months(months).unwrap().pred().unwrap();
    json!({
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
    })
}
