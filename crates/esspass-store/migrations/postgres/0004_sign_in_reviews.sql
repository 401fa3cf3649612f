-- Sign-ins whose details did not match the record: a case worker looks at them.
CREATE TABLE sign_in_reviews (
    review_id      TEXT PRIMARY KEY,
    person_id      TEXT,
    entered        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    configuration  TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    closed_by      TEXT,
    closed_at      BIGINT,
    note           TEXT
);
CREATE INDEX sign_in_reviews_state ON sign_in_reviews(state);
