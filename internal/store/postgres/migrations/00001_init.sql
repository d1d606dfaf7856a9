-- +goose Up
-- The whole schema of Twofold's PostgreSQL store. Times are timestamptz
-- (microsecond precision), durations are intervals, string lists are text[]
-- (NULL keeps the difference between "not set" and "empty").

CREATE TABLE orgs (
    id                 text PRIMARY KEY,
    parent_id          text REFERENCES orgs (id),
    slug               text NOT NULL,
    name               text NOT NULL,
    path               text NOT NULL,
    depth              integer NOT NULL,
    mfa                text NOT NULL DEFAULT '',
    locked             boolean NOT NULL DEFAULT false,
    allowed_methods    text[],
    enrollment_grace   interval NOT NULL DEFAULT '0',
    otp_code_ttl       interval NOT NULL DEFAULT '0',
    require_mfa_for_new_directory_users boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT orgs_slug_key UNIQUE (slug),
    CONSTRAINT orgs_path_key UNIQUE (path)
);
-- Prefix searches (path LIKE '/root/child/%') use this index.
CREATE INDEX orgs_path_prefix_idx ON orgs (path text_pattern_ops);
CREATE INDEX orgs_parent_id_idx ON orgs (parent_id);
-- There is one root: a second org without a parent is a conflict.
CREATE UNIQUE INDEX orgs_single_root_idx ON orgs ((true)) WHERE parent_id IS NULL;

CREATE TABLE users (
    id                   text PRIMARY KEY,
    org_id               text NOT NULL REFERENCES orgs (id),
    username             text NOT NULL,
    username_norm        text NOT NULL,
    email                text NOT NULL DEFAULT '',
    email_confirmed_at   timestamptz,
    role                 text NOT NULL,
    password_hash        text NOT NULL DEFAULT '',
    mfa_required         boolean NOT NULL DEFAULT false,
    disabled             boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    mfa_required_since   timestamptz,
    CONSTRAINT users_org_username_key UNIQUE (org_id, username_norm)
);

CREATE TABLE sessions (
    id             text PRIMARY KEY,
    token_hash     bytea NOT NULL,
    user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    amr            text[],
    mfa_at         timestamptz,
    ip             text NOT NULL DEFAULT '',
    user_agent     text NOT NULL DEFAULT '',
    revoked_at     timestamptz,
    revoke_reason  text NOT NULL DEFAULT '',
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE flows (
    id           text PRIMARY KEY,
    token_hash   bytea NOT NULL,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    failures     integer NOT NULL DEFAULT 0,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    consumed_at  timestamptz,
    CONSTRAINT flows_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX flows_user_id_idx ON flows (user_id);
CREATE INDEX flows_expires_at_idx ON flows (expires_at);

CREATE TABLE factors (
    id            text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    label         text NOT NULL DEFAULT '',
    secret        bytea,
    key_id        text NOT NULL DEFAULT '',
    target        text NOT NULL DEFAULT '',
    last_step     bigint NOT NULL DEFAULT 0,
    confirmed_at  timestamptz,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz
);
CREATE INDEX factors_user_id_idx ON factors (user_id);

CREATE TABLE backup_codes (
    id          text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash        text NOT NULL,
    created_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX backup_codes_user_id_idx ON backup_codes (user_id);

CREATE TABLE mfa_attempts (
    user_id          text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures         integer NOT NULL DEFAULT 0,
    last_failure_at  timestamptz,
    locked_until     timestamptz
);

-- Audit events outlive the users and orgs they mention: no foreign keys.
CREATE TABLE audit_events (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL,
    actor_user_id   text NOT NULL DEFAULT '',
    target_user_id  text NOT NULL DEFAULT '',
    org_id          text NOT NULL DEFAULT '',
    ip              text NOT NULL DEFAULT '',
    user_agent      text NOT NULL DEFAULT '',
    event           text NOT NULL,
    outcome         text NOT NULL DEFAULT '',
    detail          text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_org_id_idx ON audit_events (org_id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id);
CREATE INDEX audit_events_target_idx ON audit_events (target_user_id);
CREATE INDEX audit_events_event_idx ON audit_events (event text_pattern_ops);

-- At most one setup token exists: the row with id 1.
CREATE TABLE setup_tokens (
    id          integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    hash        bytea NOT NULL,
    expires_at  timestamptz NOT NULL
);

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
