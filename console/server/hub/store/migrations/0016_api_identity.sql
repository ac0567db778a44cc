-- API identities: an admin a script uses, invited by a claim token that says so. api_expires_at (unix ns, 0 for
-- none) ends it; api_sources lists the CIDRs it may call from, space-separated (empty: anywhere). The token carries
-- the same three columns to the claim that copies them.
ALTER TABLE admins ADD COLUMN api INTEGER NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN api_expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN api_sources TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN api INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN api_expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN api_sources TEXT NOT NULL DEFAULT '';
