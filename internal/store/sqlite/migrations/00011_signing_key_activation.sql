-- +goose Up
-- A signing key is published in the key set from its creation and signs
-- from active_from on (NULL: from its creation), so that a scheduled
-- rotation announces a key before any token carries it.
-- Times are INTEGER unix microseconds in UTC, as in 00001_init.sql.
ALTER TABLE oidc_signing_keys ADD COLUMN active_from INTEGER;

-- +goose Down
ALTER TABLE oidc_signing_keys DROP COLUMN active_from;
