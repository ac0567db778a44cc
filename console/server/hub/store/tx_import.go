package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

func (x *tx) CreateImport(im *TechImport) error {
	exc := im.Exceptions
	if exc == nil {
		exc = []wire.ImportException{}
	}
	raw, err := json.Marshal(exc)
	if err != nil {
		return fmt.Errorf("create import: %w", err)
	}
	return x.create(&im.ID, "create import", "INSERT INTO tech_imports (tenant_id, admin_id, mode, rows, created, exceptions, created_at) VALUES (?,?,?,?,?,?,?)",
		im.TenantID, im.AdminID, im.Mode, im.Rows, im.Created, string(raw), ns(im.CreatedAt))
}

func scanImport(sc scanner) (*TechImport, error) {
	var im TechImport
	var raw string
	var created int64
	if err := sc.Scan(&im.ID, &im.TenantID, &im.AdminID, &im.Mode, &im.Rows, &im.Created, &raw, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(raw), &im.Exceptions); err != nil {
		return nil, fmt.Errorf("import %d: %w", im.ID, err)
	}
	im.CreatedAt = tm(created)
	return &im, nil
}

func (x *tx) Imports(tenant int64) ([]TechImport, error) {
	return queryAll(x, "imports", scanImport, "SELECT id, tenant_id, admin_id, mode, rows, created, exceptions, created_at FROM tech_imports WHERE tenant_id = ? ORDER BY id DESC", tenant)
}

const reservationCols = "id, tenant_id, import_id, username, display_name, email, organization, groups, tech_id, created_at, matched_at, " +
	"typed_display_name, typed_email, typed_organization"

func scanReservation(sc scanner) (*Reservation, error) {
	var r Reservation
	var raw string
	var created, matched int64
	if err := sc.Scan(&r.ID, &r.TenantID, &r.ImportID, &r.Username, &r.DisplayName, &r.Email, &r.Organization, &raw, &r.TechID,
		&created, &matched, &r.Typed.DisplayName, &r.Typed.Email, &r.Typed.Organization); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(raw), &r.Groups); err != nil {
		return nil, fmt.Errorf("reservation %d: %w", r.ID, err)
	}
	r.CreatedAt, r.MatchedAt = tm(created), tm(matched)
	return &r, nil
}

func (x *tx) CreateReservation(r *Reservation) error {
	groups := r.Groups
	if groups == nil {
		groups = []int64{}
	}
	raw, _ := json.Marshal(groups)
	return x.create(&r.ID, fmt.Sprintf("reserve %q", r.Username), `INSERT INTO tech_reservations (tenant_id, import_id, username, display_name,
		email, organization, groups, tech_id, created_at, matched_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		r.TenantID, r.ImportID, r.Username, r.DisplayName, r.Email, r.Organization, string(raw), r.TechID, ns(r.CreatedAt), ns(r.MatchedAt))
}

func (x *tx) Reservations(tenant int64) ([]Reservation, error) {
	return queryAll(x, "reservations", scanReservation, "SELECT "+reservationCols+" FROM tech_reservations WHERE tenant_id = ? ORDER BY id", tenant)
}

func (x *tx) ReservationByUsername(tenant int64, username string) (*Reservation, error) {
	return row(x, fmt.Sprintf("reservation %q", username), scanReservation, reservationCols, "tech_reservations", "username", tenant, username)
}

func (x *tx) MatchReservation(tenant, id, tech int64, at time.Time, typed Typed) error {
	return x.one(fmt.Sprintf("match reservation %d", id), `UPDATE tech_reservations SET tech_id = ?, matched_at = ?, typed_display_name = ?,
		typed_email = ?, typed_organization = ? WHERE tenant_id = ? AND id = ? AND tech_id = 0`,
		tech, ns(at), typed.DisplayName, typed.Email, typed.Organization, tenant, id)
}

func (x *tx) ReservationOf(tenant, tech int64) (*Reservation, error) {
	return row(x, fmt.Sprintf("reservation of tech %d", tech), scanReservation, reservationCols, "tech_reservations", "tech_id", tenant, tech)
}
