-- +goose Up
-- Org directories (LDAP) and the link from a directory user to its entry.
-- Times are timestamptz, as in 00001_init.sql.
--
-- bind_password is sealed by internal/secretbox (key_id names the key), with
-- additional data binding it to its org.
CREATE TABLE directories (
    org_id             text PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    url                text NOT NULL,
    start_tls          boolean NOT NULL,
    ca_cert            text NOT NULL DEFAULT '',
    bind_dn            text NOT NULL DEFAULT '',
    bind_password      bytea NOT NULL,
    key_id             text NOT NULL DEFAULT '',
    user_base_dn       text NOT NULL,
    username_attribute text NOT NULL,
    user_filter        text NOT NULL DEFAULT '',
    email_attribute    text NOT NULL DEFAULT '',
    name_attribute     text NOT NULL DEFAULT '',
    admin_group_dn     text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);

-- entry_id is the entry's stable id (entryUUID, objectGUID), so a renamed
-- entry keeps its account.
CREATE TABLE directory_users (
    user_id  text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    org_id   text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    entry_id text NOT NULL,
    CONSTRAINT directory_users_entry_key UNIQUE (org_id, entry_id)
);

-- +goose Down
DROP TABLE directory_users;
DROP TABLE directories;
