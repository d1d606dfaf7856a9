-- Who placed an org's lock, and whom it binds (enforcement from above).
--
-- Times are INTEGER unix microseconds in UTC, durations INTEGER nanoseconds,
-- string lists JSON arrays, as in 00001_init.sql.
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

-- +goose Up
ALTER TABLE orgs ADD COLUMN lock_scope TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN lock_org_id TEXT;
ALTER TABLE orgs ADD COLUMN lock_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN lock_actor TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN locked_at INTEGER;
ALTER TABLE orgs ADD COLUMN lock_floor_mfa TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN lock_floor_methods TEXT; -- JSON array; NULL = none
ALTER TABLE orgs ADD COLUMN lock_floor_grace INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN lock_floor_directory_mfa INTEGER NOT NULL DEFAULT 0;
UPDATE orgs SET lock_scope = 'descendants' WHERE locked = 1;

-- +goose Down
ALTER TABLE orgs DROP COLUMN lock_floor_directory_mfa;
ALTER TABLE orgs DROP COLUMN lock_floor_grace;
ALTER TABLE orgs DROP COLUMN lock_floor_methods;
ALTER TABLE orgs DROP COLUMN lock_floor_mfa;
ALTER TABLE orgs DROP COLUMN locked_at;
ALTER TABLE orgs DROP COLUMN lock_actor;
ALTER TABLE orgs DROP COLUMN lock_user_id;
ALTER TABLE orgs DROP COLUMN lock_org_id;
ALTER TABLE orgs DROP COLUMN lock_scope;
