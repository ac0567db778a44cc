// Package storetest is the contract of store.Store as a test suite: every implementation of the hub's storage
// runs it, so that what store.go states in prose is checked the same way for each.
//
// A new implementation uses it from its own test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := openMyStore(t) // new, empty, migrated; closed by t.Cleanup
//			return s
//		})
//	}
//
//	func TestAuditTamper(t *testing.T) {
//		storetest.RunTamper(t, openMyStore, func(t *testing.T, s store.Store, how storetest.Tampering) {
//			// apply how to s's stored audit log behind its back, as storetest.Tamperings describe
//		})
//	}
//
// Run gives every case a fresh store from open. The cases use a fixed clock and assert round trips, the
// ErrNotFound, ErrConflict and ErrTokenInvalid sentinels, list orders, tenant isolation (tenant B never sees or
// changes tenant A's rows) and that a failed Write leaves nothing behind. RunTamper checks that VerifyAudit and
// VerifyAuditOf detect alterations made outside the store, which only the implementation knows how to make.
//
// Files:
//   - storetest.go: Run, RunTamper, the Tampering list and the fixtures the cases share.
//   - people.go: tenants, techs, admins, tokens, two-factor state and the security policy, re-keys.
//   - access.go: agents, groups, rights, triplets and just-in-time grants.
//   - accounts.go: accounts, sealed versions and their agents' signatures, unresolved versions, history and pruning.
//   - audit.go: the audit chain, rollback of a failed Write, backup, health and close.
//   - orgs.go: organizations, co-management, seats, CSV imports and reservations.
//   - authority.go: the signed authority's updates and the agents' receipts.
//   - collectors.go: the audit stream's collectors and their cursors.
//   - coverage_test.go: fails when a method of store.Store or store.Tx is called by no case, so the suite stays
//     complete as methods are added.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// Opener returns a new, empty store, closed when t ends.
type Opener func(t *testing.T) store.Store

// Run runs every case of the contract against stores from open.
func Run(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"tenants", testTenants},
		{"techs", testTechs},
		{"tech short names", testTechShortName},
		{"tech device and tombstone", testTechLife},
		{"admins", testAdmins},
		{"tokens", testTokens},
		{"api identities", testAPIIdentities},
		{"security", testSecurity},
		{"rekeys", testRekeys},
		{"agents", testAgents},
		{"groups", testGroups},
		{"rights", testRights},
		{"triplets", testTriplets},
		{"jit", testJITGrants},
		{"accounts", testAccountsAndVersions},
		{"version signatures", testVersionSignatures},
		{"unresolved", testUnresolved},
		{"history", testHistory},
		{"retire", testRetireTechVersions},
		{"audit", testAuditQuery},
		{"rollback", testRollback},
		{"backup", testBackup},
		{"health", testHealth},
		{"close", testClose},
		{"orgs", testOrgs},
		{"seats", testSeats},
		{"imports", testImports},
		{"authority", testAuthority},
		{"agent authority", testAgentAuthority},
		{"audit collectors", testCollectors},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// Tampering is one alteration of a stored audit log made behind the store's back, as by someone with write
// access to the database. RunTamper appends events 1 to 4 to one tenant's chain before asking for it.
type Tampering string

// The alterations RunTamper asks for; each must show as store.ErrAuditBroken.
const (
	EditDetail   Tampering = "edit detail"    // change the detail of event 2
	EditTime     Tampering = "edit time"      // move the time of event 3 by a nanosecond
	DeleteMiddle Tampering = "delete middle"  // delete event 2
	DeleteNewest Tampering = "delete newest"  // delete event 4
	DeleteAndFix Tampering = "delete and fix" // delete event 4 and set the chain's head to sequence 3, keeping its hash
	Rehash       Tampering = "rehash one"     // change the action of event 1 and store another hash for it
	SwapActor    Tampering = "swap actor"     // change the actor ID of event 1
	DeleteAll    Tampering = "truncate"       // delete every event, keeping the chain's head
)

// Tamperings lists every Tampering, in the order RunTamper applies them.
var Tamperings = []Tampering{EditDetail, EditTime, DeleteMiddle, DeleteNewest, DeleteAndFix, Rehash, SwapActor, DeleteAll}

