//! [`Store`]: one set of operations, two adapters. The SQL is written once in the dialect both
//! backends read (`$n` placeholders, standard `ON CONFLICT`), and the `on_pool!` macro expands each
//! body for the SQLite and the PostgreSQL pool.

use crate::audit::AuditRecord;
use crate::model::{ApplicationRow, CaseRow, CoverageRow, CredentialRow, CredentialState, EmploymentRow, InboxRow, OutboxRow, Person, PostingRow, SignInReviewRow, StatusListRow, VerificationRow};
use crate::{Result, StoreError};
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The node's database, and the node secret that single-use values are hashed under.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    secret: Option<Arc<SecretKey>>,
}

/// The connection pool of one backend.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The HMAC key single-use values (codes, `issuer_state`, tokens, `tx_code`s, nonces) are hashed
/// under before they reach the database: a reader of the database alone cannot redeem, sign in or
/// act as a client, nor recover a six-digit `tx_code` by trying every value.
struct SecretKey {
    hmac: aws_lc_rs::hmac::Key,
    /// AES-256-GCM key for payloads that carry bearer values (an offer by reference holds its codes).
    aead: aws_lc_rs::aead::LessSafeKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// A `verifications` row as read (sealed fields still sealed).
type VerificationTuple = (String, String, String, i64, i64, Option<String>, String, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<i64>);

macro_rules! on_pool {
    ($self:expr, $pool:ident => $body:expr) => {
        match &$self.db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

/// Queue a sealed outgoing EESSI message (`(&OutboxRow, sealed body)`) inside an open
/// transaction, once by its message id; the number of rows written (0: the id was queued before).
macro_rules! outbox_in_tx {
    ($tx:expr, $queued:expr) => {{
        let (m, body): &(&OutboxRow, String) = $queued;
        let n = sqlx::query("INSERT INTO eessi_outbox (message_id, case_id, receiver, receiver_url, body, state, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (message_id) DO NOTHING")
            .bind(&m.message_id).bind(&m.case_id).bind(&m.receiver).bind(&m.receiver_url).bind(body).bind(m.created_at)
            .execute(&mut *$tx).await?.rows_affected();
        if n == 1 && let Some(c) = &m.case {
            case_in_tx!($tx, c);
        }
        n
    }};
}

/// Queue every sealed message of a step inside an open transaction; one queued before (its message
/// id taken) refuses the whole step.
macro_rules! queue_all_in_tx {
    ($tx:expr, $queued:expr) => {{
        for q in $queued {
            if outbox_in_tx!($tx, q) == 0 {
                return Err(StoreError::Duplicate(format!("eessi message {}", q.0.message_id)));
            }
        }
    }};
}

/// Write a case as a message leaves it, inside an open transaction: inserted when new (version 0),
/// else updated only if nobody changed it since it was read (a conflict otherwise).
macro_rules! case_in_tx {
    ($tx:expr, $case:expr) => {{
        let c: &CaseRow = $case;
        let n = if c.version == 0 {
            sqlx::query("INSERT INTO eessi_cases (case_id, buc, owner, status, body, version, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT (case_id) DO NOTHING")
                .bind(&c.case_id).bind(&c.buc).bind(&c.owner).bind(&c.status).bind(c.body.to_string()).bind(c.updated_at)
                .execute(&mut *$tx).await?.rows_affected()
        } else {
            sqlx::query("UPDATE eessi_cases SET status = $2, body = $3, version = version + 1, updated_at = $4 WHERE case_id = $1 AND version = $5")
                .bind(&c.case_id).bind(&c.status).bind(c.body.to_string()).bind(c.updated_at).bind(c.version)
                .execute(&mut *$tx).await?.rows_affected()
        };
        if n != 1 {
            return Err(StoreError::Conflict(format!("eessi case {} changed meanwhile", c.case_id)));
        }
    }};
}

/// Append an audit record inside an open transaction, after the business change it records was
/// written in the same transaction (so on SQLite the transaction already holds the write lock; on
/// PostgreSQL the head row is locked). The record and the change commit together or not at all.
macro_rules! audit_in_tx {
    ($tx:expr, $head_sql:expr, $e:expr) => {{
        let e: &AuditEntry = $e;
        let r = sqlx::query($head_sql).fetch_one(&mut *$tx).await?;
        let head: i64 = r.try_get("seq")?;
        let prev: String = r.try_get("hash")?;
        let mut rec = AuditRecord { seq: head + 1, at: e.at, actor: e.actor.clone(), action: e.action.clone(), subject: e.subject.clone(), purpose: e.purpose.clone(), details: e.details.clone(), prev_hash: prev, hash: String::new() };
        rec.hash = rec.compute_hash();
        let moved = sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3 AND hash = $4")
            .bind(rec.seq).bind(&rec.hash).bind(head).bind(&rec.prev_hash).execute(&mut *$tx).await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Conflict("audit chain head".into()));
        }
        sqlx::query("INSERT INTO audit_log (seq, at, actor, action, subject, purpose, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(rec.seq).bind(rec.at).bind(&rec.actor).bind(&rec.action).bind(&rec.subject).bind(&rec.purpose).bind(rec.details.to_string()).bind(&rec.prev_hash).bind(&rec.hash)
            .execute(&mut *$tx).await?;
        rec
    }};
}

/// One result for [`Store::finish_verifications`].
#[derive(Debug, Clone)]
pub struct FinishVerification {
    pub transaction_id: String,
    pub state: String,
    pub outcome: String,
    pub code: Option<String>,
    pub report: Value,
    pub claims: Option<Value>,
    pub proof: String,
    pub now: i64,
    pub audit: AuditEntry,
}

/// An audit record to write together with the change it records.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub purpose: String,
    pub details: Value,
}

impl AuditEntry {
    pub fn new(at: i64, actor: &str, action: &str, subject: &str, purpose: &str, details: Value) -> Self {
        Self { at, actor: actor.into(), action: action.into(), subject: subject.into(), purpose: purpose.into(), details }
    }
}

/// A single-use value redeemed together with a secret checked in the same statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// The secret matched: the value is consumed, here is its payload.
    Redeemed(Value),
    /// The secret was wrong; this many failures so far (the value is dead at the limit).
    Wrong { failures: i64 },
    /// Unknown, consumed, expired or dead.
    Gone,
}

/// Prefix of a sealed (encrypted) payload.
const SEALED: &str = "sealed:";

const HEAD_SQLITE: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
const HEAD_POSTGRES: &str = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";

macro_rules! person_from {
    ($r:expr) => {
        Person {
            person_id: $r.try_get("person_id")?,
            personal_number: $r.try_get("personal_number")?,
            family_name: $r.try_get("family_name")?,
            given_name: $r.try_get("given_name")?,
            birth_date: $r.try_get("birth_date")?,
            nationality: $r.try_get("nationality")?,
            residence: $r.try_get("residence")?,
            birth_country: $r.try_get("birth_country")?,
            birth_place: $r.try_get("birth_place")?,
            created_at: $r.try_get("created_at")?,
        }
    };
}

macro_rules! list_from {
    ($r:expr) => {
        StatusListRow {
            list_id: $r.try_get("list_id")?,
            uri: $r.try_get("uri")?,
            bits: u8::try_from($r.try_get::<i64, _>("bits")?).map_err(|_| StoreError::Database("bits".into()))?,
            size: u64::try_from($r.try_get::<i64, _>("size")?).map_err(|_| StoreError::Database("size".into()))?,
            bytes: $r.try_get("bytes")?,
            version: $r.try_get("version")?,
            token: $r.try_get("token")?,
            etag: $r.try_get("etag")?,
            token_version: $r.try_get("token_version")?,
            token_exp: $r.try_get("token_exp")?,
            updated_at: $r.try_get("updated_at")?,
        }
    };
}

macro_rules! credential_from {
    ($r:expr) => {
        CredentialRow {
            credential_id: $r.try_get("credential_id")?,
            document_number: $r.try_get("document_number")?,
            person_id: $r.try_get("person_id")?,
            vct: $r.try_get("vct")?,
            list_id: $r.try_get("list_id")?,
            idx: u64::try_from($r.try_get::<i64, _>("idx")?).map_err(|_| StoreError::Database("idx".into()))?,
            state: CredentialState::parse(&$r.try_get::<String, _>("state")?).ok_or_else(|| StoreError::Database("state".into()))?,
            reason: $r.try_get("reason")?,
            issued_at: $r.try_get("issued_at")?,
            changed_at: $r.try_get("changed_at")?,
            application_id: $r.try_get("application_id")?,
        }
    };
}

macro_rules! application_from {
    ($r:expr) => {{
        let json = |s: String| serde_json::from_str::<Value>(&s).map_err(|e| StoreError::Database(e.to_string()));
        ApplicationRow {
            application_id: $r.try_get("application_id")?,
            person_id: $r.try_get("person_id")?,
            employer_id: $r.try_get("employer_id")?,
            submitted_by: $r.try_get("submitted_by")?,
            input: json($r.try_get("input")?)?,
            decision: json($r.try_get("decision")?)?,
            state: $r.try_get("state")?,
            final_decision: match $r.try_get::<Option<String>, _>("final")? { Some(s) => Some(json(s)?), None => None },
            decided_by: $r.try_get("decided_by")?,
            decided_at: $r.try_get("decided_at")?,
            decision_note: $r.try_get("decision_note")?,
            created_at: $r.try_get("created_at")?,
        }
    }};
}

macro_rules! audit_from {
    ($r:expr) => {
        AuditRecord {
            seq: $r.try_get("seq")?,
            at: $r.try_get("at")?,
            actor: $r.try_get("actor")?,
            action: $r.try_get("action")?,
            subject: $r.try_get("subject")?,
            purpose: $r.try_get("purpose")?,
            details: serde_json::from_str(&$r.try_get::<String, _>("details")?).map_err(|e| StoreError::Database(e.to_string()))?,
            prev_hash: $r.try_get("prev_hash")?,
            hash: $r.try_get("hash")?,
        }
    };
}

