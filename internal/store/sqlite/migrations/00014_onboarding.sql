-- "Forgot password" links and invitations (issue 20).
--
-- Times are INTEGER unix microseconds in UTC, as in 00001_init.sql.

-- +goose Up
-- A reset link is bound to the user's security_version when it was made:
-- any change that ends sign-ins makes it useless.
CREATE TABLE password_resets (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    user_version INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) STRICT;
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
CREATE INDEX password_resets_expires ON password_resets (expires_at);

-- invited_by and user_id are plain ids: the inviting admin may be deleted
-- later, and the invitation's record stays.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    invited_by  TEXT NOT NULL DEFAULT '',
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    user_id     TEXT NOT NULL DEFAULT '',
    revoked_at  INTEGER
) STRICT;
CREATE INDEX invitations_org ON invitations (org_id, created_at);
CREATE INDEX invitations_expires ON invitations (expires_at);

-- "Forgot password" finds accounts by address.
CREATE INDEX users_org_email ON users (org_id, lower(email));

-- +goose Down
DROP INDEX users_org_email;
DROP TABLE invitations;
DROP TABLE password_resets;
