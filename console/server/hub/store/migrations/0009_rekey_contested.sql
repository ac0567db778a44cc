-- A device replacement contested while pending: another device asked to replace the same tech and was refused.
-- The admin deciding the pending request sees how many did, the last one's fingerprint and when.
ALTER TABLE rekeys ADD COLUMN contested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rekeys ADD COLUMN contested_fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE rekeys ADD COLUMN contested_at INTEGER NOT NULL DEFAULT 0;
