-- +goose Up
-- WebAuthn (security keys and passkeys). A credential is a factor of kind
-- 'webauthn': its record (public key, flags, AAGUID) is the factor's sealed
-- secret, its credential id (base64url) the factor's target, and its sign
-- counter the factor's last_step. Ceremonies keep the options sent to the
-- browser until the answer comes back, usable once.
CREATE UNIQUE INDEX factors_webauthn_credential ON factors (target) WHERE kind = 'webauthn' AND target <> '';

CREATE TABLE webauthn_ceremonies (
    id             text PRIMARY KEY,
    challenge_hash bytea NOT NULL UNIQUE,
    purpose        text NOT NULL,
    binding        text NOT NULL,
    user_id        text NOT NULL DEFAULT '',
    session        bytea NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX webauthn_ceremonies_expires_at_idx ON webauthn_ceremonies (expires_at);

-- +goose Down
DROP TABLE webauthn_ceremonies;
DROP INDEX factors_webauthn_credential;
