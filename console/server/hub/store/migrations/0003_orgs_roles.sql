-- Issue 12, items 1, 2 and 7: client organizations with the co-management switch, console roles, seats.

-- Co-management is switched per tenant (here) and per organization (orgs.co_managed). On by default so that a hub
-- upgraded from schema 2 keeps its co-managed techs working.
ALTER TABLE tenants ADD COLUMN co_management INTEGER NOT NULL DEFAULT 1;

-- A client organization. Techs name theirs by text (techs.organization); names match case-insensitively.
CREATE TABLE orgs (
	id         INTEGER PRIMARY KEY,
	tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
	name       TEXT NOT NULL COLLATE NOCASE,
	co_managed INTEGER NOT NULL DEFAULT 1,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (tenant_id, name)
);
INSERT INTO orgs (tenant_id, name, co_managed, created_at, updated_at)
	SELECT tenant_id, MIN(organization), 1, MIN(created_at), MIN(created_at) FROM techs
	WHERE organization != '' GROUP BY tenant_id, organization COLLATE NOCASE;

-- Console roles: a CHECK constraint cannot be altered in SQLite, so the table is rebuilt. An invited admin is
-- pending until an owner approves the key it registered; a Co-managed Manager belongs to one organization.
CREATE TABLE admins_new (
	id           INTEGER PRIMARY KEY,
	tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
	name         TEXT NOT NULL,
	role         TEXT NOT NULL CHECK (role IN ('owner','admin','auditor','comanager')),
	organization TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('pending','active')),
	public_key   TEXT NOT NULL,
	key_id       TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	UNIQUE (tenant_id, key_id)
);
INSERT INTO admins_new (id, tenant_id, name, role, public_key, key_id, created_at)
	SELECT id, tenant_id, name, role, public_key, key_id, created_at FROM admins;
-- engine: postgres
-- The copied IDs were given explicitly: the identity's sequence continues after them.
SELECT setval(pg_get_serial_sequence('admins_new', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM admins_new;
-- engine: both
DROP TABLE admins;
ALTER TABLE admins_new RENAME TO admins;

-- An invite (claim token) carries the organization of the Co-managed Manager it invites.
ALTER TABLE tokens ADD COLUMN organization TEXT NOT NULL DEFAULT '';

-- Seats: when each tech's and agent's current active period started (0 = not active). Triggers keep it whichever
-- code path changes a status, so the count cannot drift from the statuses.
ALTER TABLE techs ADD COLUMN seat_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN seat_since INTEGER NOT NULL DEFAULT 0;
UPDATE techs SET seat_since = updated_at WHERE status = 'active';
UPDATE agents SET seat_since = created_at WHERE status = 'active';

-- engine: sqlite
CREATE TRIGGER techs_seat_insert AFTER INSERT ON techs WHEN NEW.status = 'active'
BEGIN
	UPDATE techs SET seat_since = NEW.updated_at WHERE id = NEW.id;
END;
CREATE TRIGGER techs_seat_update AFTER UPDATE OF status ON techs WHEN NEW.status != OLD.status
BEGIN
	UPDATE techs SET seat_since = CASE WHEN NEW.status = 'active' THEN NEW.updated_at ELSE 0 END WHERE id = NEW.id;
END;
CREATE TRIGGER agents_seat_insert AFTER INSERT ON agents WHEN NEW.status = 'active'
BEGIN
	UPDATE agents SET seat_since = NEW.created_at WHERE id = NEW.id;
END;
-- Agents have no updated_at: a re-enabled agent's seat starts at the database clock.
CREATE TRIGGER agents_seat_update AFTER UPDATE OF status ON agents WHEN NEW.status != OLD.status
BEGIN
	UPDATE agents SET seat_since = CASE WHEN NEW.status = 'active'
		THEN CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER) ELSE 0 END WHERE id = NEW.id;
END;
-- engine: postgres
-- The same four triggers as row triggers that set seat_since before the row is written.
CREATE FUNCTION techs_seat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NEW.status = 'active' THEN NEW.seat_since := NEW.updated_at; END IF;
	ELSIF NEW.status != OLD.status THEN
		NEW.seat_since := CASE WHEN NEW.status = 'active' THEN NEW.updated_at ELSE 0 END;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER techs_seat BEFORE INSERT OR UPDATE OF status ON techs FOR EACH ROW EXECUTE FUNCTION techs_seat();
CREATE FUNCTION agents_seat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NEW.status = 'active' THEN NEW.seat_since := NEW.created_at; END IF;
	ELSIF NEW.status != OLD.status THEN
		NEW.seat_since := CASE WHEN NEW.status = 'active'
			THEN (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint ELSE 0 END;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER agents_seat BEFORE INSERT OR UPDATE OF status ON agents FOR EACH ROW EXECUTE FUNCTION agents_seat();
-- engine: both
