//! Persistence of the institution node: the ports it needs, and two adapters behind one [`Store`]:
//! SQLite (the embedded default, WAL, created on first start) and PostgreSQL (several node
//! processes against one database). Migrations for each live in `migrations/<backend>/` and run at
//! connect.
//!
//! Every uniqueness the node relies on — document numbers, status list indexes, single-use codes,
//! nonces and DPoP `jti`s, the audit chain's sequence — is enforced by the database (primary keys,
//! unique constraints, compare-and-set updates), never by process memory.
//!
//! What must not live here: business rules (the node's services decide; this crate stores).

mod audit;
mod model;
mod store;

pub use audit::{AuditRecord, ChainProblem, verify_chain};
pub use model::{ApplicationRow, CaseRow, CoverageRow, CredentialRow, CredentialState, EmploymentRow, InboxRow, OutboxRow, Person, PostingRow, SentMessage, SignInReviewRow, StatusListRow, VerificationRow};
pub use store::{ApplicationDecision, ApplicationUpdate, AuditEntry, Checked, Db, FinishVerification, InboxEffects, InboxWrite, NewSingleUse, PostingMove, Store};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (which one is named).
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The record is in a final state that the change would leave (a revoked credential).
    #[error("final state: {0}")]
    Final(String),
    /// An optimistic-concurrency update lost the race too many times.
    #[error("concurrent update conflict: {0}")]
    Conflict(String),
    #[error("database URL not understood: {0}")]
    Url(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Database(String),
    /// A single-use value was to be hashed, but the store was opened without the node secret.
    #[error("the store was opened without the node secret (single-use values are keyed-hashed)")]
    NoSecret,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(d) = &e
            && d.is_unique_violation() {
                return StoreError::Duplicate(d.constraint().map_or_else(|| d.message().to_owned(), str::to_owned));
            }
        StoreError::Database(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// SHA-256, base64url: how API keys are stored in the configuration (high-entropy keys; single-use
/// values in the database are keyed-hashed instead, see [`Store::keyed`]).
pub fn hash_secret(value: &str) -> String {
    use base64::Engine;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
}
