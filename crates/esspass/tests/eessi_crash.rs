//! Nothing accepted is lost, nothing is delivered twice (issue 10's crash test): Greece's e-EFKA and
//! Italy's INPS run as `esspass serve` processes with their EESSI access points; a stream of A009s
//! is handed to e-EFKA with `esspass eessi send` (each with its own message id, so a hand-over is
//! idempotent); meanwhile the sender and the receiver are killed with SIGKILL at random points and
//! restarted, and the receiver is down for a while. Afterwards every message is delivered exactly
//! once — one inbox row and one posting per message at INPS — and e-EFKA holds a signed receipt for
//! each.
//!
//! In CI a short stream (40); the long run is its own command:
//! `ESSPASS_CRASH_N=1000 cargo test --release -p esspass --test eessi_crash` (`ESSPASS_CRASH_SEED`
//! repeats a run; the seed is printed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod procs;

#[path = "../../esspass-eessi/tests/common/mod.rs"]
mod seds;

use procs::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// An institution node with its access point (`deliver_every_seconds = 1`) at `port`.
fn eessi_config(dir: &Path, slug: &str, id: &str, name: &str, country: &str, port: u16) -> PathBuf {
    let cfg = format!(
        "role = \"institution\"\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"https://127.0.0.1:{port}\"\ndatabase = \"sqlite:{db}\"\nsecret_file = \"{slug}.secret\"\n\n[institution]\nid = \"{id}\"\nname = \"{name}\"\ncountry = \"{country}\"\nsigning_key = \"institutions/{slug}/signing.key\"\nchain = \"institutions/{slug}/chain.pem\"\ntls_key = \"institutions/{slug}/tls.key\"\ntls_chain = \"institutions/{slug}/tls-chain.pem\"\ncredential_types = [\"pda1\"]\n\n[status]\nlist_size = 65536\n\n[eessi]\ntrust_anchor = \"root/ca.pem\"\nrepository = \"trusted-lists/repository.jwt\"\ndeliver_every_seconds = 1\n\n[limits]\nrequests_per_minute = 10000000\n",
        db = dir.join(format!("{slug}.db")).display()
    );
    let path = dir.join(format!("{slug}.toml"));
    std::fs::write(&path, cfg).unwrap();
    path
}

/// A small deterministic generator (xorshift), seeded per run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

