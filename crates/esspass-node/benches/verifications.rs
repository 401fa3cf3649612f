//! Real-time verification throughput of the verifier role (issue 9): N transactions are opened and
//! their wallet answers made beforehand (request objects fetched and checked, presentations bound
//! to each nonce and encrypted to each transaction's key); then the answers are posted to the
//! response URIs over HTTPS on 127.0.0.1 by a load generator in the same process (C at a time),
//! each a full verification — JWE decryption, the issuer's and the holder's signatures, the chain,
//! the Issuer Trusted List, the cached status list, the proof signed, result and proof stored with
//! the audit record. Reports throughput and p50/p99 latency. SQLite, and PostgreSQL when
//! `ESSPASS_TEST_POSTGRES` is set.
//!
//! `cargo bench -p esspass-node --bench verifications` (`ESSPASS_BENCH_N`, default 4000;
//! `ESSPASS_BENCH_C`, default 32)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_credential::{EcdsaP256Signer, Signer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BO: &str = "bench-bo-key-0123456789";
const DESK: &str = "bench-desk-key-0123456789";

async fn run(db: &str, vdb: &str, label: &str, n: usize, conc: usize) {
    let dir = std::env::temp_dir().join(format!("esspass-bench-vp-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let now = time::OffsetDateTime::now_utc();
    esspass_keys::pki::init_demo(&dir, now).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
    esspass_keys::pki::reissue_institution(&dir, "si-zzzs", &url, now).unwrap();
    std::fs::write(
        dir.join("n.toml"),
        format!(
            "role = \"institution\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{url}\"\ndatabase = \"{db}\"\n[institution]\nid = \"SI:ZZZS\"\nname = \"ZZZS\"\ncountry = \"SI\"\nsigning_key = \"institutions/si-zzzs/signing.key\"\nchain = \"institutions/si-zzzs/chain.pem\"\ntls_key = \"institutions/si-zzzs/tls.key\"\ntls_chain = \"institutions/si-zzzs/tls-chain.pem\"\ncredential_types = [\"ehic\"]\n[limits]\nrequests_per_minute = 10000000\n\n[[api_keys]]\nname = \"bo\"\nrole = \"back_office\"\nsha256 = \"{}\"\n",
            esspass_store::hash_secret(BO)
        ),
    )
    .unwrap();
    let node = esspass_node::node::start(esspass_node::config::NodeConfig::load(&dir.join("n.toml")).unwrap(), Some(listener)).await.unwrap();
    let vlistener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let vport = vlistener.local_addr().unwrap().port();
    std::fs::write(
        dir.join("v.toml"),
        format!(
            "role = \"verifier\"\nlisten = \"127.0.0.1:{vport}\"\npublic_url = \"https://127.0.0.1:{vport}\"\ndatabase = \"{vdb}\"\nsecret_file = \"verifier.secret\"\n[verifier]\nid = \"ES-HULP\"\nname = \"Hospital Universitario La Paz\"\nsigning_key = \"verifiers/es-hospital/signing.key\"\nchain = \"verifiers/es-hospital/chain.pem\"\ntls_key = \"verifiers/es-hospital/tls.key\"\ntls_chain = \"verifiers/es-hospital/tls-chain.pem\"\n[trust]\nanchor = \"root/ca.pem\"\nissuer_list = \"trusted-lists/issuers.jwt\"\nverifier_list = \"trusted-lists/verifiers.jwt\"\n[verification]\ntransaction_seconds = 3600\n[limits]\nrequests_per_minute = 100000000\nmax_connections = 4096\n[[profiles]]\nname = \"ehic-healthcare\"\ncredential_type = \"ehic\"\nclaims = [[\"issuing_authority\"], [\"authentic_source\"], [\"document_number\"], [\"personal_administrative_number\"], [\"date_of_issuance\"], [\"date_of_expiry\"], [\"starting_date\"], [\"ending_date\"]]\npolicy_version = \"2026-1\"\n[[api_keys]]\nname = \"desk\"\nrole = \"verifier\"\nsha256 = \"{}\"\n",
            esspass_store::hash_secret(DESK)
        ),
    )
    .unwrap();
    let verifier = esspass_node::verifier::start(esspass_node::verifier::config::VerifierConfig::load(&dir.join("v.toml")).unwrap(), Some(vlistener)).await.unwrap();
    let vurl = format!("https://127.0.0.1:{vport}");
    let root = esspass_credential::x509::Certificate::from_pem(&std::fs::read_to_string(dir.join("root/ca.pem")).unwrap()).unwrap();
    let c = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_der(&root.der).unwrap()]).pool_max_idle_per_host(conc * 2).build().unwrap();
    let r: Value = c.post(format!("{url}/api/v1/persons")).bearer_auth(BO).json(&json!({"personal_number": "SI0000000001", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "coverage_kind": "health", "coverage_start": "2020-01-01"})).send().await.unwrap().json().await.unwrap();
    let holder = EcdsaP256Signer::generate().unwrap();
    let (sd, _) = node.state.issuer.issue_for(esspass_core::CredentialType::Ehic, r["person_id"].as_str().unwrap(), &holder.public_jwk(), now.unix_timestamp()).await.unwrap();
    let sd = esspass_credential::sdjwt::SdJwt::parse(&sd).unwrap();
    let chains = esspass_credential::x509::ChainValidator::new(vec![root.clone()]);
    let vtl = esspass_credential::trust::TrustedList::verify(std::fs::read_to_string(dir.join("trusted-lists/verifiers.jwt")).unwrap().trim(), &chains, now.unix_timestamp()).unwrap();
    // Prepared, not timed: N transactions and their encrypted answers.
    let t0 = Instant::now();
    let mut answers = Vec::with_capacity(n);
    for _ in 0..n {
        let tx: Value = c.post(format!("{vurl}/api/v1/verifications")).bearer_auth(DESK).json(&json!({"profile": "ehic-healthcare"})).send().await.unwrap().json().await.unwrap();
        let (client_id, request_uri, _) = esspass_wallet::present::parse_link(tx["authorization_request"].as_str().unwrap()).unwrap();
        let jwt = c.get(&request_uri).send().await.unwrap().text().await.unwrap();
        let req = esspass_wallet::present::check_request(&jwt, &client_id, &chains, &vtl, now.unix_timestamp()).unwrap();
        let (selected, _) = esspass_wallet::present::plan(&req, &sd).unwrap();
        let body = esspass_wallet::present::response_body(&req, selected, &holder, time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
        answers.push((req.response_uri.clone(), body));
    }
    let prep = t0.elapsed();
    // Warm the status cache and the connections.
    let (u, b) = answers.pop().unwrap();
    assert_eq!(c.post(&u).header("Content-Type", "application/x-www-form-urlencoded").body(b).send().await.unwrap().status().as_u16(), 200);
    let total = answers.len();
    let queue = Arc::new(tokio::sync::Mutex::new(answers));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (q, c) = (queue.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some((u, b)) = q.lock().await.pop() else { break };
                let t = Instant::now();
                let resp = c.post(&u).header("Content-Type", "application/x-www-form-urlencoded").body(b).send().await.unwrap();
                let status = resp.status().as_u16();
                let _ = resp.bytes().await;
                assert_eq!(status, 200);
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3;
    // Every one stored as verified.
    let verified = verifier.state.store.count_verifications("verified").await.unwrap();
    assert_eq!(verified as usize, total + 1);
    println!(
        "{label}: {total} verifications over HTTPS, {conc} at a time: {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (preparing {} answers took {:.1} s, not counted)",
        total as f64 / secs,
        pct(0.50),
        pct(0.99),
        lat.last().unwrap().as_secs_f64() * 1e3,
        total + 1,
        prep.as_secs_f64()
    );
    verifier.stop();
    node.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let n: usize = std::env::var("ESSPASS_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(4000);
    let conc: usize = std::env::var("ESSPASS_BENCH_C").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("esspass-bench-vp-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        run(&format!("sqlite:{}", dir.join("node.db").display()), &format!("sqlite:{}", dir.join("verifier.db").display()), "sqlite", n, conc).await;
        if let Ok(url) = std::env::var("ESSPASS_TEST_POSTGRES") {
            let schema = format!("esspass_bench_vp{}", std::process::id());
            esspass_store::Store::connect_postgres_schema(&url, &schema).await.unwrap().close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            let pg = format!("{url}{sep}options=-csearch_path%3D{schema}");
            run(&pg, &pg, "postgresql", n, conc).await;
            esspass_store::Store::drop_postgres_schemas(&url, "esspass_bench_vp").await.unwrap();
        } else {
            println!("ESSPASS_TEST_POSTGRES is not set: PostgreSQL not measured");
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}
