package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// testAgents: the four agent statuses round-trip (pending and rejected are not active), an unknown one is refused,
// and agents stay within their tenant.
func testAgents(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	x := newAgent(t, s, a.ID, "contoso.local")
	y := &store.Agent{TenantID: a.ID, Name: "fabrikam.local", Driver: "openldap", Status: wire.AgentPending, PublicKey: "pk-y", KeyID: "key-y", CreatedAt: now}
	write(t, s, func(tx store.Tx) error { return tx.CreateAgent(y) })
	isConflict(t, "duplicate agent key", writeErr(s, func(tx store.Tx) error {
		return tx.CreateAgent(&store.Agent{TenantID: a.ID, Name: "again", Driver: "ad", Status: wire.AgentActive, PublicKey: "p", KeyID: "key-y", CreatedAt: now})
	}))
	if err := writeErr(s, func(tx store.Tx) error {
		return tx.CreateAgent(&store.Agent{TenantID: a.ID, Name: "odd", Driver: "ad", Status: "weird", PublicKey: "p", KeyID: "key-odd", CreatedAt: now})
	}); err == nil {
		t.Fatal("an agent status outside the four was stored")
	}
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.Agent(a.ID, y.ID); err != nil || *got != *y {
			t.Fatalf("pending agent: %+v, %v; want %+v", got, err, y)
		}
		if got, err := tx.AgentByKey(a.ID, "key-contoso.local"); err != nil || *got != *x {
			t.Fatalf("agent by key: %+v, %v; want %+v", got, err, x)
		}
		_, err := tx.Agent(b.ID, x.ID)
		isNotFound(t, "agent through tenant B", err)
		_, err = tx.AgentByKey(b.ID, "key-y")
		isNotFound(t, "agent by key through tenant B", err)
		if list, err := tx.Agents(b.ID); err != nil || len(list) != 0 {
			t.Fatalf("agents of B: %+v, %v", list, err)
		}
		return nil
	})
	for _, st := range []wire.AgentStatus{wire.AgentRejected, wire.AgentDisabled, wire.AgentActive} {
		y.Status, y.Name, y.Version, y.LastSeen = st, "fabrikam-"+string(st), "1.2."+string(st), now.Add(time.Minute)
		write(t, s, func(tx store.Tx) error { return tx.UpdateAgent(y) })
		read(t, s, func(tx store.Tx) error {
			if got, err := tx.Agent(a.ID, y.ID); err != nil || *got != *y {
				t.Fatalf("agent updated to %s: %+v, %v; want %+v", st, got, err, y)
			}
			return nil
		})
	}
	isNotFound(t, "update an agent through tenant B", writeErr(s, func(tx store.Tx) error { return tx.UpdateAgent(moved(x, b.ID)) }))
	read(t, s, func(tx store.Tx) error {
		full, err := tx.Agents(a.ID)
		if err != nil || len(full) != 2 || full[0] != *x || full[1] != *y {
			t.Fatalf("agents in creation order: %+v, %v", full, err)
		}
		brief, err := tx.AgentsBrief(a.ID)
		if err != nil || len(brief) != 2 || brief[1].PublicKey != "" || brief[1].KeyID != y.KeyID || brief[1].Status != y.Status {
			t.Fatalf("agents without keys: %+v, %v", brief, err)
		}
		return nil
	})
}

