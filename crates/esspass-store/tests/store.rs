//! One suite, both adapters: every test runs against SQLite (a fresh file) and, when
//! `ESSPASS_TEST_POSTGRES` is set (`.ci/run` sets it), against PostgreSQL in a schema of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use esspass_store::{Checked, CoverageRow, CredentialRow, CredentialState, Person, StatusListRow, Store, StoreError, verify_chain};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

static N: AtomicUsize = AtomicUsize::new(0);

const SECRET: &[u8] = b"a node secret of the store tests, 32+ bytes long";

/// A fresh store of each available backend.
async fn stores() -> Vec<Store> {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("esspass-store-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut v = vec![Store::connect(&format!("sqlite:{}", dir.join("node.db").display())).await.unwrap().with_secret(SECRET)];
    match std::env::var("ESSPASS_TEST_POSTGRES") {
        Ok(url) => {
            // Schemas of earlier runs (other process ids) are dropped once per run.
            static CLEAN: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
            CLEAN.get_or_init(|| async { Store::drop_postgres_schemas(&url, "esspass_t").await.unwrap(); }).await;
            let schema = format!("esspass_t{}_{n}", std::process::id());
            v.push(Store::connect_postgres_schema(&url, &schema).await.unwrap().with_secret(SECRET));
        }
        Err(_) => eprintln!("ESSPASS_TEST_POSTGRES is not set: PostgreSQL store tests skipped (SQLite ran)"),
    }
    v
}

fn person(i: usize) -> Person {
    Person {
        person_id: format!("p{i}"),
        personal_number: format!("SI{i:010}"),
        family_name: "Novak".into(),
        given_name: "Živa".into(),
        birth_date: "1985-04-12".into(),
        nationality: Some("SI".into()),
        residence: Some("SI".into()),
        birth_country: Some("SI".into()),
        birth_place: Some("Ljubljana".into()),
        created_at: 1,
    }
}

fn list(id: &str, size: u64) -> StatusListRow {
    StatusListRow {
        list_id: id.into(),
        uri: format!("https://127.0.0.1:8442/status/{id}"),
        bits: 2,
        size,
        bytes: vec![0; usize::try_from(size / 4).unwrap()],
        version: 0,
        token: None,
        etag: None,
        token_version: -1,
        token_exp: None,
        updated_at: 0,
    }
}

fn cred(id: &str, number: &str, list: &str, idx: u64) -> CredentialRow {
    CredentialRow {
        credential_id: id.into(),
        document_number: number.into(),
        person_id: "p1".into(),
        vct: "urn:eudi:ehic:1".into(),
        list_id: list.into(),
        idx,
        state: CredentialState::Valid,
        reason: None,
        issued_at: 10,
        changed_at: 10,
        application_id: None,
    }
}

#[tokio::test]
async fn persons_are_unique_by_personal_number() {
    for s in stores().await {
        s.insert_person(&person(1)).await.unwrap();
        assert_eq!(s.person("p1").await.unwrap().unwrap(), person(1), "{}", s.backend());
        assert_eq!(s.person_by_number("SI0000000001").await.unwrap().unwrap().person_id, "p1");
        let mut dup = person(2);
        dup.personal_number = person(1).personal_number;
        assert!(matches!(s.insert_person(&dup).await, Err(StoreError::Duplicate(_))), "{}", s.backend());
        assert_eq!(s.count_persons().await.unwrap(), 1);
        assert!(s.person("nobody").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn document_numbers_and_status_indexes_are_never_reused() {
    for s in stores().await {
        s.insert_person(&person(1)).await.unwrap();
        s.insert_status_list(&list("l1", 1024)).await.unwrap();
        assert!(s.claim_status_index("l1", 7).await.unwrap());
        assert!(!s.claim_status_index("l1", 7).await.unwrap(), "{}: index reused", s.backend());
        s.insert_credential(&cred("c1", "DOC-0001", "l1", 7)).await.unwrap();
        assert!(matches!(s.insert_credential(&cred("c2", "DOC-0001", "l1", 8)).await, Err(StoreError::Duplicate(_))));
        assert!(matches!(s.insert_credential(&cred("c3", "DOC-0003", "l1", 7)).await, Err(StoreError::Duplicate(_))));
        // Nothing half-written: the failed inserts left no rows.
        assert!(s.credential("c2").await.unwrap().is_none() && s.credential("c3").await.unwrap().is_none());
        assert_eq!(s.credentials_of("p1").await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn concurrent_index_claims_never_collide() {
    for s in stores().await {
        s.insert_status_list(&list("lc", 4096)).await.unwrap();
        let mut tasks = Vec::new();
        for t in 0..8u64 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut won = Vec::new();
                for i in 0..64u64 {
                    // Every task tries the same 64 indexes in a different order.
                    let idx = (i * 7 + t * 13) % 64;
                    if s.claim_status_index("lc", idx).await.unwrap() {
                        won.push(idx);
                    }
                }
                won
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all, (0..64).collect::<Vec<_>>(), "{}: each index claimed exactly once", s.backend());
    }
}

#[tokio::test]
async fn revocation_updates_credential_and_list_together() {
    for s in stores().await {
        s.insert_person(&person(1)).await.unwrap();
        s.insert_status_list(&list("lr", 64)).await.unwrap();
        for (i, idx) in [(1, 5u64), (2, 6)] {
            assert!(s.claim_status_index("lr", idx).await.unwrap());
            s.insert_credential(&cred(&format!("c{i}"), &format!("DOC-{i:04}"), "lr", idx)).await.unwrap();
        }
        let r = s.set_credential_state("c1", CredentialState::Revoked, Some("withdrawn"), 20).await.unwrap();
        assert_eq!(r.state, CredentialState::Revoked);
        s.set_credential_state("c2", CredentialState::Suspended, None, 21).await.unwrap();
        let l = s.status_list("lr").await.unwrap().unwrap();
        assert_eq!(l.version, 2);
        // idx 5 → byte 1, bits 2..3 = 01; idx 6 → byte 1, bits 4..5 = 10
        assert_eq!(l.bytes[1], 0b0010_0100, "{}", s.backend());
        assert_eq!(s.credential("c1").await.unwrap().unwrap().reason.as_deref(), Some("withdrawn"));
        // Reinstate.
        s.set_credential_state("c2", CredentialState::Valid, Some("reinstated"), 22).await.unwrap();
        assert_eq!(s.status_list("lr").await.unwrap().unwrap().bytes[1], 0b0000_0100);
        assert!(matches!(s.set_credential_state("nope", CredentialState::Revoked, None, 1).await, Err(StoreError::NotFound(_))));
        // Revocation is final: neither reinstated nor suspended, and the list is left alone.
        assert!(matches!(s.set_credential_state("c1", CredentialState::Valid, None, 23).await, Err(StoreError::Final(_))), "{}", s.backend());
        assert_eq!(s.status_list("lr").await.unwrap().unwrap().bytes[1], 0b0000_0100);
        // Tokens: only a newer version replaces a stored one.
        assert!(s.save_status_token("lr", 3, "tok3", "\"e3\"", 100).await.unwrap());
        assert!(!s.save_status_token("lr", 2, "tok2", "\"e2\"", 200).await.unwrap());
        assert!(s.save_status_token("lr", 3, "tok3b", "\"e3b\"", 150).await.unwrap(), "re-signing before expiry");
        assert_eq!(s.status_list("lr").await.unwrap().unwrap().token.as_deref(), Some("tok3b"));
    }
}

#[tokio::test]
async fn concurrent_revocations_on_one_list_lose_nothing() {
    for s in stores().await {
        s.insert_person(&person(1)).await.unwrap();
        s.insert_status_list(&list("lx", 256)).await.unwrap();
        for i in 0..32u64 {
            assert!(s.claim_status_index("lx", i).await.unwrap());
            s.insert_credential(&cred(&format!("x{i}"), &format!("DOC-X{i:03}"), "lx", i)).await.unwrap();
        }
        let mut tasks = Vec::new();
        for i in 0..32u64 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.set_credential_state(&format!("x{i}"), CredentialState::Revoked, None, 5).await.map(|_| ()) }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let l = s.status_list("lx").await.unwrap().unwrap();
        assert_eq!(l.version, 32, "{}", s.backend());
        for i in 0..32usize {
            assert_eq!((l.bytes[i * 2 / 8] >> ((i * 2) % 8)) & 0b11, 1, "{}: entry {i} lost", s.backend());
        }
    }
}

#[tokio::test]
async fn single_use_values_are_consumed_once() {
    for s in stores().await {
        s.create_single_use("pre_auth_code", "code-1", &json!({"person": "p1"}), 100).await.unwrap();
        assert!(s.peek_single_use("pre_auth_code", "code-1", 50).await.unwrap().is_some());
        assert_eq!(s.consume_single_use("pre_auth_code", "code-1", 50).await.unwrap(), Some(json!({"person": "p1"})));
        assert_eq!(s.consume_single_use("pre_auth_code", "code-1", 51).await.unwrap(), None, "{}: consumed twice", s.backend());
        // Expired values cannot be consumed.
        s.create_single_use("c_nonce", "n-1", &json!({}), 100).await.unwrap();
        assert_eq!(s.consume_single_use("c_nonce", "n-1", 100).await.unwrap(), None);
        // Wrong tx_code attempts: the fifth kills the code; the right one redeems it once.
        let p = json!({"person": "p1"});
        s.create_single_uses(&[esspass_store::NewSingleUse { kind: "pre_auth_code", value: "code-2", payload: &p, expires_at: 1000, check: Some("123456"), sealed: false }], None).await.unwrap();
        for n in 1..=4 {
            assert_eq!(s.redeem_checked("pre_auth_code", "code-2", "000000", 5, 10).await.unwrap(), Checked::Wrong { failures: n });
            assert!(s.peek_single_use("pre_auth_code", "code-2", 10).await.unwrap().is_some());
        }
        assert_eq!(s.redeem_checked("pre_auth_code", "code-2", "000000", 5, 10).await.unwrap(), Checked::Wrong { failures: 5 });
        assert!(s.peek_single_use("pre_auth_code", "code-2", 10).await.unwrap().is_none(), "{}: dead after 5", s.backend());
        assert_eq!(s.redeem_checked("pre_auth_code", "code-2", "123456", 5, 10).await.unwrap(), Checked::Gone, "{}: the right code after the limit", s.backend());
        s.create_single_uses(&[esspass_store::NewSingleUse { kind: "pre_auth_code", value: "code-3", payload: &p, expires_at: 1000, check: Some("123456"), sealed: false }], None).await.unwrap();
        assert_eq!(s.redeem_checked("pre_auth_code", "code-3", "111111", 5, 10).await.unwrap(), Checked::Wrong { failures: 1 });
        assert_eq!(s.redeem_checked("pre_auth_code", "code-3", "123456", 5, 10).await.unwrap(), Checked::Redeemed(p.clone()));
        assert_eq!(s.redeem_checked("pre_auth_code", "code-3", "123456", 5, 10).await.unwrap(), Checked::Gone);
        // An access token is used for its issuance once, and stays readable.
        s.create_single_use("access_token", "tok", &json!({}), 1000).await.unwrap();
        assert!(s.mark_used("access_token", "tok", 10).await.unwrap());
        assert!(!s.mark_used("access_token", "tok", 11).await.unwrap(), "{}: used twice", s.backend());
        assert_eq!(s.peek_single_use("access_token", "tok", 12).await.unwrap().map(|(_, used)| used), Some(true));
        // Replay detection (DPoP jti).
        assert!(s.first_use("dpop_jti", "j1", 500, 10).await.unwrap());
        assert!(!s.first_use("dpop_jti", "j1", 500, 11).await.unwrap(), "{}: replay not seen", s.backend());
        assert!(s.purge_expired(600, 0).await.unwrap() >= 1);
        // Values are stored keyed-hashed: neither the value nor its plain SHA-256 is in the table,
        // and a store with another secret does not find them.
        assert_ne!(s.keyed("code-1").unwrap(), esspass_store::hash_secret("code-1"));
        let other = s.clone().with_secret(b"another secret, not the node's one!");
        assert!(other.peek_single_use("pre_auth_code", "code-1", 50).await.unwrap().is_none(), "{}", s.backend());
        // Rate-limit windows.
        assert_eq!(s.rate_limit_hit("sign-in:1.2.3.4", 60, 100).await.unwrap(), 1);
        assert_eq!(s.rate_limit_hit("sign-in:1.2.3.4", 60, 120).await.unwrap(), 2);
        assert_eq!(s.rate_limit_hit("sign-in:1.2.3.4", 60, 161).await.unwrap(), 1, "{}: a new window", s.backend());
    }
}

/// 300 concurrent wrong guesses from several connection pools (as several processes would be)
/// are compared at most `max` times: compare, count and consume are one statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tx_code_attempt_limit_holds_under_concurrent_guesses() {
    for s in stores().await {
        let p = json!({});
        s.create_single_uses(&[esspass_store::NewSingleUse { kind: "pre_auth_code", value: "guessed", payload: &p, expires_at: 1000, check: Some("424242"), sealed: false }], None).await.unwrap();
        // Three pools on the same database, 100 guesses each, all at once; one guess is right.
        let mut pools = vec![s.clone()];
        for _ in 0..2 {
            pools.push(reopen(&s).await);
        }
        let mut tasks = Vec::new();
        for (i, st) in pools.iter().enumerate() {
            for j in 0..100 {
                let st = st.clone();
                let guess = if i == 2 && j == 99 { "424242".to_owned() } else { format!("{:06}", i * 1000 + j) };
                tasks.push(tokio::spawn(async move { st.redeem_checked("pre_auth_code", "guessed", &guess, 5, 10).await.unwrap() }));
            }
        }
        let mut wrong = 0;
        let mut redeemed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Checked::Wrong { .. } => wrong += 1,
                Checked::Redeemed(_) => redeemed += 1,
                Checked::Gone => {}
            }
        }
        assert!(wrong + redeemed <= 5, "{}: {wrong} wrong and {redeemed} right guesses were evaluated against a limit of 5", s.backend());
        assert!(s.peek_single_use("pre_auth_code", "guessed", 10).await.unwrap().is_none());
    }
}

/// Another connection pool on the same database as `s`.
async fn reopen(s: &Store) -> Store {
    match s.db() {
        esspass_store::Db::Sqlite(pool) => {
            let path = pool.connect_options().get_filename().to_path_buf();
            Store::connect(&format!("sqlite:{}", path.display())).await.unwrap().with_secret(SECRET)
        }
        esspass_store::Db::Postgres(pool) => {
            let o = pool.connect_options();
            let url = std::env::var("ESSPASS_TEST_POSTGRES").unwrap();
            let schema = o.get_options().and_then(|x| x.split("search_path=").nth(1).map(str::to_owned)).unwrap();
            Store::connect_postgres_schema(&url, schema.trim()).await.unwrap().with_secret(SECRET)
        }
    }
}

#[tokio::test]
async fn concurrent_consumers_get_a_code_once() {
    for s in stores().await {
        s.create_single_use("pre_auth_code", "race", &json!({"n": 1}), 1000).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.consume_single_use("pre_auth_code", "race", 5).await.unwrap().is_some() }));
        }
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1, "{}", s.backend());
    }
}

