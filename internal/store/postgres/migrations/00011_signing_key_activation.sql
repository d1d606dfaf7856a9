-- +goose Up
-- A signing key is published in the key set from its creation and signs
-- from active_from on (NULL: from its creation), so that a scheduled
-- rotation announces a key before any token carries it.
ALTER TABLE oidc_signing_keys ADD COLUMN active_from timestamptz;

-- A client that cannot verify ES256 gets its ID tokens signed with RS256
-- (id_token_signed_response_alg); '' is ES256.
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN id_token_signed_response_alg;
ALTER TABLE oidc_signing_keys DROP COLUMN active_from;
