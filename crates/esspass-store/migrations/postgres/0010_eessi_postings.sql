-- Incoming postings (A009 under LA_BUC_04): registered automatically unless a check fires, then a
-- task for a case worker with the reasons. Written in the same transaction as the inbox row. The
-- person is found again by a keyed hash of the PIN's country and identifier (no PIN in clear).
CREATE TABLE eessi_postings (
    message_id  TEXT PRIMARY KEY,
    sender      TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    person_key  TEXT NOT NULL,
    legislation TEXT NOT NULL,
    start_date  TEXT NOT NULL,
    end_date    TEXT,
    state       TEXT NOT NULL,
    reasons     TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    decided_by  TEXT,
    decided_at  BIGINT
);
CREATE INDEX eessi_postings_person ON eessi_postings(person_key);
CREATE INDEX eessi_postings_state ON eessi_postings(state);
