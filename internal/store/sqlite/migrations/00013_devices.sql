-- Registered devices (issue 14): agents, mail add-ins and mobile apps, each
-- holding a refresh-token family and, for mobile apps, an app passcode.
--
-- Times are INTEGER unix microseconds in UTC, as in 00001_init.sql. Only
-- hashes of tokens and passcodes are stored.

-- +goose Up
CREATE TABLE devices (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id         TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    name              TEXT NOT NULL,
    platform          TEXT NOT NULL DEFAULT '',
    flow_id           TEXT NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    registered_at     INTEGER,
    last_used_at      INTEGER,
    last_ip           TEXT NOT NULL DEFAULT '',
    passcode_hash     TEXT NOT NULL DEFAULT '',
    passcode_failures INTEGER NOT NULL DEFAULT 0,
    revoked_at        INTEGER,
    revoke_reason     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX devices_user ON devices (user_id, created_at);
CREATE INDEX devices_flow ON devices (flow_id) WHERE flow_id <> '';

CREATE TABLE device_tokens (
    id         TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX device_tokens_device ON device_tokens (device_id);

-- The sessions opened with a device: revoking the device revokes them.
CREATE TABLE device_sessions (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    device_id  TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX device_sessions_device ON device_sessions (device_id);

-- OAuth 2.0 device authorization requests (RFC 8628); only the device
-- code's hash is stored.
CREATE TABLE device_authorizations (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    device_code_hash BLOB NOT NULL UNIQUE,
    user_code        TEXT NOT NULL UNIQUE,
    scopes           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    last_poll_at     INTEGER,
    decided_at       INTEGER,
    approved         INTEGER NOT NULL DEFAULT 0,
    user_id          TEXT NOT NULL DEFAULT '',
    session_id       TEXT NOT NULL DEFAULT '',
    amr              TEXT,
    auth_time        INTEGER,
    redeemed_at      INTEGER
) STRICT;

-- A device-kind client's own rules (store.DeviceRules as JSON; '{}' keeps
-- the defaults of its kind).
ALTER TABLE clients ADD COLUMN device_rules TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE clients DROP COLUMN device_rules;
DROP TABLE device_authorizations;
DROP TABLE device_sessions;
DROP TABLE device_tokens;
DROP TABLE devices;
