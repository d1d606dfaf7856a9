-- The first schema of the SQLite store.
--
-- Times are INTEGER unix microseconds in UTC; NULL means "not set".
-- Durations are INTEGER nanoseconds. String lists are JSON arrays.

-- +goose Up
CREATE TABLE orgs (
    id              TEXT PRIMARY KEY,
    parent_id       TEXT REFERENCES orgs (id),
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    path            TEXT NOT NULL,
    depth           INTEGER NOT NULL,
    mfa             TEXT NOT NULL DEFAULT '',
    locked          INTEGER NOT NULL DEFAULT 0,
    allowed_methods TEXT, -- JSON array; NULL = inherit
    enrollment_grace INTEGER NOT NULL DEFAULT 0,
    otp_code_ttl    INTEGER NOT NULL DEFAULT 0,
    require_mfa_new_directory_users INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX orgs_path ON orgs (path);
CREATE INDEX orgs_parent ON orgs (parent_id);
-- There is one root.
CREATE UNIQUE INDEX orgs_one_root ON orgs (depth) WHERE depth = 0;

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES orgs (id),
    username           TEXT NOT NULL,
    username_norm      TEXT NOT NULL,
    email              TEXT NOT NULL DEFAULT '',
    email_confirmed_at INTEGER,
    role               TEXT NOT NULL,
    password_hash      TEXT NOT NULL DEFAULT '',
    mfa_required       INTEGER NOT NULL DEFAULT 0,
    disabled           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    mfa_required_since INTEGER,
    UNIQUE (org_id, username_norm)
) STRICT;

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    token_hash    BLOB NOT NULL UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    amr           TEXT NOT NULL DEFAULT '[]',
    mfa_at        INTEGER,
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    revoked_at    INTEGER,
    revoke_reason TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE flows (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    failures    INTEGER NOT NULL DEFAULT 0,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    consumed_at INTEGER
) STRICT;
CREATE INDEX flows_user ON flows (user_id);
CREATE INDEX flows_expires ON flows (expires_at);

CREATE TABLE factors (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    label        TEXT NOT NULL DEFAULT '',
    secret       BLOB,
    key_id       TEXT NOT NULL DEFAULT '',
    target       TEXT NOT NULL DEFAULT '',
    last_step    INTEGER NOT NULL DEFAULT 0,
    confirmed_at INTEGER,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;
CREATE INDEX factors_user ON factors (user_id, created_at);
CREATE INDEX factors_key ON factors (key_id);
CREATE INDEX factors_pending ON factors (created_at) WHERE confirmed_at IS NULL;

CREATE TABLE backup_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX backup_codes_user ON backup_codes (user_id);

CREATE TABLE mfa_attempts (
    user_id         TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_failure_at INTEGER,
    locked_until    INTEGER
) STRICT;

-- Audit events outlive the users and orgs they mention: no foreign keys.
CREATE TABLE audit_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    actor_user_id  TEXT NOT NULL DEFAULT '',
    target_user_id TEXT NOT NULL DEFAULT '',
    org_id         TEXT NOT NULL DEFAULT '',
    ip             TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    event          TEXT NOT NULL,
    outcome        TEXT NOT NULL DEFAULT '',
    detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_user_id, id) WHERE actor_user_id <> '';
CREATE INDEX audit_events_target ON audit_events (target_user_id, id) WHERE target_user_id <> '';
CREATE INDEX audit_events_event ON audit_events (event, id);

-- At most one setup token exists.
CREATE TABLE setup_tokens (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    hash       BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE setup_tokens;
DROP TABLE audit_events;
DROP TABLE mfa_attempts;
DROP TABLE backup_codes;
DROP TABLE factors;
DROP TABLE flows;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE orgs;