fn as_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Database(format!("{what} out of range")))
}

/// A single-use value to create: kind, the value itself (stored keyed-hashed), payload, expiry and
/// an optional secret checked with it ([`Store::redeem_checked`]).
#[derive(Debug, Clone, Copy)]
pub struct NewSingleUse<'a> {
    pub kind: &'a str,
    pub value: &'a str,
    pub payload: &'a Value,
    pub expires_at: i64,
    pub check: Option<&'a str>,
    /// Encrypt the payload (it carries bearer values, e.g. an offer by reference with its codes).
    pub sealed: bool,
}

/// A case worker's decision on a pending application: the new state, what the PDA1 states, who,
/// when and why.
#[derive(Debug, Clone, Copy)]
pub struct ApplicationDecision<'a> {
    pub state: &'a str,
    pub final_decision: Option<&'a Value>,
    pub by: &'a str,
    pub at: i64,
    pub note: Option<&'a str>,
    /// The EESSI case the decision opens and waits on (an Art 16 request's LA_BUC_01).
    pub eessi_case: Option<&'a str>,
    /// The messages the decision sends (the A001s of an Art 16 request), queued in its transaction.
    pub outbox: &'a [OutboxRow],
}

/// What an incoming EESSI message changes of an application waiting on its case (an A011 or A002
/// answering an Art 16 request): written with the inbox row, only if the application is still
/// `from_state` with the final decision `from_final` as read (else a conflict: the sender retries).
#[derive(Debug, Clone)]
pub struct ApplicationUpdate {
    pub application_id: String,
    pub from_state: String,
    pub from_final: Option<Value>,
    pub state: String,
    pub final_decision: Option<Value>,
    pub note: String,
    pub at: i64,
}

/// An incoming EESSI message to keep and what its receipt writes besides (owned, for batches:
/// [`Store::inbox_insert_batch`]).
#[derive(Debug, Clone)]
pub struct InboxWrite {
    pub row: InboxRow,
    pub posting: Option<PostingRow>,
    pub audit: Option<AuditEntry>,
    pub case: Option<CaseRow>,
    pub application: Option<ApplicationUpdate>,
    pub posting_move: Option<PostingMove>,
}

/// A received message moves the posting of its case: from one of `from` (at most three) to `to`
/// (with the reasons, when given, and who and when).
#[derive(Debug, Clone)]
pub struct PostingMove {
    pub case_id: String,
    pub from: &'static [&'static str],
    pub to: &'static str,
    pub reasons: Option<Vec<String>>,
    pub by: Option<String>,
    pub at: Option<i64>,
}

impl PostingMove {
    /// The A006 answered the A005: a posting waiting for information goes back to review.
    pub fn reopen(case_id: &str) -> Self {
        Self { case_id: case_id.to_owned(), from: &["information_requested"], to: "review", reasons: None, by: None, at: None }
    }

    /// An X008 invalidated the A009: the posting, whatever became of it but a rejection, is withdrawn.
    pub fn withdraw(case_id: &str, reasons: Vec<String>, by: &str, at: i64) -> Self {
        Self { case_id: case_id.to_owned(), from: &["review", "information_requested", "registered"], to: "withdrawn", reasons: Some(reasons), by: Some(by.to_owned()), at: Some(at) }
    }
}

/// What receiving an EESSI message writes besides its inbox row, in the same transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct InboxEffects<'a> {
    /// The posting an A009 notifies.
    pub posting: Option<&'a PostingRow>,
    pub audit: Option<&'a AuditEntry>,
    /// The case as the message moves it.
    pub case: Option<&'a CaseRow>,
    pub application: Option<&'a ApplicationUpdate>,
    /// The posting of the message's case moves (an A006 reopens it, an X008 withdraws it).
    pub posting_move: Option<&'a PostingMove>,
}

/// How often an optimistic update is retried before giving up.
const RETRIES: usize = 50;

