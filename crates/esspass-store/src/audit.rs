//! The audit trail: append-only, each record hashed together with its predecessor's hash, so an
//! edited, deleted, reordered or truncated record breaks the chain.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub purpose: String,
    #[schema(value_type = Object)]
    pub details: Value,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The record's hash: SHA-256 over a canonical JSON array of its fields and the previous hash
    /// (the `hash` field itself excluded).
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([self.seq, self.at, self.actor, self.action, self.subject, self.purpose, self.details, self.prev_hash]).to_string();
        crate::hash_secret(&canonical)
    }
}

/// What is wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainProblem {
    pub seq: i64,
    pub problem: String,
}

/// Check a chain from its first record (`seq` 1, previous hash `genesis`) to the given head
/// (`head_seq`, `head_hash`, as stored or as last signed). Detects edits (hash mismatch), deletions
/// and reorderings (sequence gaps, broken links) and truncation (the last record is not the head).
pub fn verify_chain(records: &[AuditRecord], head_seq: i64, head_hash: &str) -> Result<(), ChainProblem> {
    let mut prev = "genesis".to_owned();
    let mut expected_seq = 1;
    for r in records {
        if r.seq != expected_seq {
            return Err(ChainProblem { seq: r.seq, problem: format!("expected record {expected_seq}: a record is missing or out of order") });
        }
        if r.prev_hash != prev {
            return Err(ChainProblem { seq: r.seq, problem: "does not link to the previous record".into() });
        }
        if r.compute_hash() != r.hash {
            return Err(ChainProblem { seq: r.seq, problem: "content does not match its hash (edited)".into() });
        }
        prev = r.hash.clone();
        expected_seq += 1;
    }
    if expected_seq - 1 != head_seq || prev != head_hash {
        return Err(ChainProblem { seq: expected_seq, problem: format!("the chain ends at record {} but the head is record {head_seq} (truncated)", expected_seq - 1) });
    }
    Ok(())
}
