package notify_test

import (
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestCredentialDeltaAndScopedWake: a rotation wakes only its tech's long poll and reaches it as a delta of one
// account; an entitlement change wakes everyone and, as the grants changed shape, answers with the full list.
func TestCredentialDeltaAndScopedWake(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice, bob := h.ActiveTech("alice"), h.ActiveTech("bob")
	a1, a2 := h.NewAgent("one.local", wire.DriverAD), h.NewAgent("two.local", wire.DriverAD)
	// account of (agent, tech)
	accounts := map[[2]int64]int64{}
	rotate := func(ag *hubtest.Agent, tech, version int64) {
		t.Helper()
		p, err := ag.Plan(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, pa := range p.Accounts {
			if pa.TechID != tech {
				continue
			}
			accounts[[2]int64{ag.ID, tech}] = pa.AccountID
			if err := ag.Stage(ctx, pa.AccountID, version, hubtest.Seal(t, p, pa, version, "Pw-secret-1")); err != nil {
				t.Fatal(err)
			}
			if err := ag.Confirm(ctx, pa.AccountID, version); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("agent %d plans no account of tech %d", ag.ID, tech)
	}
	for _, ag := range []*hubtest.Agent{a1, a2} {
		rotate(ag, alice.ID, 1)
		rotate(ag, bob.ID, 1)
	}

	full, err := alice.CredentialsSince(ctx, 0, "")
	if err != nil || full.Delta || len(full.Credentials) != 2 || full.Grants == "" {
		t.Fatalf("first list: delta %v, %d credentials, grants %q, %v", full.Delta, len(full.Credentials), full.Grants, err)
	}
	d, err := alice.CredentialsSince(ctx, full.Revision, full.Grants)
	if err != nil || !d.Delta || len(d.Credentials) != 0 || len(d.Removed) != 0 {
		t.Fatalf("nothing changed: %+v, %v", d, err)
	}

	// Bob's rotation neither wakes Alice nor shows in her delta.
	woke := make(chan *wire.ChangesResponse, 1)
	go func() {
		ch, err := alice.WaitChanges(ctx, full.Revision, 2*time.Second)
		if err != nil {
			t.Error(err)
		}
		woke <- ch
	}()
	time.Sleep(150 * time.Millisecond)
	rotate(a1, bob.ID, 2)
	if d, err := alice.CredentialsSince(ctx, full.Revision, full.Grants); err != nil || !d.Delta || len(d.Credentials) != 0 {
		t.Fatalf("after bob's rotation, alice's delta: %+v, %v", d, err)
	}
	if ch, err := bob.WaitChanges(ctx, full.Revision, 2*time.Second); err != nil || !ch.Changed {
		t.Fatalf("bob's poll after his rotation: %+v, %v", ch, err)
	}
	// Her own rotation wakes her, and the delta holds that account alone.
	time.Sleep(150 * time.Millisecond)
	select {
	case ch := <-woke:
		t.Fatalf("alice woke on bob's rotation: %+v", ch)
	default:
	}
	start := time.Now()
	rotate(a2, alice.ID, 2)
	select {
	case ch := <-woke:
		if ch == nil || !ch.Changed || time.Since(start) > time.Second {
			t.Fatalf("alice's poll after her rotation: %+v after %v", ch, time.Since(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("alice's poll did not wake on her own rotation")
	}
	d, err = alice.CredentialsSince(ctx, full.Revision, full.Grants)
	if err != nil || !d.Delta || len(d.Credentials) != 1 || d.Credentials[0].AccountID != accounts[[2]int64{a2.ID, alice.ID}] ||
		d.Credentials[0].Versions[0].Version != 2 || d.Revision <= full.Revision || d.Grants != full.Grants {
		t.Fatalf("alice's delta after her rotation: %+v, %v", d, err)
	}
	// From that revision on, nothing again.
	if d2, err := alice.CredentialsSince(ctx, d.Revision, d.Grants); err != nil || !d2.Delta || len(d2.Credentials) != 0 {
		t.Fatalf("delta after catching up: %+v, %v", d2, err)
	}

	// An entitlement change (agent two disabled) changes the grants' shape: the full list, without that host.
	if _, err := h.Owner.DisableAgent(ctx, a2.ID); err != nil {
		t.Fatal(err)
	}
	if ch, err := alice.WaitChanges(ctx, d.Revision, 2*time.Second); err != nil || !ch.Changed {
		t.Fatalf("alice's poll after an entitlement change: %+v, %v", ch, err)
	}
	f2, err := alice.CredentialsSince(ctx, d.Revision, d.Grants)
	if err != nil || f2.Delta || len(f2.Credentials) != 1 || f2.Grants == d.Grants {
		t.Fatalf("after the entitlement change: delta %v, %d credentials, %v", f2.Delta, len(f2.Credentials), err)
	}
	// A revision the hub has not reached (another hub's, a restored backup's) gets the full list too.
	if f3, err := alice.CredentialsSince(ctx, f2.Revision+1000, f2.Grants); err != nil || f3.Delta || len(f3.Credentials) != 1 {
		t.Fatalf("since from the future: %+v, %v", f3, err)
	}
	// The plain call still answers in full.
	if f4, err := alice.Credentials(ctx); err != nil || f4.Delta || len(f4.Credentials) != 1 {
		t.Fatalf("plain list: %+v, %v", f4, err)
	}
}
