-- Org directories (LDAP) and the link from a directory user to its entry.
--
-- Times are INTEGER unix microseconds in UTC, as in 00001_init.sql.

-- +goose Up
-- bind_password is sealed by internal/secretbox (key_id names the key), with
-- additional data binding it to its org.
CREATE TABLE directories (
    org_id             TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    url                TEXT NOT NULL,
    start_tls          INTEGER NOT NULL,
    ca_cert            TEXT NOT NULL DEFAULT '',
    bind_dn            TEXT NOT NULL DEFAULT '',
    bind_password      BLOB NOT NULL,
    key_id             TEXT NOT NULL DEFAULT '',
    user_base_dn       TEXT NOT NULL,
    username_attribute TEXT NOT NULL,
    user_filter        TEXT NOT NULL DEFAULT '',
    email_attribute    TEXT NOT NULL DEFAULT '',
    name_attribute     TEXT NOT NULL DEFAULT '',
    admin_group_dn     TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

-- entry_id is the entry's stable id (entryUUID, objectGUID), so a renamed
-- entry keeps its account.
CREATE TABLE directory_users (
    user_id  TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    org_id   TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    entry_id TEXT NOT NULL,
    UNIQUE (org_id, entry_id)
) STRICT;

-- +goose Down
DROP TABLE directory_users;
DROP TABLE directories;
