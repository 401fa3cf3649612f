-- The verifier role (issue 9): one row per OpenID4VP transaction. The values a wallet must echo and
-- the transaction's ephemeral decryption key are sealed under the node secret; so are the report and
-- the disclosed claims (personal data), the claims being dropped after the configured time. The
-- proof holds no personal data. A response is accepted once: the row leaves `pending` in the same
-- statement that stores the result.
CREATE TABLE verifications (
    transaction_id TEXT PRIMARY KEY,
    profile        TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    for_date       TEXT,
    created_by     TEXT NOT NULL,
    secrets        TEXT NOT NULL,
    outcome        TEXT,
    code           TEXT,
    report         TEXT,
    claims         TEXT,
    proof          TEXT,
    answered_at    BIGINT
);
CREATE INDEX verifications_expiry ON verifications(expires_at);