func testGroups(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	t1 := newTech(t, s, a.ID, "t1", wire.TechActive)
	t2 := newTech(t, s, a.ID, "t2", wire.TechActive)
	tb := newTech(t, s, b.ID, "tb", wire.TechActive)
	ag := newAgent(t, s, a.ID, "contoso.local")
	tg := &store.Group{TenantID: a.ID, Kind: store.KindTech, Name: "Admins", Members: []int64{t1.ID}}
	agg := &store.Group{TenantID: a.ID, Kind: store.KindAgent, Name: "Domains", Members: []int64{ag.ID}}
	r := &store.Right{TenantID: a.ID, Name: "DA", Targets: map[string][]string{"ad": {"Domain Admins"}}}
	trip := &store.Triplet{TenantID: a.ID}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateGroup(tg); err != nil {
			return err
		}
		if err := tx.CreateGroup(agg); err != nil {
			return err
		}
		if err := tx.CreateRight(r); err != nil {
			return err
		}
		trip.TechGroupID, trip.AgentGroupID, trip.RightID = tg.ID, agg.ID, r.ID
		return tx.CreateTriplet(trip)
	})
	bad := map[string]func(store.Tx) error{
		"member of another tenant": func(tx store.Tx) error { return tx.AddMembers(a.ID, tg.ID, []int64{tb.ID}) },
		"agent in a tech group":    func(tx store.Tx) error { return tx.AddMembers(a.ID, tg.ID, []int64{ag.ID + 1000}) },
		"group of another tenant":  func(tx store.Tx) error { return tx.AddMembers(b.ID, tg.ID, []int64{t2.ID}) },
		"set members of another tenant": func(tx store.Tx) error {
			return tx.SetMembers(a.ID, tg.ID, []int64{t2.ID, tb.ID})
		},
		"remove through another tenant": func(tx store.Tx) error { return tx.RemoveMembers(b.ID, tg.ID, []int64{t1.ID}) },
		"triplet kinds swapped": func(tx store.Tx) error {
			return tx.CreateTriplet(&store.Triplet{TenantID: a.ID, TechGroupID: agg.ID, AgentGroupID: tg.ID, RightID: r.ID})
		},
		"triplet in another tenant": func(tx store.Tx) error {
			return tx.CreateTriplet(&store.Triplet{TenantID: b.ID, TechGroupID: tg.ID, AgentGroupID: agg.ID, RightID: r.ID})
		},
		"duplicate group name": func(tx store.Tx) error {
			return tx.CreateGroup(&store.Group{TenantID: a.ID, Kind: store.KindTech, Name: "Admins"})
		},
	}
	for name, fn := range bad {
		if err := s.Write(ctx, fn); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	write(t, s, func(tx store.Tx) error {
		if err := tx.AddMembers(a.ID, tg.ID, []int64{t2.ID, t2.ID}); err != nil {
			return err
		}
		return tx.RemoveMembers(a.ID, tg.ID, []int64{t1.ID})
	})
	read(t, s, func(tx store.Tx) error {
		g, err := tx.Group(a.ID, tg.ID)
		if err != nil || !slices.Equal(g.Members, []int64{t2.ID}) {
			t.Fatalf("members: %+v, %v", g, err)
		}
		gs, err := tx.Groups(a.ID, store.KindAgent)
		if err != nil || len(gs) != 1 || !slices.Equal(gs[0].Members, []int64{ag.ID}) {
			t.Fatalf("agent groups: %+v, %v", gs, err)
		}
		rr, err := tx.Right(a.ID, r.ID)
		if err != nil || rr.Targets["ad"][0] != "Domain Admins" {
			t.Fatalf("right: %+v, %v", rr, err)
		}
		_, err = tx.Group(b.ID, tg.ID)
		isNotFound(t, "group through tenant B", err)
		if gs, err := tx.Groups(b.ID, store.KindTech); err != nil || len(gs) != 0 {
			t.Fatalf("tech groups of B: %+v, %v", gs, err)
		}
		return nil
	})
	// SetMembers replaces; UpdateGroup changes the name, the interval and the rotate-after-use override, nil
	// (inherit) and 0 (off) being different.
	off, hour := int64(0), int64(3600)
	write(t, s, func(tx store.Tx) error {
		if err := tx.SetMembers(a.ID, tg.ID, []int64{t2.ID, t1.ID}); err != nil {
			return err
		}
		agg.Name, agg.IntervalSeconds, agg.RotateAfterUseSeconds = "Forests", 86400, &off
		if err := tx.UpdateGroup(agg); err != nil {
			return err
		}
		tg.RotateAfterUseSeconds = &hour
		return tx.UpdateGroup(tg)
	})
	read(t, s, func(tx store.Tx) error {
		gs, err := tx.Groups(a.ID, store.KindTech)
		if err != nil || len(gs) != 1 || !slices.Equal(gs[0].Members, []int64{t1.ID, t2.ID}) || gs[0].RotateAfterUseSeconds == nil || *gs[0].RotateAfterUseSeconds != hour {
			t.Fatalf("tech group after SetMembers: %+v, %v", gs, err)
		}
		g, err := tx.Group(a.ID, agg.ID)
		if err != nil || g.Name != "Forests" || g.IntervalSeconds != 86400 || g.RotateAfterUseSeconds == nil || *g.RotateAfterUseSeconds != 0 || g.Kind != store.KindAgent {
			t.Fatalf("agent group after update: %+v, %v", g, err)
		}
		return nil
	})
	agg.RotateAfterUseSeconds = nil
	write(t, s, func(tx store.Tx) error { return tx.UpdateGroup(agg) })
	read(t, s, func(tx store.Tx) error {
		if g, err := tx.Group(a.ID, agg.ID); err != nil || g.RotateAfterUseSeconds != nil {
			t.Fatalf("agent group inheriting again: %+v, %v", g, err)
		}
		return nil
	})
	isNotFound(t, "update a group through tenant B", writeErr(s, func(tx store.Tx) error { return tx.UpdateGroup(moved(agg, b.ID)) }))
	isNotFound(t, "delete a group through tenant B", writeErr(s, func(tx store.Tx) error { return tx.DeleteGroup(b.ID, tg.ID) }))
	// Deleting a group takes its triplets and memberships with it.
	write(t, s, func(tx store.Tx) error { return tx.DeleteGroup(a.ID, tg.ID) })
	read(t, s, func(tx store.Tx) error {
		if ts, _ := tx.Triplets(a.ID); len(ts) != 0 {
			t.Fatalf("triplets after group deletion: %+v", ts)
		}
		return nil
	})
	isNotFound(t, "second delete", writeErr(s, func(tx store.Tx) error { return tx.DeleteGroup(a.ID, tg.ID) }))
}