#[tokio::test]
async fn audit_chain_detects_edits_deletions_and_truncation() {
    for s in stores().await {
        for i in 0..5 {
            s.append_audit(100 + i, "case-worker:anna", "read_person", "p1", "ehic_request", &json!({"i": i})).await.unwrap();
        }
        let (head_seq, head_hash) = s.audit_head().await.unwrap();
        assert_eq!(head_seq, 5);
        let records = s.audit_records(1, 100).await.unwrap();
        assert_eq!(records.len(), 5);
        verify_chain(&records, head_seq, &head_hash).unwrap();
        let mut edited = records.clone();
        edited[2].actor = "someone-else".into();
        assert_eq!(verify_chain(&edited, head_seq, &head_hash).unwrap_err().seq, 3);
        let mut deleted = records.clone();
        deleted.remove(1);
        assert_eq!(verify_chain(&deleted, head_seq, &head_hash).unwrap_err().seq, 3);
        let truncated = &records[..4];
        assert!(verify_chain(truncated, head_seq, &head_hash).is_err());
    }
}

#[tokio::test]
async fn concurrent_audit_appends_form_one_chain() {
    for s in stores().await {
        let mut tasks = Vec::new();
        for t in 0..4 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    s.append_audit(i, &format!("worker-{t}"), "issue", "p1", "ehic", &json!({})).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (seq, hash) = s.audit_head().await.unwrap();
        assert_eq!(seq, 40, "{}", s.backend());
        verify_chain(&s.audit_records(1, 1000).await.unwrap(), seq, &hash).unwrap();
    }
}

