-- esspass institution node, PostgreSQL schema. Times are Unix seconds (UTC); dates are YYYY-MM-DD text.

CREATE TABLE persons (
    person_id       TEXT PRIMARY KEY,
    personal_number TEXT NOT NULL UNIQUE,
    family_name     TEXT NOT NULL,
    given_name      TEXT NOT NULL,
    birth_date      TEXT NOT NULL,
    nationality     TEXT,
    residence       TEXT,
    created_at      BIGINT NOT NULL
);

CREATE TABLE coverage (
    coverage_id  TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES persons(person_id),
    kind         TEXT NOT NULL,
    start_date   TEXT NOT NULL,
    end_date     TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX coverage_person ON coverage(person_id);

CREATE TABLE status_lists (
    list_id     TEXT PRIMARY KEY,
    uri         TEXT NOT NULL UNIQUE,
    bits        BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    bytes       BYTEA NOT NULL,
    version     BIGINT NOT NULL,
    token       TEXT,
    etag        TEXT,
    token_version BIGINT NOT NULL DEFAULT 0,
    token_exp   BIGINT,
    updated_at  BIGINT NOT NULL
);

-- One row per allocated (list, index): the database, not process memory, prevents reuse.
CREATE TABLE status_entries (
    list_id   TEXT NOT NULL REFERENCES status_lists(list_id),
    idx       BIGINT NOT NULL,
    credential_id TEXT,
    PRIMARY KEY (list_id, idx)
);

CREATE TABLE credentials (
    credential_id   TEXT PRIMARY KEY,
    document_number TEXT NOT NULL UNIQUE,
    person_id       TEXT NOT NULL REFERENCES persons(person_id),
    vct             TEXT NOT NULL,
    list_id         TEXT NOT NULL,
    idx             BIGINT NOT NULL,
    state           TEXT NOT NULL,
    reason          TEXT,
    issued_at       BIGINT NOT NULL,
    changed_at      BIGINT NOT NULL,
    UNIQUE (list_id, idx)
);
CREATE INDEX credentials_person ON credentials(person_id);

-- Single-use values (pre-authorized codes, authorization codes, c_nonces, DPoP jti, offers):
-- stored hashed; consumed at most once, by the database.
CREATE TABLE single_use (
    kind        TEXT NOT NULL,
    value_hash  TEXT NOT NULL,
    payload     TEXT NOT NULL DEFAULT '{}',
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    consumed_at BIGINT,
    PRIMARY KEY (kind, value_hash)
);

CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE
);

-- The head of the audit chain; appends move it with a compare-and-set, so concurrent writers
-- (several node processes) serialise on it without losing or forking the chain.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'genesis');
