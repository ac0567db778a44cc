package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

func testTenants(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	isConflict(t, "duplicate GUID", writeErr(s, func(tx store.Tx) error {
		return tx.CreateTenant(&store.Tenant{GUID: guidA, Name: "dup", Policy: wire.DefaultPolicy()})
	}))
	write(t, s, func(tx store.Tx) error {
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
		got.Name = "MSP renamed"
		return tx.UpdateTenant(got)
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.TenantByID(a.ID)
		if err != nil || got.Revision != 3 || got.Policy.Length != 40 || got.Policy.NamingFormat != "{username}-{abbrev}" || !got.CreatedAt.Equal(now) ||
			got.Name != "MSP renamed" || got.GUID != guidA || got.Abbrev != "ms" || got.Recovery != "age1pq1recovery" {
			t.Fatalf("tenant after update: %+v, %v", got, err)
		}
		if other, err := tx.TenantByID(b.ID); err != nil || other.Revision != 0 || other.Name != "MSP bbbb" {
			t.Fatalf("the other tenant: %+v, %v", other, err)
		}
		all, err := tx.Tenants()
		if err != nil || len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
			t.Fatalf("tenants in creation order: %+v, %v", all, err)
		}
		_, err = tx.Tenant("nope")
		isNotFound(t, "missing tenant", err)
		_, err = tx.TenantByID(b.ID + 100)
		isNotFound(t, "missing tenant by ID", err)
		return nil
	})
	isNotFound(t, "bump a missing tenant", writeErr(s, func(tx store.Tx) error { _, err := tx.BumpRevision(b.ID + 100); return err }))
	isNotFound(t, "update a missing tenant", writeErr(s, func(tx store.Tx) error {
		return tx.UpdateTenant(&store.Tenant{ID: b.ID + 100, GUID: "x", Policy: wire.DefaultPolicy()})
	}))
}

