-- +goose Up
-- Request-rate state shared by every instance (store.RateLimits): one row
-- per limited key (a limiter's name and a client address), holding the
-- key's theoretical arrival time in unix microseconds (GCRA).
CREATE TABLE rate_limits (
    key text PRIMARY KEY,
    tat bigint NOT NULL
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);

-- The admin user list searches by username or email prefix (byte order,
-- so that a range scan serves any prefix, prepared statements included);
-- the audit search pages an org's events newest first.
CREATE INDEX users_username_prefix ON users ((username_norm COLLATE "C"));
CREATE INDEX users_email_prefix ON users ((lower(email) COLLATE "C"));
CREATE INDEX audit_events_org_id_id_idx ON audit_events (org_id, id);

-- +goose Down
DROP INDEX audit_events_org_id_id_idx;
DROP INDEX users_email_prefix;
DROP INDEX users_username_prefix;
DROP TABLE rate_limits;
