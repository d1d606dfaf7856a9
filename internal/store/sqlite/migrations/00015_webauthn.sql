-- WebAuthn (security keys and passkeys). A credential is a factor of kind
-- 'webauthn': its record (public key, flags, AAGUID) is the factor's sealed
-- secret, its credential id (base64url) the factor's target, and its sign
-- counter the factor's last_step. Ceremonies keep the options sent to the
-- browser until the answer comes back, usable once.
--
-- Times are INTEGER unix microseconds in UTC, as in 00001_init.sql.

-- +goose Up
CREATE UNIQUE INDEX factors_webauthn_credential ON factors (target) WHERE kind = 'webauthn' AND target <> '';

CREATE TABLE webauthn_ceremonies (
    id             TEXT PRIMARY KEY,
    challenge_hash BLOB NOT NULL UNIQUE,
    purpose        TEXT NOT NULL,
    binding        TEXT NOT NULL,
    user_id        TEXT NOT NULL DEFAULT '',
    session        BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
) STRICT;
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);

-- +goose Down
DROP TABLE webauthn_ceremonies;
DROP INDEX factors_webauthn_credential;