func testTechs(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	alice := newTech(t, s, a.ID, "alice", wire.TechPending)
	newTech(t, s, b.ID, "alice", wire.TechPending) // same username, other tenant: fine
	isConflict(t, "duplicate username", writeErr(s, func(tx store.Tx) error {
		return tx.CreateTech(&store.Tech{TenantID: a.ID, Username: "alice", KeyID: "other", Status: wire.TechPending})
	}))
	isConflict(t, "duplicate key", writeErr(s, func(tx store.Tx) error {
		return tx.CreateTech(&store.Tech{TenantID: a.ID, Username: "bob", KeyID: "key-alice", Status: wire.TechPending})
	}))
	if err := writeErr(s, func(tx store.Tx) error {
		return tx.CreateTech(&store.Tech{TenantID: a.ID, Username: "carol", KeyID: "k", Status: "weird"})
	}); err == nil {
		t.Fatal("a status outside the four was stored")
	}
	bob := newTech(t, s, a.ID, "bob", wire.TechActive)
	write(t, s, func(tx store.Tx) error {
		alice.Status, alice.DisplayName, alice.Email, alice.Organization, alice.CoManaged = wire.TechActive, "Alice A", "a@contoso", "Contoso", true
		alice.UpdatedAt = now.Add(time.Minute)
		return tx.UpdateTech(alice)
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.TechByKey(a.ID, "key-alice")
		if err != nil || got.Status != wire.TechActive || got.ID != alice.ID {
			t.Fatalf("by key: %+v, %v", got, err)
		}
		if got, err := tx.Tech(a.ID, alice.ID); err != nil || *got != *alice {
			t.Fatalf("tech after update: %+v, %v; want %+v", got, err, alice)
		}
		if got, err := tx.TechByUsername(a.ID, "bob"); err != nil || got.ID != bob.ID {
			t.Fatalf("by username: %+v, %v", got, err)
		}
		_, err = tx.Tech(b.ID, alice.ID)
		isNotFound(t, "tech of tenant A through tenant B", err)
		_, err = tx.TechByKey(b.ID, "key-bob")
		isNotFound(t, "tech by key through tenant B", err)
		_, err = tx.TechByUsername(b.ID, "bob")
		isNotFound(t, "tech by username through tenant B", err)
		if list, _ := tx.Techs(a.ID, wire.TechPending); len(list) != 0 {
			t.Fatalf("pending list: %+v", list)
		}
		if list, _ := tx.Techs(a.ID, ""); len(list) != 2 || list[0].ID != alice.ID || list[1].ID != bob.ID {
			t.Fatalf("all techs of A in creation order: %+v", list)
		}
		if n, err := tx.CountTechs(a.ID, wire.TechActive); err != nil || n != 2 {
			t.Fatalf("active techs of A: %d, %v", n, err)
		}
		if n, err := tx.CountTechs(b.ID, wire.TechActive); err != nil || n != 0 {
			t.Fatalf("active techs of B: %d, %v", n, err)
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error {
		return tx.SetTechKey(a.ID, bob.ID, "pk-new", "key-new", "fp-new", now.Add(time.Hour))
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.TechByKey(a.ID, "key-new")
		if err != nil || got.ID != bob.ID || got.PublicKey != "pk-new" || got.Fingerprint != "fp-new" || !got.UpdatedAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("after a new key: %+v, %v", got, err)
		}
		_, err = tx.TechByKey(a.ID, "key-bob")
		isNotFound(t, "the replaced key", err)
		return nil
	})
	isNotFound(t, "set the key of a tech through tenant B", writeErr(s, func(tx store.Tx) error {
		return tx.SetTechKey(b.ID, bob.ID, "pk", "key-b", "fp", now)
	}))
	isNotFound(t, "update a tech through tenant B", writeErr(s, func(tx store.Tx) error { return tx.UpdateTech(moved(alice, b.ID)) }))
}

func testAdmins(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	owner := &store.Admin{TenantID: a.ID, Name: "owner", Role: wire.RoleOwner, PublicKey: "p", KeyID: "adm", CreatedAt: now}
	invited := &store.Admin{TenantID: a.ID, Name: "manager", Role: wire.RoleCoManager, PublicKey: "q", KeyID: "adm2", CreatedAt: now,
		Organization: "Contoso", Status: wire.AdminPending}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateAdmin(owner); err != nil {
			return err
		}
		return tx.CreateAdmin(invited)
	})
	if owner.Status != wire.AdminActive {
		t.Fatalf("an admin created without a status: %q, want active", owner.Status)
	}
	isConflict(t, "duplicate admin key", writeErr(s, func(tx store.Tx) error {
		return tx.CreateAdmin(&store.Admin{TenantID: a.ID, Name: "again", Role: wire.RoleAdmin, PublicKey: "p", KeyID: "adm", CreatedAt: now})
	}))
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.AdminByKey(a.ID, "adm"); err != nil || got.Role != wire.RoleOwner || *got != *owner {
			t.Fatalf("admin: %+v, %v", got, err)
		}
		_, err := tx.AdminByKey(b.ID, "adm")
		isNotFound(t, "admin across tenants", err)
		if got, err := tx.Admin(a.ID, invited.ID); err != nil || *got != *invited {
			t.Fatalf("admin by ID: %+v, %v; want %+v", got, err, invited)
		}
		_, err = tx.Admin(b.ID, invited.ID)
		isNotFound(t, "admin by ID across tenants", err)
		if list, err := tx.Admins(a.ID); err != nil || len(list) != 2 || list[0].ID != owner.ID || list[1].ID != invited.ID {
			t.Fatalf("admins in creation order: %+v, %v", list, err)
		}
		if list, err := tx.Admins(b.ID); err != nil || len(list) != 0 {
			t.Fatalf("admins of B: %+v, %v", list, err)
		}
		return nil
	})
	invited.Role, invited.Organization, invited.Status = wire.RoleAuditor, "", wire.AdminActive
	write(t, s, func(tx store.Tx) error { return tx.UpdateAdmin(invited) })
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.Admin(a.ID, invited.ID); err != nil || *got != *invited {
			t.Fatalf("admin after update: %+v, %v; want %+v", got, err, invited)
		}
		return nil
	})
	isNotFound(t, "update an admin through tenant B", writeErr(s, func(tx store.Tx) error { return tx.UpdateAdmin(moved(invited, b.ID)) }))
	isNotFound(t, "delete an admin through tenant B", writeErr(s, func(tx store.Tx) error { return tx.DeleteAdmin(b.ID, invited.ID) }))
	write(t, s, func(tx store.Tx) error { return tx.DeleteAdmin(a.ID, invited.ID) })
	isNotFound(t, "delete an admin twice", writeErr(s, func(tx store.Tx) error { return tx.DeleteAdmin(a.ID, invited.ID) }))
	read(t, s, func(tx store.Tx) error {
		if list, err := tx.Admins(a.ID); err != nil || len(list) != 1 || list[0].ID != owner.ID {
			t.Fatalf("admins after a deletion: %+v, %v", list, err)
		}
		return nil
	})
}

