-- The signed authority: each tenant's chain of admin-signed updates (package shared/authority), kept as the
-- exact bytes the admin signed so that every verifier hashes what was signed. The hub relays them and cannot make
-- one; seq is the update's sequence number (0 is the genesis), hash its hash in hex.
CREATE TABLE authority_updates (
	tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
	seq        INTEGER NOT NULL CHECK (seq >= 0),
	hash       TEXT NOT NULL,
	body       BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;

-- An agent's receipt: the head it last reported verifying (hash '' before any) and, when it refuses the hub's
-- plan, why.
ALTER TABLE agents ADD COLUMN authority_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN authority_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN authority_refusal TEXT NOT NULL DEFAULT '';
