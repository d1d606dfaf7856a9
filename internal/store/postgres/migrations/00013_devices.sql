-- +goose Up
-- Registered devices (issue 14): agents, mail add-ins and mobile apps, each
-- holding a refresh-token family and, for mobile apps, an app passcode.
-- Times are timestamptz, as in 00001_init.sql. Only hashes of tokens and
-- passcodes are stored.
CREATE TABLE devices (
    id                text PRIMARY KEY,
    user_id           text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id         text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind              text NOT NULL,
    name              text NOT NULL,
    platform          text NOT NULL DEFAULT '',
    flow_id           text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    registered_at     timestamptz,
    last_used_at      timestamptz,
    last_ip           text NOT NULL DEFAULT '',
    passcode_hash     text NOT NULL DEFAULT '',
    passcode_failures integer NOT NULL DEFAULT 0,
    revoked_at        timestamptz,
    revoke_reason     text NOT NULL DEFAULT ''
);
CREATE INDEX devices_user ON devices (user_id, created_at);
CREATE INDEX devices_flow ON devices (flow_id) WHERE flow_id <> '';

CREATE TABLE device_tokens (
    id         text PRIMARY KEY,
    device_id  text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX device_tokens_device ON device_tokens (device_id);

-- The sessions opened with a device: revoking the device revokes them.
CREATE TABLE device_sessions (
    session_id text PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    device_id  text NOT NULL REFERENCES devices (id) ON DELETE CASCADE
);
CREATE INDEX device_sessions_device ON device_sessions (device_id);

-- OAuth 2.0 device authorization requests (RFC 8628); only the device
-- code's hash is stored.
CREATE TABLE device_authorizations (
    id               text PRIMARY KEY,
    client_id        text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    device_code_hash bytea NOT NULL UNIQUE,
    user_code        text NOT NULL UNIQUE,
    scopes           text[] NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    last_poll_at     timestamptz,
    decided_at       timestamptz,
    approved         boolean NOT NULL DEFAULT false,
    user_id          text NOT NULL DEFAULT '',
    session_id       text NOT NULL DEFAULT '',
    amr              text[],
    auth_time        timestamptz,
    redeemed_at      timestamptz
);

-- A device-kind client's own rules (store.DeviceRules as JSON; '{}' keeps
-- the defaults of its kind).
ALTER TABLE clients ADD COLUMN device_rules text NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE clients DROP COLUMN device_rules;
DROP TABLE device_authorizations;
DROP TABLE device_sessions;
DROP TABLE device_tokens;
DROP TABLE devices;