func testTokens(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateToken(&store.Token{TenantID: a.ID, Kind: store.TokenEnroll, Hash: "h1", ExpiresAt: now.Add(time.Hour), CreatedAt: now, ApproveOnUse: true}); err != nil {
			return err
		}
		if err := tx.CreateToken(&store.Token{TenantID: a.ID, Kind: store.TokenClaim, Role: wire.RoleCoManager, Organization: "Contoso", Hash: "c1", ExpiresAt: now.Add(time.Hour), CreatedAt: now}); err != nil {
			return err
		}
		return tx.CreateToken(&store.Token{TenantID: a.ID, Kind: store.TokenEnroll, Hash: "h2", ExpiresAt: now.Add(time.Minute), CreatedAt: now})
	})
	use := func(tenant int64, kind, hash string, at time.Time) (tok *store.Token, err error) {
		err = s.Write(ctx, func(tx store.Tx) error { tok, err = tx.UseToken(tenant, kind, hash, at); return err })
		return tok, err
	}
	if _, err := use(b.ID, store.TokenEnroll, "h1", now); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("token of another tenant: %v", err)
	}
	if _, err := use(a.ID, store.TokenClaim, "h1", now); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("token of another kind: %v", err)
	}
	if tok, err := use(a.ID, store.TokenEnroll, "h1", now); err != nil || !tok.ApproveOnUse || !tok.UsedAt.Equal(now) || !tok.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("first use: %+v, %v", tok, err)
	}
	if _, err := use(a.ID, store.TokenEnroll, "h1", now); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := use(a.ID, store.TokenEnroll, "h2", now.Add(2*time.Minute)); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("expired: %v", err)
	}
	if tok, err := use(a.ID, store.TokenClaim, "c1", now); err != nil || tok.Role != wire.RoleCoManager || tok.Organization != "Contoso" || tok.ApproveOnUse {
		t.Fatalf("claim token: %+v, %v", tok, err)
	}
}

