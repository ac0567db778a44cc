package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// TechImport is one CSV import of the history.
type TechImport struct {
	ID         int64
	TenantID   int64
	AdminID    int64
	Mode       string
	Rows       int
	Created    int
	Exceptions []wire.ImportException
	CreatedAt  time.Time
}

// Reservation is a username reserved by an import until a device registers under it.
type Reservation struct {
	ID           int64
	TenantID     int64
	ImportID     int64
	Username     string
	DisplayName  string
	Email        string
	Organization string
	Groups       []int64 // tech group IDs
	TechID       int64   // the tech it became; 0 while pending-match
	CreatedAt    time.Time
	MatchedAt    time.Time
	// Typed is what the device typed at registration, set when the reservation matched.
	Typed Typed
}

// Typed is what a registering device typed for a reserved username.
type Typed struct {
	DisplayName  string
	Email        string
	Organization string
}

func (x *tx) CreateImport(im *TechImport) error {
	exc := im.Exceptions
	if exc == nil {
		exc = []wire.ImportException{}
	}
	raw, err := json.Marshal(exc)
	if err != nil {
		return fmt.Errorf("create import: %w", err)
	}
	id, err := x.insert("create import", "INSERT INTO tech_imports (tenant_id, admin_id, mode, rows, created, exceptions, created_at) VALUES (?,?,?,?,?,?,?)",
		im.TenantID, im.AdminID, im.Mode, im.Rows, im.Created, string(raw), ns(im.CreatedAt))
	im.ID = id
	return err
}

func (x *tx) Imports(tenant int64) ([]TechImport, error) {
	rows, err := x.t.QueryContext(x.ctx, "SELECT id, tenant_id, admin_id, mode, rows, created, exceptions, created_at FROM tech_imports WHERE tenant_id = ? ORDER BY id DESC", tenant)
	if err != nil {
		return nil, wrap("imports", err)
	}
	defer rows.Close()
	var out []TechImport
	for rows.Next() {
		var im TechImport
		var raw string
		var created int64
		if err := rows.Scan(&im.ID, &im.TenantID, &im.AdminID, &im.Mode, &im.Rows, &im.Created, &raw, &created); err != nil {
			return nil, wrap("imports", err)
		}
		if err := json.Unmarshal([]byte(raw), &im.Exceptions); err != nil {
			return nil, fmt.Errorf("import %d: %w", im.ID, err)
		}
		im.CreatedAt = tm(created)
		out = append(out, im)
	}
	return out, wrap("imports", rows.Err())
}

const reservationCols = "id, tenant_id, import_id, username, display_name, email, organization, groups, tech_id, created_at, matched_at, " +
	"typed_display_name, typed_email, typed_organization"

func scanReservation(sc interface{ Scan(...any) error }) (*Reservation, error) {
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
	id, err := x.insert(fmt.Sprintf("reserve %q", r.Username), `INSERT INTO tech_reservations (tenant_id, import_id, username, display_name,
		email, organization, groups, tech_id, created_at, matched_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		r.TenantID, r.ImportID, r.Username, r.DisplayName, r.Email, r.Organization, string(raw), r.TechID, ns(r.CreatedAt), ns(r.MatchedAt))
	r.ID = id
	return err
}

func (x *tx) Reservations(tenant int64) ([]Reservation, error) {
	rows, err := x.t.QueryContext(x.ctx, "SELECT "+reservationCols+" FROM tech_reservations WHERE tenant_id = ? ORDER BY id", tenant)
	if err != nil {
		return nil, wrap("reservations", err)
	}
	defer rows.Close()
	var out []Reservation
	for rows.Next() {
		r, err := scanReservation(rows)
		if err != nil {
			return nil, wrap("reservations", err)
		}
		out = append(out, *r)
	}
	return out, wrap("reservations", rows.Err())
}

func (x *tx) ReservationByUsername(tenant int64, username string) (*Reservation, error) {
	r, err := scanReservation(x.t.QueryRowContext(x.ctx, "SELECT "+reservationCols+" FROM tech_reservations WHERE tenant_id = ? AND username = ?", tenant, username))
	return r, wrap(fmt.Sprintf("reservation %q", username), err)
}

func (x *tx) MatchReservation(tenant, id, tech int64, at time.Time, typed Typed) error {
	return x.one(fmt.Sprintf("match reservation %d", id), `UPDATE tech_reservations SET tech_id = ?, matched_at = ?, typed_display_name = ?,
		typed_email = ?, typed_organization = ? WHERE tenant_id = ? AND id = ? AND tech_id = 0`,
		tech, ns(at), typed.DisplayName, typed.Email, typed.Organization, tenant, id)
}

func (x *tx) ReservationOf(tenant, tech int64) (*Reservation, error) {
	r, err := scanReservation(x.t.QueryRowContext(x.ctx, "SELECT "+reservationCols+" FROM tech_reservations WHERE tenant_id = ? AND tech_id = ?", tenant, tech))
	return r, wrap(fmt.Sprintf("reservation of tech %d", tech), err)
}