// testRights: rights round-trip their targets, list in creation order, have unique names within a tenant and take
// their triplets with them when deleted.
func testRights(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	da := &store.Right{TenantID: a.ID, Name: "DA", Builtin: true, Targets: map[string][]string{"ad": {"Domain Admins"}}}
	ops := &store.Right{TenantID: a.ID, Name: "Ops", Targets: map[string][]string{"ad": {"Server Operators", "Backup Operators"}, "linux": {"wheel"}}}
	tg := &store.Group{TenantID: a.ID, Kind: store.KindTech, Name: "T"}
	agg := &store.Group{TenantID: a.ID, Kind: store.KindAgent, Name: "A"}
	write(t, s, func(tx store.Tx) error {
		for _, err := range []error{tx.CreateRight(da), tx.CreateRight(ops), tx.CreateGroup(tg), tx.CreateGroup(agg)} {
			if err != nil {
				return err
			}
		}
		return tx.CreateTriplet(&store.Triplet{TenantID: a.ID, TechGroupID: tg.ID, AgentGroupID: agg.ID, RightID: ops.ID})
	})
	isConflict(t, "duplicate right name", writeErr(s, func(tx store.Tx) error {
		return tx.CreateRight(&store.Right{TenantID: a.ID, Name: "DA", Targets: map[string][]string{}})
	}))
	write(t, s, func(tx store.Tx) error {
		return tx.CreateRight(&store.Right{TenantID: b.ID, Name: "DA", Targets: map[string][]string{}}) // another tenant: fine
	})
	ops.Name, ops.Targets = "Operators", map[string][]string{"linux": {"wheel", "adm"}}
	write(t, s, func(tx store.Tx) error { return tx.UpdateRight(ops) })
	read(t, s, func(tx store.Tx) error {
		list, err := tx.Rights(a.ID)
		if err != nil || len(list) != 2 || list[0].ID != da.ID || !list[0].Builtin || list[1].Name != "Operators" || list[1].Builtin ||
			len(list[1].Targets) != 1 || !slices.Equal(list[1].Targets["linux"], []string{"wheel", "adm"}) {
			t.Fatalf("rights: %+v, %v", list, err)
		}
		_, err = tx.Right(b.ID, ops.ID)
		isNotFound(t, "right through tenant B", err)
		if list, err := tx.Rights(b.ID); err != nil || len(list) != 1 || list[0].Name != "DA" || list[0].ID == da.ID {
			t.Fatalf("rights of B: %+v, %v", list, err)
		}
		return nil
	})
	isNotFound(t, "update a right through tenant B", writeErr(s, func(tx store.Tx) error { return tx.UpdateRight(moved(ops, b.ID)) }))
	isNotFound(t, "delete a right through tenant B", writeErr(s, func(tx store.Tx) error { return tx.DeleteRight(b.ID, ops.ID) }))
	write(t, s, func(tx store.Tx) error { return tx.DeleteRight(a.ID, ops.ID) })
	isNotFound(t, "delete a right twice", writeErr(s, func(tx store.Tx) error { return tx.DeleteRight(a.ID, ops.ID) }))
	read(t, s, func(tx store.Tx) error {
		if ts, err := tx.Triplets(a.ID); err != nil || len(ts) != 0 {
			t.Fatalf("triplets after the right's deletion: %+v, %v", ts, err)
		}
		_, err := tx.Right(a.ID, ops.ID)
		isNotFound(t, "deleted right", err)
		return nil
	})
}

