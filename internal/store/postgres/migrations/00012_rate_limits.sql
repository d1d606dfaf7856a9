-- +goose Up
-- Request-rate state shared by every instance (store.RateLimits): one row
-- per limited key (a limiter's name and a client address), holding the
-- key's theoretical arrival time in unix microseconds (GCRA).
CREATE TABLE rate_limits (
    key text PRIMARY KEY,
    tat bigint NOT NULL
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);

-- +goose Down
DROP TABLE rate_limits;
