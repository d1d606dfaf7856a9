-- +goose Up
-- Codes sent by email or text message, email confirmation links and the
-- fixed-window counters behind send quotas. Times are timestamptz, as in
-- 00001_init.sql.

-- One live challenge per (user, flow, purpose): putting a new one replaces it.
-- flow_id is '' outside sign-in, so it is not a foreign key.
CREATE TABLE challenges (
    id          text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    factor_id   text NOT NULL REFERENCES factors (id) ON DELETE CASCADE,
    flow_id     text NOT NULL DEFAULT '',
    purpose     text NOT NULL,
    code_hash   bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    used_at     timestamptz,
    CONSTRAINT challenges_user_flow_purpose_key UNIQUE (user_id, flow_id, purpose)
);
CREATE INDEX challenges_factor_id_idx ON challenges (factor_id);
CREATE INDEX challenges_expires_at_idx ON challenges (expires_at);

CREATE TABLE email_confirmations (
    id          text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       text NOT NULL,
    token_hash  bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CONSTRAINT email_confirmations_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX email_confirmations_user_id_idx ON email_confirmations (user_id, created_at);

-- window_start is the start of the counter's fixed window.
CREATE TABLE send_counters (
    key           text NOT NULL,
    window_start  timestamptz NOT NULL,
    count         integer NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX send_counters_window_start_idx ON send_counters (window_start);

-- +goose Down
DROP TABLE send_counters;
DROP TABLE email_confirmations;
DROP TABLE challenges;
