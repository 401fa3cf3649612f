-- Signed checkpoints of the audit chain: (seq, hash) signed by the institution's key, so that a
-- rewrite of audit_log and audit_head together is still detected below the last checkpoint.
CREATE TABLE audit_checkpoints (
    seq   INTEGER PRIMARY KEY,
    hash  TEXT NOT NULL,
    at    INTEGER NOT NULL,
    jws   TEXT NOT NULL
);
