-- Issue 12, items 3 to 6: two-factor state and lockout per tech, device replacement (re-key) requests, CSV imports
-- and the usernames they reserve. New tables only: the techs table keeps its shape, so a tech's security state lives
-- beside it. Times are Unix nanoseconds (0 = never). A TOTP secret is a shared secret the hub must hold to verify
-- codes; it never leaves the hub after enrolment and is never logged.

CREATE TABLE security_policy (
	tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
	policy    TEXT NOT NULL -- JSON wire.SecurityPolicy
);

CREATE TABLE tech_security (
	tech_id          INTEGER PRIMARY KEY REFERENCES techs(id),
	tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
	totp_secret      TEXT NOT NULL DEFAULT '',   -- base32; set at enrolment start
	totp_enrolled_at INTEGER NOT NULL DEFAULT 0, -- set when the first code was right
	totp_last_step   INTEGER NOT NULL DEFAULT 0, -- the last accepted 30 s step: a code is good once
	pause_next_login INTEGER NOT NULL DEFAULT 0,
	pause_until      INTEGER NOT NULL DEFAULT 0,
	session_key      TEXT NOT NULL DEFAULT '',   -- the device key ID the session was opened by
	session_until    INTEGER NOT NULL DEFAULT 0,
	failures         INTEGER NOT NULL DEFAULT 0,
	locked_at        INTEGER NOT NULL DEFAULT 0,
	lock_reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tech_security_tenant ON tech_security (tenant_id);

CREATE TABLE rekeys (
	id              INTEGER PRIMARY KEY,
	tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
	tech_id         INTEGER NOT NULL REFERENCES techs(id),
	public_key      TEXT NOT NULL,
	key_id          TEXT NOT NULL,
	fingerprint     TEXT NOT NULL,
	old_key_id      TEXT NOT NULL,
	old_fingerprint TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('pending','approved','rejected')),
	created_at      INTEGER NOT NULL,
	decided_at      INTEGER NOT NULL DEFAULT 0,
	UNIQUE (tenant_id, key_id)
);

CREATE TABLE tech_imports (
	id         INTEGER PRIMARY KEY,
	tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
	admin_id   INTEGER NOT NULL,
	mode       TEXT NOT NULL CHECK (mode IN ('atomic','per-row')),
	rows       INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	exceptions TEXT NOT NULL, -- JSON []wire.ImportException
	created_at INTEGER NOT NULL
);

-- A reservation is a tech pre-created by an import: its username is held until a device registers under it
-- (pending-match), then tech_id names the tech it became.
CREATE TABLE tech_reservations (
	id           INTEGER PRIMARY KEY,
	tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
	import_id    INTEGER NOT NULL REFERENCES tech_imports(id),
	username     TEXT NOT NULL,
	display_name TEXT NOT NULL,
	email        TEXT NOT NULL,
	organization TEXT NOT NULL,
	groups       TEXT NOT NULL, -- JSON []int64 of tech group IDs
	tech_id      INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	matched_at   INTEGER NOT NULL DEFAULT 0,
	UNIQUE (tenant_id, username)
);
