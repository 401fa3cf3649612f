//! EESSI access point throughput (issue 10): two institution nodes in one process over HTTPS on
//! 127.0.0.1, e-EFKA (GR) and INPS (IT). N A009s (each its own case) are validated, signed and
//! written to e-EFKA's outbox (`send`: SEDs queued per second), then the outbox worker delivers
//! them (claimed in batches with a lease, posted concurrently; INPS checks signature, signer in the
//! Institution Repository, envelope and SED, registers the posting with its checks, keeps the
//! message and answers a signed receipt, which e-EFKA checks and keeps): SEDs delivered per second,
//! end to end. SQLite, and PostgreSQL when `ESSPASS_TEST_POSTGRES` is set.
//!
//! `cargo bench -p esspass-node --bench eessi` (`ESSPASS_BENCH_N`, default 2000)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../../esspass-eessi/tests/common/mod.rs"]
mod seds;

use esspass_eessi::{BucType, CaseId, CdmVersion, Envelope, Message, MessageId, Sed, SedType};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn config(pki: &std::path::Path, slug: &str, id: &str, name: &str, country: &str, url: &str, db: &str) -> esspass_node::config::NodeConfig {
    let text = format!(
        "role = \"institution\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{url}\"\ndatabase = \"{db}\"\nsecret_file = \"{slug}.secret\"\n\n[institution]\nid = \"{id}\"\nname = \"{name}\"\ncountry = \"{country}\"\nsigning_key = \"institutions/{slug}/signing.key\"\nchain = \"institutions/{slug}/chain.pem\"\ntls_key = \"institutions/{slug}/tls.key\"\ntls_chain = \"institutions/{slug}/tls-chain.pem\"\ncredential_types = [\"pda1\"]\n\n[limits]\nrequests_per_minute = 100000000\nmax_connections = 4096\n\n[eessi]\ntrust_anchor = \"root/ca.pem\"\nrepository = \"trusted-lists/repository.jwt\"\ndeliver_every_seconds = 3600\n"
    );
    std::fs::write(pki.join(format!("{slug}.toml")), text).unwrap();
    esspass_node::config::NodeConfig::load(&pki.join(format!("{slug}.toml"))).unwrap()
}

async fn run(el_db: &str, it_db: &str, label: &str, n: usize) {
    let pki = std::env::temp_dir().join(format!("esspass-bench-eessi-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&pki);
    let t = time::OffsetDateTime::now_utc();
    esspass_keys::pki::init_demo(&pki, t).unwrap();
    let (l1, l2) = (std::net::TcpListener::bind("127.0.0.1:0").unwrap(), std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    let (u1, u2) = (format!("https://127.0.0.1:{}", l1.local_addr().unwrap().port()), format!("https://127.0.0.1:{}", l2.local_addr().unwrap().port()));
    esspass_keys::pki::reissue_institution(&pki, "el-efka", &u1, t).unwrap();
    esspass_keys::pki::reissue_institution(&pki, "it-inps", &u2, t).unwrap();
    let el = esspass_node::node::start(config(&pki, "el-efka", "EL:EFKA01", "e-EFKA", "GR", &u1, el_db), Some(l1)).await.unwrap();
    let it = esspass_node::node::start(config(&pki, "it-inps", "IT:INPS01", "INPS", "IT", &u2, it_db), Some(l2)).await.unwrap();
    let ap = el.state.eessi.clone().unwrap();
    let messages: Vec<Message> = (0..n)
        .map(|i| Message {
            envelope: Envelope {
                sender: seds::inst("EL:EFKA01"),
                receiver: seds::inst("IT:INPS01"),
                sed_type: SedType::A009,
                cdm_version: CdmVersion::V4_2,
                document_id: seds::doc(&format!("bench-doc-{i}")),
                case_id: CaseId::parse(&format!("{}", 10_000_000 + i)).unwrap(),
                buc_type: BucType::LaBuc04,
                message_id: MessageId::parse(&format!("bench-msg-{i}")).unwrap(),
                created_at: t,
            },
            sed: Sed::A009({
                // A different worker each time (the registration checks look up the person).
                let mut a = seds::a009();
                for p in &mut a.person.pin {
                    p.identifier = format!("{}{i}", p.identifier);
                }
                a
            }),
        })
        .collect();
    let now = t.unix_timestamp();
    let started = Instant::now();
    for m in &messages {
        ap.send(m, now).await.unwrap();
    }
    let queued = started.elapsed();
    let started = Instant::now();
    let mut delivered = 0;
    while delivered < n {
        let d = ap.deliver_due(now).await;
        if d == 0 {
            let stuck: Vec<String> = (0..n).map(|i| format!("bench-msg-{i}")).collect();
            for id in stuck {
                if let Some((state, attempts, err, _)) = el.state.issuer.store.outbox_state(&id).await.unwrap()
                    && state != "delivered"
                {
                    panic!("{label}: delivery stalled at {delivered}: {id} {state} after {attempts}: {err:?}");
                }
            }
        }
        delivered += d;
    }
    let took = started.elapsed();
    let received = it.state.issuer.store.inbox_recent(i64::try_from(n).unwrap() + 1).await.unwrap().len();
    assert_eq!(received, n);
    println!(
        "{label}: {n} A009 queued (validate, sign, durable) at {:.0}/s; delivered end to end (post, verify, register, receipt checked and kept) at {:.0}/s",
        n as f64 / queued.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
    el.stop();
    it.stop();
}

fn main() {
    let n: usize = std::env::var("ESSPASS_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("esspass-bench-eessi-db-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        run(&format!("sqlite:{}", dir.join("el.db").display()), &format!("sqlite:{}", dir.join("it.db").display()), "SQLite", n).await;
        if let Ok(url) = std::env::var("ESSPASS_TEST_POSTGRES") {
            let mut dbs = Vec::new();
            for side in ["el", "it"] {
                let schema = format!("esspass_bench_eessi_{side}_{}", std::process::id());
                esspass_store::Store::connect_postgres_schema(&url, &schema).await.unwrap().close().await;
                let sep = if url.contains('?') { '&' } else { '?' };
                dbs.push(format!("{url}{sep}options=-csearch_path%3D{schema}"));
            }
            run(&dbs[0], &dbs[1], "PostgreSQL", n).await;
        } else {
            println!("ESSPASS_TEST_POSTGRES is not set: PostgreSQL skipped");
        }
    });
}
