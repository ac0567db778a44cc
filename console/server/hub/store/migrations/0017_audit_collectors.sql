-- Audit streaming: the syslog collectors (SIEMs) an owner configured for a tenant, each with its own cursor. sent_seq
-- is the sequence number of the tenant's newest audit event the collector has taken (0: none yet), so that after a
-- restart of the hub or the collector the stream resumes at sent_seq + 1; it only moves forward. sent_at is when
-- it last moved, head_at when the last signed chain head went out. ca_pem is the CA certificate the hub trusts for
-- the collector's TLS certificate; format is json or cef.
CREATE TABLE audit_collectors (
	id         INTEGER PRIMARY KEY,
	tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
	name       TEXT NOT NULL,
	address    TEXT NOT NULL,
	ca_pem     TEXT NOT NULL,
	format     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	sent_seq   INTEGER NOT NULL DEFAULT 0,
	sent_at    INTEGER NOT NULL DEFAULT 0,
	head_at    INTEGER NOT NULL DEFAULT 0,
	UNIQUE (tenant_id, name)
);