// testSecurity: a tech without two-factor state has the zero state; the state and the tenant's policy round-trip
// and stay within their tenant.
func testSecurity(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	alice := newTech(t, s, a.ID, "alice", wire.TechActive)
	bob := newTech(t, s, a.ID, "bob", wire.TechActive)
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.TechSecurity(a.ID, alice.ID); err != nil || *got != (store.TechSecurity{TechID: alice.ID, TenantID: a.ID}) {
			t.Fatalf("a tech without state: %+v, %v", got, err)
		}
		_, err := tx.TechSecurity(b.ID, alice.ID)
		isNotFound(t, "security of a tech through tenant B", err)
		if list, err := tx.TechSecurities(a.ID); err != nil || len(list) != 0 {
			t.Fatalf("no state yet: %+v, %v", list, err)
		}
		if p, err := tx.SecurityPolicy(a.ID); err != nil || p != wire.DefaultSecurityPolicy() {
			t.Fatalf("policy never set: %+v, %v", p, err)
		}
		return nil
	})
	sa := &store.TechSecurity{TechID: alice.ID, TenantID: a.ID, TOTPSecret: "JBSWY3DPEHPK3PXP", TOTPEnrolledAt: now, TOTPLastStep: 42,
		PauseNextLogin: true, PauseUntil: now.Add(time.Hour), SessionKey: "key-alice", SessionUntil: now.Add(8 * time.Hour),
		Failures: 2, LockedAt: now.Add(time.Minute), LockReason: "too many codes"}
	sb := &store.TechSecurity{TechID: bob.ID, TenantID: a.ID, Failures: 1}
	write(t, s, func(tx store.Tx) error {
		if err := tx.PutTechSecurity(sb); err != nil {
			return err
		}
		return tx.PutTechSecurity(sa)
	})
	isNotFound(t, "put the state of a tech through tenant B", writeErr(s, func(tx store.Tx) error {
		return tx.PutTechSecurity(&store.TechSecurity{TechID: alice.ID, TenantID: b.ID})
	}))
	// An update replaces every field.
	sa = &store.TechSecurity{TechID: alice.ID, TenantID: a.ID, TOTPSecret: "KRUGS4ZANFZSAYLO", TOTPEnrolledAt: now.Add(time.Hour), TOTPLastStep: 43,
		SessionKey: "key-other", SessionUntil: now.Add(9 * time.Hour), Failures: 0, LockReason: ""}
	pol := wire.DefaultSecurityPolicy()
	pol.TOTPForMSPTechs, pol.LockoutAttempts, pol.SessionHours = true, 3, 24
	write(t, s, func(tx store.Tx) error {
		if err := tx.PutTechSecurity(sa); err != nil {
			return err
		}
		return tx.SetSecurityPolicy(a.ID, pol)
	})
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.TechSecurity(a.ID, alice.ID); err != nil || *got != *sa {
			t.Fatalf("state: %+v, %v; want %+v", got, err, sa)
		}
		if list, err := tx.TechSecurities(a.ID); err != nil || len(list) != 2 || list[0] != *sa || list[1] != *sb {
			t.Fatalf("states by tech: %+v, %v", list, err)
		}
		if list, err := tx.TechSecurities(b.ID); err != nil || len(list) != 0 {
			t.Fatalf("states of B: %+v, %v", list, err)
		}
		if p, err := tx.SecurityPolicy(a.ID); err != nil || p != pol {
			t.Fatalf("policy: %+v, %v; want %+v", p, err, pol)
		}
		if p, err := tx.SecurityPolicy(b.ID); err != nil || p != wire.DefaultSecurityPolicy() {
			t.Fatalf("policy of B: %+v, %v", p, err)
		}
		return nil
	})
}

