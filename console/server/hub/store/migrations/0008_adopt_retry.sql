-- Do no harm to the target: accounts an admin adopted, and the admin's retry of a failed account.
--
-- adopted: an admin confirmed, naming the account, that the agent may take over the existing account of this name
-- on the target although Watchword did not create it.
-- retried_at and retry_version: when an admin last retried the account and its current version at that moment.
-- Versions up to retry_version no longer count toward the bound on unresolved rotations (wire.MaxUnresolved).
ALTER TABLE accounts ADD COLUMN adopted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN retried_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN retry_version INTEGER NOT NULL DEFAULT 0;