// testTriplets: triplet modes round-trip (empty is standing), a triplet is unique, listed in creation order,
// deleted once and kept within its tenant.
func testTriplets(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	tg := &store.Group{TenantID: a.ID, Kind: store.KindTech, Name: "T"}
	agp := &store.Group{TenantID: a.ID, Kind: store.KindAgent, Name: "A"}
	r := &store.Right{TenantID: a.ID, Name: "R", Targets: map[string][]string{"ad": {"x"}}}
	r2 := &store.Right{TenantID: a.ID, Name: "R2", Targets: map[string][]string{"ad": {"y"}}}
	tr := &store.Triplet{TenantID: a.ID}
	tr2 := &store.Triplet{TenantID: a.ID, Builtin: true, Mode: wire.TripletStanding}
	write(t, s, func(tx store.Tx) error {
		for _, err := range []error{tx.CreateGroup(tg), tx.CreateGroup(agp), tx.CreateRight(r), tx.CreateRight(r2)} {
			if err != nil {
				return err
			}
		}
		tr.TechGroupID, tr.AgentGroupID, tr.RightID = tg.ID, agp.ID, r.ID
		tr2.TechGroupID, tr2.AgentGroupID, tr2.RightID = tg.ID, agp.ID, r2.ID
		if err := tx.CreateTriplet(tr); err != nil {
			return err
		}
		if err := tx.CreateTriplet(tr2); err != nil {
			return err
		}
		ts, err := tx.Triplets(a.ID)
		if err != nil || len(ts) != 2 || ts[0].Mode != wire.TripletStanding || ts[0].ID != tr.ID || ts[1] != *tr2 {
			t.Fatalf("triplets as created: %+v, %v", ts, err)
		}
		tr.Mode, tr.MaxDurationSeconds, tr.ApprovalRequired = wire.TripletJIT, 900, true
		if err := tx.UpdateTriplet(tr); err != nil {
			return err
		}
		ts, err = tx.Triplets(a.ID)
		if err != nil || len(ts) != 2 || ts[0] != *tr {
			t.Fatalf("triplets %+v %v, want %+v", ts, err, tr)
		}
		if err := tx.UpdateTriplet(moved(tr, b.ID)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update through another tenant: %v", err)
		}
		if ts, err := tx.Triplets(b.ID); err != nil || len(ts) != 0 {
			t.Fatalf("triplets of B: %+v, %v", ts, err)
		}
		return nil
	})
	isConflict(t, "the same triplet twice", writeErr(s, func(tx store.Tx) error {
		return tx.CreateTriplet(&store.Triplet{TenantID: a.ID, TechGroupID: tg.ID, AgentGroupID: agp.ID, RightID: r.ID})
	}))
	isNotFound(t, "delete a triplet through tenant B", writeErr(s, func(tx store.Tx) error { return tx.DeleteTriplet(b.ID, tr.ID) }))
	write(t, s, func(tx store.Tx) error { return tx.DeleteTriplet(a.ID, tr.ID) })
	isNotFound(t, "delete a triplet twice", writeErr(s, func(tx store.Tx) error { return tx.DeleteTriplet(a.ID, tr.ID) }))
	read(t, s, func(tx store.Tx) error {
		if ts, err := tx.Triplets(a.ID); err != nil || len(ts) != 1 || ts[0] != *tr2 {
			t.Fatalf("triplets after a deletion: %+v, %v", ts, err)
		}
		return nil
	})
}

