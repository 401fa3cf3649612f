//! Service-level issuance throughput (claims from the records, random status index claimed in the
//! database, SD-JWT VC signed, credential row written durably) on SQLite and, when
//! `ESSPASS_TEST_POSTGRES` is set, PostgreSQL; and the publication of a 1,048,576-entry status list.
//!
//! `cargo bench -p esspass-node --bench issuance` (`ESSPASS_BENCH_N` credentials per run, default 2000)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_core::CredentialType;
use esspass_credential::{EcdsaP256Signer, Signer};
use esspass_node::config::NodeConfig;
use esspass_node::services::issuance::Issuer;
use esspass_node::services::status::StatusService;
use esspass_store::{CoverageRow, Person, Store};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn run(db: &str, label: &str, n: usize, pki: &std::path::Path) {
    let cfg_text = std::fs::read_to_string(pki.join("bench.toml")).unwrap().replace("DATABASE", db);
    std::fs::write(pki.join("bench-run.toml"), cfg_text).unwrap();
    let cfg = Arc::new(NodeConfig::load(&pki.join("bench-run.toml")).unwrap());
    let store = Store::connect(&cfg.database).await.unwrap();
    let signer = Arc::new(esspass_keys::files::load_signer(&cfg.institution.signing_key).unwrap());
    let chain = Arc::new(esspass_keys::files::load_chain(&cfg.institution.chain).unwrap());
    let status = StatusService { store: store.clone(), signer: signer.clone(), chain: chain.clone(), cfg: cfg.status.clone(), base_url: cfg.public_url.clone() };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let t0 = Instant::now();
    status.ensure_list(now).await.unwrap();
    let first_publish = t0.elapsed();
    let issuer = Issuer { store: store.clone(), status: status.clone(), signer, chain, cfg: cfg.clone(), eessi: None, dpop_secret: Arc::new([7u8; 32]) };
    let p = Person { person_id: "bench".into(), personal_number: "SI0000000001".into(), family_name: "Novak".into(), given_name: "Živa".into(), birth_date: "1985-04-12".into(), nationality: None, residence: None, birth_country: None, birth_place: None, created_at: now };
    let cov = CoverageRow { coverage_id: "c".into(), person_id: "bench".into(), kind: "health".into(), start_date: "2020-01-01".into(), end_date: None, created_at: now };
    store.insert_person_with_coverage(&p, &[cov]).await.unwrap();
    let holder = EcdsaP256Signer::generate().unwrap().public_jwk();
    // Sequential, then 8 concurrent tasks.
    let t = Instant::now();
    for _ in 0..n / 2 {
        issuer.issue_for(CredentialType::Ehic, "bench", &holder, now).await.unwrap();
    }
    let seq = (n / 2) as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (issuer, holder) = (issuer.clone(), holder.clone());
        let per = n / 2 / 8;
        tasks.push(tokio::spawn(async move {
            for _ in 0..per {
                issuer.issue_for(CredentialType::Ehic, "bench", &holder, now).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let conc = (n / 2 / 8 * 8) as f64 / t.elapsed().as_secs_f64();
    // Publication of the 1,048,576-entry list after a change (sign + store).
    let t = Instant::now();
    status.publish("1", now, true).await.unwrap();
    let publish = t.elapsed();
    println!("{label}: {seq:.0} credentials/s sequential, {conc:.0}/s with 8 concurrent tasks; list publication (1,048,576 entries, 2 bits): {:.1} ms (first, creating the list: {:.1} ms)", publish.as_secs_f64() * 1e3, first_publish.as_secs_f64() * 1e3);
    store.close().await;
}

fn main() {
    let n: usize = std::env::var("ESSPASS_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let dir = std::env::temp_dir().join(format!("esspass-bench-node-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let now = time::OffsetDateTime::now_utc();
    esspass_keys::pki::init_demo(&dir, now).unwrap();
    std::fs::write(
        dir.join("bench.toml"),
        "role = \"institution\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://127.0.0.1:8442\"\ndatabase = \"DATABASE\"\n[institution]\nid = \"SI:ZZZS\"\nname = \"ZZZS\"\ncountry = \"SI\"\nsigning_key = \"institutions/si-zzzs/signing.key\"\nchain = \"institutions/si-zzzs/chain.pem\"\ntls_key = \"institutions/si-zzzs/tls.key\"\ntls_chain = \"institutions/si-zzzs/tls-chain.pem\"\ncredential_types = [\"ehic\"]\n",
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        run(&format!("sqlite:{}", dir.join("bench.db").display()), "SQLite", n, &dir).await;
        if let Ok(url) = std::env::var("ESSPASS_TEST_POSTGRES") {
            esspass_store::Store::drop_postgres_schemas(&url, "esspass_bench").await.unwrap();
            esspass_store::Store::connect_postgres_schema(&url, "esspass_bench").await.unwrap().close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            run(&format!("{url}{sep}options=-csearch_path%3Desspass_bench"), "PostgreSQL", n, &dir).await;
        } else {
            println!("ESSPASS_TEST_POSTGRES not set: PostgreSQL not measured");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