impl Store {
    /// Connect and migrate. `sqlite:PATH` (created if missing; WAL, synchronous FULL) or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, true).await
    }

    /// Connect to a database that must exist already (commands that read a node's database never
    /// create one): a missing SQLite file is [`StoreError::NotFound`].
    pub async fn connect_existing(url: &str) -> Result<Self> {
        Self::connect_with(url, false).await
    }

    async fn connect_with(url: &str, create: bool) -> Result<Self> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
            let path = opts.get_filename().to_path_buf();
            if !create && !path.exists() {
                return Err(StoreError::NotFound(format!("no such database: {}", path.display())));
            }
            if create && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
                return Err(StoreError::Url(format!("{}: the folder for the database does not exist", dir.display())));
            }
            let opts = opts
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true);
            private_file(opts.get_filename())?;
            let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
            Ok(Store { db: Db::Sqlite(pool), secret: None })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
            Self::connect_postgres(opts).await
        } else {
            Err(StoreError::Url(format!("{url:?}: expected sqlite:PATH or postgres://…")))
        }
    }

    /// Connect to PostgreSQL using (and creating) a schema of its own — for tests that share a server.
    pub async fn connect_postgres_schema(url: &str, schema: &str) -> Result<Self> {
        if !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(StoreError::Url(format!("schema name {schema:?}")));
        }
        let opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
        let admin = PgPoolOptions::new().max_connections(1).connect_with(opts.clone()).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).execute(&admin).await?;
        admin.close().await;
        Self::connect_postgres(opts.options([("search_path", schema)])).await
    }

    /// Drop the PostgreSQL schemas whose names start with `prefix` (test clean-up and tooling).
    pub async fn drop_postgres_schemas(url: &str, prefix: &str) -> Result<u64> {
        if !prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') || prefix.len() < 4 {
            return Err(StoreError::Url(format!("schema prefix {prefix:?}")));
        }
        let opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
        let admin = PgPoolOptions::new().max_connections(1).connect_with(opts).await?;
        let rows = sqlx::query("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)").bind(prefix).fetch_all(&admin).await?;
        let mut n = 0;
        for r in rows {
            let name: String = r.try_get("nspname")?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"))).execute(&admin).await?;
            n += 1;
        }
        admin.close().await;
        Ok(n)
    }

    async fn connect_postgres(opts: PgConnectOptions) -> Result<Self> {
        let pool = PgPoolOptions::new().max_connections(16).connect_with(opts).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Store { db: Db::Postgres(pool), secret: None })
    }

    pub fn backend(&self) -> &'static str {
        match &self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// The connection pool (tests and tools that inspect the database directly).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The same store, hashing single-use values under `secret` (the node secret, ≥ 32 bytes, kept
    /// outside the database). Every process of one institution must use the same secret.
    #[must_use]
    pub fn with_secret(mut self, secret: &[u8]) -> Self {
        let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
        let derived = aws_lc_rs::hmac::sign(&hmac, b"esspass payload encryption key");
        let aead = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, derived.as_ref()).map(aws_lc_rs::aead::LessSafeKey::new);
        match aead {
            Ok(aead) => self.secret = Some(Arc::new(SecretKey { hmac, aead })),
            // A 32-byte key always fits AES-256; without a key nothing is hashed or sealed.
            Err(_) => self.secret = None,
        }
        self
    }

    /// The keyed hash (HMAC-SHA-256, base64url) a single-use value is stored under.
    pub fn keyed(&self, value: &str) -> Result<String> {
        use base64::Engine;
        let key = self.secret.as_ref().ok_or(StoreError::NoSecret)?;
        let tag = aws_lc_rs::hmac::sign(&key.hmac, value.as_bytes());
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Encrypt a payload (AES-256-GCM under a key derived from the node secret), bound to its kind.
    fn seal(&self, kind: &str, payload: &str) -> Result<String> {
        use base64::Engine;
        let key = self.secret.as_ref().ok_or(StoreError::NoSecret)?;
        let mut nonce = [0u8; 12];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| StoreError::Database("no randomness".into()))?;
        let mut data = payload.as_bytes().to_vec();
        key.aead
            .seal_in_place_append_tag(aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce), aws_lc_rs::aead::Aad::from(kind.as_bytes()), &mut data)
            .map_err(|_| StoreError::Database("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{SEALED}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)))
    }

    /// A stored payload as JSON, decrypted when it was sealed.
    fn open_payload(&self, kind: &str, stored: &str) -> Result<Value> {
        use base64::Engine;
        let text = match stored.strip_prefix(SEALED) {
            None => stored.to_owned(),
            Some(b) => {
                let key = self.secret.as_ref().ok_or(StoreError::NoSecret)?;
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(b).map_err(|_| StoreError::Database("sealed payload".into()))?;
                if raw.len() < 12 + 16 {
                    return Err(StoreError::Database("sealed payload".into()));
                }
                let (nonce, rest) = raw.split_at(12);
                let nonce = aws_lc_rs::aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| StoreError::Database("sealed payload".into()))?;
                let mut data = rest.to_vec();
                let plain = key.aead.open_in_place(nonce, aws_lc_rs::aead::Aad::from(kind.as_bytes()), &mut data).map_err(|_| StoreError::Database("a sealed payload does not open with this node secret".into()))?;
                String::from_utf8(plain.to_vec()).map_err(|_| StoreError::Database("sealed payload".into()))?
            }
        };
        serde_json::from_str(&text).map_err(|e| StoreError::Database(e.to_string()))
    }

    fn head_sql(&self) -> &'static str {
        match &self.db {
            Db::Sqlite(_) => HEAD_SQLITE,
            Db::Postgres(_) => HEAD_POSTGRES,
        }
    }

    // ---- insured persons -------------------------------------------------------------------

    pub async fn insert_person(&self, p: &Person) -> Result<()> {
        self.insert_persons_batch(std::slice::from_ref(&(p.clone(), Vec::new()))).await
    }

    /// A person and their coverage, all or nothing.
    pub async fn insert_person_with_coverage(&self, p: &Person, coverage: &[CoverageRow]) -> Result<()> {
        self.insert_persons_batch(&[(p.clone(), coverage.to_vec())]).await
    }

    /// Several persons with their coverage in one transaction (bulk import); all or nothing.
    pub async fn insert_persons_batch(&self, batch: &[(Person, Vec<CoverageRow>)]) -> Result<()> {
        let full: Vec<(Person, Vec<CoverageRow>, Vec<EmploymentRow>)> = batch.iter().map(|(p, c)| (p.clone(), c.clone(), Vec::new())).collect();
        self.insert_persons_full(&full).await
    }

    /// Several persons with their coverage and employment records in one transaction; all or nothing.
    pub async fn insert_persons_full(&self, batch: &[(Person, Vec<CoverageRow>, Vec<EmploymentRow>)]) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (p, coverage, employments) in batch {
                sqlx::query("INSERT INTO persons (person_id, personal_number, family_name, given_name, birth_date, nationality, residence, birth_country, birth_place, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                    .bind(&p.person_id).bind(&p.personal_number).bind(&p.family_name).bind(&p.given_name).bind(&p.birth_date)
                    .bind(&p.nationality).bind(&p.residence).bind(&p.birth_country).bind(&p.birth_place).bind(p.created_at)
                    .execute(&mut *tx).await?;
                for c in coverage {
                    sqlx::query("INSERT INTO coverage (coverage_id, person_id, kind, start_date, end_date, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&c.coverage_id).bind(&c.person_id).bind(&c.kind).bind(&c.start_date).bind(&c.end_date).bind(c.created_at)
                        .execute(&mut *tx).await?;
                }
                for e in employments {
                    sqlx::query("INSERT INTO employments (employment_id, employer_id, person_id, start_date, end_date, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&e.employment_id).bind(&e.employer_id).bind(&e.person_id).bind(&e.start_date).bind(&e.end_date).bind(e.created_at)
                        .execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn coverage_of(&self, person_id: &str) -> Result<Vec<CoverageRow>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM coverage WHERE person_id = $1 ORDER BY start_date, coverage_id").bind(person_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(CoverageRow {
                    coverage_id: r.try_get("coverage_id")?,
                    person_id: r.try_get("person_id")?,
                    kind: r.try_get("kind")?,
                    start_date: r.try_get("start_date")?,
                    end_date: r.try_get("end_date")?,
                    created_at: r.try_get("created_at")?,
                });
            }
            Ok(out)
        })
    }

    pub async fn person(&self, person_id: &str) -> Result<Option<Person>> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM persons WHERE person_id = $1").bind(person_id).fetch_optional(pool).await?;
            Ok(match row { Some(r) => Some(person_from!(r)), None => None })
        })
    }

    pub async fn person_by_number(&self, personal_number: &str) -> Result<Option<Person>> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM persons WHERE personal_number = $1").bind(personal_number).fetch_optional(pool).await?;
            Ok(match row { Some(r) => Some(person_from!(r)), None => None })
        })
    }

    /// Persons in id order after `after` (keyset pagination), at most `limit`.
    pub async fn persons_after(&self, after: &str, limit: i64) -> Result<Vec<Person>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM persons WHERE person_id > $1 ORDER BY person_id LIMIT $2").bind(after).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(person_from!(r)); }
            Ok(out)
        })
    }

    pub async fn count_persons(&self) -> Result<i64> {
        on_pool!(self, pool => {
            let r = sqlx::query("SELECT COUNT(*) AS n FROM persons").fetch_one(pool).await?;
            Ok(r.try_get::<i64, _>("n")?)
        })
    }

    // ---- status lists ----------------------------------------------------------------------

    pub async fn insert_status_list(&self, l: &StatusListRow) -> Result<()> {
        let size = as_i64(l.size, "size")?;
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO status_lists (list_id, uri, bits, size, bytes, version, token, etag, token_version, token_exp, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                .bind(&l.list_id).bind(&l.uri).bind(i64::from(l.bits)).bind(size).bind(&l.bytes).bind(l.version)
                .bind(&l.token).bind(&l.etag).bind(l.token_version).bind(l.token_exp).bind(l.updated_at)
                .execute(pool).await?;
        });
        Ok(())
    }

    pub async fn status_list(&self, list_id: &str) -> Result<Option<StatusListRow>> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM status_lists WHERE list_id = $1").bind(list_id).fetch_optional(pool).await?;
            Ok(match row { Some(r) => Some(list_from!(r)), None => None })
        })
    }

    pub async fn status_lists(&self) -> Result<Vec<StatusListRow>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM status_lists ORDER BY list_id").fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(list_from!(r)); }
            Ok(out)
        })
    }

    /// Every list's id with the number of indexes it handed out and its size (without the bytes).
    pub async fn status_list_fill(&self) -> Result<Vec<(String, u64, u64)>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT list_id, allocated, size FROM status_lists").fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let n = u64::try_from(r.try_get::<i64, _>("allocated")?).unwrap_or(0);
                let size = u64::try_from(r.try_get::<i64, _>("size")?).unwrap_or(0);
                out.push((r.try_get::<String, _>("list_id")?, n, size));
            }
            Ok(out)
        })
    }

    /// Claim `idx` in `list_id`. `false` if it is already taken (by any process).
    pub async fn claim_status_index(&self, list_id: &str, idx: u64) -> Result<bool> {
        let idx = as_i64(idx, "idx")?;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let r = sqlx::query("INSERT INTO status_entries (list_id, idx) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(list_id).bind(idx).execute(&mut *tx).await?;
            if r.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("UPDATE status_lists SET allocated = allocated + 1 WHERE list_id = $1").bind(list_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Record an issued credential. Its document number and (list, index) must be new.
    pub async fn insert_credential(&self, c: &CredentialRow) -> Result<()> {
        self.insert_credentials(std::slice::from_ref(c), None).await
    }

    /// Record credentials issued together (one batch) and, when given, the audit record of the
    /// issuance: all in one transaction. Document numbers and (list, index) pairs must be new.
    pub async fn insert_credentials(&self, rows: &[CredentialRow], audit: Option<&AuditEntry>) -> Result<()> {
        self.insert_issued(rows, &[], audit).await
    }

    /// As [`Store::insert_credentials`], keeping each credential's business claims (`claims[i]` for
    /// `rows[i]`; missing ones are not kept) sealed under the node secret, for its paper version.
    pub async fn insert_issued(&self, rows: &[CredentialRow], claims: &[Value], audit: Option<&AuditEntry>) -> Result<()> {
        self.insert_issued_notifying(rows, claims, audit, &[]).await
    }

    /// As [`Store::insert_issued`], and in the same transaction the EESSI message the issuance
    /// causes (a PDA1's A009 or A003s), queued in the outbox once by message id: all or none.
    pub async fn insert_issued_notifying(&self, rows: &[CredentialRow], claims: &[Value], audit: Option<&AuditEntry>, outbox: &[OutboxRow]) -> Result<()> {
        let head_sql = self.head_sql();
        let queued = self.seal_outbox(outbox)?;
        let mut sealed = Vec::with_capacity(rows.len());
        for i in 0..rows.len() {
            sealed.push(match claims.get(i) {
                Some(v) => Some(self.seal("credential_claims", &v.to_string())?),
                None => None,
            });
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (c, kept) in rows.iter().zip(&sealed) {
                let idx = as_i64(c.idx, "idx")?;
                sqlx::query("INSERT INTO credentials (credential_id, document_number, person_id, vct, list_id, idx, state, reason, issued_at, changed_at, application_id, claims) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                    .bind(&c.credential_id).bind(&c.document_number).bind(&c.person_id).bind(&c.vct).bind(&c.list_id).bind(idx)
                    .bind(c.state.as_str()).bind(&c.reason).bind(c.issued_at).bind(c.changed_at).bind(&c.application_id).bind(kept)
                    .execute(&mut *tx).await?;
                sqlx::query("UPDATE status_entries SET credential_id = $1 WHERE list_id = $2 AND idx = $3")
                    .bind(&c.credential_id).bind(&c.list_id).bind(idx).execute(&mut *tx).await?;
            }
            for q in &queued {
                let _ = outbox_in_tx!(tx, q);
            }
            if let Some(e) = audit {
                audit_in_tx!(tx, head_sql, e);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The credentials issued from an A1 application.
    pub async fn credentials_of_application(&self, application_id: &str) -> Result<Vec<CredentialRow>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM credentials WHERE application_id = $1 ORDER BY issued_at, credential_id").bind(application_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(credential_from!(r)); }
            Ok(out)
        })
    }

    pub async fn credential(&self, credential_id: &str) -> Result<Option<CredentialRow>> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM credentials WHERE credential_id = $1").bind(credential_id).fetch_optional(pool).await?;
            Ok(match row { Some(r) => Some(credential_from!(r)), None => None })
        })
    }

    /// The business claims a credential was issued with (opened with the node secret), or `None`
    /// when it was issued before the node kept them.
    pub async fn credential_claims(&self, credential_id: &str) -> Result<Option<Value>> {
        let stored: Option<Option<String>> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT claims FROM credentials WHERE credential_id = $1").bind(credential_id).fetch_optional(pool).await?
        });
        match stored.flatten() {
            Some(s) => Ok(Some(self.open_payload("credential_claims", &s)?)),
            None => Ok(None),
        }
    }

    /// The document numbers of the credentials in a state (`revoked`, `suspended`): what the
    /// node's revocation export for offline verifiers lists, hashed.
    pub async fn document_numbers_in_state(&self, state: CredentialState) -> Result<Vec<String>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT document_number FROM credentials WHERE state = $1 ORDER BY document_number").bind(state.as_str()).fetch_all(pool).await?)
        })
    }

    pub async fn credentials_of(&self, person_id: &str) -> Result<Vec<CredentialRow>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM credentials WHERE person_id = $1 ORDER BY issued_at, credential_id").bind(person_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(credential_from!(r)); }
            Ok(out)
        })
    }

    /// Change a credential's state and the matching entry of its status list in one transaction;
    /// the list's version goes up by one (optimistic concurrency: a concurrent change to the same
    /// list is retried on the new bytes). Durable when this returns.
    pub async fn set_credential_state(&self, credential_id: &str, state: CredentialState, reason: Option<&str>, now: i64) -> Result<CredentialRow> {
        self.set_credential_state_audited(credential_id, state, reason, now, None).await
    }

    /// As [`Store::set_credential_state`], with the audit record written in the same transaction.
    pub async fn set_credential_state_audited(&self, credential_id: &str, state: CredentialState, reason: Option<&str>, now: i64, audit: Option<&AuditEntry>) -> Result<CredentialRow> {
        self.set_credential_state_notifying(credential_id, state, reason, now, audit, &[]).await
    }

    /// As [`Store::set_credential_state_audited`], and in the same transaction the EESSI message
    /// the change causes (a withdrawn PDA1's X008), queued once by its message id.
    pub async fn set_credential_state_notifying(&self, credential_id: &str, state: CredentialState, reason: Option<&str>, now: i64, audit: Option<&AuditEntry>, outbox: &[OutboxRow]) -> Result<CredentialRow> {
        let head_sql = self.head_sql();
        let queued = self.seal_outbox(outbox)?;
        for _ in 0..RETRIES {
            let cred = self.credential(credential_id).await?.ok_or_else(|| StoreError::NotFound(format!("credential {credential_id}")))?;
            if cred.state == CredentialState::Revoked {
                return Err(StoreError::Final("a revoked credential stays revoked".into()));
            }
            let list = self.status_list(&cred.list_id).await?.ok_or_else(|| StoreError::NotFound(format!("status list {}", cred.list_id)))?;
            let mut bytes = list.bytes.clone();
            set_bits(&mut bytes, list.bits, cred.idx, state.status_value())?;
            let updated = on_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                let moved = sqlx::query("UPDATE status_lists SET bytes = $1, version = version + 1, updated_at = $2 WHERE list_id = $3 AND version = $4")
                    .bind(&bytes).bind(now).bind(&list.list_id).bind(list.version).execute(&mut *tx).await?;
                // The credential's row is changed only from a non-final state: a revocation that
                // raced ahead of this change wins, and the list update above is rolled back.
                let changed = if moved.rows_affected() == 1 {
                    sqlx::query("UPDATE credentials SET state = $1, reason = $2, changed_at = $3 WHERE credential_id = $4 AND state <> 'revoked'")
                        .bind(state.as_str()).bind(reason).bind(now).bind(credential_id).execute(&mut *tx).await?.rows_affected() == 1
                } else {
                    false
                };
                if changed {
                    for q in &queued {
                        let _ = outbox_in_tx!(tx, q);
                    }
                    if let Some(e) = audit {
                        audit_in_tx!(tx, head_sql, e);
                    }
                    tx.commit().await?;
                    true
                } else {
                    tx.rollback().await?;
                    false
                }
            });
            if updated {
                return Ok(CredentialRow { state, reason: reason.map(str::to_owned), changed_at: now, ..cred });
            }
        }
        Err(StoreError::Conflict(format!("status list of credential {credential_id}")))
    }

    /// Store a signed token for the list as of `for_version`, unless a token of that version or a
    /// newer one is already stored. `true` when stored.
    pub async fn save_status_token(&self, list_id: &str, for_version: i64, token: &str, etag: &str, exp: i64) -> Result<bool> {
        on_pool!(self, pool => {
            let r = sqlx::query("UPDATE status_lists SET token = $1, etag = $2, token_version = $3, token_exp = $4 WHERE list_id = $5 AND (token IS NULL OR token_version < $3 OR (token_version = $3 AND token_exp < $4))")
                .bind(token).bind(etag).bind(for_version).bind(exp).bind(list_id).execute(pool).await?;
            Ok(r.rows_affected() == 1)
        })
    }

    // ---- single-use values -----------------------------------------------------------------

    /// Store a new single-use value (keyed-hashed) with a JSON payload and an expiry.
    pub async fn create_single_use(&self, kind: &str, value: &str, payload: &Value, expires_at: i64) -> Result<()> {
        self.create_single_uses(&[NewSingleUse { kind, value, payload, expires_at, check: None, sealed: false }], None).await
    }

    /// As [`Store::create_single_use`], with the payload encrypted (it carries bearer values).
    pub async fn create_single_use_sealed(&self, kind: &str, value: &str, payload: &Value, expires_at: i64) -> Result<()> {
        self.create_single_uses(&[NewSingleUse { kind, value, payload, expires_at, check: None, sealed: true }], None).await
    }

    /// Store several single-use values (the grants of one offer) and, when given, the audit record
    /// of their creation: all in one transaction.
    pub async fn create_single_uses(&self, items: &[NewSingleUse<'_>], audit: Option<&AuditEntry>) -> Result<()> {
        let mut rows = Vec::with_capacity(items.len());
        for i in items {
            let payload = if i.sealed { self.seal(i.kind, &i.payload.to_string())? } else { i.payload.to_string() };
            rows.push((self.keyed(i.value)?, i.check.map(|c| self.keyed(&format!("check:{c}"))).transpose()?, payload));
        }
        let head_sql = self.head_sql();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (i, (h, check, payload)) in items.iter().zip(&rows) {
                sqlx::query("INSERT INTO single_use (kind, value_hash, payload, expires_at, check_hash) VALUES ($1, $2, $3, $4, $5)")
                    .bind(i.kind).bind(h).bind(payload).bind(i.expires_at).bind(check).execute(&mut *tx).await?;
            }
            if let Some(e) = audit {
                audit_in_tx!(tx, head_sql, e);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Consume a single-use value: its payload if it exists, has not expired and was not consumed
    /// before — exactly once across every process.
    pub async fn consume_single_use(&self, kind: &str, value: &str, now: i64) -> Result<Option<Value>> {
        let h = self.keyed(value)?;
        on_pool!(self, pool => {
            let r = sqlx::query("UPDATE single_use SET consumed_at = $1 WHERE kind = $2 AND value_hash = $3 AND consumed_at IS NULL AND expires_at > $1 RETURNING payload")
                .bind(now).bind(kind).bind(&h).fetch_optional(pool).await?;
            match r {
                Some(row) => Ok(Some(self.open_payload(kind, &row.try_get::<String, _>("payload")?)?)),
                None => Ok(None),
            }
        })
    }

    /// Redeem a single-use value that carries a secret (a pre-authorized code and its `tx_code`):
    /// compare the secret, count a failure and consume — on success, or at the `max`-th failure —
    /// in one statement, so concurrent guesses never get more than `max` comparisons.
    pub async fn redeem_checked(&self, kind: &str, value: &str, secret: &str, max: i64, now: i64) -> Result<Checked> {
        let h = self.keyed(value)?;
        let c = self.keyed(&format!("check:{secret}"))?;
        on_pool!(self, pool => {
            let r = sqlx::query(
                "UPDATE single_use SET \
                   consumed_at = CASE WHEN check_hash = $1 OR attempts + 1 >= $2 THEN $3 ELSE NULL END, \
                   attempts = attempts + CASE WHEN check_hash = $1 THEN 0 ELSE 1 END \
                 WHERE kind = $4 AND value_hash = $5 AND consumed_at IS NULL AND expires_at > $3 AND attempts < $2 \
                 RETURNING payload, attempts, CAST(CASE WHEN check_hash = $1 THEN 1 ELSE 0 END AS BIGINT) AS ok")
                .bind(&c).bind(max).bind(now).bind(kind).bind(&h).fetch_optional(pool).await?;
            let Some(row) = r else { return Ok(Checked::Gone) };
            if row.try_get::<i64, _>("ok")? == 1 {
                Ok(Checked::Redeemed(self.open_payload(kind, &row.try_get::<String, _>("payload")?)?))
            } else {
                Ok(Checked::Wrong { failures: row.try_get::<i64, _>("attempts")? })
            }
        })
    }

    /// Peek at an unconsumed, unexpired single-use value without consuming it: its payload and
    /// whether it was used for its one purpose ([`Store::mark_used`]).
    pub async fn peek_single_use(&self, kind: &str, value: &str, now: i64) -> Result<Option<(Value, bool)>> {
        let h = self.keyed(value)?;
        on_pool!(self, pool => {
            let r = sqlx::query("SELECT payload, used_at FROM single_use WHERE kind = $1 AND value_hash = $2 AND consumed_at IS NULL AND expires_at > $3")
                .bind(kind).bind(&h).bind(now).fetch_optional(pool).await?;
            match r {
                Some(row) => Ok(Some((self.open_payload(kind, &row.try_get::<String, _>("payload")?)?, row.try_get::<Option<i64>, _>("used_at")?.is_some()))),
                None => Ok(None),
            }
        })
    }

    /// Mark a live single-use value as used for its one purpose (an access token's issuance) —
    /// once across every process: `false` if it was used before, is consumed or expired.
    pub async fn mark_used(&self, kind: &str, value: &str, now: i64) -> Result<bool> {
        let h = self.keyed(value)?;
        on_pool!(self, pool => {
            let r = sqlx::query("UPDATE single_use SET used_at = $1 WHERE kind = $2 AND value_hash = $3 AND used_at IS NULL AND consumed_at IS NULL AND expires_at > $1")
                .bind(now).bind(kind).bind(&h).execute(pool).await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Remember a value that may be seen only once until `expires_at` (a DPoP `jti`, a proof
    /// nonce). `false` if it was seen before: a replay.
    pub async fn first_use(&self, kind: &str, value: &str, expires_at: i64, now: i64) -> Result<bool> {
        let h = self.keyed(value)?;
        on_pool!(self, pool => {
            let r = sqlx::query("INSERT INTO single_use (kind, value_hash, expires_at, consumed_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(kind).bind(&h).bind(expires_at).bind(now).execute(pool).await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Delete single-use rows that expired before `before`, and rate-limit windows that started
    /// before `windows_before`. Returns the number of rows deleted.
    pub async fn purge_expired(&self, before: i64, windows_before: i64) -> Result<u64> {
        on_pool!(self, pool => {
            let a = sqlx::query("DELETE FROM single_use WHERE expires_at < $1").bind(before).execute(pool).await?;
            let b = sqlx::query("DELETE FROM rate_limits WHERE window_start < $1").bind(windows_before).execute(pool).await?;
            Ok(a.rows_affected() + b.rows_affected())
        })
    }

    /// Count a hit in the fixed window of `window` seconds of a bucket (keyed-hashed, shared by
    /// every process): the number of hits in the current window, this one included.
    pub async fn rate_limit_hit(&self, bucket: &str, window: i64, now: i64) -> Result<i64> {
        let h = self.keyed(&format!("bucket:{bucket}"))?;
        on_pool!(self, pool => {
            let r = sqlx::query(
                "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
                 ON CONFLICT (bucket) DO UPDATE SET \
                   hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
                   window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END \
                 RETURNING hits")
                .bind(&h).bind(now).bind(now - window).fetch_one(pool).await?;
            Ok(r.try_get::<i64, _>("hits")?)
        })
    }

    /// Single-use rows of a kind that are live (tests and tools: how many outstanding).
    pub async fn count_single_use(&self, kind: &str, now: i64) -> Result<i64> {
        on_pool!(self, pool => {
            let r = sqlx::query("SELECT COUNT(*) AS n FROM single_use WHERE kind = $1 AND expires_at > $2").bind(kind).bind(now).fetch_one(pool).await?;
            Ok(r.try_get::<i64, _>("n")?)
        })
    }

    // ---- audit trail -----------------------------------------------------------------------

    /// Append a record to the hash chain. Concurrent appenders (other processes) serialise on the
    /// chain head with a compare-and-set; the loser retries on the new head.
    pub async fn append_audit(&self, at: i64, actor: &str, action: &str, subject: &str, purpose: &str, details: &Value) -> Result<AuditRecord> {
        // Writers of this process queue here; the compare-and-set below settles races with other
        // processes (several nodes on one PostgreSQL).
        static LOCAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _turn = LOCAL.lock().await;
        for attempt in 0..RETRIES {
            let (head, prev) = self.audit_head().await?;
            let mut rec = AuditRecord { seq: head + 1, at, actor: actor.into(), action: action.into(), subject: subject.into(), purpose: purpose.into(), details: details.clone(), prev_hash: prev, hash: String::new() };
            rec.hash = rec.compute_hash();
            let d = details.to_string();
            let done: std::result::Result<bool, StoreError> = async {
                on_pool!(self, pool => {
                    let mut tx = pool.begin().await?;
                    let moved = sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3 AND hash = $4")
                        .bind(rec.seq).bind(&rec.hash).bind(head).bind(&rec.prev_hash).execute(&mut *tx).await?;
                    if moved.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    sqlx::query("INSERT INTO audit_log (seq, at, actor, action, subject, purpose, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                        .bind(rec.seq).bind(at).bind(actor).bind(action).bind(subject).bind(purpose).bind(&d).bind(&rec.prev_hash).bind(&rec.hash)
                        .execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(true)
                })
            }
            .await;
            match done {
                Ok(true) => return Ok(rec),
                Ok(false) => {}
                // SQLite reports a lost write race as "database is locked"; retry like a lost CAS.
                Err(StoreError::Database(m)) if m.contains("locked") || m.contains("busy") => {}
                Err(e) => return Err(e),
            }
            backoff(attempt).await;
        }
        Err(StoreError::Conflict("audit chain head".into()))
    }

    /// The chain head: the last sequence number and its hash (`genesis` when empty).
    pub async fn audit_head(&self) -> Result<(i64, String)> {
        on_pool!(self, pool => {
            let r = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(pool).await?;
            Ok((r.try_get::<i64, _>("seq")?, r.try_get::<String, _>("hash")?))
        })
    }

    /// Records with `seq` from `from` on, at most `limit`, in order.
    pub async fn audit_records(&self, from: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2").bind(from).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(audit_from!(r)); }
            Ok(out)
        })
    }

    /// Store a signed checkpoint of the audit chain (idempotent per sequence number).
    pub async fn insert_audit_checkpoint(&self, seq: i64, hash: &str, at: i64, jws: &str) -> Result<bool> {
        on_pool!(self, pool => {
            let r = sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at, jws) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(seq).bind(hash).bind(at).bind(jws).execute(pool).await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Every checkpoint, oldest first: (seq, hash, at, jws).
    pub async fn audit_checkpoints(&self) -> Result<Vec<(i64, String, i64, String)>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT seq, hash, at, jws FROM audit_checkpoints ORDER BY seq").fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push((r.try_get::<i64, _>("seq")?, r.try_get::<String, _>("hash")?, r.try_get::<i64, _>("at")?, r.try_get::<String, _>("jws")?));
            }
            Ok(out)
        })
    }

    // ---- A1 applications -------------------------------------------------------------------

    pub async fn insert_application(&self, a: &ApplicationRow, audit: Option<&AuditEntry>) -> Result<()> {
        self.insert_application_sending(a, audit, None, &[]).await
    }

    /// As [`Store::insert_application`], with the messages its submission sends (a forwarding to
    /// the competent institution) and their case, in the same transaction.
    pub async fn insert_application_sending(&self, a: &ApplicationRow, audit: Option<&AuditEntry>, eessi_case: Option<&str>, outbox: &[OutboxRow]) -> Result<()> {
        let fin = a.final_decision.as_ref().map(Value::to_string);
        let queued = self.seal_outbox(outbox)?;
        let head_sql = self.head_sql();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO applications (application_id, person_id, employer_id, submitted_by, input, decision, state, final, decided_by, decided_at, decision_note, created_at, eessi_case) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
                .bind(&a.application_id).bind(&a.person_id).bind(&a.employer_id).bind(&a.submitted_by).bind(a.input.to_string()).bind(a.decision.to_string())
                .bind(&a.state).bind(fin).bind(&a.decided_by).bind(a.decided_at).bind(&a.decision_note).bind(a.created_at).bind(eessi_case)
                .execute(&mut *tx).await?;
            queue_all_in_tx!(tx, &queued);
            if let Some(e) = audit {
                audit_in_tx!(tx, head_sql, e);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn application(&self, application_id: &str) -> Result<Option<ApplicationRow>> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM applications WHERE application_id = $1").bind(application_id).fetch_optional(pool).await?;
            Ok(match row { Some(r) => Some(application_from!(r)), None => None })
        })
    }

    /// The application in `state` that waits on (or was forwarded in) an EESSI case.
    pub async fn application_of_case(&self, case_id: &str, state: &str) -> Result<Option<ApplicationRow>> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM applications WHERE eessi_case = $1 AND state = $2 ORDER BY created_at LIMIT 1").bind(case_id).bind(state).fetch_optional(pool).await?;
            Ok(match row { Some(r) => Some(application_from!(r)), None => None })
        })
    }

    /// Applications in a state, oldest first (the case workers' queue is `pending_review`).
    /// An employer's applications, newest first.
    pub async fn applications_of_employer(&self, employer_id: &str, limit: i64) -> Result<Vec<ApplicationRow>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM applications WHERE employer_id = $1 ORDER BY created_at DESC, application_id LIMIT $2").bind(employer_id).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(application_from!(r)); }
            Ok(out)
        })
    }

    /// The applications about a person, newest first.
    pub async fn applications_of_person(&self, person_id: &str) -> Result<Vec<ApplicationRow>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM applications WHERE person_id = $1 ORDER BY created_at DESC, application_id LIMIT 100").bind(person_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(application_from!(r)); }
            Ok(out)
        })
    }

    /// The persons an employer employs (an employment record of it, in the authentic source), by name.
    pub async fn employees_of(&self, employer_id: &str) -> Result<Vec<Person>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM persons WHERE person_id IN (SELECT person_id FROM employments WHERE employer_id = $1) ORDER BY family_name, given_name, person_id").bind(employer_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(person_from!(r)); }
            Ok(out)
        })
    }

    pub async fn applications_in_state(&self, state: &str, limit: i64) -> Result<Vec<ApplicationRow>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM applications WHERE state = $1 ORDER BY created_at, application_id LIMIT $2").bind(state).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(application_from!(r)); }
            Ok(out)
        })
    }

    /// Record a case worker's decision on a pending application — once: `false` if it was not
    /// pending (already decided by someone else).
    pub async fn decide_application(&self, application_id: &str, d: &ApplicationDecision<'_>, audit: Option<&AuditEntry>) -> Result<bool> {
        let ApplicationDecision { state, final_decision, by, at, note, eessi_case, outbox } = *d;
        let fin = final_decision.map(Value::to_string);
        let queued = self.seal_outbox(outbox)?;
        let head_sql = self.head_sql();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let r = sqlx::query("UPDATE applications SET state = $1, final = $2, decided_by = $3, decided_at = $4, decision_note = $5, eessi_case = COALESCE($7, eessi_case) WHERE application_id = $6 AND state = 'pending_review'")
                .bind(state).bind(fin).bind(by).bind(at).bind(note).bind(application_id).bind(eessi_case).execute(&mut *tx).await?;
            if r.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            queue_all_in_tx!(tx, &queued);
            if let Some(e) = audit {
                audit_in_tx!(tx, head_sql, e);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Put an application the rules engine decided automatically back into the case workers' queue
    /// when it is contested (GDPR Art 22(3)) — once: `false` if it is no longer an automatic
    /// decision (`determined`, `not_competent` or `not_applicable`, decided by `rules-engine`). The
    /// engine's decision and reasons stay with the application; `note` records who contested and why.
    pub async fn contest_application(&self, application_id: &str, note: &str, audit: Option<&AuditEntry>) -> Result<bool> {
        let head_sql = self.head_sql();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let r = sqlx::query("UPDATE applications SET state = 'pending_review', final = NULL, decided_by = NULL, decided_at = NULL, decision_note = $1 WHERE application_id = $2 AND decided_by = 'rules-engine' AND state IN ('determined', 'not_competent', 'not_applicable')")
                .bind(note).bind(application_id).execute(&mut *tx).await?;
            if r.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            if let Some(e) = audit {
                audit_in_tx!(tx, head_sql, e);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    // ---- employment records ------------------------------------------------------------------

    pub async fn insert_employment(&self, e: &EmploymentRow) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO employments (employment_id, employer_id, person_id, start_date, end_date, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&e.employment_id).bind(&e.employer_id).bind(&e.person_id).bind(&e.start_date).bind(&e.end_date).bind(e.created_at)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// A person's employment records (with one employer when `employer_id` is given).
    pub async fn employments_of(&self, person_id: &str, employer_id: Option<&str>) -> Result<Vec<EmploymentRow>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM employments WHERE person_id = $1 AND ($2 IS NULL OR employer_id = $2) ORDER BY start_date, employment_id")
                .bind(person_id).bind(employer_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(EmploymentRow {
                    employment_id: r.try_get("employment_id")?,
                    employer_id: r.try_get("employer_id")?,
                    person_id: r.try_get("person_id")?,
                    start_date: r.try_get("start_date")?,
                    end_date: r.try_get("end_date")?,
                    created_at: r.try_get("created_at")?,
                });
            }
            Ok(out)
        })
    }

    // ---- sign-in reviews --------------------------------------------------------------------

    pub async fn insert_sign_in_review(&self, r: &SignInReviewRow) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO sign_in_reviews (review_id, person_id, entered, reason, configuration, client_id, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(&r.review_id).bind(&r.person_id).bind(r.entered.to_string()).bind(&r.reason).bind(&r.configuration).bind(&r.client_id).bind(&r.state).bind(r.created_at)
                .execute(pool).await?;
        });
        Ok(())
    }

    pub async fn sign_in_reviews(&self, state: &str, limit: i64) -> Result<Vec<SignInReviewRow>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM sign_in_reviews WHERE state = $1 ORDER BY created_at, review_id LIMIT $2").bind(state).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(SignInReviewRow {
                    review_id: r.try_get("review_id")?,
                    person_id: r.try_get("person_id")?,
                    entered: serde_json::from_str(&r.try_get::<String, _>("entered")?).map_err(|e| StoreError::Database(e.to_string()))?,
                    reason: r.try_get("reason")?,
                    configuration: r.try_get("configuration")?,
                    client_id: r.try_get("client_id")?,
                    state: r.try_get("state")?,
                    created_at: r.try_get("created_at")?,
                    closed_by: r.try_get("closed_by")?,
                    closed_at: r.try_get("closed_at")?,
                    note: r.try_get("note")?,
                });
            }
            Ok(out)
        })
    }

    /// Close an open review once; `false` if it was not open.
    pub async fn close_sign_in_review(&self, review_id: &str, by: &str, at: i64, note: &str) -> Result<bool> {
        on_pool!(self, pool => {
            let r = sqlx::query("UPDATE sign_in_reviews SET state = 'closed', closed_by = $1, closed_at = $2, note = $3 WHERE review_id = $4 AND state = 'open'")
                .bind(by).bind(at).bind(note).bind(review_id).execute(pool).await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Move the expiry of an unconsumed single-use value (an access token that waits for a
    /// deferred credential).
    pub async fn extend_single_use(&self, kind: &str, value: &str, expires_at: i64) -> Result<bool> {
        let h = self.keyed(value)?;
        on_pool!(self, pool => {
            let r = sqlx::query("UPDATE single_use SET expires_at = $1 WHERE kind = $2 AND value_hash = $3 AND consumed_at IS NULL AND expires_at < $1")
                .bind(expires_at).bind(kind).bind(&h).execute(pool).await?;
            Ok(r.rows_affected() == 1)
        })
    }

    // ---- the verifier role ----------------------------------------------------------------------

    /// Record a new OpenID4VP transaction (its secrets sealed).
    pub async fn insert_verification(&self, v: &VerificationRow) -> Result<()> {
        let secrets = self.seal("verification_secrets", &v.secrets.to_string())?;
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO verifications (transaction_id, profile, state, created_at, expires_at, for_date, created_by, secrets) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(&v.transaction_id).bind(&v.profile).bind(&v.state).bind(v.created_at).bind(v.expires_at).bind(&v.for_date).bind(&v.created_by).bind(&secrets)
                .execute(pool).await?;
        });
        Ok(())
    }

    pub async fn verification(&self, transaction_id: &str) -> Result<Option<VerificationRow>> {
        let row: Option<VerificationTuple> = on_pool!(self, pool => {
            sqlx::query_as("SELECT transaction_id, profile, state, created_at, expires_at, for_date, created_by, secrets, outcome, code, report, claims, proof, answered_at FROM verifications WHERE transaction_id = $1")
                .bind(transaction_id).fetch_optional(pool).await?
        });
        let Some((transaction_id, profile, state, created_at, expires_at, for_date, created_by, secrets, outcome, code, report, claims, proof, answered_at)) = row else { return Ok(None) };
        let open = |kind: &str, v: Option<String>| -> Result<Option<Value>> { v.map(|s| self.open_payload(kind, &s)).transpose() };
        Ok(Some(VerificationRow {
            transaction_id,
            profile,
            state,
            created_at,
            expires_at,
            for_date,
            created_by,
            secrets: self.open_payload("verification_secrets", &secrets)?,
            outcome,
            code,
            report: open("verification_report", report)?,
            claims: open("verification_claims", claims)?,
            proof,
            answered_at,
        }))
    }

    /// Store a transaction's result, once: only a `pending`, unexpired transaction takes it, in one
    /// statement with its audit record. `false` when it was answered before or has expired.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_verification(&self, transaction_id: &str, state: &str, outcome: &str, code: Option<&str>, report: &Value, claims: Option<&Value>, proof: &str, now: i64, audit: Option<&AuditEntry>) -> Result<bool> {
        let head_sql = self.head_sql();
        let report = self.seal("verification_report", &report.to_string())?;
        let claims = claims.map(|c| self.seal("verification_claims", &c.to_string())).transpose()?;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("UPDATE verifications SET state = $1, outcome = $2, code = $3, report = $4, claims = $5, proof = $6, answered_at = $7 WHERE transaction_id = $8 AND state = 'pending' AND expires_at > $7")
                .bind(state).bind(outcome).bind(code).bind(&report).bind(&claims).bind(proof).bind(now).bind(transaction_id)
                .execute(&mut *tx).await?.rows_affected() == 1;
            if !done {
                tx.rollback().await?;
                return Ok(false);
            }
            if let Some(e) = audit {
                audit_in_tx!(tx, head_sql, e);
            }
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Store the results of several transactions in one database transaction (one commit, one
    /// sync to disk for all of them): each as [`Store::finish_verification`], taken only by a
    /// pending, unexpired transaction, with its audit record. `result[i]` says whether `items[i]`
    /// was taken. All or nothing: an error stores none of them.
    pub async fn finish_verifications(&self, items: &[FinishVerification]) -> Result<Vec<bool>> {
        let head_sql = self.head_sql();
        let mut sealed = Vec::with_capacity(items.len());
        for i in items {
            sealed.push((self.seal("verification_report", &i.report.to_string())?, i.claims.as_ref().map(|c| self.seal("verification_claims", &c.to_string())).transpose()?));
        }
        let mut taken = Vec::with_capacity(items.len());
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (i, (report, claims)) in items.iter().zip(&sealed) {
                let done = sqlx::query("UPDATE verifications SET state = $1, outcome = $2, code = $3, report = $4, claims = $5, proof = $6, answered_at = $7 WHERE transaction_id = $8 AND state = 'pending' AND expires_at > $7")
                    .bind(&i.state).bind(&i.outcome).bind(&i.code).bind(report).bind(claims).bind(&i.proof).bind(i.now).bind(&i.transaction_id)
                    .execute(&mut *tx).await?.rows_affected() == 1;
                if done {
                    audit_in_tx!(tx, head_sql, &i.audit);
                }
                taken.push(done);
            }
            tx.commit().await?;
        });
        Ok(taken)
    }

    /// How many transactions are in `state`.
    pub async fn count_verifications(&self, state: &str) -> Result<i64> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM verifications WHERE state = $1").bind(state).fetch_one(pool).await?)
        })
    }

    /// Drop the disclosed claims of transactions answered before `before` (the proof and the checks stay).
    pub async fn drop_verification_claims(&self, before: i64) -> Result<u64> {
        on_pool!(self, pool => {
            Ok(sqlx::query("UPDATE verifications SET claims = NULL WHERE claims IS NOT NULL AND answered_at < $1").bind(before).execute(pool).await?.rows_affected())
        })
    }

    // ---- EESSI access point: outbox and inbox ------------------------------------------------------

    /// Queue a signed message for delivery (state `pending`, due at once).
    pub async fn enqueue_outbox(&self, m: &OutboxRow) -> Result<()> {
        self.enqueue_outbox_all(std::slice::from_ref(m), None).await
    }

    /// Queue several messages (e.g. one document to each participant of a case) and the audit
    /// record of the step, all or nothing; a message id queued before refuses the whole.
    pub async fn enqueue_outbox_all(&self, rows: &[OutboxRow], audit: Option<&AuditEntry>) -> Result<()> {
        let queued = self.seal_outbox(rows)?;
        let head_sql = self.head_sql();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            queue_all_in_tx!(tx, &queued);
            if let Some(e) = audit {
                audit_in_tx!(tx, head_sql, e);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Messages to queue, each with its body sealed.
    fn seal_outbox<'r>(&self, rows: &'r [OutboxRow]) -> Result<Vec<(&'r OutboxRow, String)>> {
        rows.iter().map(|m| Ok((m, self.seal_message(&m.body)?))).collect()
    }

    /// An EESSI message body sealed under the node secret (it carries personal data).
    fn seal_message(&self, body: &str) -> Result<String> {
        self.seal("eessi_message", &Value::String(body.to_owned()).to_string())
    }

    fn open_message(&self, stored: &str) -> Result<String> {
        self.open_payload("eessi_message", stored)?.as_str().map(str::to_owned).ok_or_else(|| StoreError::Database("sealed EESSI message".into()))
    }

    fn inbox_rows(&self, rows: Vec<(String, String, String, String, String, String, i64)>) -> Result<Vec<InboxRow>> {
        rows.into_iter()
            .map(|(message_id, sender, case_id, sed_type, body, receipt, received_at)| Ok(InboxRow { message_id, sender, case_id, sed_type, body: self.open_message(&body)?, receipt, received_at }))
            .collect()
    }

    /// Claim up to `limit` due messages for `lease` seconds: pending, due, not leased by another
    /// worker, and the oldest pending message of their case (per-case order). On PostgreSQL the rows
    /// are taken with `FOR UPDATE SKIP LOCKED`, so several processes never claim the same message.
    pub async fn claim_outbox(&self, now: i64, lease: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        macro_rules! due {
            () => {
                "SELECT o.seq FROM eessi_outbox o WHERE o.state = 'pending' AND o.next_attempt_at <= $1 AND o.lease_until <= $1 \
                 AND NOT EXISTS (SELECT 1 FROM eessi_outbox e WHERE e.case_id = o.case_id AND e.state = 'pending' AND e.seq < o.seq) ORDER BY o.seq LIMIT $2"
            };
        }
        let rows: Vec<(String, String, String, String, String, i64, i64)> = match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query_as(concat!("UPDATE eessi_outbox SET lease_until = $3 WHERE seq IN (", due!(), ") RETURNING message_id, case_id, receiver, receiver_url, body, attempts, created_at"))
                    .bind(now).bind(limit).bind(now + lease).fetch_all(pool).await?
            }
            Db::Postgres(pool) => {
                sqlx::query_as(concat!("UPDATE eessi_outbox SET lease_until = $3 WHERE seq IN (", due!(), " FOR UPDATE OF o SKIP LOCKED) RETURNING message_id, case_id, receiver, receiver_url, body, attempts, created_at"))
                    .bind(now).bind(limit).bind(now + lease).fetch_all(pool).await?
            }
        };
        rows.into_iter()
            .map(|(message_id, case_id, receiver, receiver_url, body, attempts, created_at)| {
                let body = self.open_message(&body)?;
                Ok(OutboxRow { message_id, case_id, receiver, receiver_url, body, attempts, created_at, case: None })
            })
            .collect()
    }

    /// A delivered message: the receiver's signed receipt kept with it.
    pub async fn outbox_delivered(&self, message_id: &str, receipt: &str, now: i64) -> Result<()> {
        self.outbox_delivered_all(&[(message_id.to_owned(), receipt.to_owned())], now).await
    }

    /// Several messages delivered, each with its receipt, in one transaction (one commit for a
    /// whole batch of the worker).
    pub async fn outbox_delivered_all(&self, delivered: &[(String, String)], now: i64) -> Result<()> {
        if delivered.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (message_id, receipt) in delivered {
                sqlx::query("UPDATE eessi_outbox SET state = 'delivered', receipt = $2, delivered_at = $3, attempts = attempts + 1, lease_until = 0, last_error = NULL WHERE message_id = $1")
                    .bind(message_id).bind(receipt).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A failed attempt: due again at `next` (or `failed` for good, with the receiver's signed
    /// error receipt when it refused the message).
    pub async fn outbox_retry(&self, message_id: &str, error: &str, next: Option<i64>, receipt: Option<&str>) -> Result<()> {
        on_pool!(self, pool => {
            match next {
                Some(at) => sqlx::query("UPDATE eessi_outbox SET attempts = attempts + 1, next_attempt_at = $2, lease_until = 0, last_error = $3 WHERE message_id = $1")
                    .bind(message_id).bind(at).bind(error).execute(pool).await?,
                None => sqlx::query("UPDATE eessi_outbox SET attempts = attempts + 1, state = 'failed', lease_until = 0, last_error = $2, receipt = $3 WHERE message_id = $1")
                    .bind(message_id).bind(error).bind(receipt).execute(pool).await?,
            };
        });
        Ok(())
    }

    /// The delivery state of an outgoing message: state, attempts, last error, receipt.
    pub async fn outbox_state(&self, message_id: &str) -> Result<Option<(String, i64, Option<String>, Option<String>)>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as("SELECT state, attempts, last_error, receipt FROM eessi_outbox WHERE message_id = $1").bind(message_id).fetch_optional(pool).await?)
        })
    }

    /// Keep an accepted incoming message once. Returns `None` when it was new, or the receipt
    /// answered the first time when the message id is already in the inbox (a duplicate).
    pub async fn inbox_insert(&self, m: &InboxRow) -> Result<Option<String>> {
        self.inbox_insert_with(m, &InboxEffects::default()).await
    }

    /// As [`Store::inbox_insert`], with the posting the message notifies (an A009), the case as
    /// the message moves it, and the audit record of its receipt in the same transaction: all or nothing (nothing new for a duplicate).
    pub async fn inbox_insert_with(&self, m: &InboxRow, fx: &InboxEffects<'_>) -> Result<Option<String>> {
        let w = InboxWrite {
            row: m.clone(),
            posting: fx.posting.cloned(),
            audit: fx.audit.cloned(),
            case: fx.case.cloned(),
            application: fx.application.cloned(),
            posting_move: fx.posting_move.cloned(),
        };
        self.inbox_insert_batch(std::slice::from_ref(&w)).await?.into_iter().next().ok_or_else(|| StoreError::Database("inbox batch".into()))?
    }

    /// Keep several incoming messages in one transaction (one commit for the group), each as
    /// [`Store::inbox_insert_with`] would, each in a savepoint of its own: one that fails (a case
    /// or an application changed meanwhile) is rolled back alone and reported in its place; the
    /// others are kept.
    pub async fn inbox_insert_batch(&self, items: &[InboxWrite]) -> Result<Vec<Result<Option<String>>>> {
        use sqlx::Acquire;
        let bodies = items.iter().map(|w| self.seal_message(&w.row.body)).collect::<Result<Vec<_>>>()?;
        let head_sql = self.head_sql();
        let mut out = Vec::with_capacity(items.len());
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (w, body) in items.iter().zip(&bodies) {
                let mut sp = (&mut tx).begin().await?;
                let kept: Result<Option<String>> = async {
                    let m = &w.row;
                    let n = sqlx::query("INSERT INTO eessi_inbox (message_id, sender, case_id, sed_type, body, receipt, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO NOTHING")
                        .bind(&m.message_id).bind(&m.sender).bind(&m.case_id).bind(&m.sed_type).bind(body).bind(&m.receipt).bind(m.received_at)
                        .execute(&mut *sp).await?.rows_affected();
                    if n == 0 {
                        // The same message again (a retry whose receipt was lost): the first receipt.
                        let first: Option<String> = sqlx::query_scalar("SELECT receipt FROM eessi_inbox WHERE message_id = $1").bind(&m.message_id).fetch_optional(&mut *sp).await?;
                        return first.map(Some).ok_or_else(|| StoreError::Database("inbox row vanished".into()));
                    }
                    if let Some(p) = &w.posting {
                        sqlx::query("INSERT INTO eessi_postings (message_id, sender, case_id, person_key, legislation, start_date, end_date, state, reasons, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                            .bind(&p.message_id).bind(&p.sender).bind(&p.case_id).bind(&p.person_key).bind(&p.legislation).bind(&p.start_date).bind(&p.end_date).bind(&p.state)
                            .bind(serde_json::to_string(&p.reasons).unwrap_or_default()).bind(p.received_at)
                            .execute(&mut *sp).await?;
                    }
                    if let Some(c) = &w.case {
                        case_in_tx!(sp, c);
                    }
                    if let Some(mv) = &w.posting_move {
                        // Up to three states a posting moves from (the list repeated to fill the places).
                        let from = |i: usize| mv.from.get(i).or(mv.from.first()).copied().unwrap_or("");
                        sqlx::query("UPDATE eessi_postings SET state = $2, reasons = COALESCE($3, reasons), decided_by = COALESCE($4, decided_by), decided_at = COALESCE($5, decided_at) WHERE case_id = $1 AND state IN ($6, $7, $8)")
                            .bind(&mv.case_id).bind(mv.to).bind(mv.reasons.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default())).bind(mv.by.as_deref()).bind(mv.at)
                            .bind(from(0)).bind(from(1)).bind(from(2))
                            .execute(&mut *sp).await?;
                    }
                    if let Some(u) = &w.application {
                        let moved = sqlx::query("UPDATE applications SET state = $2, final = $3, decision_note = $4, decided_at = $5 WHERE application_id = $1 AND state = $6 AND COALESCE(final, '') = $7")
                            .bind(&u.application_id).bind(&u.state).bind(u.final_decision.as_ref().map(Value::to_string)).bind(&u.note).bind(u.at).bind(&u.from_state)
                            .bind(u.from_final.as_ref().map(Value::to_string).unwrap_or_default())
                            .execute(&mut *sp).await?.rows_affected();
                        if moved != 1 {
                            return Err(StoreError::Conflict(format!("application {} changed meanwhile", u.application_id)));
                        }
                    }
                    if let Some(e) = &w.audit {
                        audit_in_tx!(sp, head_sql, e);
                    }
                    Ok(None)
                }
                .await;
                match kept {
                    Ok(v) => {
                        sp.commit().await?;
                        out.push(Ok(v));
                    }
                    Err(e) => {
                        sp.rollback().await?;
                        out.push(Err(e));
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(out)
    }

    /// The postings notified for a person (by the keyed hash of the PIN).
    pub async fn postings_of(&self, person_key: &str) -> Result<Vec<PostingRow>> {
        self.postings_where("person_key", person_key).await
    }

    /// The postings in a state (`review`: the case workers' queue).
    pub async fn postings_in(&self, state: &str) -> Result<Vec<PostingRow>> {
        self.postings_where("state", state).await
    }

    /// One posting, by the message that notified it.
    pub async fn posting(&self, message_id: &str) -> Result<Option<PostingRow>> {
        Ok(self.postings_where("message_id", message_id).await?.into_iter().next())
    }

    /// A case worker's decision on a posting under review (`registered`, `rejected` or
    /// `information_requested`), with the message it sends (the X011 of a rejection, the A005 of a
    /// question) queued and its audit record, in one transaction.
    /// `false`, with nothing written, when the posting is no longer under review.
    pub async fn decide_posting(&self, message_id: &str, state: &str, by: &str, at: i64, send: Option<&OutboxRow>, audit: &AuditEntry) -> Result<bool> {
        let queued = self.seal_outbox(send.map(std::slice::from_ref).unwrap_or_default())?;
        let head_sql = self.head_sql();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("UPDATE eessi_postings SET state = $2, decided_by = $3, decided_at = $4 WHERE message_id = $1 AND state = 'review'")
                .bind(message_id).bind(state).bind(by).bind(at).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Ok(false);
            }
            queue_all_in_tx!(tx, &queued);
            audit_in_tx!(tx, head_sql, audit);
            tx.commit().await?;
        });
        Ok(true)
    }

    async fn postings_where(&self, column: &str, value: &str) -> Result<Vec<PostingRow>> {
        type Row = (String, String, String, String, String, String, Option<String>, String, String, i64, Option<String>, Option<i64>);
        let rows: Vec<Row> = on_pool!(self, pool => {
            if column == "state" {
                sqlx::query_as("SELECT message_id, sender, case_id, person_key, legislation, start_date, end_date, state, reasons, received_at, decided_by, decided_at FROM eessi_postings WHERE state = $1 ORDER BY received_at, message_id").bind(value).fetch_all(pool).await?
            } else if column == "message_id" {
                sqlx::query_as("SELECT message_id, sender, case_id, person_key, legislation, start_date, end_date, state, reasons, received_at, decided_by, decided_at FROM eessi_postings WHERE message_id = $1").bind(value).fetch_all(pool).await?
            } else {
                sqlx::query_as("SELECT message_id, sender, case_id, person_key, legislation, start_date, end_date, state, reasons, received_at, decided_by, decided_at FROM eessi_postings WHERE person_key = $1 ORDER BY received_at, message_id").bind(value).fetch_all(pool).await?
            }
        });
        Ok(rows
            .into_iter()
            .map(|(message_id, sender, case_id, person_key, legislation, start_date, end_date, state, reasons, received_at, decided_by, decided_at)| PostingRow {
                message_id,
                sender,
                case_id,
                person_key,
                legislation,
                start_date,
                end_date,
                state,
                reasons: serde_json::from_str(&reasons).unwrap_or_default(),
                received_at,
                decided_by,
                decided_at,
            })
            .collect())
    }

    /// The latest messages received, newest first (bodies opened).
    pub async fn inbox_recent(&self, limit: i64) -> Result<Vec<InboxRow>> {
        let rows: Vec<(String, String, String, String, String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT message_id, sender, case_id, sed_type, body, receipt, received_at FROM eessi_inbox ORDER BY received_at DESC, message_id LIMIT $1").bind(limit).fetch_all(pool).await?
        });
        self.inbox_rows(rows)
    }

    /// A case, by id.
    pub async fn case(&self, case_id: &str) -> Result<Option<CaseRow>> {
        Ok(self.cases_where(Some(case_id), 1).await?.into_iter().next())
    }

    /// The cases most recently moved, newest first.
    pub async fn cases(&self, limit: i64) -> Result<Vec<CaseRow>> {
        self.cases_where(None, limit).await
    }

    /// Open cases nothing moved since `before`, oldest first, after the cursor `(updated_at,
    /// case_id)`: where reminders and automatic closures can fall due.
    pub async fn quiet_open_cases(&self, before: i64, after: (i64, &str), limit: i64) -> Result<Vec<CaseRow>> {
        let rows: Vec<(String, String, String, String, String, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT case_id, buc, owner, status, body, version, updated_at FROM eessi_cases WHERE status <> 'closed' AND updated_at <= $1 AND (updated_at > $2 OR (updated_at = $2 AND case_id > $3)) ORDER BY updated_at, case_id LIMIT $4")
                .bind(before).bind(after.0).bind(after.1).bind(limit).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(case_id, buc, owner, status, body, version, updated_at)| {
                let body = serde_json::from_str(&body).map_err(|e| StoreError::Database(format!("eessi case {case_id}: {e}")))?;
                Ok(CaseRow { case_id, buc, owner, status, body, version, updated_at })
            })
            .collect()
    }

    async fn cases_where(&self, case_id: Option<&str>, limit: i64) -> Result<Vec<CaseRow>> {
        let rows: Vec<(String, String, String, String, String, i64, i64)> = on_pool!(self, pool => {
            match case_id {
                Some(id) => sqlx::query_as("SELECT case_id, buc, owner, status, body, version, updated_at FROM eessi_cases WHERE case_id = $1").bind(id).fetch_all(pool).await?,
                None => sqlx::query_as("SELECT case_id, buc, owner, status, body, version, updated_at FROM eessi_cases ORDER BY updated_at DESC, case_id LIMIT $1").bind(limit).fetch_all(pool).await?,
            }
        });
        rows.into_iter()
            .map(|(case_id, buc, owner, status, body, version, updated_at)| {
                let body = serde_json::from_str(&body).map_err(|e| StoreError::Database(format!("eessi case {case_id}: {e}")))?;
                Ok(CaseRow { case_id, buc, owner, status, body, version, updated_at })
            })
            .collect()
    }

    /// The receipt answered for a message already received, if it was.
    pub async fn inbox_receipt(&self, message_id: &str) -> Result<Option<String>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT receipt FROM eessi_inbox WHERE message_id = $1").bind(message_id).fetch_optional(pool).await?)
        })
    }

    /// One received message, by its id (body opened).
    pub async fn inbox_message(&self, message_id: &str) -> Result<Option<InboxRow>> {
        let rows: Vec<(String, String, String, String, String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT message_id, sender, case_id, sed_type, body, receipt, received_at FROM eessi_inbox WHERE message_id = $1").bind(message_id).fetch_all(pool).await?
        });
        Ok(self.inbox_rows(rows)?.into_iter().next())
    }

    /// The messages received in a case, oldest first (bodies opened).
    pub async fn inbox_of_case(&self, case_id: &str) -> Result<Vec<InboxRow>> {
        let rows: Vec<(String, String, String, String, String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT message_id, sender, case_id, sed_type, body, receipt, received_at FROM eessi_inbox WHERE case_id = $1 ORDER BY received_at, message_id").bind(case_id).fetch_all(pool).await?
        });
        self.inbox_rows(rows)
    }

    /// The messages this institution sent (or is sending) in a case, oldest first, bodies opened.
    pub async fn outbox_of_case(&self, case_id: &str) -> Result<Vec<crate::model::SentMessage>> {
        type Row = (String, String, String, String, i64, i64, Option<i64>, Option<String>);
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as("SELECT message_id, receiver, body, state, attempts, created_at, delivered_at, last_error FROM eessi_outbox WHERE case_id = $1 ORDER BY seq").bind(case_id).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(message_id, receiver, body, state, attempts, created_at, delivered_at, last_error)| {
                Ok(crate::model::SentMessage { message_id, receiver, body: self.open_message(&body)?, state, attempts, created_at, delivered_at, last_error })
            })
            .collect()
    }

    /// Close the pool (waits for connections to finish).
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// Create the SQLite file with mode 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm`
/// files the database file's mode), and take group and other access away from an existing one.
fn private_file(path: &std::path::Path) -> Result<()> {
    if path.as_os_str().is_empty() || path.to_str().is_some_and(|p| p == ":memory:") {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StoreError::Url(format!("{}: {e}", path.display()))),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            if let Ok(m) = std::fs::metadata(&p)
                && m.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(|e| StoreError::Url(format!("{}: {e}", p.display())))?;
            }
        }
    }
    Ok(())
}

/// Write a `bits`-wide value at `idx`, least significant bit first (Token Status List packing).
fn set_bits(bytes: &mut [u8], bits: u8, idx: u64, value: u8) -> Result<()> {
    let bit = idx.checked_mul(u64::from(bits)).ok_or_else(|| StoreError::Database("index overflow".into()))?;
    let byte = usize::try_from(bit / 8).map_err(|_| StoreError::Database("index overflow".into()))?;
    let shift = (bit % 8) as u32;
    let mask = ((1u16 << bits) - 1) as u8;
    let b = bytes.get_mut(byte).ok_or_else(|| StoreError::Database(format!("index {idx} outside the list")))?;
    *b = (*b & !(mask << shift)) | ((value & mask) << shift);
    Ok(())
}

/// A short randomised pause between retries (1–64 ms, growing with the attempt).
async fn backoff(attempt: usize) {
    let cap = 1u64 << attempt.min(6);
    let jitter = u64::from(aws_lc_rs_jitter()) % cap;
    tokio::time::sleep(Duration::from_millis(1 + jitter)).await;
}

fn aws_lc_rs_jitter() -> u8 {
    let mut b = [0u8; 1];
    let _ = aws_lc_rs::rand::fill(&mut b);
    let [x] = b;
    x
}
