-- Request-rate state (store.RateLimits): one row per limited key, holding
-- the key's theoretical arrival time in unix microseconds (GCRA). A single
-- SQLite server uses in-memory limits by default; the table keeps both
-- stores alike.

-- +goose Up
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_limits_tat ON rate_limits (tat);

-- +goose Down
DROP TABLE rate_limits;