#[tokio::test]
async fn a_person_and_coverage_are_written_together_or_not_at_all() {
    for s in stores().await {
        let cov = |id: &str, person: &str| CoverageRow { coverage_id: id.into(), person_id: person.into(), kind: "health".into(), start_date: "2020-01-01".into(), end_date: None, created_at: 1 };
        s.insert_person_with_coverage(&person(1), &[cov("k1", "p1")]).await.unwrap();
        assert_eq!(s.coverage_of("p1").await.unwrap().len(), 1);
        // The second coverage row collides (same id): the person must not be left behind.
        let err = s.insert_person_with_coverage(&person(2), &[cov("k2", "p2"), cov("k1", "p2")]).await;
        assert!(matches!(err, Err(StoreError::Duplicate(_))), "{}", s.backend());
        assert!(s.person("p2").await.unwrap().is_none(), "{}: half-written person", s.backend());
        assert!(s.coverage_of("p2").await.unwrap().is_empty());
    }
}

/// The SQLite file and its `-wal` and `-shm` companions are readable by the owner only.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("esspass-store-mode-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("node.db");
    let s = Store::connect(&format!("sqlite:{}", path.display())).await.unwrap().with_secret(SECRET);
    s.insert_person(&person(7)).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let p = dir.join(format!("node.db{suffix}"));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", p.display());
    }
    s.close().await;
    // An existing database left readable by others is tightened when opened.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = Store::connect(&format!("sqlite:{}", path.display())).await.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    s.close().await;
}

