-- +goose Up
-- Who placed an org's lock, and whom it binds (enforcement from above).
-- Times are timestamptz and durations interval, as in 00001_init.sql.
--
-- lock_scope is 'descendants' (the org's own lock: it binds the orgs below
-- it) or 'enforced' (placed by an admin of an ancestor: it binds the org's
-- own admins too). lock_org_id is the org at whose level the lock was
-- placed, lock_user_id and lock_actor who placed it; they are records, not
-- foreign keys. The lock_floor_* columns hold what an enforced lock fixes.
--
-- Existing data: every lock that exists before this migration keeps the
-- meaning it had — it binds the org's descendants only — so it becomes
-- 'descendants', with its origin unknown (lock_org_id NULL, locked_at NULL).
-- No lock is turned into enforcement from above by the upgrade: nobody can
-- tell today which admin placed it.
ALTER TABLE orgs
    ADD COLUMN lock_scope text NOT NULL DEFAULT '',
    ADD COLUMN lock_org_id text,
    ADD COLUMN lock_user_id text NOT NULL DEFAULT '',
    ADD COLUMN lock_actor text NOT NULL DEFAULT '',
    ADD COLUMN locked_at timestamptz,
    ADD COLUMN lock_floor_mfa text NOT NULL DEFAULT '',
    ADD COLUMN lock_floor_methods text[],
    ADD COLUMN lock_floor_grace interval NOT NULL DEFAULT '0',
    ADD COLUMN lock_floor_directory_mfa boolean NOT NULL DEFAULT false;
UPDATE orgs SET lock_scope = 'descendants' WHERE locked;

-- +goose Down
ALTER TABLE orgs
    DROP COLUMN lock_floor_directory_mfa,
    DROP COLUMN lock_floor_grace,
    DROP COLUMN lock_floor_methods,
    DROP COLUMN lock_floor_mfa,
    DROP COLUMN locked_at,
    DROP COLUMN lock_actor,
    DROP COLUMN lock_user_id,
    DROP COLUMN lock_org_id,
    DROP COLUMN lock_scope;