// testRekeys: a re-key is decided once, contested only while pending, listed newest first and kept within its
// tenant.
func testRekeys(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	alice := newTech(t, s, a.ID, "alice", wire.TechActive)
	first := &store.Rekey{TenantID: a.ID, TechID: alice.ID, PublicKey: "pk-1", KeyID: "key-1", Fingerprint: "fp-1",
		OldKeyID: "key-alice", OldFingerprint: "fp", Status: wire.RekeyPending, CreatedAt: now}
	second := &store.Rekey{TenantID: a.ID, TechID: alice.ID, PublicKey: "pk-2", KeyID: "key-2", Fingerprint: "fp-2",
		OldKeyID: "key-alice", OldFingerprint: "fp", Status: wire.RekeyPending, CreatedAt: now.Add(time.Minute)}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateRekey(first); err != nil {
			return err
		}
		return tx.CreateRekey(second)
	})
	isConflict(t, "a second re-key with one key", writeErr(s, func(tx store.Tx) error {
		again := *first
		return tx.CreateRekey(&again)
	}))
	write(t, s, func(tx store.Tx) error {
		if err := tx.ContestRekey(a.ID, first.ID, "fp-x", now.Add(time.Second)); err != nil {
			return err
		}
		if err := tx.ContestRekey(a.ID, first.ID, "fp-y", now.Add(2*time.Second)); err != nil {
			return err
		}
		return tx.DecideRekey(a.ID, second.ID, wire.RekeyRejected, now.Add(time.Hour))
	})
	isNotFound(t, "decide a decided re-key", writeErr(s, func(tx store.Tx) error {
		return tx.DecideRekey(a.ID, second.ID, wire.RekeyApproved, now)
	}))
	isNotFound(t, "contest a decided re-key", writeErr(s, func(tx store.Tx) error {
		return tx.ContestRekey(a.ID, second.ID, "fp-z", now)
	}))
	isNotFound(t, "decide a re-key through tenant B", writeErr(s, func(tx store.Tx) error {
		return tx.DecideRekey(b.ID, first.ID, wire.RekeyApproved, now)
	}))
	isNotFound(t, "contest a re-key through tenant B", writeErr(s, func(tx store.Tx) error {
		return tx.ContestRekey(b.ID, first.ID, "fp-z", now)
	}))
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Rekey(a.ID, first.ID)
		if err != nil || got.Contested != 2 || got.ContestedFingerprint != "fp-y" || !got.ContestedAt.Equal(now.Add(2*time.Second)) ||
			got.Status != wire.RekeyPending || got.OldKeyID != "key-alice" || got.PublicKey != "pk-1" || !got.CreatedAt.Equal(now) {
			t.Fatalf("contested re-key: %+v, %v", got, err)
		}
		if got, err := tx.RekeyByKey(a.ID, "key-2"); err != nil || got.ID != second.ID || got.Status != wire.RekeyRejected || !got.DecidedAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("decided re-key by key: %+v, %v", got, err)
		}
		_, err = tx.Rekey(b.ID, first.ID)
		isNotFound(t, "re-key through tenant B", err)
		_, err = tx.RekeyByKey(b.ID, "key-1")
		isNotFound(t, "re-key by key through tenant B", err)
		all, err := tx.Rekeys(a.ID, "")
		if err != nil || len(all) != 2 || all[0].ID != second.ID || all[1].ID != first.ID {
			t.Fatalf("re-keys newest first: %+v, %v", all, err)
		}
		pending, err := tx.Rekeys(a.ID, wire.RekeyPending)
		if err != nil || len(pending) != 1 || pending[0].ID != first.ID {
			t.Fatalf("pending re-keys: %+v, %v", pending, err)
		}
		if other, err := tx.Rekeys(b.ID, ""); err != nil || len(other) != 0 {
			t.Fatalf("re-keys of B: %+v, %v", other, err)
		}
		return nil
	})
	write(t, s, func(tx store.Tx) error { return tx.DecideRekey(a.ID, first.ID, wire.RekeyApproved, now.Add(time.Hour)) })
	read(t, s, func(tx store.Tx) error {
		list, err := tx.Rekeys(a.ID, wire.RekeyApproved)
		if err != nil || !slices.EqualFunc(list, []store.Rekey{{ID: first.ID}}, func(x, y store.Rekey) bool { return x.ID == y.ID }) {
			t.Fatalf("approved re-keys: %+v, %v", list, err)
		}
		return nil
	})
}