async fn count(db: &Path, sql: &'static str) -> i64 {
    let url = format!("sqlite:{}?mode=ro", db.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_seds_survives_sigkill_of_sender_and_receiver() {
    let n: u64 = std::env::var("ESSPASS_CRASH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let seed: u64 = std::env::var("ESSPASS_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    eprintln!("eessi crash test: {n} SEDs, ESSPASS_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tmp("eessi-crash");
    let now = time::OffsetDateTime::now_utc();
    esspass_keys::pki::init_demo(&dir, now).unwrap();
    let (el_port, it_port) = (free_port(), free_port());
    // The signing certificates name the nodes' URLs, and the Institution Repository their access points.
    esspass_keys::pki::reissue_institution(&dir, "el-efka", &format!("https://127.0.0.1:{el_port}"), now).unwrap();
    esspass_keys::pki::reissue_institution(&dir, "it-inps", &format!("https://127.0.0.1:{it_port}"), now).unwrap();
    let el_cfg = eessi_config(&dir, "el-efka", "EL:EFKA01", "e-EFKA", "GR", el_port);
    let it_cfg = eessi_config(&dir, "it-inps", "IT:INPS01", "INPS", "IT", it_port);
    let xml = esspass_eessi::encode(&esspass_eessi::Sed::A009(seds::a009()), esspass_eessi::CdmVersion::V4_2).unwrap();
    std::fs::write(dir.join("a009.xml"), xml).unwrap();
    let (c, _) = client(&dir);
    let mut el = Some(spawn(&el_cfg, &c).await);
    let mut it = Some(spawn(&it_cfg, &c).await);
    let down_from = n / 2;
    let down_until = down_from + 5;
    for i in 0..n {
        let o = Command::new(env!("CARGO_BIN_EXE_esspass"))
            .args(["eessi", "send", "a009.xml", "--to", "IT:INPS01", "--config", el_cfg.to_str().unwrap(), "--json"])
            .args(["--message-id", &format!("m-crash-{i}"), "--case", &format!("{}", 8_000_000 + i)])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "send {i}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        // A random moment of the delivery that may be under way.
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        let r = rng.below(100);
        if r < 6 || i == n / 3 {
            drop(el.take());
            el = Some(spawn(&el_cfg, &c).await);
        }
        if ((6..12).contains(&r) || i == 2 * n / 3) && it.is_some() {
            drop(it.take());
            it = Some(spawn(&it_cfg, &c).await);
        }
        // The receiver unreachable for a while.
        if i == down_from {
            drop(it.take());
        }
        if i == down_until {
            it = Some(spawn(&it_cfg, &c).await);
        }
    }
    if it.is_none() {
        it = Some(spawn(&it_cfg, &c).await);
    }
    // Everything arrives: leases of a killed sender expire after a minute, backoff after failures.
    let (el_db, it_db) = (dir.join("el-efka.db"), dir.join("it-inps.db"));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let delivered = count(&el_db, "SELECT count(*) FROM eessi_outbox WHERE state = 'delivered' AND receipt IS NOT NULL").await;
        if delivered == n as i64 {
            break;
        }
        assert!(Instant::now() < deadline, "after 300 s, {delivered} of {n} delivered (seed {seed})");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(count(&el_db, "SELECT count(*) FROM eessi_outbox").await, n as i64, "each message queued once");
    assert_eq!(count(&el_db, "SELECT count(*) FROM eessi_outbox WHERE state <> 'delivered'").await, 0);
    assert_eq!(count(&it_db, "SELECT count(*) FROM eessi_inbox").await, n as i64, "each message received once (seed {seed})");
    assert_eq!(count(&it_db, "SELECT count(DISTINCT message_id) FROM eessi_inbox WHERE receipt IS NOT NULL").await, n as i64);
    assert_eq!(count(&it_db, "SELECT count(*) FROM eessi_postings").await, n as i64, "each A009 reaches the business layer once");
    drop(el);
    drop(it);
}

/// `esspass eessi send` refuses what cannot be sent, with its code, and queues nothing: an invalid
/// SED, a document with an entity declaration, a receiver outside the Institution Repository, a
/// node without `[eessi]`; the same message id handed over twice is queued once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eessi_send_refuses_what_cannot_be_sent() {
    let dir = tmp("eessi-send");
    let now = time::OffsetDateTime::now_utc();
    esspass_keys::pki::init_demo(&dir, now).unwrap();
    let port = free_port();
    esspass_keys::pki::reissue_institution(&dir, "el-efka", &format!("https://127.0.0.1:{port}"), now).unwrap();
    let cfg = eessi_config(&dir, "el-efka", "EL:EFKA01", "e-EFKA", "GR", port);
    let good = esspass_eessi::encode(&esspass_eessi::Sed::A009(seds::a009()), esspass_eessi::CdmVersion::V4_2).unwrap();
    std::fs::write(dir.join("a009.xml"), &good).unwrap();
    std::fs::write(dir.join("broken.xml"), good.replace("</", "<")).unwrap();
    std::fs::write(dir.join("entity.xml"), good.replacen("?>", "?><!DOCTYPE x [<!ENTITY e \"boom\">]>", 1)).unwrap();
    let send = |file: &str, to: &str, config: &Path, extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_esspass")).args(["eessi", "send", file, "--to", to, "--json", "--config", config.to_str().unwrap()]).args(extra).current_dir(&dir).output().unwrap();
        (o.status.code(), serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or_default())
    };
    for (file, to, code) in [("broken.xml", "IT:INPS01", "ESP-7404"), ("entity.xml", "IT:INPS01", "ESP-7404"), ("a009.xml", "FR:CNAV01", "ESP-7405")] {
        let (exit, v) = send(file, to, &cfg, &[]);
        assert_eq!((exit, v["error"]["code"].as_str()), (Some(1), Some(code)), "{file} to {to}: {v}");
    }
    let (exit, v) = send("a009.xml", "IT:INPS01", &cfg, &["--message-id", "bo-1"]);
    assert_eq!((exit, v["queued"].as_bool()), (Some(0), Some(true)), "{v}");
    let (exit, v) = send("a009.xml", "IT:INPS01", &cfg, &["--message-id", "bo-1"]);
    assert_eq!((exit, v["queued"].as_bool(), v["message_id"].as_str()), (Some(0), Some(false), Some("bo-1")), "a retried hand-over: {v}");
    assert_eq!(count(&dir.join("el-efka.db"), "SELECT count(*) FROM eessi_outbox").await, 1, "one message queued");
    let plain = dir.join("plain.toml");
    std::fs::write(&plain, std::fs::read_to_string(&cfg).unwrap().replace("[eessi]\ntrust_anchor = \"root/ca.pem\"\nrepository = \"trusted-lists/repository.jwt\"\ndeliver_every_seconds = 1\n", "")).unwrap();
    let (exit, v) = send("a009.xml", "IT:INPS01", &plain, &[]);
    assert_eq!((exit, v["error"]["code"].as_str()), (Some(2), Some("ESP-7406")), "{v}");
    // The case worker's commands on the case the hand-over opened: list, show (with the SED),
    // a step the BUC refuses, close (owner); reads and steps land in the audit trail.
    let cli = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_esspass")).args(["eessi"]).args(args).args(["--json", "--config", cfg.to_str().unwrap(), "--actor", "cw-anna"]).current_dir(&dir).output().unwrap();
        (o.status.code(), serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or_default())
    };
    let (exit, cases) = cli(&["cases"]);
    assert_eq!(exit, Some(0), "{cases}");
    let case_id = cases[0]["case_id"].as_str().unwrap().to_owned();
    assert_eq!((cases[0]["buc"].as_str(), cases[0]["owner"].as_str()), (Some("LA_BUC_04"), Some("EL:EFKA01")));
    let (exit, case) = cli(&["case", &case_id]);
    assert_eq!(exit, Some(0), "{case}");
    let m = &case["messages"][0];
    assert_eq!((m["direction"].as_str(), m["to"].as_str(), m["sed"]["sed_type"].as_str(), m["delivery"]["state"].as_str()), (Some("sent"), Some("IT:INPS01"), Some("A009"), Some("pending")), "{case}");
    assert!(m["sed"]["xml"].as_str().unwrap().contains("A009"), "{case}");
    let (exit, v) = cli(&["case", "424242"]);
    assert_eq!((exit, v["error"]["code"].as_str()), (Some(1), Some("ESP-7410")), "{v}");
    let x010 = seds::full().into_iter().find(|x| x.sed_type() == esspass_eessi::SedType::X010).unwrap();
    std::fs::write(dir.join("x010.xml"), esspass_eessi::encode(&x010, esspass_eessi::CdmVersion::V4_2).unwrap()).unwrap();
    let (exit, v) = cli(&["reply", &case_id, "x010.xml"]);
    assert_eq!((exit, v["error"]["code"].as_str()), (Some(1), Some("ESP-7409")), "no reminder to answer: {v}");
    let (exit, v) = cli(&["close", &case_id, "--reason", "whatever"]);
    assert_eq!((exit, v["error"]["code"].as_str()), (Some(2), Some("ESP-9001")), "{v}");
    let (exit, v) = cli(&["close", &case_id, "--reason", "sent_in_error"]);
    assert_eq!((exit, v["status"].as_str()), (Some(0), Some("closed")), "{v}");
    assert_eq!(count(&dir.join("el-efka.db"), "SELECT count(*) FROM eessi_outbox").await, 2, "the X001 queued");
    assert_eq!(count(&dir.join("el-efka.db"), "SELECT count(*) FROM audit_log WHERE actor = 'cw-anna' AND action IN ('read_eessi_cases', 'read_eessi_case', 'eessi_case_closed')").await, 3);
}
