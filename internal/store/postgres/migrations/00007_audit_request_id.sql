-- The id of the HTTP request behind an audit event (X-Request-Id), so an
-- event can be matched with the request's log lines. '' for events from
-- the command line and background work, and for events before this
-- migration.

-- +goose Up
ALTER TABLE audit_events ADD COLUMN request_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN request_id;
