-- Just-in-time access (issue 14, item 1).
--
-- A triplet is standing (its rights held all the time) or jit (held only inside a window a tech asked for, at most
-- max_duration_seconds long, after an approver agreed when approval_required).
ALTER TABLE triplets ADD COLUMN mode TEXT NOT NULL DEFAULT 'standing' CHECK (mode IN ('standing','jit'));
ALTER TABLE triplets ADD COLUMN max_duration_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE triplets ADD COLUMN approval_required INTEGER NOT NULL DEFAULT 0;

-- A version sealed to the recovery recipient alone (a JIT account outside its window) is never handed to the tech.
ALTER TABLE versions ADD COLUMN recovery_only INTEGER NOT NULL DEFAULT 0;

-- One request for a window and what became of it. At most one open (pending, approved, active) per account.
CREATE TABLE jit_grants (
	id                INTEGER PRIMARY KEY,
	tenant_id         INTEGER NOT NULL REFERENCES tenants(id),
	tech_id           INTEGER NOT NULL REFERENCES techs(id),
	account_id        INTEGER NOT NULL REFERENCES accounts(id),
	status            TEXT NOT NULL CHECK (status IN ('pending','approved','active','ended','refused','expired')),
	reason            TEXT NOT NULL,
	duration_seconds  INTEGER NOT NULL,
	approval_required INTEGER NOT NULL DEFAULT 0,
	requested_at      INTEGER NOT NULL,
	decided_by        TEXT NOT NULL DEFAULT '',
	decided_at        INTEGER NOT NULL DEFAULT 0,
	note              TEXT NOT NULL DEFAULT '',
	enabled_at        INTEGER NOT NULL DEFAULT 0,
	expires_at        INTEGER NOT NULL DEFAULT 0,
	ended_at          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jit_grants_tenant ON jit_grants (tenant_id, status, id);
CREATE INDEX jit_grants_account ON jit_grants (account_id, id);
CREATE UNIQUE INDEX jit_grants_one_open ON jit_grants (account_id) WHERE status IN ('pending','approved','active');
