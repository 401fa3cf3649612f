-- The BUC cases this institution takes part in (esspass_eessi::buc::Case as JSON: participants,
-- documents and their states, history; no personal data). Written in the same transaction as the
-- outbox or inbox row of the message that moved it; `version` guards against a lost update.
CREATE TABLE eessi_cases (
    case_id    TEXT PRIMARY KEY,
    buc        TEXT NOT NULL,
    owner      TEXT NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX eessi_cases_updated ON eessi_cases(updated_at);
