package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// opener returns a fresh, empty Store and the path of its file.
type opener func(t *testing.T) (Store, string)

func openSQLite(t *testing.T) (Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// TestSuite runs the one suite every Store implementation must pass.
func TestSuite(t *testing.T) { runSuite(t, openSQLite) }

func runSuite(t *testing.T, open opener) {
	tests := map[string]func(*testing.T, Store){
		"tenants":    testTenants,
		"techs":      testTechs,
		"tokens":     testTokens,
		"groups":     testGroups,
		"accounts":   testAccountsAndVersions,
		"unresolved": testUnresolved,
		"audit":      testAuditQuery,
		"rollback":   testRollback,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			s, _ := open(t)
			fn(t, s)
		})
	}
}

var ctx = context.Background()
var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func write(t *testing.T, s Store, fn func(Tx) error) {
	t.Helper()
	if err := s.Write(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func newTenant(t *testing.T, s Store, guid string) *Tenant {
	t.Helper()
	tn := &Tenant{GUID: guid, Name: "MSP " + guid[:4], Abbrev: "ms", Recovery: "age1pq1recovery", Policy: wire.DefaultPolicy(), CreatedAt: now}
	write(t, s, func(tx Tx) error { return tx.CreateTenant(tn) })
	return tn
}

const guidA = "aaaaaaaa-0000-4000-8000-000000000001"
const guidB = "bbbbbbbb-0000-4000-8000-000000000002"

func newTech(t *testing.T, s Store, tenant int64, user string, st wire.TechStatus) *Tech {
	t.Helper()
	tc := &Tech{TenantID: tenant, Username: user, DisplayName: user, Email: user + "@x", Status: st, PublicKey: "pk-" + user,
		KeyID: "key-" + user, Fingerprint: "fp", CreatedAt: now, UpdatedAt: now}
	write(t, s, func(tx Tx) error { return tx.CreateTech(tc) })
	return tc
}

func newAgent(t *testing.T, s Store, tenant int64, name string) *Agent {
	t.Helper()
	a := &Agent{TenantID: tenant, Name: name, Driver: "ad", Status: wire.AgentActive, PublicKey: "pk-" + name, KeyID: "key-" + name, CreatedAt: now}
	write(t, s, func(tx Tx) error { return tx.CreateAgent(a) })
	return a
}

func testTenants(t *testing.T, s Store) {
	a := newTenant(t, s, guidA)
	newTenant(t, s, guidB)
	err := s.Write(ctx, func(tx Tx) error {
		return tx.CreateTenant(&Tenant{GUID: guidA, Name: "dup", Policy: wire.DefaultPolicy()})
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate GUID: %v", err)
	}
	write(t, s, func(tx Tx) error {
		for want := int64(1); want <= 3; want++ {
			rev, err := tx.BumpRevision(a.ID)
			if err != nil || rev != want {
				t.Fatalf("bump: %d, %v; want %d", rev, err, want)
			}
		}
		got, err := tx.Tenant(guidA)
		if err != nil {
			return err
		}
		got.Policy.Length = 40
		return tx.UpdateTenant(got)
	})
	s.Read(ctx, func(tx Tx) error {
		got, err := tx.TenantByID(a.ID)
		if err != nil || got.Revision != 3 || got.Policy.Length != 40 || got.Policy.NamingFormat != "{username}-{abbrev}" || !got.CreatedAt.Equal(now) {
			t.Fatalf("tenant after update: %+v, %v", got, err)
		}
		all, err := tx.Tenants()
		if err != nil || len(all) != 2 {
			t.Fatalf("tenants: %d, %v", len(all), err)
		}
		if _, err := tx.Tenant("nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing tenant: %v", err)
		}
		return nil
	})
}

func testTechs(t *testing.T, s Store) {
	a := newTenant(t, s, guidA)
	b := newTenant(t, s, guidB)
	alice := newTech(t, s, a.ID, "alice", wire.TechPending)
	newTech(t, s, b.ID, "alice", wire.TechPending) // same username, other tenant: fine
	err := s.Write(ctx, func(tx Tx) error {
		return tx.CreateTech(&Tech{TenantID: a.ID, Username: "alice", KeyID: "other", Status: wire.TechPending})
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate username: %v", err)
	}
	err = s.Write(ctx, func(tx Tx) error {
		return tx.CreateTech(&Tech{TenantID: a.ID, Username: "bob", KeyID: "key-alice", Status: wire.TechPending})
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate key: %v", err)
	}
	err = s.Write(ctx, func(tx Tx) error {
		return tx.CreateTech(&Tech{TenantID: a.ID, Username: "carol", KeyID: "k", Status: "weird"})
	})
	if err == nil {
		t.Fatal("a status outside the four was stored")
	}
	write(t, s, func(tx Tx) error {
		alice.Status = wire.TechActive
		return tx.UpdateTech(alice)
	})
	s.Read(ctx, func(tx Tx) error {
		got, err := tx.TechByKey(a.ID, "key-alice")
		if err != nil || got.Status != wire.TechActive || got.ID != alice.ID {
			t.Fatalf("by key: %+v, %v", got, err)
		}
		if _, err := tx.Tech(b.ID, alice.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("tech of tenant A through tenant B: %v", err)
		}
		if list, _ := tx.Techs(a.ID, wire.TechPending); len(list) != 0 {
			t.Fatalf("pending list: %+v", list)
		}
		if list, _ := tx.Techs(a.ID, ""); len(list) != 1 {
			t.Fatalf("all techs of A: %+v", list)
		}
		return nil
	})
	// Admins are scoped the same way.
	write(t, s, func(tx Tx) error {
		return tx.CreateAdmin(&Admin{TenantID: a.ID, Name: "owner", Role: wire.RoleOwner, PublicKey: "p", KeyID: "adm", CreatedAt: now})
	})
	s.Read(ctx, func(tx Tx) error {
		if got, err := tx.AdminByKey(a.ID, "adm"); err != nil || got.Role != wire.RoleOwner {
			t.Fatalf("admin: %+v, %v", got, err)
		}
		if _, err := tx.AdminByKey(b.ID, "adm"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("admin across tenants: %v", err)
		}
		return nil
	})
}

func testTokens(t *testing.T, s Store) {
	a := newTenant(t, s, guidA)
	b := newTenant(t, s, guidB)
	write(t, s, func(tx Tx) error {
		if err := tx.CreateToken(&Token{TenantID: a.ID, Kind: TokenEnroll, Hash: "h1", ExpiresAt: now.Add(time.Hour), CreatedAt: now}); err != nil {
			return err
		}
		return tx.CreateToken(&Token{TenantID: a.ID, Kind: TokenEnroll, Hash: "h2", ExpiresAt: now.Add(time.Minute), CreatedAt: now})
	})
	use := func(tenant int64, kind, hash string, at time.Time) error {
		return s.Write(ctx, func(tx Tx) error { _, err := tx.UseToken(tenant, kind, hash, at); return err })
	}
	if err := use(b.ID, TokenEnroll, "h1", now); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("token of another tenant: %v", err)
	}
	if err := use(a.ID, TokenClaim, "h1", now); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("token of another kind: %v", err)
	}
	if err := use(a.ID, TokenEnroll, "h1", now); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := use(a.ID, TokenEnroll, "h1", now); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("second use: %v", err)
	}
	if err := use(a.ID, TokenEnroll, "h2", now.Add(2*time.Minute)); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("expired: %v", err)
	}
}

