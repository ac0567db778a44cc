-- A tech's device as the hub last saw it (when, and which release of the TechClient), and a deleted tech's
-- tombstone: the row stays, so that the audit log, the accounts and their versions keep naming it, and
-- delete_accounts says whether the agents delete its accounts on the targets or leave them disabled.
ALTER TABLE techs ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE techs ADD COLUMN client_version TEXT NOT NULL DEFAULT '';
ALTER TABLE techs ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE techs ADD COLUMN delete_accounts INTEGER NOT NULL DEFAULT 0;
