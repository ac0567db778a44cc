package storetest

import (
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
)

// testCollectors: a tenant's audit collectors round-trip with their cursor at 0, list by name, are unique by name
// in a tenant (not across tenants), move their cursor only forward, record the last signed head, are deleted once,
// and tenant B neither sees nor changes tenant A's.
func testCollectors(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	siem := &store.Collector{TenantID: a.ID, Name: "siem", Address: "127.0.0.1:6514", CAPEM: "-----BEGIN CERTIFICATE-----\n", Format: "json", CreatedAt: now}
	backup := &store.Collector{TenantID: a.ID, Name: "backup", Address: "[::1]:6514", CAPEM: "ca", Format: "cef", CreatedAt: now}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateCollector(siem); err != nil {
			return err
		}
		return tx.CreateCollector(backup)
	})
	isConflict(t, "a second collector named siem", writeErr(s, func(tx store.Tx) error {
		return tx.CreateCollector(&store.Collector{TenantID: a.ID, Name: "siem", Address: "x:1", Format: "json", CreatedAt: now})
	}))
	isNotFound(t, "a collector of an unknown tenant", writeErr(s, func(tx store.Tx) error {
		return tx.CreateCollector(&store.Collector{TenantID: b.ID + 100, Name: "siem", Address: "x:1", Format: "json", CreatedAt: now})
	}))
	write(t, s, func(tx store.Tx) error { // tenant B has a namespace of its own
		return tx.CreateCollector(&store.Collector{TenantID: b.ID, Name: "siem", Address: "x:1", Format: "json", CreatedAt: now})
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Collector(a.ID, siem.ID)
		if err != nil || got.Name != "siem" || got.Address != siem.Address || got.CAPEM != siem.CAPEM || got.Format != "json" ||
			!got.CreatedAt.Equal(now) || got.SentSeq != 0 || !got.SentAt.IsZero() || !got.HeadAt.IsZero() {
			t.Fatalf("collector read back: %+v, %v", got, err)
		}
		list, err := tx.Collectors(a.ID)
		if err != nil || len(list) != 2 || list[0].Name != "backup" || list[1].Name != "siem" {
			t.Fatalf("collectors by name: %+v, %v", list, err)
		}
		_, err = tx.Collector(b.ID, siem.ID)
		isNotFound(t, "tenant A's collector through tenant B", err)
		return nil
	})
	sent := now.Add(time.Minute)
	write(t, s, func(tx store.Tx) error { return tx.SetCollectorSent(a.ID, siem.ID, 7, sent) })
	write(t, s, func(tx store.Tx) error { return tx.SetCollectorSent(a.ID, siem.ID, 5, sent.Add(time.Minute)) })
	write(t, s, func(tx store.Tx) error { return tx.SetCollectorHead(a.ID, siem.ID, sent.Add(2*time.Minute)) })
	isNotFound(t, "the cursor through tenant B", writeErr(s, func(tx store.Tx) error { return tx.SetCollectorSent(b.ID, siem.ID, 9, sent) }))
	isNotFound(t, "the head through tenant B", writeErr(s, func(tx store.Tx) error { return tx.SetCollectorHead(b.ID, siem.ID, sent) }))
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Collector(a.ID, siem.ID)
		if err != nil || got.SentSeq != 7 || !got.SentAt.Equal(sent) || !got.HeadAt.Equal(sent.Add(2*time.Minute)) {
			t.Fatalf("cursor after 7 then 5: %+v, %v (it moves only forward)", got, err)
		}
		return nil
	})
	isNotFound(t, "delete through tenant B", writeErr(s, func(tx store.Tx) error { return tx.DeleteCollector(b.ID, siem.ID) }))
	write(t, s, func(tx store.Tx) error { return tx.DeleteCollector(a.ID, siem.ID) })
	isNotFound(t, "delete twice", writeErr(s, func(tx store.Tx) error { return tx.DeleteCollector(a.ID, siem.ID) }))
	read(t, s, func(tx store.Tx) error {
		if list, err := tx.Collectors(a.ID); err != nil || len(list) != 1 || list[0].Name != "backup" {
			t.Fatalf("after the delete: %+v, %v", list, err)
		}
		if list, err := tx.Collectors(b.ID); err != nil || len(list) != 1 {
			t.Fatalf("tenant B's: %+v, %v", list, err)
		}
		return nil
	})
}
