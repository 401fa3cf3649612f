//! Issuance over the full HTTPS flow, node and wallet in one process on 127.0.0.1: back-office offer,
//! offer by reference, both metadata documents, DPoP token (with the server-nonce retry), nonce,
//! credential. SQLite, and PostgreSQL when `ESSPASS_TEST_POSTGRES` is set.
//!
//! `cargo bench -p esspass-node --bench http_flow` (`ESSPASS_BENCH_N` credentials, default 1000;
//! 16 wallets at a time)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_credential::EcdsaP256Signer;
use esspass_wallet::Oid4vciClient;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BO: &str = "bench-bo-key-0123456789";

async fn run(db: &str, label: &str, n: usize) {
    let dir = std::env::temp_dir().join(format!("esspass-bench-http-{}-{label}", std::process::id()));
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
    let root = esspass_credential::x509::Certificate::from_pem(&std::fs::read_to_string(dir.join("root/ca.pem")).unwrap()).unwrap();
    let c = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_der(&root.der).unwrap()]).build().unwrap();
    let r: Value = c.post(format!("{url}/api/v1/persons")).bearer_auth(BO).json(&json!({"personal_number": "SI0000000001", "family_name": "Novak", "given_name": "Živa", "birth_date": "1985-04-12", "coverage_kind": "health", "coverage_start": "2020-01-01"})).send().await.unwrap().json().await.unwrap();
    let person = r["person_id"].as_str().unwrap().to_owned();
    let wallet = Arc::new(Oid4vciClient::new(std::slice::from_ref(&root.der)).unwrap());
    let started = Instant::now();
    let mut tasks = Vec::new();
    let per = n / 16;
    for _ in 0..16 {
        let (c, wallet, url, person) = (c.clone(), wallet.clone(), url.clone(), person.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..per {
                let o: Value = c.post(format!("{url}/api/v1/credential-offers")).bearer_auth(BO).json(&json!({"credential_configuration_id": "ehic", "person_id": person})).send().await.unwrap().json().await.unwrap();
                let offer = wallet.resolve_offer(o["credential_offer_uri"].as_str().unwrap()).await.unwrap();
                let (dpop, holder) = (EcdsaP256Signer::generate().unwrap(), EcdsaP256Signer::generate().unwrap());
                wallet.redeem(&offer, o["tx_code"].as_str(), &dpop, &[&holder]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{label}: {} credentials over the full HTTPS flow in {secs:.1} s = {:.0}/s (node and 16 wallets share the machine)", per * 16, (per * 16) as f64 / secs);
    node.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let n: usize = std::env::var("ESSPASS_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("esspass-bench-http-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        run(&format!("sqlite:{}", dir.join("n.db").display()), "SQLite", n).await;
        if let Ok(url) = std::env::var("ESSPASS_TEST_POSTGRES") {
            esspass_store::Store::drop_postgres_schemas(&url, "esspass_bench_http").await.unwrap();
            esspass_store::Store::connect_postgres_schema(&url, "esspass_bench_http").await.unwrap().close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            run(&format!("{url}{sep}options=-csearch_path%3Desspass_bench_http"), "PostgreSQL", n).await;
        } else {
            println!("ESSPASS_TEST_POSTGRES not set: PostgreSQL not measured");
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}
