-- +goose Up
-- "Forgot password" links and invitations (issue 20). Times are
-- timestamptz, as in 00001_init.sql.

-- A reset link is bound to the user's security_version when it was made:
-- any change that ends sign-ins makes it useless.
CREATE TABLE password_resets (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    user_version bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id, created_at);
CREATE INDEX password_resets_expires_at_idx ON password_resets (expires_at);

-- invited_by and user_id are plain ids: the inviting admin may be deleted
-- later, and the invitation's record stays.
CREATE TABLE invitations (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email       text NOT NULL,
    name        text NOT NULL DEFAULT '',
    role        text NOT NULL,
    invited_by  text NOT NULL DEFAULT '',
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    user_id     text NOT NULL DEFAULT '',
    revoked_at  timestamptz
);
CREATE INDEX invitations_org_idx ON invitations (org_id, created_at);
CREATE INDEX invitations_expires_at_idx ON invitations (expires_at);

-- "Forgot password" finds accounts by address.
CREATE INDEX users_org_email_idx ON users (org_id, lower(email));

-- +goose Down
DROP INDEX users_org_email_idx;
DROP TABLE invitations;
DROP TABLE password_resets;
