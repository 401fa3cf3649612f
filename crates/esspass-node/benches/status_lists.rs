//! Re-signing many status lists: 200 lists of 1,048,576 two-bit entries (each with ~0.1 % of its
//! entries revoked or suspended, at random places) are all re-signed at once (compress, sign,
//! store), as the node's background publisher does when their tokens pass half-life. Reports the
//! time and the process's peak resident memory. Target: < 10 s and < 1 GiB on 2 cores.
//!
//! `cargo bench -p esspass-node --bench status_lists` (`ESSPASS_BENCH_LISTS`, default 200; with
//! `ESSPASS_TEST_POSTGRES` also on PostgreSQL)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_node::config::StatusConfig;
use esspass_node::services::status::StatusService;
use esspass_store::{StatusListRow, Store};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZE: u64 = 1_048_576;

/// Peak resident set of this process (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok()).map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn run(db: &str, label: &str, lists: usize, pki: &std::path::Path) {
    let store = Store::connect(db).await.unwrap();
    let signer = Arc::new(esspass_keys::files::load_signer(&pki.join("institutions/si-zzzs/signing.key")).unwrap());
    let chain = Arc::new(esspass_keys::files::load_chain(&pki.join("institutions/si-zzzs/chain.pem")).unwrap());
    let cfg = StatusConfig { list_size: SIZE, ..StatusConfig::default() };
    let status = StatusService { store: store.clone(), signer, chain, cfg, base_url: "https://127.0.0.1:8442".into() };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let t = Instant::now();
    for i in 1..=lists {
        let mut bytes = vec![0u8; usize::try_from(SIZE / 4).unwrap()];
        for _ in 0..SIZE / 1000 {
            let r = u64::from_le_bytes(esspass_credential::random_bytes::<8>());
            let idx = usize::try_from((r >> 8) % (SIZE / 4)).unwrap();
            bytes[idx] |= 1 << (2 * (r % 4));
        }
        let row = StatusListRow { list_id: i.to_string(), uri: status.list_uri(&i.to_string()), bits: 2, size: SIZE, bytes, version: 1, token: None, etag: None, token_version: -1, token_exp: None, updated_at: now };
        store.insert_status_list(&row).await.unwrap();
    }
    let setup = t.elapsed();
    let before = peak_rss_mib();
    let t = Instant::now();
    status.publish_every(now, true).await.unwrap();
    let resign = t.elapsed();
    println!(
        "{label}: re-signed {lists} lists of {SIZE} entries in {:.2} s ({:.1} ms per list); peak RSS {:.0} MiB (before re-signing: {before:.0} MiB); setup {:.1} s",
        resign.as_secs_f64(),
        resign.as_secs_f64() * 1e3 / lists as f64,
        peak_rss_mib(),
        setup.as_secs_f64()
    );
    store.close().await;
}

fn main() {
    let lists: usize = std::env::var("ESSPASS_BENCH_LISTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let dir = std::env::temp_dir().join(format!("esspass-bench-lists-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    esspass_keys::pki::init_demo(&dir, time::OffsetDateTime::now_utc()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        run(&format!("sqlite:{}", dir.join("lists.db").display()), "SQLite", lists, &dir).await;
        if let Ok(url) = std::env::var("ESSPASS_TEST_POSTGRES") {
            esspass_store::Store::drop_postgres_schemas(&url, "esspass_bench_lists").await.unwrap();
            esspass_store::Store::connect_postgres_schema(&url, "esspass_bench_lists").await.unwrap().close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            run(&format!("{url}{sep}options=-csearch_path%3Desspass_bench_lists"), "PostgreSQL", lists, &dir).await;
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
