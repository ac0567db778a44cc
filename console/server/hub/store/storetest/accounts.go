package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

func testAccountsAndVersions(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	tc := newTech(t, s, a.ID, "alice", wire.TechActive)
	tc2 := newTech(t, s, a.ID, "bob", wire.TechActive)
	ag := newAgent(t, s, a.ID, "contoso.local")
	ag2 := newAgent(t, s, a.ID, "fabrikam.local")
	var acc, acc2, acc3 *store.Account
	write(t, s, func(tx store.Tx) error {
		var err error
		acc, err = tx.EnsureAccount(a.ID, tc.ID, ag.ID, "alice-ms", now)
		if err != nil {
			return err
		}
		again, err := tx.EnsureAccount(a.ID, tc.ID, ag.ID, "renamed", now)
		if err != nil || again.ID != acc.ID || again.Name != "alice-ms" {
			t.Fatalf("ensure twice: %+v, %v", again, err)
		}
		if acc2, err = tx.EnsureAccount(a.ID, tc2.ID, ag.ID, "bob-ms", now); err != nil {
			return err
		}
		acc3, err = tx.EnsureAccount(a.ID, tc.ID, ag2.ID, "alice-ms", now) // the same name on another agent: fine
		return err
	})
	isConflict(t, "second account with the same name on one agent", writeErr(s, func(tx store.Tx) error {
		_, err := tx.EnsureAccount(a.ID, tc2.ID, ag2.ID, "alice-ms", now)
		return err
	}))
	isNotFound(t, "account across tenants", writeErr(s, func(tx store.Tx) error {
		_, err := tx.EnsureAccount(b.ID, tc.ID, ag.ID, "x", now)
		return err
	}))
	read(t, s, func(tx store.Tx) error {
		got, err := tx.Account(a.ID, acc.ID)
		if err != nil || *got != *acc || got.State != "planned" || !got.CreatedAt.Equal(now) || got.TechID != tc.ID || got.AgentID != ag.ID {
			t.Fatalf("account: %+v, %v; want %+v", got, err, acc)
		}
		_, err = tx.Account(b.ID, acc.ID)
		isNotFound(t, "account through tenant B", err)
		byAgent, err := tx.AccountsByAgent(a.ID, ag.ID)
		if err != nil || len(byAgent) != 2 || byAgent[0].ID != acc.ID || byAgent[1].ID != acc2.ID {
			t.Fatalf("accounts of the agent: %+v, %v", byAgent, err)
		}
		byTech, err := tx.AccountsByTech(a.ID, tc.ID)
		if err != nil || len(byTech) != 2 || byTech[0].ID != acc.ID || byTech[1].ID != acc3.ID {
			t.Fatalf("accounts of the tech: %+v, %v", byTech, err)
		}
		if l, err := tx.AccountsByAgent(b.ID, ag.ID); err != nil || len(l) != 0 {
			t.Fatalf("accounts of the agent through tenant B: %+v, %v", l, err)
		}
		if l, err := tx.AccountsByTech(b.ID, tc.ID); err != nil || len(l) != 0 {
			t.Fatalf("accounts of the tech through tenant B: %+v, %v", l, err)
		}
		return nil
	})
	stageErr := func(v int64) error {
		return s.Write(ctx, func(tx store.Tx) error {
			return tx.StageVersion(a.ID, &store.Version{AccountID: acc.ID, Version: v, Envelope: []byte{byte(v)}, StagedAt: now})
		})
	}
	stage(t, s, a.ID, acc.ID, 1, "", now)
	isConflict(t, "restage 1", stageErr(1))
	stage(t, s, a.ID, acc.ID, 2, "target refused", time.Time{})
	stage(t, s, a.ID, acc.ID, 3, "", time.Time{})
	stage(t, s, a.ID, acc.ID, 4, "", now.Add(time.Hour))
	isConflict(t, "confirm a failed version", writeErr(s, func(tx store.Tx) error { return tx.ConfirmVersion(a.ID, acc.ID, 2, now) }))
	isConflict(t, "fail a confirmed version", writeErr(s, func(tx store.Tx) error { return tx.FailVersion(a.ID, acc.ID, 4, "late") }))
	isNotFound(t, "confirm a missing version", writeErr(s, func(tx store.Tx) error { return tx.ConfirmVersion(a.ID, acc.ID, 9, now) }))
	isNotFound(t, "confirm across tenants", writeErr(s, func(tx store.Tx) error { return tx.ConfirmVersion(b.ID, acc.ID, 4, now) }))
	isNotFound(t, "fail across tenants", writeErr(s, func(tx store.Tx) error { return tx.FailVersion(b.ID, acc.ID, 4, "x") }))
	isNotFound(t, "stage across tenants", writeErr(s, func(tx store.Tx) error {
		return tx.StageVersion(b.ID, &store.Version{AccountID: acc.ID, Version: 9, Envelope: []byte{9}, StagedAt: now})
	}))
	read(t, s, func(tx store.Tx) error {
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
		if vs[2].Reason != "target refused" || !slices.Equal(vs[0].Envelope, []byte{4}) || !vs[0].ConfirmedAt.Equal(now.Add(time.Hour)) || !vs[0].StagedAt.Equal(now) {
			t.Fatalf("versions: %+v", vs)
		}
		_, err = tx.Versions(b.ID, acc.ID)
		isNotFound(t, "versions through tenant B", err)
		latest, err := tx.LatestVersions(a.ID, ag.ID)
		if err != nil || len(latest) != 1 || latest[acc.ID].Version != 4 || latest[acc.ID].State != "confirmed" || latest[acc.ID].Envelope != nil {
			t.Fatalf("latest versions: %+v, %v", latest, err)
		}
		if other, err := tx.LatestVersions(b.ID, ag.ID); err != nil || len(other) != 0 {
			t.Fatalf("latest versions through another tenant: %+v, %v", other, err)
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
		if none, err := tx.LiveVersionsOfAccounts(a.ID, tc.ID, nil); err != nil || len(none) != 0 {
			t.Fatalf("live versions of no account: %+v, %v", none, err)
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
	write(t, s, func(tx store.Tx) error {
		if n, err := tx.RequestRotation(a.ID, tc.ID, 0, 0, now); err != nil || n != 2 {
			t.Fatalf("rotate by tech: %d, %v", n, err)
		}
		if n, err := tx.RequestRotation(a.ID, 0, ag.ID, 0, now); err != nil || n != 2 {
			t.Fatalf("rotate by agent: %d, %v", n, err)
		}
		if n, err := tx.RequestRotation(a.ID, tc.ID, ag.ID, 0, now); err != nil || n != 1 {
			t.Fatalf("rotate by tech and agent: %d, %v", n, err)
		}
		if n, err := tx.RequestRotation(a.ID, 0, 0, acc2.ID, now.Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("rotate one account: %d, %v", n, err)
		}
		if n, err := tx.RequestRotation(b.ID, 0, 0, 0, now); err != nil || n != 0 {
			t.Fatalf("rotate in other tenant: %d, %v", n, err)
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		ac, err := tx.Account(a.ID, acc2.ID)
		if err != nil || !ac.RotateRequestedAt.Equal(now.Add(time.Minute)) || ac.RotateReason != wire.DueRotateNow {
			t.Fatalf("account after a rotation request: %+v, %v", ac, err)
		}
		return nil
	})
	acc3.State, acc3.LastError, acc3.RotateRequestedAt, acc3.RotateReason = "error", "bind refused", now.Add(2*time.Hour), wire.DueAfterReveal
	write(t, s, func(tx store.Tx) error { return tx.UpdateAccount(acc3) })
	read(t, s, func(tx store.Tx) error {
		if got, err := tx.Account(a.ID, acc3.ID); err != nil || *got != *acc3 {
			t.Fatalf("account after update: %+v, %v; want %+v", got, err, acc3)
		}
		return nil
	})
	isNotFound(t, "update an account through tenant B", writeErr(s, func(tx store.Tx) error { return tx.UpdateAccount(moved(acc3, b.ID)) }))
}

// testUnresolved: failed versions and staged ones never confirmed count as unresolved above the last confirmed
// version and the version current at the admin's last retry; the adoption and retry fields persist.
func testUnresolved(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	_, _, acc := newAccount(t, s, a)
	unresolved := func() (int, string) {
		t.Helper()
		var n int
		var reason string
		read(t, s, func(tx store.Tx) (err error) { n, reason, err = tx.Unresolved(a.ID, acc.ID); return })
		return n, reason
	}
	step := func(v int64, fail string, confirm bool) {
		t.Helper()
		var at time.Time
		if confirm {
			at = now
		}
		stage(t, s, a.ID, acc.ID, v, fail, at)
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
	write(t, s, func(tx store.Tx) error {
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
	read(t, s, func(tx store.Tx) error {
		ac, err := tx.Account(a.ID, acc.ID)
		if err != nil || !ac.Adopted || !ac.RetriedAt.Equal(now) || ac.RetryVersion != 6 || ac.CurrentVersion != 7 {
			t.Fatalf("account after adoption and retry: %+v, %v", ac, err)
		}
		_, _, err = tx.Unresolved(b.ID, acc.ID)
		isNotFound(t, "unresolved across tenants", err)
		return nil
	})
}

// testHistory: History lists the versions ever confirmed, newest first, with envelopes; PruneVersions keeps the
// newest confirmed ones and every staged one, and deletes the rest below them.
func testHistory(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	_, _, acc := newAccount(t, s, a)
	stage(t, s, a.ID, acc.ID, 1, "target refused", time.Time{}) // failed before any confirmation
	for v := int64(2); v <= 5; v++ {
		stage(t, s, a.ID, acc.ID, v, "", now.Add(time.Duration(v)*time.Hour))
	}
	stage(t, s, a.ID, acc.ID, 6, "bind refused", time.Time{})
	stage(t, s, a.ID, acc.ID, 7, "", time.Time{}) // staged: the target may hold it
	versionsOf := func(vs []store.Version) []int64 {
		var out []int64
		for _, v := range vs {
			out = append(out, v.Version)
		}
		return out
	}
	read(t, s, func(tx store.Tx) error {
		h, err := tx.History(a.ID, acc.ID, 3)
		if err != nil || !slices.Equal(versionsOf(h), []int64{5, 4, 3}) || !slices.Equal(h[0].Envelope, []byte{5}) ||
			h[0].State != wire.VersionConfirmed || h[1].State != wire.VersionSuperseded || !h[1].ConfirmedAt.Equal(now.Add(4*time.Hour)) {
			t.Fatalf("history of 3: %+v, %v", h, err)
		}
		if h, err := tx.History(a.ID, acc.ID, 10); err != nil || !slices.Equal(versionsOf(h), []int64{5, 4, 3, 2}) {
			t.Fatalf("whole history: %+v, %v", h, err)
		}
		_, err = tx.History(b.ID, acc.ID, 3)
		isNotFound(t, "history through tenant B", err)
		return nil
	})
	if err := writeErr(s, func(tx store.Tx) error { _, err := tx.PruneVersions(a.ID, acc.ID, 0); return err }); err == nil {
		t.Fatal("pruned keeping nothing")
	}
	isNotFound(t, "prune through tenant B", writeErr(s, func(tx store.Tx) error { _, err := tx.PruneVersions(b.ID, acc.ID, 2); return err }))
	write(t, s, func(tx store.Tx) error {
		if n, err := tx.PruneVersions(a.ID, acc.ID, 2); err != nil || n != 3 {
			t.Fatalf("prune to 2: %d, %v", n, err)
		}
		if n, err := tx.PruneVersions(a.ID, acc.ID, 2); err != nil || n != 0 {
			t.Fatalf("prune again: %d, %v", n, err)
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		vs, err := tx.Versions(a.ID, acc.ID)
		if err != nil || !slices.Equal(versionsOf(vs), []int64{7, 6, 5, 4}) {
			t.Fatalf("versions after pruning: %v, %v", versionsOf(vs), err)
		}
		return nil
	})
}

// testRetireTechVersions: retiring a tech's versions supersedes the staged and confirmed ones of its accounts
// only, and of no other tenant.
func testRetireTechVersions(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	tc, ag, acc := newAccount(t, s, a)
	bob := newTech(t, s, a.ID, "bob", wire.TechActive)
	var other *store.Account
	write(t, s, func(tx store.Tx) (err error) {
		other, err = tx.EnsureAccount(a.ID, bob.ID, ag.ID, "bob-ms", now)
		return
	})
	stage(t, s, a.ID, acc.ID, 1, "", now)
	stage(t, s, a.ID, acc.ID, 2, "refused", time.Time{})
	stage(t, s, a.ID, acc.ID, 3, "", time.Time{})
	stage(t, s, a.ID, other.ID, 1, "", now)
	write(t, s, func(tx store.Tx) error {
		if n, err := tx.RetireTechVersions(b.ID, tc.ID); err != nil || n != 0 {
			t.Fatalf("retire through tenant B: %d, %v", n, err)
		}
		if n, err := tx.RetireTechVersions(a.ID, tc.ID); err != nil || n != 2 {
			t.Fatalf("retire: %d, %v", n, err)
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		vs, err := tx.Versions(a.ID, acc.ID)
		if err != nil || len(vs) != 3 || vs[0].State != wire.VersionSuperseded || vs[1].State != wire.VersionFailed || vs[2].State != wire.VersionSuperseded {
			t.Fatalf("versions after retiring: %+v, %v", vs, err)
		}
		if live, err := tx.LiveVersionsByTech(a.ID, tc.ID); err != nil || len(live) != 0 {
			t.Fatalf("live versions after retiring: %+v, %v", live, err)
		}
		if live, err := tx.LiveVersionsByTech(a.ID, bob.ID); err != nil || len(live[other.ID]) != 1 {
			t.Fatalf("another tech's live versions: %+v, %v", live, err)
		}
		return nil
	})
}

// testVersionSignatures: a version keeps the agent's signature byte for byte, and every read that hands out its
// envelope hands out the signature with it; a version staged without one has none, and LatestVersions, which
// holds no envelope, holds no signature either.
func testVersionSignatures(t *testing.T, s store.Store) {
	a, _ := twoTenants(t, s)
	tc, ag, acc := newAccount(t, s, a)
	sig := bytes.Repeat([]byte{0xa5, 0x00, 0xff}, 22)[:64]
	write(t, s, func(tx store.Tx) error {
		if err := tx.StageVersion(a.ID, &store.Version{AccountID: acc.ID, Version: 1, Envelope: []byte{1}, StagedAt: now}); err != nil {
			return err
		}
		if err := tx.ConfirmVersion(a.ID, acc.ID, 1, now); err != nil {
			return err
		}
		if err := tx.StageVersion(a.ID, &store.Version{AccountID: acc.ID, Version: 2, Envelope: []byte{2}, StagedAt: now, Signature: sig}); err != nil {
			return err
		}
		return tx.ConfirmVersion(a.ID, acc.ID, 2, now.Add(time.Hour))
	})
	check := func(what string, vs []store.Version) {
		t.Helper()
		if len(vs) == 0 || vs[0].Version != 2 || !bytes.Equal(vs[0].Signature, sig) {
			t.Fatalf("%s: %+v, want version 2 with its signature", what, vs)
		}
		for _, v := range vs[1:] {
			if v.Version == 1 && len(v.Signature) != 0 {
				t.Fatalf("%s: the unsigned version 1 has signature %x", what, v.Signature)
			}
		}
	}
	read(t, s, func(tx store.Tx) error {
		vs, err := tx.Versions(a.ID, acc.ID)
		if err != nil || len(vs) != 2 {
			t.Fatalf("versions: %+v, %v", vs, err)
		}
		check("Versions", vs)
		live, err := tx.LiveVersionsByTech(a.ID, tc.ID)
		if err != nil {
			return err
		}
		check("LiveVersionsByTech", live[acc.ID])
		some, err := tx.LiveVersionsOfAccounts(a.ID, tc.ID, []int64{acc.ID})
		if err != nil {
			return err
		}
		check("LiveVersionsOfAccounts", some[acc.ID])
		h, err := tx.History(a.ID, acc.ID, 5)
		if err != nil || len(h) != 2 {
			t.Fatalf("history: %+v, %v", h, err)
		}
		check("History", h)
		latest, err := tx.LatestVersions(a.ID, ag.ID)
		if err != nil || latest[acc.ID].Version != 2 || latest[acc.ID].Signature != nil {
			t.Fatalf("latest versions: %+v, %v", latest, err)
		}
		return nil
	})
}
