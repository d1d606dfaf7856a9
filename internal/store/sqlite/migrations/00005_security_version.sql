-- A user's security version counts the changes that must end sign-ins in
-- flight: a new password, an MFA reset, a new role, disabling. A flow is
-- valid only while its user_version is the user's security_version; a
-- session records the version it was issued under.

-- +goose Up
ALTER TABLE users ADD COLUMN security_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flows ADD COLUMN user_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_version INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sessions DROP COLUMN user_version;
ALTER TABLE flows DROP COLUMN user_version;
ALTER TABLE users DROP COLUMN security_version;
