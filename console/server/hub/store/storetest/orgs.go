package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// testOrgs: organization names are unique within a tenant whatever their case, found whatever their case and
// listed by name; a new tenant has co-management on.
func testOrgs(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	fab := &store.Org{TenantID: a.ID, Name: "Fabrikam", CreatedAt: now, UpdatedAt: now}
	con := &store.Org{TenantID: a.ID, Name: "Contoso", CoManaged: true, CreatedAt: now, UpdatedAt: now}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateOrg(fab); err != nil {
			return err
		}
		if err := tx.CreateOrg(con); err != nil {
			return err
		}
		return tx.CreateOrg(&store.Org{TenantID: b.ID, Name: "Contoso", CreatedAt: now, UpdatedAt: now}) // another tenant: fine
	})
	isConflict(t, "the same name in another case", writeErr(s, func(tx store.Tx) error {
		return tx.CreateOrg(&store.Org{TenantID: a.ID, Name: "CONTOSO", CreatedAt: now, UpdatedAt: now})
	}))
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.Org(a.ID, con.ID); err != nil || *got != *con {
			t.Fatalf("organization: %+v, %v; want %+v", got, err, con)
		}
		if got, err := tx.OrgByName(a.ID, "contoso"); err != nil || got.ID != con.ID || got.Name != "Contoso" {
			t.Fatalf("organization by name in another case: %+v, %v", got, err)
		}
		_, err := tx.Org(b.ID, con.ID)
		isNotFound(t, "organization through tenant B", err)
		_, err = tx.OrgByName(b.ID, "Fabrikam")
		isNotFound(t, "organization by name through tenant B", err)
		list, err := tx.Orgs(a.ID)
		if err != nil || len(list) != 2 || list[0].ID != con.ID || list[1].ID != fab.ID {
			t.Fatalf("organizations by name: %+v, %v", list, err)
		}
		if on, err := tx.CoManagement(a.ID); err != nil || !on {
			t.Fatalf("co-management of a new tenant: %v, %v", on, err)
		}
		return nil
	})
	fab.CoManaged, fab.UpdatedAt = true, now.Add(time.Hour)
	write(t, s, func(tx store.Tx) error {
		if err := tx.UpdateOrg(fab); err != nil {
			return err
		}
		return tx.SetCoManagement(a.ID, false)
	})
	isNotFound(t, "update an organization through tenant B", writeErr(s, func(tx store.Tx) error { return tx.UpdateOrg(moved(fab, b.ID)) }))
	isNotFound(t, "co-management of a missing tenant", writeErr(s, func(tx store.Tx) error { return tx.SetCoManagement(b.ID+100, true) }))
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.Org(a.ID, fab.ID); err != nil || *got != *fab {
			t.Fatalf("organization after update: %+v, %v; want %+v", got, err, fab)
		}
		if on, err := tx.CoManagement(a.ID); err != nil || on {
			t.Fatalf("co-management switched off: %v, %v", on, err)
		}
		if on, err := tx.CoManagement(b.ID); err != nil || !on {
			t.Fatalf("co-management of the other tenant: %v, %v", on, err)
		}
		_, err := tx.CoManagement(b.ID + 100)
		isNotFound(t, "co-management of a missing tenant", err)
		return nil
	})
}

