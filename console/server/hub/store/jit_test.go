package store

import (
	"errors"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// TestJITGrants: one open grant per account, filters, tenant scoping, updates; recovery-only versions are kept
// out of the tech's live versions and history; triplet modes round-trip.
func TestJITGrants(t *testing.T) {
	s, _ := openSQLite(t)
	a := newTenant(t, s, guidA)
	b := newTenant(t, s, guidB)
	tc := newTech(t, s, a.ID, "alice", wire.TechActive)
	ag := newAgent(t, s, a.ID, "contoso.local")
	var acc *Account
	write(t, s, func(tx Tx) error {
		var err error
		acc, err = tx.EnsureAccount(a.ID, tc.ID, ag.ID, "alice-ms", now)
		return err
	})
	g := &JITGrant{TenantID: a.ID, TechID: tc.ID, AccountID: acc.ID, Status: wire.JITPending, Reason: "ticket 1",
		DurationSeconds: 600, ApprovalRequired: true, RequestedAt: now}
	write(t, s, func(tx Tx) error { return tx.CreateJITGrant(g) })
	if g.ID == 0 || g.AgentID != ag.ID {
		t.Fatalf("created %+v", g)
	}
	second := &JITGrant{TenantID: a.ID, TechID: tc.ID, AccountID: acc.ID, Status: wire.JITApproved, Reason: "x", DurationSeconds: 60, RequestedAt: now}
	if err := s.Write(ctx, func(tx Tx) error { return tx.CreateJITGrant(second) }); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second open grant on one account: %v", err)
	}
	if err := s.Write(ctx, func(tx Tx) error {
		return tx.CreateJITGrant(&JITGrant{TenantID: b.ID, TechID: tc.ID, AccountID: acc.ID, Status: wire.JITPending, Reason: "x", RequestedAt: now})
	}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a grant on another tenant's account: %v", err)
	}
	g.Status, g.DecidedBy, g.DecidedAt, g.ExpiresAt = wire.JITApproved, "Owner", now, now.Add(10*time.Minute)
	write(t, s, func(tx Tx) error { return tx.UpdateJITGrant(g) })
	err := s.Read(ctx, func(tx Tx) error {
		got, err := tx.JITGrant(a.ID, g.ID)
		if err != nil || got.Status != wire.JITApproved || !got.ExpiresAt.Equal(g.ExpiresAt) || got.DecidedBy != "Owner" || got.AgentID != ag.ID {
			t.Fatalf("read back %+v %v", got, err)
		}
		if _, err := tx.JITGrant(b.ID, g.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("grant read through another tenant: %v", err)
		}
		for _, q := range []JITQuery{{Open: true}, {TechID: tc.ID}, {AgentID: ag.ID, Open: true}, {Status: wire.JITApproved}, {AccountID: acc.ID, Limit: 1}} {
			if gs, err := tx.JITGrants(a.ID, q); err != nil || len(gs) != 1 {
				t.Fatalf("query %+v: %+v %v", q, gs, err)
			}
		}
		for _, q := range []JITQuery{{Status: wire.JITPending}, {TechID: tc.ID + 1}, {AgentID: ag.ID + 1}} {
			if gs, err := tx.JITGrants(a.ID, q); err != nil || len(gs) != 0 {
				t.Fatalf("query %+v: %+v %v", q, gs, err)
			}
		}
		if gs, err := tx.JITGrants(b.ID, JITQuery{}); err != nil || len(gs) != 0 {
			t.Fatalf("another tenant lists %+v %v", gs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Once ended, a new grant may open.
	g.Status, g.EndedAt = wire.JITEnded, now
	write(t, s, func(tx Tx) error { return tx.UpdateJITGrant(g) })
	write(t, s, func(tx Tx) error { return tx.CreateJITGrant(second) })

	// Recovery-only versions: kept, but never the tech's.
	write(t, s, func(tx Tx) error {
		if err := tx.StageVersion(a.ID, &Version{AccountID: acc.ID, Version: 1, Envelope: []byte{1}, StagedAt: now, RecoveryOnly: true}); err != nil {
			return err
		}
		return tx.ConfirmVersion(a.ID, acc.ID, 1, now)
	})
	err = s.Read(ctx, func(tx Tx) error {
		live, err := tx.LiveVersionsByTech(a.ID, tc.ID)
		if err != nil || len(live[acc.ID]) != 0 {
			t.Fatalf("live versions hold a recovery-only one: %+v %v", live, err)
		}
		if h, err := tx.History(a.ID, acc.ID, 5); err != nil || len(h) != 0 {
			t.Fatalf("history holds a recovery-only one: %+v %v", h, err)
		}
		vs, err := tx.Versions(a.ID, acc.ID)
		if err != nil || len(vs) != 1 || !vs[0].RecoveryOnly {
			t.Fatalf("versions %+v %v", vs, err)
		}
		l, err := tx.LatestVersions(a.ID, ag.ID)
		if err != nil || !l[acc.ID].RecoveryOnly {
			t.Fatalf("latest %+v %v", l, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Triplet modes.
	write(t, s, func(tx Tx) error {
		tg := &Group{TenantID: a.ID, Kind: KindTech, Name: "T"}
		agp := &Group{TenantID: a.ID, Kind: KindAgent, Name: "A"}
		r := &Right{TenantID: a.ID, Name: "R", Targets: map[string][]string{"ad": {"x"}}}
		for _, err := range []error{tx.CreateGroup(tg), tx.CreateGroup(agp), tx.CreateRight(r)} {
			if err != nil {
				return err
			}
		}
		tr := &Triplet{TenantID: a.ID, TechGroupID: tg.ID, AgentGroupID: agp.ID, RightID: r.ID}
		if err := tx.CreateTriplet(tr); err != nil {
			return err
		}
		tr.Mode, tr.MaxDurationSeconds, tr.ApprovalRequired = wire.TripletJIT, 900, true
		if err := tx.UpdateTriplet(tr); err != nil {
			return err
		}
		ts, err := tx.Triplets(a.ID)
		if err != nil || len(ts) != 1 || ts[0] != *tr {
			t.Fatalf("triplets %+v %v, want %+v", ts, err, tr)
		}
		other := *tr
		other.TenantID = b.ID
		if err := tx.UpdateTriplet(&other); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update through another tenant: %v", err)
		}
		return nil
	})
}