/// The EESSI outbox: workers on several connections claim due messages at once (PostgreSQL: `FOR
/// UPDATE SKIP LOCKED`); no message is claimed twice while leased, only the oldest pending message
/// of a case is claimable (per-case order), a delivered one frees the next of its case, a retry is
/// not due before its time; the inbox keeps a message once and returns the first receipt after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outbox_claims_are_exclusive_and_in_order_per_case() {
    for s in stores().await {
        for i in 0..40 {
            let row = esspass_store::OutboxRow { message_id: format!("m{i:02}"), case_id: format!("c{}", i % 8), receiver: "IT:INPS01".into(), receiver_url: "https://it/eessi/messages".into(), body: format!("signed-{i}"), attempts: 0, created_at: 1000 + i, case: None };
            s.enqueue_outbox(&row).await.unwrap();
        }
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.claim_outbox(2000, 60, 5).await.unwrap() }));
        }
        let mut claimed = Vec::new();
        for t in tasks {
            claimed.extend(t.await.unwrap());
        }
        let mut ids: Vec<String> = claimed.iter().map(|r| r.message_id.clone()).collect();
        ids.sort();
        // Eight cases: their first messages m00..m07, each once, whatever the workers' interleaving.
        assert_eq!(ids, (0..8).map(|i| format!("m{i:02}")).collect::<Vec<_>>(), "{}", s.backend());
        assert_eq!(claimed.iter().find(|r| r.message_id == "m03").unwrap().body, "signed-3", "bodies are opened");
        // Leased: nothing more until the lease ends or a message is settled.
        assert!(s.claim_outbox(2001, 60, 50).await.unwrap().is_empty(), "{}", s.backend());
        s.outbox_delivered("m00", "receipt-0", 2002).await.unwrap();
        s.outbox_retry("m01", "HTTP 503", Some(5000), None).await.unwrap();
        let next: Vec<String> = s.claim_outbox(2003, 60, 50).await.unwrap().into_iter().map(|r| r.message_id).collect();
        assert_eq!(next, ["m08"], "{}: m00 delivered frees m08 (case c0); m01 waits for its retry and holds c1", s.backend());
        let due: Vec<String> = s.claim_outbox(5000, 60, 50).await.unwrap().into_iter().map(|r| r.message_id).collect();
        assert!(due.contains(&"m01".to_owned()) && !due.contains(&"m09".to_owned()), "{}: {due:?}", s.backend());
        assert_eq!(s.outbox_state("m01").await.unwrap().unwrap().1, 1);
        s.outbox_retry("m02", "refused", None, Some("error-receipt")).await.unwrap();
        assert_eq!(s.outbox_state("m02").await.unwrap().unwrap().0, "failed");
        // The inbox: once per message id.
        let row = esspass_store::InboxRow { message_id: "in-1".into(), sender: "EL:EFKA01".into(), case_id: "c9".into(), sed_type: "A009".into(), body: "signed".into(), receipt: "first".into(), received_at: 1 };
        assert_eq!(s.inbox_insert(&row).await.unwrap(), None);
        let again = esspass_store::InboxRow { receipt: "second".into(), ..row };
        assert_eq!(s.inbox_insert(&again).await.unwrap().as_deref(), Some("first"));
        assert_eq!(s.inbox_of_case("c9").await.unwrap().len(), 1);
    }
}