func testGroups(t *testing.T, s Store) {
	a := newTenant(t, s, guidA)
	b := newTenant(t, s, guidB)
	t1 := newTech(t, s, a.ID, "t1", wire.TechActive)
	t2 := newTech(t, s, a.ID, "t2", wire.TechActive)
	tb := newTech(t, s, b.ID, "tb", wire.TechActive)
	ag := newAgent(t, s, a.ID, "contoso.local")
	tg := &Group{TenantID: a.ID, Kind: KindTech, Name: "Admins", Members: []int64{t1.ID}}
	agg := &Group{TenantID: a.ID, Kind: KindAgent, Name: "Domains", Members: []int64{ag.ID}}
	r := &Right{TenantID: a.ID, Name: "DA", Targets: map[string][]string{"ad": {"Domain Admins"}}}
	trip := &Triplet{TenantID: a.ID}
	write(t, s, func(tx Tx) error {
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
	bad := map[string]func(Tx) error{
		"member of another tenant": func(tx Tx) error { return tx.AddMembers(a.ID, tg.ID, []int64{tb.ID}) },
		"agent in a tech group":    func(tx Tx) error { return tx.AddMembers(a.ID, tg.ID, []int64{ag.ID + 1000}) },
		"group of another tenant":  func(tx Tx) error { return tx.AddMembers(b.ID, tg.ID, []int64{t2.ID}) },
		"triplet kinds swapped": func(tx Tx) error {
			return tx.CreateTriplet(&Triplet{TenantID: a.ID, TechGroupID: agg.ID, AgentGroupID: tg.ID, RightID: r.ID})
		},
		"triplet in another tenant": func(tx Tx) error {
			return tx.CreateTriplet(&Triplet{TenantID: b.ID, TechGroupID: tg.ID, AgentGroupID: agg.ID, RightID: r.ID})
		},
		"duplicate group name": func(tx Tx) error { return tx.CreateGroup(&Group{TenantID: a.ID, Kind: KindTech, Name: "Admins"}) },
	}
	for name, fn := range bad {
		if err := s.Write(ctx, fn); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	write(t, s, func(tx Tx) error {
		if err := tx.AddMembers(a.ID, tg.ID, []int64{t2.ID, t2.ID}); err != nil {
			return err
		}
		return tx.RemoveMembers(a.ID, tg.ID, []int64{t1.ID})
	})
	s.Read(ctx, func(tx Tx) error {
		g, err := tx.Group(a.ID, tg.ID)
		if err != nil || !slices.Equal(g.Members, []int64{t2.ID}) {
			t.Fatalf("members: %+v, %v", g, err)
		}
		gs, err := tx.Groups(a.ID, KindAgent)
		if err != nil || len(gs) != 1 || !slices.Equal(gs[0].Members, []int64{ag.ID}) {
			t.Fatalf("agent groups: %+v, %v", gs, err)
		}
		rr, err := tx.Right(a.ID, r.ID)
		if err != nil || rr.Targets["ad"][0] != "Domain Admins" {
			t.Fatalf("right: %+v, %v", rr, err)
		}
		return nil
	})
	// Deleting a group takes its triplets and memberships with it.
	write(t, s, func(tx Tx) error { return tx.DeleteGroup(a.ID, tg.ID) })
	s.Read(ctx, func(tx Tx) error {
		if ts, _ := tx.Triplets(a.ID); len(ts) != 0 {
			t.Fatalf("triplets after group deletion: %+v", ts)
		}
		return nil
	})
	if err := s.Write(ctx, func(tx Tx) error { return tx.DeleteGroup(a.ID, tg.ID) }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testAccountsAndVersions(t *testing.T, s Store) {
	a := newTenant(t, s, guidA)
	b := newTenant(t, s, guidB)
	tc := newTech(t, s, a.ID, "alice", wire.TechActive)
	tc2 := newTech(t, s, a.ID, "bob", wire.TechActive)
	ag := newAgent(t, s, a.ID, "contoso.local")
	var acc *Account
	write(t, s, func(tx Tx) error {
		var err error
		acc, err = tx.EnsureAccount(a.ID, tc.ID, ag.ID, "alice-ms", now)
		if err != nil {
			return err
		}
		again, err := tx.EnsureAccount(a.ID, tc.ID, ag.ID, "renamed", now)
		if err != nil || again.ID != acc.ID || again.Name != "alice-ms" {
			t.Fatalf("ensure twice: %+v, %v", again, err)
		}
		return nil
	})
	if err := s.Write(ctx, func(tx Tx) error { _, err := tx.EnsureAccount(a.ID, tc2.ID, ag.ID, "alice-ms", now); return err }); !errors.Is(err, ErrConflict) {
		t.Fatalf("second account with the same name on one agent: %v", err)
	}
	if err := s.Write(ctx, func(tx Tx) error { _, err := tx.EnsureAccount(b.ID, tc.ID, ag.ID, "x", now); return err }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("account across tenants: %v", err)
	}
	stage := func(v int64) error {
		return s.Write(ctx, func(tx Tx) error {
			return tx.StageVersion(a.ID, &Version{AccountID: acc.ID, Version: v, Envelope: []byte{byte(v)}, StagedAt: now})
		})
	}
	if err := stage(1); err != nil {
		t.Fatal(err)
	}
	if err := stage(1); !errors.Is(err, ErrConflict) {
		t.Fatalf("restage 1: %v", err)
	}
	write(t, s, func(tx Tx) error { return tx.ConfirmVersion(a.ID, acc.ID, 1, now) })
	if err := stage(2); err != nil {
		t.Fatal(err)
	}
	write(t, s, func(tx Tx) error { return tx.FailVersion(a.ID, acc.ID, 2, "target refused") })
	if err := stage(3); err != nil {
		t.Fatal(err)
	}
	if err := stage(4); err != nil {
		t.Fatal(err)
	}
	write(t, s, func(tx Tx) error { return tx.ConfirmVersion(a.ID, acc.ID, 4, now.Add(time.Hour)) })
	if err := s.Write(ctx, func(tx Tx) error { return tx.ConfirmVersion(a.ID, acc.ID, 2, now) }); !errors.Is(err, ErrConflict) {
		t.Fatalf("confirm a failed version: %v", err)
	}
	if err := s.Write(ctx, func(tx Tx) error { return tx.ConfirmVersion(b.ID, acc.ID, 4, now) }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("confirm across tenants: %v", err)
	}
	s.Read(ctx, func(tx Tx) error {
		vs, err := tx.Versions(a.ID, acc.ID)
		if err != nil {
			return err
		}
		var got []wire.VersionState
		for _, v := range vs {
			got = append(got, v.State)
		}
		want := []wire.VersionState{"confirmed", "superseded", "failed", "superseded"}
		if !slices.Equal(got, want) {
			t.Fatalf("states newest first: %v, want %v", got, want)
		}
		latest, err := tx.LatestVersions(a.ID, ag.ID)
		if err != nil || len(latest) != 1 || latest[acc.ID].Version != 4 || latest[acc.ID].State != "confirmed" || latest[acc.ID].Envelope != nil {
			t.Fatalf("latest versions: %+v, %v", latest, err)
		}
		live, err := tx.LiveVersionsByTech(a.ID, tc.ID)
		if err != nil || len(live) != 1 || len(live[acc.ID]) != 1 || live[acc.ID][0].Version != 4 ||
			live[acc.ID][0].State != "confirmed" || len(live[acc.ID][0].Envelope) == 0 {
			t.Fatalf("live versions of the tech: %+v, %v", live, err)
		}
		if other, err := tx.LiveVersionsByTech(b.ID, tc.ID); err != nil || len(other) != 0 {
			t.Fatalf("live versions through another tenant: %+v, %v", other, err)
		}
		if some, err := tx.LiveVersionsOfAccounts(a.ID, tc.ID, []int64{acc.ID, acc.ID + 1000}); err != nil || len(some) != 1 ||
			len(some[acc.ID]) != 1 || some[acc.ID][0].Version != 4 || len(some[acc.ID][0].Envelope) == 0 {
			t.Fatalf("live versions of some accounts: %+v, %v", some, err)
		}
		if none, err := tx.LiveVersionsOfAccounts(a.ID, tc.ID, []int64{acc.ID + 1000}); err != nil || len(none) != 0 {
			t.Fatalf("live versions of another account: %+v, %v", none, err)
		}
		if other, err := tx.LiveVersionsOfAccounts(b.ID, tc.ID, []int64{acc.ID}); err != nil || len(other) != 0 {
			t.Fatalf("live versions of some accounts through another tenant: %+v, %v", other, err)
		}
		brief, err := tx.AgentsBrief(a.ID)
		full, ferr := tx.Agents(a.ID)
		if err != nil || ferr != nil || len(brief) == 0 || len(brief) != len(full) || brief[0].PublicKey != "" || full[0].PublicKey == "" ||
			brief[0].ID != full[0].ID || brief[0].KeyID != full[0].KeyID || brief[0].Name != full[0].Name || brief[0].Status != full[0].Status {
			t.Fatalf("agents without keys: %+v (all: %+v), %v, %v", brief, full, err, ferr)
		}
		ac, _ := tx.Account(a.ID, acc.ID)
		if ac.CurrentVersion != 4 || !ac.RotatedAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("account after rotations: %+v", ac)
		}
		return nil
	})
	write(t, s, func(tx Tx) error {
		if n, err := tx.RequestRotation(a.ID, tc.ID, 0, 0, now); err != nil || n != 1 {
			t.Fatalf("rotate by tech: %d, %v", n, err)
		}
		if n, err := tx.RequestRotation(b.ID, 0, 0, 0, now); err != nil || n != 0 {
			t.Fatalf("rotate in other tenant: %d, %v", n, err)
		}
		return nil
	})
}

// testUnresolved: failed versions and staged ones never confirmed count as unresolved above the last confirmed
// version and the version current at the admin's last retry; the adoption and retry fields persist.
func testUnresolved(t *testing.T, s Store) {
	a := newTenant(t, s, guidA)
	b := newTenant(t, s, guidB)
	tc := newTech(t, s, a.ID, "alice", wire.TechActive)
	ag := newAgent(t, s, a.ID, "contoso.local")
	var acc *Account
	write(t, s, func(tx Tx) (err error) { acc, err = tx.EnsureAccount(a.ID, tc.ID, ag.ID, "alice-ms", now); return })
	unresolved := func() (int, string) {
		t.Helper()
		var n int
		var reason string
		if err := s.Read(ctx, func(tx Tx) (err error) { n, reason, err = tx.Unresolved(a.ID, acc.ID); return }); err != nil {
			t.Fatal(err)
		}
		return n, reason
	}
	step := func(v int64, fail string, confirm bool) {
		t.Helper()
		write(t, s, func(tx Tx) error {
			if err := tx.StageVersion(a.ID, &Version{AccountID: acc.ID, Version: v, Envelope: []byte{1}, StagedAt: now}); err != nil {
				return err
			}
			switch {
			case fail != "":
				return tx.FailVersion(a.ID, acc.ID, v, fail)
			case confirm:
				return tx.ConfirmVersion(a.ID, acc.ID, v, now)
			}
			return nil
		})
	}
	if n, r := unresolved(); n != 0 || r != "" {
		t.Fatalf("no versions: %d %q", n, r)
	}
	step(1, "bind refused", false)
	step(2, "", false) // staged, never confirmed
	if n, r := unresolved(); n != 2 || r != "bind refused" {
		t.Fatalf("before any confirmation: %d %q", n, r)
	}
	step(3, "", true) // supersedes 2; 1 stays failed but lies below the confirmed version
	if n, _ := unresolved(); n != 0 {
		t.Fatalf("after a confirmation: %d", n)
	}
	step(4, "constraint violation", false)
	step(5, "", false)
	step(6, "lockout threshold near", false)
	if n, r := unresolved(); n != 3 || r != "lockout threshold near" {
		t.Fatalf("three unresolved: %d %q", n, r)
	}
	// An admin's retry: what came before no longer counts.
	write(t, s, func(tx Tx) error {
		ac, err := tx.Account(a.ID, acc.ID)
		if err != nil {
			return err
		}
		ac.State, ac.LastError, ac.Adopted, ac.RetriedAt, ac.RetryVersion = "present", "", true, now, ac.CurrentVersion
		return tx.UpdateAccount(ac)
	})
	if n, r := unresolved(); n != 0 || r != "" {
		t.Fatalf("after a retry: %d %q", n, r)
	}
	step(7, "", false)
	if n, r := unresolved(); n != 1 || r != "" {
		t.Fatalf("a stage after the retry: %d %q", n, r)
	}
	s.Read(ctx, func(tx Tx) error {
		ac, err := tx.Account(a.ID, acc.ID)
		if err != nil || !ac.Adopted || !ac.RetriedAt.Equal(now) || ac.RetryVersion != 6 || ac.CurrentVersion != 7 {
			t.Fatalf("account after adoption and retry: %+v, %v", ac, err)
		}
		if _, _, err := tx.Unresolved(b.ID, acc.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unresolved across tenants: %v", err)
		}
		return nil
	})
}

func testAuditQuery(t *testing.T, s Store) {
	a := newTenant(t, s, guidA)
	b := newTenant(t, s, guidB)
	write(t, s, func(tx Tx) error {
		for i, e := range []AuditEvent{
			{TenantID: a.ID, At: now, ActorKind: "admin", ActorID: 1, Action: "tech.approve", Target: "tech 1"},
			{TenantID: b.ID, At: now, ActorKind: "admin", ActorID: 9, Action: "tech.approve", Target: "tech 9"},
			{TenantID: a.ID, At: now.Add(time.Minute), ActorKind: "agent", ActorID: 2, Action: "version.confirm", Target: "account 3"},
		} {
			if err := tx.Audit(&e); err != nil || e.Seq != []int64{1, 1, 2}[i] || e.Hash == "" {
				t.Fatalf("append %d: %+v, %v", i, e, err)
			}
		}
		return nil
	})
	s.Read(ctx, func(tx Tx) error {
		all, _ := tx.AuditEvents(a.ID, wire.AuditQuery{})
		if len(all) != 2 {
			t.Fatalf("tenant A sees %d events", len(all))
		}
		got, _ := tx.AuditEvents(a.ID, wire.AuditQuery{ActorKind: "agent"})
		if len(got) != 1 || got[0].Action != "version.confirm" {
			t.Fatalf("by actor kind: %+v", got)
		}
		got, _ = tx.AuditEvents(a.ID, wire.AuditQuery{Since: now.Add(time.Second)})
		if len(got) != 1 {
			t.Fatalf("since: %+v", got)
		}
		return nil
	})
	if n, err := s.VerifyAudit(ctx); err != nil || n != 3 {
		t.Fatalf("verify: %d, %v", n, err)
	}
}

// A failing Write leaves nothing behind.
func testRollback(t *testing.T, s Store) {
	a := newTenant(t, s, guidA)
	boom := errors.New("boom")
	err := s.Write(ctx, func(tx Tx) error {
		if err := tx.CreateTech(&Tech{TenantID: a.ID, Username: "ghost", KeyID: "g", Status: wire.TechPending}); err != nil {
			return err
		}
		if err := tx.Audit(&AuditEvent{TenantID: a.ID, At: now, ActorKind: "system", Action: "x"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write: %v", err)
	}
	s.Read(ctx, func(tx Tx) error {
		if list, _ := tx.Techs(a.ID, ""); len(list) != 0 {
			t.Fatalf("rolled back tech persisted: %+v", list)
		}
		return nil
	})
	if n, err := s.VerifyAudit(ctx); err != nil || n != 0 {
		t.Fatalf("audit after rollback: %d, %v", n, err)
	}
}

func TestMigrationsFromEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	s.w.QueryRow("PRAGMA user_version").Scan(&v)
	var mode string
	s.w.QueryRow("PRAGMA journal_mode").Scan(&mode)
	s.Close()
	if v != SchemaVersion() || v < 1 {
		t.Fatalf("schema version %d, want %d", v, SchemaVersion())
	}
	if mode != "wal" {
		t.Fatalf("journal mode %q", mode)
	}
	// Reopening applies nothing twice.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s.w.Exec("PRAGMA user_version = 99")
	s.Close()
	if _, err := Open(ctx, path); err == nil {
		t.Fatal("a database from a newer hub was opened")
	}
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAuditTamper(t *testing.T) {
	tamper := map[string]string{
		"edit detail":    "UPDATE audit SET detail = 'nothing happened' WHERE seq = 2",
		"edit time":      "UPDATE audit SET at = at + 1 WHERE seq = 3",
		"delete middle":  "DELETE FROM audit WHERE seq = 2",
		"delete newest":  "DELETE FROM audit WHERE seq = 4",
		"delete and fix": "DELETE FROM audit WHERE seq = 4; UPDATE audit_head SET seq = 3",
		"rehash one":     "UPDATE audit SET action = 'x', hash = 'ab' WHERE seq = 1",
		"swap actor":     "UPDATE audit SET actor_id = 77 WHERE seq = 1",
		"truncate":       "DELETE FROM audit",
	}
	for name, q := range tamper {
		t.Run(name, func(t *testing.T) {
			s, path := openSQLite(t)
			tn := newTenant(t, s, guidA)
			write(t, s, func(tx Tx) error {
				for i := range 4 {
					if err := tx.Audit(&AuditEvent{TenantID: tn.ID, At: now.Add(time.Duration(i) * time.Second), ActorKind: "admin", ActorID: 1, Action: "a", Target: "t", Detail: "d"}); err != nil {
						return err
					}
				}
				return nil
			})
			if _, err := s.VerifyAudit(ctx); err != nil {
				t.Fatalf("intact chain: %v", err)
			}
			if _, err := rawDB(t, path).Exec(q); err != nil {
				t.Fatal(err)
			}
			if _, err := s.VerifyAudit(ctx); !errors.Is(err, ErrAuditBroken) {
				t.Fatalf("after %q: %v, want ErrAuditBroken", q, err)
			}
		})
	}
}

func TestBackup(t *testing.T) {
	s, _ := openSQLite(t)
	newTenant(t, s, guidA)
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, dst); !errors.Is(err, ErrConflict) {
		t.Fatalf("backup over an existing file: %v", err)
	}
	c, err := Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Read(ctx, func(tx Tx) error {
		if _, err := tx.Tenant(guidA); err != nil {
			t.Fatalf("tenant in backup: %v", err)
		}
		return nil
	})
}

// TestMigrationUpgradeKeepsData builds a database at schema version 1 (migration 0001 only) with data in it and
// checks that every later migration applies on top without losing rows: accounts keep their names, the owner stays
// an active owner, a co-managed tech's organization becomes a record with co-management on, and active techs and
// agents get a seat dated from before the upgrade.
func TestMigrationUpgradeKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := rawDB(t, path)
	v1, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	at := now.UnixNano()
	for _, q := range []string{string(v1), "PRAGMA user_version = 1",
		fmt.Sprintf("INSERT INTO tenants (id, guid, name, abbrev, recovery, policy, created_at) VALUES (1, '%s', 'MSP', 'ms', 'age1pq1recovery', '{}', %d)", guidA, at),
		fmt.Sprintf("INSERT INTO admins (tenant_id, name, role, public_key, key_id, created_at) VALUES (1, 'Owner', 'owner', 'pk-o', 'key-o', %d)", at),
		fmt.Sprintf("INSERT INTO techs (id, tenant_id, username, display_name, email, organization, co_managed, status, public_key, key_id, fingerprint, created_at, updated_at) VALUES (1, 1, 'alice', 'alice', 'a@x', 'Contoso', 1, 'active', 'pk-a', 'key-a', 'fp', %d, %d)", at, at),
		fmt.Sprintf("INSERT INTO agents (id, tenant_id, name, driver, status, public_key, key_id, created_at) VALUES (1, 1, 'x.local', 'ad', 'active', 'pk-x', 'key-x', %d)", at),
		fmt.Sprintf("INSERT INTO accounts (tenant_id, tech_id, agent_id, name, created_at) VALUES (1, 1, 1, 'alice-ms', %d)", at),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer s2.Close()
	s2.Read(ctx, func(tx Tx) error {
		accs, err := tx.AccountsByTech(1, 1)
		if err != nil || len(accs) != 1 || accs[0].Name != "alice-ms" || accs[0].RotateReason != "" || accs[0].Adopted || accs[0].RetryVersion != 0 || !accs[0].RetriedAt.IsZero() {
			t.Fatalf("accounts after upgrade: %+v, %v", accs, err)
		}
		if a, err := tx.AdminByKey(1, "key-o"); err != nil || a.Role != wire.RoleOwner || a.Status != wire.AdminActive {
			t.Fatalf("owner after upgrade: %+v, %v", a, err)
		}
		if o, err := tx.OrgByName(1, "contoso"); err != nil || o.Name != "Contoso" || !o.CoManaged {
			t.Fatalf("organization after upgrade: %+v, %v", o, err)
		}
		if on, err := tx.CoManagement(1); err != nil || !on {
			t.Fatalf("co-management after upgrade: %v, %v", on, err)
		}
		seats, err := tx.Seats(1)
		if err != nil || len(seats) != 2 || !seats[0].Since.Equal(now) || seats[0].Kind != wire.SeatAgent || seats[1].Kind != wire.SeatCoManagedTech {
			t.Fatalf("seats after upgrade: %+v, %v", seats, err)
		}
		return nil
	})
	var v int
	s2.w.QueryRow("PRAGMA user_version").Scan(&v)
	if v != SchemaVersion() {
		t.Fatalf("schema version after upgrade: %d", v)
	}
}
