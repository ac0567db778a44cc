package store

import (
	"fmt"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// Org is a client organization. Techs name theirs by text; OrgByName matches case-insensitively.
type Org struct {
	ID        int64
	TenantID  int64
	Name      string
	CoManaged bool // co-management enabled for the organization
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Seat is an active tech or agent with the start of its current active period.
type Seat struct {
	Kind         string // wire.SeatMSPTech, wire.SeatCoManagedTech, wire.SeatAgent
	ID           int64
	Name         string
	Organization string
	Since        time.Time
}

const orgCols = "id, tenant_id, name, co_managed, created_at, updated_at"

func scanOrg(sc interface{ Scan(...any) error }) (*Org, error) {
	var o Org
	var created, updated int64
	if err := sc.Scan(&o.ID, &o.TenantID, &o.Name, &o.CoManaged, &created, &updated); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = tm(created), tm(updated)
	return &o, nil
}

func (x *tx) CreateOrg(o *Org) error {
	id, err := x.insert(fmt.Sprintf("create organization %q", o.Name), "INSERT INTO orgs (tenant_id, name, co_managed, created_at, updated_at) VALUES (?,?,?,?,?)",
		o.TenantID, o.Name, b2i(o.CoManaged), ns(o.CreatedAt), ns(o.UpdatedAt))
	o.ID = id
	return err
}

func (x *tx) Org(tenant, id int64) (*Org, error) {
	o, err := scanOrg(x.t.QueryRowContext(x.ctx, "SELECT "+orgCols+" FROM orgs WHERE tenant_id = ? AND id = ?", tenant, id))
	return o, wrap(fmt.Sprintf("organization %d", id), err)
}

func (x *tx) OrgByName(tenant int64, name string) (*Org, error) {
	o, err := scanOrg(x.t.QueryRowContext(x.ctx, "SELECT "+orgCols+" FROM orgs WHERE tenant_id = ? AND name = ?", tenant, name))
	return o, wrap(fmt.Sprintf("organization %q", name), err)
}

func (x *tx) Orgs(tenant int64) ([]Org, error) {
	rows, err := x.t.QueryContext(x.ctx, "SELECT "+orgCols+" FROM orgs WHERE tenant_id = ? ORDER BY name", tenant)
	if err != nil {
		return nil, wrap("list organizations", err)
	}
	defer rows.Close()
	var out []Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, wrap("list organizations", err)
		}
		out = append(out, *o)
	}
	return out, wrap("list organizations", rows.Err())
}

func (x *tx) UpdateOrg(o *Org) error {
	return x.one(fmt.Sprintf("update organization %d", o.ID), "UPDATE orgs SET co_managed = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
		b2i(o.CoManaged), ns(o.UpdatedAt), o.TenantID, o.ID)
}

func (x *tx) CoManagement(tenant int64) (bool, error) {
	var on bool
	err := x.t.QueryRowContext(x.ctx, "SELECT co_management FROM tenants WHERE id = ?", tenant).Scan(&on)
	return on, wrap(fmt.Sprintf("co-management of tenant %d", tenant), err)
}

func (x *tx) SetCoManagement(tenant int64, on bool) error {
	return x.one(fmt.Sprintf("co-management of tenant %d", tenant), "UPDATE tenants SET co_management = ? WHERE id = ?", b2i(on), tenant)
}

func (x *tx) Admin(tenant, id int64) (*Admin, error) {
	a, err := scanAdmin(x.t.QueryRowContext(x.ctx, "SELECT "+adminCols+" FROM admins WHERE tenant_id = ? AND id = ?", tenant, id))
	return a, wrap(fmt.Sprintf("admin %d", id), err)
}

func (x *tx) UpdateAdmin(a *Admin) error {
	return x.one(fmt.Sprintf("update admin %d", a.ID), "UPDATE admins SET role = ?, organization = ?, status = ? WHERE tenant_id = ? AND id = ?",
		a.Role, a.Organization, a.Status, a.TenantID, a.ID)
}

func (x *tx) DeleteAdmin(tenant, id int64) error {
	return x.one(fmt.Sprintf("delete admin %d", id), "DELETE FROM admins WHERE tenant_id = ? AND id = ?", tenant, id)
}

func (x *tx) Seats(tenant int64) ([]Seat, error) {
	rows, err := x.t.QueryContext(x.ctx, `
		SELECT CASE WHEN co_managed = 1 THEN ? ELSE ? END, id, username, organization, seat_since
			FROM techs WHERE tenant_id = ? AND status = 'active'
		UNION ALL
		SELECT ?, id, name, '', seat_since FROM agents WHERE tenant_id = ? AND status = 'active'
		ORDER BY 5, 1, 2`, wire.SeatCoManagedTech, wire.SeatMSPTech, tenant, wire.SeatAgent, tenant)
	if err != nil {
		return nil, wrap("list seats", err)
	}
	defer rows.Close()
	var out []Seat
	for rows.Next() {
		var s Seat
		var since int64
		if err := rows.Scan(&s.Kind, &s.ID, &s.Name, &s.Organization, &since); err != nil {
			return nil, wrap("list seats", err)
		}
		s.Since = tm(since)
		out = append(out, s)
	}
	return out, wrap("list seats", rows.Err())
}
