-- Paper documents (issue 11): the business claims a credential was issued with, sealed under the
-- node secret (AES-256-GCM, bound to the kind "credential_claims"), so that the node can print the
-- same document later (GET /api/v1/credentials/{id}/paper). NULL for credentials issued before.
ALTER TABLE credentials ADD COLUMN claims TEXT;