// testJITGrants: one open grant per account, filters, tenant scoping, updates; recovery-only versions are kept
// out of the tech's live versions and history.
func testJITGrants(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	tc, ag, acc := newAccount(t, s, a)
	g := &store.JITGrant{TenantID: a.ID, TechID: tc.ID, AccountID: acc.ID, Status: wire.JITPending, Reason: "ticket 1",
		DurationSeconds: 600, ApprovalRequired: true, RequestedAt: now}
	write(t, s, func(tx store.Tx) error { return tx.CreateJITGrant(g) })
	if g.ID == 0 || g.AgentID != ag.ID {
		t.Fatalf("created %+v", g)
	}
	second := &store.JITGrant{TenantID: a.ID, TechID: tc.ID, AccountID: acc.ID, Status: wire.JITApproved, Reason: "x", DurationSeconds: 60, RequestedAt: now}
	isConflict(t, "a second open grant on one account", writeErr(s, func(tx store.Tx) error { return tx.CreateJITGrant(second) }))
	isNotFound(t, "a grant on another tenant's account", writeErr(s, func(tx store.Tx) error {
		return tx.CreateJITGrant(&store.JITGrant{TenantID: b.ID, TechID: tc.ID, AccountID: acc.ID, Status: wire.JITPending, Reason: "x", RequestedAt: now})
	}))
	g.Status, g.DecidedBy, g.DecidedAt, g.ExpiresAt = wire.JITApproved, "Owner", now, now.Add(10*time.Minute)
	write(t, s, func(tx store.Tx) error { return tx.UpdateJITGrant(g) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.JITGrant(a.ID, g.ID)
		if err != nil || got.Status != wire.JITApproved || !got.ExpiresAt.Equal(g.ExpiresAt) || got.DecidedBy != "Owner" || got.AgentID != ag.ID {
			t.Fatalf("read back %+v %v", got, err)
		}
		if *got != *g {
			t.Fatalf("read back %+v, want %+v", got, g)
		}
		_, err = tx.JITGrant(b.ID, g.ID)
		isNotFound(t, "grant read through another tenant", err)
		for _, q := range []store.JITQuery{{Open: true}, {TechID: tc.ID}, {AgentID: ag.ID, Open: true}, {Status: wire.JITApproved}, {AccountID: acc.ID, Limit: 1}} {
			if gs, err := tx.JITGrants(a.ID, q); err != nil || len(gs) != 1 {
				t.Fatalf("query %+v: %+v %v", q, gs, err)
			}
		}
		for _, q := range []store.JITQuery{{Status: wire.JITPending}, {TechID: tc.ID + 1}, {AgentID: ag.ID + 1}} {
			if gs, err := tx.JITGrants(a.ID, q); err != nil || len(gs) != 0 {
				t.Fatalf("query %+v: %+v %v", q, gs, err)
			}
		}
		if gs, err := tx.JITGrants(b.ID, store.JITQuery{}); err != nil || len(gs) != 0 {
			t.Fatalf("another tenant lists %+v %v", gs, err)
		}
		return nil
	})
	isNotFound(t, "update a grant through another tenant", writeErr(s, func(tx store.Tx) error { return tx.UpdateJITGrant(moved(g, b.ID)) }))
	// An open window keeps its sealed Temporary Access Pass (a newer one replaces it); closing the grant drops it.
	first := &store.JITTAP{Envelope: []byte("age 1"), Signature: []byte("sig 1"), IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	write(t, s, func(tx store.Tx) error { return tx.SetJITTAP(a.ID, g.ID, first) })
	tap := &store.JITTAP{Envelope: []byte("age 2"), Signature: []byte("sig 2"), IssuedAt: now.Add(time.Second), ExpiresAt: now.Add(9 * time.Minute)}
	write(t, s, func(tx store.Tx) error { return tx.SetJITTAP(a.ID, g.ID, tap) })
	isNotFound(t, "a pass set through another tenant", writeErr(s, func(tx store.Tx) error { return tx.SetJITTAP(b.ID, g.ID, tap) }))
	read(t, s, func(tx store.Tx) error {
		got, err := tx.JITGrant(a.ID, g.ID)
		if err != nil || got.TAP == nil || string(got.TAP.Envelope) != "age 2" || string(got.TAP.Signature) != "sig 2" ||
			!got.TAP.IssuedAt.Equal(tap.IssuedAt) || !got.TAP.ExpiresAt.Equal(tap.ExpiresAt) {
			t.Fatalf("read back the pass %+v %v", got, err)
		}
		if gs, err := tx.JITGrants(a.ID, store.JITQuery{TechID: tc.ID}); err != nil || len(gs) != 1 || gs[0].TAP == nil {
			t.Fatalf("the grant list without the pass: %+v %v", gs, err)
		}
		return nil
	})
	// Once ended, a new grant may open; grants list newest first.
	g.Status, g.EndedAt = wire.JITEnded, now
	write(t, s, func(tx store.Tx) error { return tx.UpdateJITGrant(g) })
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.JITGrant(a.ID, g.ID); err != nil || got.TAP != nil {
			t.Fatalf("a closed grant keeps its pass: %+v %v", got, err)
		}
		return nil
	})
	isConflict(t, "a pass on a closed grant", writeErr(s, func(tx store.Tx) error { return tx.SetJITTAP(a.ID, g.ID, tap) }))
	write(t, s, func(tx store.Tx) error { return tx.CreateJITGrant(second) })
	read(t, s, func(tx store.Tx) error {
		gs, err := tx.JITGrants(a.ID, store.JITQuery{})
		if err != nil || len(gs) != 2 || gs[0].ID != second.ID || gs[1].ID != g.ID {
			t.Fatalf("grants newest first: %+v, %v", gs, err)
		}
		if gs, err := tx.JITGrants(a.ID, store.JITQuery{Limit: 1}); err != nil || len(gs) != 1 || gs[0].ID != second.ID {
			t.Fatalf("newest grant: %+v, %v", gs, err)
		}
		return nil
	})

	// Recovery-only versions: kept, but never the tech's.
	write(t, s, func(tx store.Tx) error {
		if err := tx.StageVersion(a.ID, &store.Version{AccountID: acc.ID, Version: 1, Envelope: []byte{1}, StagedAt: now, RecoveryOnly: true}); err != nil {
			return err
		}
		return tx.ConfirmVersion(a.ID, acc.ID, 1, now)
	})
	read(t, s, func(tx store.Tx) error {
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
}
