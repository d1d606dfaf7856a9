-- Failure counters of the password step, one per account name: the key is
-- a hash of the normalized org slug and username, so names nobody has are
-- counted exactly like real accounts (no enumeration) and the table holds
-- no usernames. Times are INTEGER unix microseconds in UTC.

-- +goose Up
CREATE TABLE password_attempts (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_failure_at INTEGER,
    locked_until    INTEGER
) STRICT;
CREATE INDEX password_attempts_last ON password_attempts (last_failure_at);

-- +goose Down
DROP TABLE password_attempts;
