package notify_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// poll starts a tech's long poll from since and returns where its answer arrives.
func poll(ctx context.Context, t *testing.T, tech *hubtest.Tech, since int64, wait time.Duration) <-chan *wire.ChangesResponse {
	out := make(chan *wire.ChangesResponse, 1)
	go func() {
		ch, err := tech.WaitChanges(ctx, since, wait)
		if err != nil {
			t.Error(err)
		}
		out <- ch
	}()
	return out
}

// TestEntitlementChangeWakesOnlyConcernedTechs: an entitlement change that changes nothing a tech's device holds
// (a new, empty tech group) wakes nobody and leaves every delta empty; one that changes a tech's status wakes that
// tech alone; one that changes the grants (an agent disabled) wakes every tech it concerns, whose next fetch is
// the full list.
func TestEntitlementChangeWakesOnlyConcernedTechs(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice, bob := h.ActiveTech("alice"), h.ActiveTech("bob")
	a1, a2 := h.NewAgent("one.local", wire.DriverAD), h.NewAgent("two.local", wire.DriverAD)
	for _, ag := range []*hubtest.Agent{a1, a2} {
		if _, err := ag.Plan(ctx, 0); err != nil { // creates the accounts
			t.Fatal(err)
		}
	}
	// Accounts created by a plan enter the delta log at the next revision: one before the lists are read.
	if _, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "Warm-up"}); err != nil {
		t.Fatal(err)
	}
	al, err := alice.CredentialsSince(ctx, 0, "")
	if err != nil || len(al.Credentials) != 2 {
		t.Fatalf("alice's first list: %+v, %v", al, err)
	}
	bl, err := bob.CredentialsSince(ctx, 0, "")
	if err != nil || len(bl.Credentials) != 2 {
		t.Fatalf("bob's first list: %+v, %v", bl, err)
	}

	// A new, empty tech group concerns nobody.
	aw, bw := poll(ctx, t, alice, al.Revision, 1500*time.Millisecond), poll(ctx, t, bob, bl.Revision, 1500*time.Millisecond)
	time.Sleep(150 * time.Millisecond)
	if _, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "Nobody yet"}); err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]<-chan *wire.ChangesResponse{"alice": aw, "bob": bw} {
		if ch := <-w; ch == nil || ch.Changed {
			t.Errorf("%s woke on a new empty tech group: %+v", name, ch)
		}
	}
	d, err := alice.CredentialsSince(ctx, al.Revision, al.Grants)
	if err != nil || !d.Delta || len(d.Credentials) != 0 || len(d.Removed) != 0 || d.Grants != al.Grants {
		t.Fatalf("alice's delta after the empty group: %+v, %v", d, err)
	}

	// Disabling bob concerns bob: his status changed. Alice's list did not.
	aw, bw = poll(ctx, t, alice, d.Revision, 1500*time.Millisecond), poll(ctx, t, bob, bl.Revision, 5*time.Second)
	time.Sleep(150 * time.Millisecond)
	start := time.Now()
	if _, err := h.Owner.DisableTech(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if ch := <-bw; ch == nil || !ch.Changed || time.Since(start) > time.Second {
		t.Errorf("bob's poll after he was disabled: %+v after %v", ch, time.Since(start))
	}
	if ch := <-aw; ch == nil || ch.Changed {
		t.Errorf("alice woke when bob was disabled: %+v", ch)
	}

	// Disabling agent two changes alice's grants: she wakes, and gets the full list without it.
	aw = poll(ctx, t, alice, d.Revision, 5*time.Second)
	time.Sleep(150 * time.Millisecond)
	start = time.Now()
	if _, err := h.Owner.DisableAgent(ctx, a2.ID); err != nil {
		t.Fatal(err)
	}
	if ch := <-aw; ch == nil || !ch.Changed || time.Since(start) > time.Second {
		t.Fatalf("alice's poll after agent two was disabled: %+v after %v", ch, time.Since(start))
	}
	f, err := alice.CredentialsSince(ctx, d.Revision, d.Grants)
	if err != nil || f.Delta || len(f.Credentials) != 1 || f.Credentials[0].AgentID != a1.ID || f.Grants == d.Grants {
		t.Fatalf("alice's list after agent two was disabled: %+v, %v", f, err)
	}

	// A change of rights and triplets alone (the view keeps its techs and agents) that grants her a new right
	// wakes her too, and her list shows it.
	right, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "Helpdesk", Targets: map[string][]string{wire.DriverAD: {"Helpdesk"}}})
	if err != nil {
		t.Fatal(err)
	}
	allTechs, allDomains := h.AllGroups()
	aw = poll(ctx, t, alice, f.Revision, 5*time.Second)
	time.Sleep(150 * time.Millisecond)
	if _, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: allTechs, AgentGroupID: allDomains, RightID: right.ID}); err != nil {
		t.Fatal(err)
	}
	if ch := <-aw; ch == nil || !ch.Changed {
		t.Fatalf("alice's poll after a new triplet granted her a right: %+v", ch)
	}
	f2, err := alice.CredentialsSince(ctx, f.Revision, f.Grants)
	if err != nil || f2.Delta || len(f2.Credentials) != 1 || !slices.Contains(f2.Credentials[0].Rights, "Helpdesk") {
		t.Fatalf("alice's list after the new triplet: %+v, %v", f2, err)
	}
}
