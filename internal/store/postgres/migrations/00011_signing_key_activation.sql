-- +goose Up
-- A signing key is published in the key set from its creation and signs
-- from active_from on (NULL: from its creation), so that a scheduled
-- rotation announces a key before any token carries it.
ALTER TABLE oidc_signing_keys ADD COLUMN active_from timestamptz;

-- +goose Down
ALTER TABLE oidc_signing_keys DROP COLUMN active_from;