// RunTamper checks, for each of Tamperings on a fresh store from open, that an intact chain verifies and that
// the chain altered by tamper no longer does, as a whole or as its tenant's.
func RunTamper(t *testing.T, open Opener, tamper func(t *testing.T, s store.Store, how Tampering)) {
	for _, how := range Tamperings {
		t.Run(string(how), func(t *testing.T) {
			s := open(t)
			tn := newTenant(t, s, guidA)
			write(t, s, func(tx store.Tx) error {
				for i := range 4 {
					if err := tx.Audit(&store.AuditEvent{TenantID: tn.ID, At: now.Add(time.Duration(i) * time.Second), ActorKind: "admin", ActorID: 1, Action: "a", Target: "t", Detail: "d"}); err != nil {
						return err
					}
				}
				return nil
			})
			if n, err := s.VerifyAudit(ctx); err != nil || n != 4 {
				t.Fatalf("intact chain: %d, %v", n, err)
			}
			tamper(t, s, how)
			if _, err := s.VerifyAudit(ctx); !errors.Is(err, store.ErrAuditBroken) {
				t.Fatalf("after %q: %v, want ErrAuditBroken", how, err)
			}
			if _, err := s.VerifyAuditOf(ctx, tn.ID); !errors.Is(err, store.ErrAuditBroken) {
				t.Fatalf("tenant's chain after %q: %v, want ErrAuditBroken", how, err)
			}
		})
	}
}

var ctx = context.Background()

// now is the suite's clock: no case reads the wall clock.
var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const (
	guidA = "aaaaaaaa-0000-4000-8000-000000000001"
	guidB = "bbbbbbbb-0000-4000-8000-000000000002"
)

// write runs fn in a Write and fails the test if it fails.
func write(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Write(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

// read runs fn in a Read and fails the test if it fails.
func read(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Read(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

// writeErr is the error of a Write of fn, which the caller expects to fail.
func writeErr(s store.Store, fn func(store.Tx) error) error { return s.Write(ctx, fn) }

func newTenant(t *testing.T, s store.Store, guid string) *store.Tenant {
	t.Helper()
	tn := &store.Tenant{GUID: guid, Name: "MSP " + guid[:4], Abbrev: "ms", Recovery: "age1pq1recovery", Policy: wire.DefaultPolicy(), CreatedAt: now}
	write(t, s, func(tx store.Tx) error { return tx.CreateTenant(tn) })
	return tn
}

// twoTenants makes tenant A, whose rows a case creates, and tenant B, which must never see them.
func twoTenants(t *testing.T, s store.Store) (a, b *store.Tenant) {
	t.Helper()
	return newTenant(t, s, guidA), newTenant(t, s, guidB)
}

func newTech(t *testing.T, s store.Store, tenant int64, user string, st wire.TechStatus) *store.Tech {
	t.Helper()
	tc := &store.Tech{TenantID: tenant, Username: user, DisplayName: user, Email: user + "@x", Status: st, PublicKey: "pk-" + user,
		KeyID: "key-" + user, Fingerprint: "fp", CreatedAt: now, UpdatedAt: now}
	write(t, s, func(tx store.Tx) error { return tx.CreateTech(tc) })
	return tc
}

func newAgent(t *testing.T, s store.Store, tenant int64, name string) *store.Agent {
	t.Helper()
	a := &store.Agent{TenantID: tenant, Name: name, Driver: "ad", Status: wire.AgentActive, PublicKey: "pk-" + name, KeyID: "key-" + name, CreatedAt: now}
	write(t, s, func(tx store.Tx) error { return tx.CreateAgent(a) })
	return a
}

// newAccount makes tenant A's tech alice with an account on agent contoso.local.
func newAccount(t *testing.T, s store.Store, a *store.Tenant) (*store.Tech, *store.Agent, *store.Account) {
	t.Helper()
	tc := newTech(t, s, a.ID, "alice", wire.TechActive)
	ag := newAgent(t, s, a.ID, "contoso.local")
	var acc *store.Account
	write(t, s, func(tx store.Tx) (err error) {
		acc, err = tx.EnsureAccount(a.ID, tc.ID, ag.ID, "alice-ms", now)
		return
	})
	return tc, ag, acc
}

// stage stores version v of the account, then fails it with reason or confirms it at confirmAt if either is set.
func stage(t *testing.T, s store.Store, tenant, account, v int64, reason string, confirmAt time.Time) {
	t.Helper()
	write(t, s, func(tx store.Tx) error {
		if err := tx.StageVersion(tenant, &store.Version{AccountID: account, Version: v, Envelope: []byte{byte(v)}, StagedAt: now}); err != nil {
			return err
		}
		switch {
		case reason != "":
			return tx.FailVersion(tenant, account, v, reason)
		case !confirmAt.IsZero():
			return tx.ConfirmVersion(tenant, account, v, confirmAt)
		}
		return nil
	})
}

// moved is a copy of row, a pointer to one of the store's row types, in tenant: updating it must not change the
// row in its own tenant.
func moved[T any](row *T, tenant int64) *T {
	c := *row
	reflect.ValueOf(&c).Elem().FieldByName("TenantID").SetInt(tenant)
	return &c
}

// isNotFound fails the test unless err is store.ErrNotFound; what names the attempt.
func isNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s: %v, want ErrNotFound", what, err)
	}
}

// isConflict fails the test unless err is store.ErrConflict.
func isConflict(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("%s: %v, want ErrConflict", what, err)
	}
}
