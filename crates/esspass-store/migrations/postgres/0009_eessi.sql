-- EESSI access point (issue 10). The outbox is written in the same transaction as the business
-- change that sends (nothing acknowledged is lost); a worker claims due rows with a lease (on
-- PostgreSQL with FOR UPDATE SKIP LOCKED, so several processes of one institution share it),
-- delivers them in order per case, and keeps the receiver's signed receipt. The inbox keeps every
-- accepted message once, by message id, with the signed receipt answered for it (a duplicate gets
-- the same receipt). Message bodies carry personal data and are sealed under the node secret.
CREATE TABLE eessi_outbox (
    seq BIGSERIAL PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,
    case_id         TEXT NOT NULL,
    receiver        TEXT NOT NULL,
    receiver_url    TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    receipt         TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX eessi_outbox_due ON eessi_outbox(state, next_attempt_at);
CREATE INDEX eessi_outbox_case ON eessi_outbox(case_id, seq);

CREATE TABLE eessi_inbox (
    message_id  TEXT PRIMARY KEY,
    sender      TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    sed_type    TEXT NOT NULL,
    body        TEXT NOT NULL,
    receipt     TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX eessi_inbox_case ON eessi_inbox(case_id);
