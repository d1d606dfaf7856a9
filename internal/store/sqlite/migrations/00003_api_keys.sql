-- API keys for automation. Only the SHA-256 hash of a key's token is stored.
--
-- Times are INTEGER unix microseconds in UTC, as in 00001_init.sql.

-- +goose Up
-- A key dies with its org (ON DELETE CASCADE), so keys never keep DeleteOrg
-- from removing an org without children or users. created_by is a record of
-- who made the key ('' for the command line), not a foreign key: the key
-- belongs to the org and outlives its creator's account.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_by   TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    expires_at   INTEGER
) STRICT;
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

-- +goose Down
DROP TABLE api_keys;
