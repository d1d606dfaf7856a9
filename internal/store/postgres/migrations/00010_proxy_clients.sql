-- Protected apps behind a forward-auth proxy (issue 18): clients of kind
-- proxy carry the hosts they answer on and their access rules.
--
-- A host belongs to at most one client: client_hosts holds every host once
-- (lower-case ASCII, with a port only when not the scheme's default), so a
-- second client claiming it fails on the primary key. rules is a jsonb array
-- of {path_prefix, acr, max_age}; NULL for the other kinds.

-- +goose Up
ALTER TABLE clients ADD COLUMN rules jsonb;

CREATE TABLE client_hosts (
    host      text PRIMARY KEY,
    client_id text NOT NULL REFERENCES clients (id) ON DELETE CASCADE
);
CREATE INDEX client_hosts_client ON client_hosts (client_id);

-- +goose Down
DROP TABLE client_hosts;
ALTER TABLE clients DROP COLUMN rules;
