package store

import (
	"fmt"

	"github.com/watchword/watchword/shared/wire"
)

const orgCols = "id, tenant_id, name, co_managed, created_at, updated_at"

func scanOrg(sc scanner) (*Org, error) {
	var o Org
	var created, updated int64
	if err := sc.Scan(&o.ID, &o.TenantID, &o.Name, &o.CoManaged, &created, &updated); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = tm(created), tm(updated)
	return &o, nil
}

func (x *tx) CreateOrg(o *Org) error {
	return x.create(&o.ID, fmt.Sprintf("create organization %q", o.Name), "INSERT INTO orgs (tenant_id, name, co_managed, created_at, updated_at) VALUES (?,?,?,?,?)",
		o.TenantID, o.Name, b2i(o.CoManaged), ns(o.CreatedAt), ns(o.UpdatedAt))
}

func (x *tx) Org(tenant, id int64) (*Org, error) {
	return row(x, fmt.Sprintf("organization %d", id), scanOrg, orgCols, "orgs", "id", tenant, id)
}

func (x *tx) OrgByName(tenant int64, name string) (*Org, error) {
	return row(x, fmt.Sprintf("organization %q", name), scanOrg, orgCols, "orgs", "name", tenant, name)
}

func (x *tx) Orgs(tenant int64) ([]Org, error) {
	return queryAll(x, "list organizations", scanOrg, "SELECT "+orgCols+" FROM orgs WHERE tenant_id = ? ORDER BY name", tenant)
}

func (x *tx) UpdateOrg(o *Org) error {
	return x.one(fmt.Sprintf("update organization %d", o.ID), "UPDATE orgs SET co_managed = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
		b2i(o.CoManaged), ns(o.UpdatedAt), o.TenantID, o.ID)
}

func (x *tx) CoManagement(tenant int64) (bool, error) {
	var on bool
	err := x.queryRow("SELECT co_management FROM tenants WHERE id = ?", tenant).Scan(&on)
	return on, wrap(fmt.Sprintf("co-management of tenant %d", tenant), err)
}

func (x *tx) SetCoManagement(tenant int64, on bool) error {
	return x.one(fmt.Sprintf("co-management of tenant %d", tenant), "UPDATE tenants SET co_management = ? WHERE id = ?", b2i(on), tenant)
}

func (x *tx) Admin(tenant, id int64) (*Admin, error) {
	return row(x, fmt.Sprintf("admin %d", id), scanAdmin, adminCols, "admins", "id", tenant, id)
}

func (x *tx) UpdateAdmin(a *Admin) error {
	return x.one(fmt.Sprintf("update admin %d", a.ID), "UPDATE admins SET role = ?, organization = ?, status = ? WHERE tenant_id = ? AND id = ?",
		a.Role, a.Organization, a.Status, a.TenantID, a.ID)
}

func (x *tx) DeleteAdmin(tenant, id int64) error {
	return x.one(fmt.Sprintf("delete admin %d", id), "DELETE FROM admins WHERE tenant_id = ? AND id = ?", tenant, id)
}

func scanSeat(sc scanner) (*Seat, error) {
	var s Seat
	var since int64
	if err := sc.Scan(&s.Kind, &s.ID, &s.Name, &s.Organization, &since); err != nil {
		return nil, err
	}
	s.Since = tm(since)
	return &s, nil
}

func (x *tx) Seats(tenant int64) ([]Seat, error) {
	return queryAll(x, "list seats", scanSeat, `
		SELECT CASE WHEN co_managed = 1 THEN ? ELSE ? END, id, username, organization, seat_since
			FROM techs WHERE tenant_id = ? AND status = 'active'
		UNION ALL
		SELECT ?, id, name, '', seat_since FROM agents WHERE tenant_id = ? AND status = 'active'
		ORDER BY 5, 1, 2`, wire.SeatCoManagedTech, wire.SeatMSPTech, tenant, wire.SeatAgent, tenant)
}
