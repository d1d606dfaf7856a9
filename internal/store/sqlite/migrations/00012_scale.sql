-- Request-rate state (store.RateLimits): one row per limited key, holding
-- the key's theoretical arrival time in unix microseconds (GCRA). A single
-- SQLite server uses in-memory limits by default; the table keeps both
-- stores alike. The admin user list searches by username or email prefix.

-- +goose Up
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_limits_tat ON rate_limits (tat);
CREATE INDEX users_username_prefix ON users (username_norm);
CREATE INDEX users_email_prefix ON users (lower(email));

-- +goose Down
DROP INDEX users_email_prefix;
DROP INDEX users_username_prefix;
DROP TABLE rate_limits;
