-- Hardening (issue 7). Single-use values were stored as unsalted SHA-256: from now on they are keyed
-- hashes (HMAC-SHA-256 under the node secret, kept outside the database), so every row written
-- before cannot be matched any more: outstanding offers, codes and tokens of the old scheme die.
DELETE FROM single_use;
-- A secret checked together with the value (the tx_code of a pre-authorized code), keyed-hashed,
-- so that compare, count and consume happen in one statement.
ALTER TABLE single_use ADD COLUMN check_hash TEXT;
-- When an access token was used for its one issuance (it still reaches /deferred-credential and
-- /notification afterwards).
ALTER TABLE single_use ADD COLUMN used_at INTEGER;
CREATE INDEX single_use_expiry ON single_use(expires_at);

-- The A1 application a PDA1 was issued from: a revoked PDA1 ends the application's issuance.
ALTER TABLE credentials ADD COLUMN application_id TEXT;
CREATE INDEX credentials_application ON credentials(application_id);

-- Who employs whom, from the authentic source: an employer applies only for its own workers.
CREATE TABLE employments (
    employment_id TEXT PRIMARY KEY,
    employer_id   TEXT NOT NULL,
    person_id     TEXT NOT NULL REFERENCES persons(person_id),
    start_date    TEXT NOT NULL,
    end_date      TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX employments_person ON employments(person_id, employer_id);

-- Fixed-window counters shared by every process (sign-in attempts per address and per personal
-- number); the bucket is a keyed hash, never the address or number itself.
CREATE TABLE rate_limits (
    bucket       TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL
);

-- Status lists fill up: how many indexes each has handed out (a new list starts before the current
-- one passes the configured share).
ALTER TABLE status_lists ADD COLUMN allocated INTEGER NOT NULL DEFAULT 0;
UPDATE status_lists SET allocated = (SELECT COUNT(*) FROM status_entries e WHERE e.list_id = status_lists.list_id);
