package storetest

import (
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// testTechLife: a device's last sighting and release are kept without touching anything else; a disabled tech is
// deleted into a tombstone that still reads and lists, once; an active one, or one of another tenant, is not.
func testTechLife(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	tm := newTech(t, s, a.ID, "dora", wire.TechActive)
	seen := now.Add(3 * time.Minute)
	write(t, s, func(tx store.Tx) error { return tx.TouchTech(a.ID, tm.ID, seen, "0.4.1") })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Tech(a.ID, tm.ID)
		if err != nil || !got.LastSeen.Equal(seen) || got.ClientVersion != "0.4.1" || !got.UpdatedAt.Equal(tm.UpdatedAt) || got.Status != wire.TechActive {
			t.Fatalf("after a touch: %+v, %v", got, err)
		}
		return nil
	})
	isNotFound(t, "touch through tenant B", writeErr(s, func(tx store.Tx) error { return tx.TouchTech(b.ID, tm.ID, seen, "x") }))
	isConflict(t, "delete an active tech", writeErr(s, func(tx store.Tx) error { return tx.DeleteTech(a.ID, tm.ID, true, now) }))

	tm.Status = wire.TechDisabled
	write(t, s, func(tx store.Tx) error { return tx.UpdateTech(tm) })
	isNotFound(t, "delete through tenant B", writeErr(s, func(tx store.Tx) error { return tx.DeleteTech(b.ID, tm.ID, true, now) }))
	gone := now.Add(time.Hour)
	write(t, s, func(tx store.Tx) error { return tx.DeleteTech(a.ID, tm.ID, true, gone) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Tech(a.ID, tm.ID)
		if err != nil || !got.DeletedAt.Equal(gone) || !got.DeleteAccounts || got.Username != "dora" {
			t.Fatalf("the tombstone: %+v, %v", got, err)
		}
		if list, err := tx.Techs(a.ID, wire.TechDisabled); err != nil || len(list) != 1 || list[0].DeletedAt.IsZero() {
			t.Fatalf("listed: %+v, %v", list, err)
		}
		return nil
	})
	isConflict(t, "delete a deleted tech", writeErr(s, func(tx store.Tx) error { return tx.DeleteTech(a.ID, tm.ID, false, now) }))
	other := newTech(t, s, a.ID, "erin", wire.TechDisabled)
	write(t, s, func(tx store.Tx) error { return tx.DeleteTech(a.ID, other.ID, false, gone) })
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.Tech(a.ID, other.ID); err != nil || got.DeletedAt.IsZero() || got.DeleteAccounts {
			t.Fatalf("deleted, accounts kept: %+v, %v", got, err)
		}
		return nil
	})
}
