-- +goose Up
-- API keys for automation. Only the SHA-256 hash of a key's token is stored.
-- Times are timestamptz, as in 00001_init.sql.
--
-- A key dies with its org (ON DELETE CASCADE), so keys never make DeleteOrg
-- fail with a foreign key violation (which it reads as "not empty"): an org
-- without children or users can still be deleted. created_by is a record of
-- who made the key ('' for the command line), not a foreign key: the key
-- belongs to the org and outlives its creator's account.
CREATE TABLE api_keys (
    id            text PRIMARY KEY,
    org_id        text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_by    text NOT NULL DEFAULT '',
    name          text NOT NULL,
    role          text NOT NULL,
    token_hash    bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    expires_at    timestamptz,
    CONSTRAINT api_keys_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_keys_org_id_idx ON api_keys (org_id, created_at);

-- +goose Down
DROP TABLE api_keys;
