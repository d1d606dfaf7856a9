-- Registered clients and the OpenID Connect provider's state (issue 13).
--
-- Times are timestamptz and string lists text[],
-- as in 00001_init.sql. Everything issued to a client goes with the client
-- (ON DELETE CASCADE), and a client goes with its org.

-- +goose Up
CREATE TABLE clients (
    id                        text PRIMARY KEY,
    org_id                    text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name                      text NOT NULL,
    kind                      text NOT NULL,
    redirect_uris             text[] NOT NULL,
    post_logout_redirect_uris text[] NOT NULL,
    scopes                    text[],
    require_mfa               boolean NOT NULL DEFAULT false,
    secret_hash               bytea NOT NULL,
    created_by                text NOT NULL DEFAULT '',
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL
);
CREATE INDEX clients_org ON clients (org_id);

CREATE TABLE oidc_auth_requests (
    id              text PRIMARY KEY,
    client_id       text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    params          bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    user_id         text NOT NULL DEFAULT '',
    session_id      text NOT NULL DEFAULT '',
    amr             text[],
    auth_time       timestamptz,
    done_at         timestamptz,
    code_hash       bytea UNIQUE,
    code_expires_at timestamptz,
    redeemed_at     timestamptz
);
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);

CREATE TABLE oidc_grants (
    id            text PRIMARY KEY,
    client_id     text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id    text NOT NULL,
    scopes        text[] NOT NULL,
    amr           text[] NOT NULL,
    auth_time     timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text NOT NULL DEFAULT ''
);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id, created_at);

CREATE TABLE oidc_refresh_tokens (
    id         text PRIMARY KEY,
    grant_id   text NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX oidc_refresh_tokens_grant ON oidc_refresh_tokens (grant_id);

CREATE TABLE oidc_access_tokens (
    id         text PRIMARY KEY,
    grant_id   text NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX oidc_access_tokens_grant ON oidc_access_tokens (grant_id);

CREATE TABLE oidc_signing_keys (
    id         text PRIMARY KEY,
    alg        text NOT NULL,
    sealed     bytea NOT NULL,
    key_id     text NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE oidc_signing_keys;
DROP TABLE oidc_access_tokens;
DROP TABLE oidc_refresh_tokens;
DROP TABLE oidc_grants;
DROP TABLE oidc_auth_requests;
DROP TABLE clients;