// testSeats: the active techs and agents hold seats from when they became active, oldest first; a co-managed
// tech holds a co-managed seat.
func testSeats(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	msp := &store.Tech{TenantID: a.ID, Username: "alice", DisplayName: "alice", Status: wire.TechActive, PublicKey: "pk-a", KeyID: "key-a",
		Fingerprint: "fp", CreatedAt: now, UpdatedAt: now.Add(2 * time.Hour)}
	co := &store.Tech{TenantID: a.ID, Username: "carol", DisplayName: "carol", Organization: "Contoso", CoManaged: true, Status: wire.TechPending,
		PublicKey: "pk-c", KeyID: "key-c", Fingerprint: "fp", CreatedAt: now, UpdatedAt: now}
	ag := &store.Agent{TenantID: a.ID, Name: "contoso.local", Driver: "ad", Status: wire.AgentActive, PublicKey: "pk-x", KeyID: "key-x", CreatedAt: now.Add(time.Hour)}
	pending := &store.Agent{TenantID: a.ID, Name: "new.local", Driver: "ad", Status: wire.AgentPending, PublicKey: "pk-n", KeyID: "key-n", CreatedAt: now}
	write(t, s, func(tx store.Tx) error {
		for _, err := range []error{tx.CreateTech(msp), tx.CreateTech(co), tx.CreateAgent(ag), tx.CreateAgent(pending)} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	newTech(t, s, b.ID, "bob", wire.TechActive)
	seats := func() []store.Seat {
		t.Helper()
		var out []store.Seat
		read(t, s, func(tx store.Tx) (err error) { out, err = tx.Seats(a.ID); return })
		return out
	}
	want := []store.Seat{
		{Kind: wire.SeatAgent, ID: ag.ID, Name: "contoso.local", Since: now.Add(time.Hour)},
		{Kind: wire.SeatMSPTech, ID: msp.ID, Name: "alice", Since: now.Add(2 * time.Hour)},
	}
	if got := seats(); !slices.Equal(got, want) {
		t.Fatalf("seats: %+v, want %+v", got, want)
	}
	// Approving the co-managed tech gives it a seat from then; disabling the MSP tech takes its seat.
	co.Status, co.UpdatedAt = wire.TechActive, now.Add(30*time.Minute)
	msp.Status, msp.UpdatedAt = wire.TechDisabled, now.Add(3*time.Hour)
	write(t, s, func(tx store.Tx) error {
		if err := tx.UpdateTech(co); err != nil {
			return err
		}
		return tx.UpdateTech(msp)
	})
	want = []store.Seat{
		{Kind: wire.SeatCoManagedTech, ID: co.ID, Name: "carol", Organization: "Contoso", Since: now.Add(30 * time.Minute)},
		{Kind: wire.SeatAgent, ID: ag.ID, Name: "contoso.local", Since: now.Add(time.Hour)},
	}
	if got := seats(); !slices.Equal(got, want) {
		t.Fatalf("seats after approval and deactivation: %+v, want %+v", got, want)
	}
}

// testImports: imports list newest first with their exceptions; a reserved username is unique within a tenant
// and matched once.
func testImports(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	first := &store.TechImport{TenantID: a.ID, AdminID: 1, Mode: wire.ImportAtomic, Rows: 3, Created: 0, CreatedAt: now,
		Exceptions: []wire.ImportException{{Row: 2, Username: "x y", Field: "username", Reason: "invalid"}}}
	second := &store.TechImport{TenantID: a.ID, AdminID: 1, Mode: wire.ImportPerRow, Rows: 2, Created: 2, CreatedAt: now.Add(time.Hour)}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateImport(first); err != nil {
			return err
		}
		return tx.CreateImport(second)
	})
	read(t, s, func(tx store.Tx) error {
		list, err := tx.Imports(a.ID)
		if err != nil || len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID || len(list[0].Exceptions) != 0 ||
			!slices.Equal(list[1].Exceptions, first.Exceptions) || list[1].Mode != wire.ImportAtomic || list[1].Rows != 3 ||
			list[0].Created != 2 || !list[0].CreatedAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("imports newest first: %+v, %v", list, err)
		}
		if list, err := tx.Imports(b.ID); err != nil || len(list) != 0 {
			t.Fatalf("imports of B: %+v, %v", list, err)
		}
		return nil
	})
	dana := &store.Reservation{TenantID: a.ID, ImportID: second.ID, Username: "dana", DisplayName: "Dana", Email: "d@x", Organization: "Contoso",
		Groups: []int64{7, 9}, CreatedAt: now}
	erin := &store.Reservation{TenantID: a.ID, ImportID: second.ID, Username: "erin", DisplayName: "Erin", Email: "e@x", CreatedAt: now}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateReservation(dana); err != nil {
			return err
		}
		return tx.CreateReservation(erin)
	})
	isConflict(t, "reserve a username twice", writeErr(s, func(tx store.Tx) error {
		return tx.CreateReservation(&store.Reservation{TenantID: a.ID, ImportID: second.ID, Username: "dana", CreatedAt: now})
	}))
	tech := newTech(t, s, a.ID, "dana", wire.TechPending)
	typed := store.Typed{DisplayName: "Dana D", Email: "dana@contoso", Organization: "contoso"}
	isNotFound(t, "match through tenant B", writeErr(s, func(tx store.Tx) error {
		return tx.MatchReservation(b.ID, dana.ID, tech.ID, now.Add(time.Minute), typed)
	}))
	write(t, s, func(tx store.Tx) error {
		return tx.MatchReservation(a.ID, dana.ID, tech.ID, now.Add(time.Minute), typed)
	})
	isNotFound(t, "match a matched reservation", writeErr(s, func(tx store.Tx) error {
		return tx.MatchReservation(a.ID, dana.ID, tech.ID+1, now.Add(2*time.Minute), store.Typed{})
	}))
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ReservationOf(a.ID, tech.ID)
		if err != nil || got.ID != dana.ID || got.TechID != tech.ID || got.Typed != typed || !got.MatchedAt.Equal(now.Add(time.Minute)) ||
			!slices.Equal(got.Groups, []int64{7, 9}) || got.Organization != "Contoso" || got.DisplayName != "Dana" || !got.CreatedAt.Equal(now) {
			t.Fatalf("matched reservation: %+v, %v", got, err)
		}
		got, err = tx.ReservationByUsername(a.ID, "erin")
		if err != nil || got.ID != erin.ID || got.TechID != 0 || !got.MatchedAt.IsZero() || len(got.Groups) != 0 {
			t.Fatalf("pending reservation: %+v, %v", got, err)
		}
		_, err = tx.ReservationByUsername(b.ID, "erin")
		isNotFound(t, "reservation through tenant B", err)
		_, err = tx.ReservationOf(b.ID, tech.ID)
		isNotFound(t, "reservation of a tech through tenant B", err)
		list, err := tx.Reservations(a.ID)
		if err != nil || len(list) != 2 || list[0].ID != dana.ID || list[1].ID != erin.ID {
			t.Fatalf("reservations in creation order: %+v, %v", list, err)
		}
		if list, err := tx.Reservations(b.ID); err != nil || len(list) != 0 {
			t.Fatalf("reservations of B: %+v, %v", list, err)
		}
		return nil
	})
}
