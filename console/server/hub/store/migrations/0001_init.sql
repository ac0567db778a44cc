-- Watchword hub schema, version 1. Times are Unix nanoseconds (0 = never). Nothing here ever holds a plaintext
-- password: credential versions are age envelopes sealed by agents, tokens are stored as SHA-256 hashes.

CREATE TABLE tenants (
	id         INTEGER PRIMARY KEY,
	guid       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	abbrev     TEXT NOT NULL,
	recovery   TEXT NOT NULL,
	policy     TEXT NOT NULL,          -- JSON wire.Policy
	revision   INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);

CREATE TABLE techs (
	id           INTEGER PRIMARY KEY,
	tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
	username     TEXT NOT NULL,
	display_name TEXT NOT NULL,
	email        TEXT NOT NULL,
	organization TEXT NOT NULL DEFAULT '',
	co_managed   INTEGER NOT NULL DEFAULT 0,
	status       TEXT NOT NULL CHECK (status IN ('pending','active','disabled','rejected')),
	public_key   TEXT NOT NULL,
	key_id       TEXT NOT NULL,
	fingerprint  TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (tenant_id, username),
	UNIQUE (tenant_id, key_id)
);

CREATE TABLE admins (
	id         INTEGER PRIMARY KEY,
	tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
	name       TEXT NOT NULL,
	role       TEXT NOT NULL CHECK (role IN ('owner','admin')),
	public_key TEXT NOT NULL,
	key_id     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (tenant_id, key_id)
);

CREATE TABLE tokens (
	id         INTEGER PRIMARY KEY,
	tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
	kind       TEXT NOT NULL CHECK (kind IN ('enroll','claim')),
	role       TEXT NOT NULL DEFAULT '',
	hash       TEXT NOT NULL UNIQUE,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);

CREATE TABLE agents (
	id         INTEGER PRIMARY KEY,
	tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
	name       TEXT NOT NULL,
	driver     TEXT NOT NULL,
	status     TEXT NOT NULL CHECK (status IN ('active','disabled')),
	public_key TEXT NOT NULL,
	key_id     TEXT NOT NULL,
	version    TEXT NOT NULL DEFAULT '',
	last_seen  INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	UNIQUE (tenant_id, key_id)
);

CREATE TABLE groups (
	id               INTEGER PRIMARY KEY,
	tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
	kind             TEXT NOT NULL CHECK (kind IN ('tech','agent')),
	name             TEXT NOT NULL,
	builtin          INTEGER NOT NULL DEFAULT 0,
	interval_seconds INTEGER NOT NULL DEFAULT 0,
	UNIQUE (tenant_id, kind, name)
);

CREATE TABLE group_members (
	group_id  INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
	member_id INTEGER NOT NULL,
	PRIMARY KEY (group_id, member_id)
) WITHOUT ROWID;

CREATE TABLE rights (
	id        INTEGER PRIMARY KEY,
	tenant_id INTEGER NOT NULL REFERENCES tenants(id),
	name      TEXT NOT NULL,
	builtin   INTEGER NOT NULL DEFAULT 0,
	targets   TEXT NOT NULL,           -- JSON map driver kind → group names
	UNIQUE (tenant_id, name)
);

CREATE TABLE triplets (
	id             INTEGER PRIMARY KEY,
	tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
	tech_group_id  INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
	agent_group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
	right_id       INTEGER NOT NULL REFERENCES rights(id) ON DELETE CASCADE,
	builtin        INTEGER NOT NULL DEFAULT 0,
	UNIQUE (tech_group_id, agent_group_id, right_id)
);

CREATE TABLE accounts (
	id                  INTEGER PRIMARY KEY,
	tenant_id           INTEGER NOT NULL REFERENCES tenants(id),
	tech_id             INTEGER NOT NULL REFERENCES techs(id),
	agent_id            INTEGER NOT NULL REFERENCES agents(id),
	name                TEXT NOT NULL,
	state               TEXT NOT NULL DEFAULT 'planned',
	last_error          TEXT NOT NULL DEFAULT '',
	current_version     INTEGER NOT NULL DEFAULT 0, -- highest version staged
	rotate_requested_at INTEGER NOT NULL DEFAULT 0,
	rotated_at          INTEGER NOT NULL DEFAULT 0, -- last confirmation
	created_at          INTEGER NOT NULL,
	UNIQUE (agent_id, tech_id),
	UNIQUE (agent_id, name)
);
CREATE INDEX accounts_tech ON accounts (tech_id);

CREATE TABLE versions (
	id           INTEGER PRIMARY KEY,
	account_id   INTEGER NOT NULL REFERENCES accounts(id),
	version      INTEGER NOT NULL,
	envelope     BLOB NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('staged','confirmed','superseded','failed')),
	reason       TEXT NOT NULL DEFAULT '',
	staged_at    INTEGER NOT NULL,
	confirmed_at INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, version)
);

-- The audit log is append-only and hash-chained per tenant: hash = SHA-256(prev_hash ‖ canonical event), seq counts
-- the tenant's events from 1. audit_head holds each chain's last link so that deleting the newest events shows too.
-- One chain per tenant keeps one tenant's activity invisible to another's admins.
CREATE TABLE audit (
	tenant_id  INTEGER NOT NULL,
	seq        INTEGER NOT NULL,
	at         INTEGER NOT NULL,
	actor_kind TEXT NOT NULL,
	actor_id   INTEGER NOT NULL,
	action     TEXT NOT NULL,
	target     TEXT NOT NULL,
	detail     TEXT NOT NULL,
	prev_hash  TEXT NOT NULL,
	hash       TEXT NOT NULL,
	PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE audit_head (
	tenant_id INTEGER PRIMARY KEY,
	seq       INTEGER NOT NULL,
	hash      TEXT NOT NULL
);