// testTechShortName: a tech's short name is stored, listed, taken away, and never set through another tenant.
func testTechShortName(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	tm := newTech(t, s, a.ID, "maximilian.oz", wire.TechActive)
	write(t, s, func(tx store.Tx) error { return tx.SetTechShortName(a.ID, tm.ID, "maxo", now.Add(time.Minute)) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Tech(a.ID, tm.ID)
		if err != nil || got.ShortName != "maxo" || !got.UpdatedAt.Equal(now.Add(time.Minute)) || got.Username != "maximilian.oz" {
			t.Fatalf("after a short name: %+v, %v", got, err)
		}
		if list, err := tx.Techs(a.ID, wire.TechActive); err != nil || len(list) != 1 || list[0].ShortName != "maxo" {
			t.Fatalf("listed: %+v, %v", list, err)
		}
		return nil
	})
	isNotFound(t, "set a short name through tenant B", writeErr(s, func(tx store.Tx) error {
		return tx.SetTechShortName(b.ID, tm.ID, "evil", now)
	}))
	write(t, s, func(tx store.Tx) error { return tx.SetTechShortName(a.ID, tm.ID, "", now.Add(time.Hour)) })
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.TechByUsername(a.ID, "maximilian.oz"); err != nil || got.ShortName != "" {
			t.Fatalf("after taking the short name away: %+v, %v", got, err)
		}
		return nil
	})
}

// testAPIIdentities: a claim token's API fields reach the claim that uses it, and an admin's API fields round-trip
// through create, read and update while an interactive admin's stay zero.
func testAPIIdentities(t *testing.T, s store.Store) {
	a, _ := twoTenants(t, s)
	exp := now.Add(90 * 24 * time.Hour)
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateToken(&store.Token{TenantID: a.ID, Kind: store.TokenClaim, Role: wire.RoleAuditor, Hash: "api1", ExpiresAt: now.Add(time.Hour), CreatedAt: now,
			API: true, APIExpiresAt: exp, APISources: "192.0.2.0/24 2001:db8::/32"}); err != nil {
			return err
		}
		return tx.CreateToken(&store.Token{TenantID: a.ID, Kind: store.TokenClaim, Role: wire.RoleAdmin, Hash: "plain", ExpiresAt: now.Add(time.Hour), CreatedAt: now})
	})
	write(t, s, func(tx store.Tx) error {
		tok, err := tx.UseToken(a.ID, store.TokenClaim, "api1", now)
		if err != nil || !tok.API || !tok.APIExpiresAt.Equal(exp) || tok.APISources != "192.0.2.0/24 2001:db8::/32" {
			t.Fatalf("API claim token: %+v, %v", tok, err)
		}
		tok, err = tx.UseToken(a.ID, store.TokenClaim, "plain", now)
		if err != nil || tok.API || !tok.APIExpiresAt.IsZero() || tok.APISources != "" {
			t.Fatalf("interactive claim token: %+v, %v", tok, err)
		}
		return nil
	})
	api := &store.Admin{TenantID: a.ID, Name: "rmm-sync", Role: wire.RoleAuditor, PublicKey: "k", KeyID: "api", CreatedAt: now,
		Status: wire.AdminPending, API: true, APIExpiresAt: exp, APISources: "192.0.2.0/24"}
	human := &store.Admin{TenantID: a.ID, Name: "human", Role: wire.RoleOwner, PublicKey: "h", KeyID: "human", CreatedAt: now}
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateAdmin(api); err != nil {
			return err
		}
		return tx.CreateAdmin(human)
	})
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.AdminByKey(a.ID, "api"); err != nil || *got != *api {
			t.Fatalf("API identity: %+v, %v, want %+v", got, err, api)
		}
		if got, err := tx.Admin(a.ID, human.ID); err != nil || got.API || !got.APIExpiresAt.IsZero() || got.APISources != "" {
			t.Fatalf("interactive admin: %+v, %v", got, err)
		}
		return nil
	})
	api.Status = wire.AdminActive
	write(t, s, func(tx store.Tx) error { return tx.UpdateAdmin(api) })
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.Admin(a.ID, api.ID); err != nil || *got != *api {
			t.Fatalf("approved API identity: %+v, %v", got, err)
		}
		return nil
	})
}
