-- Codes sent by email or text message, email confirmation links and the
-- fixed-window counters behind send quotas.
--
-- Times are INTEGER unix microseconds in UTC, as in 00001_init.sql.

-- +goose Up
-- One live challenge per (user, flow, purpose): putting a new one replaces it.
-- flow_id is '' outside sign-in, so it is not a foreign key.
CREATE TABLE challenges (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    factor_id  TEXT NOT NULL REFERENCES factors (id) ON DELETE CASCADE,
    flow_id    TEXT NOT NULL DEFAULT '',
    purpose    TEXT NOT NULL,
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER,
    UNIQUE (user_id, flow_id, purpose)
) STRICT;
CREATE INDEX challenges_factor ON challenges (factor_id);
CREATE INDEX challenges_expires ON challenges (expires_at);

CREATE TABLE email_confirmations (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX email_confirmations_user ON email_confirmations (user_id, created_at);

-- window_start is the start of the counter's fixed window.
CREATE TABLE send_counters (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;
CREATE INDEX send_counters_window ON send_counters (window_start);

-- +goose Down
DROP TABLE send_counters;
DROP TABLE email_confirmations;
DROP TABLE challenges;
