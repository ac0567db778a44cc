package notify_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/notify"
	"github.com/watchword/watchword/console/server/hub/store"
)

// The end-to-end tests of this package (wake_test.go, entitlement_test.go) drive a real hub through hubtest: the
// Notifier's wake-ups seen as devices see them. The tests here drive the Notifier alone.

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fixed is a clock that does not move: waits end only on a wake-up or ctx.
func fixed() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// woken reports whether tech's poll since rev is woken within a short while.
func woken(n *notify.Notifier, tenant *store.Tenant, tech, since int64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, changed := n.TechWait(ctx, tenant, tech, since, fixed().Add(time.Hour))
	return changed
}

// TestScopedPublish: a change that names its techs wakes those techs and logs their accounts; one that names no
// one wakes every tech and restarts the log.
func TestScopedPublish(t *testing.T) {
	n := notify.New(fixed)
	tenant := &store.Tenant{ID: 1, Revision: 10}
	if rev, _ := n.Current(tenant); rev != 10 {
		t.Fatalf("first revision %d, want the stored 10", rev)
	}
	sc := notify.NewScope()
	sc.Touch(100, 7) // account 100 of tech 7
	n.Publish(1, 11, false, sc, nil)
	if !woken(n, tenant, 7, 10) {
		t.Error("tech 7 not woken by a change that touched its account")
	}
	if woken(n, tenant, 8, 10) {
		t.Error("tech 8 woken by a change that concerns only tech 7")
	}
	if accs, ok := n.ChangedSince(tenant, 7, 10); !ok || !slices.Equal(accs, []int64{100}) {
		t.Errorf("changed since 10: %v, %t; want [100], true", accs, ok)
	}
	if _, ok := n.ChangedSince(tenant, 7, 9); ok {
		t.Error("the log claims to cover a revision before it started")
	}
	n.Publish(1, 12, false, nil, nil)
	if !woken(n, tenant, 8, 11) {
		t.Error("tech 8 not woken by a change that names no one")
	}
	if _, ok := n.ChangedSince(tenant, 7, 11); ok {
		t.Error("the log survived a change that names no one")
	}
}

// TestSignaturesWake: an entitlement change wakes the techs whose signature changed, once the last published
// signatures are known, and every tech before.
func TestSignaturesWake(t *testing.T) {
	n := notify.New(fixed)
	tenant := &store.Tenant{ID: 1, Revision: 1}
	n.Current(tenant)
	n.Publish(1, 2, true, notify.NewScope(), notify.Sigs{7: "a", 8: "b"})
	if !woken(n, tenant, 8, 1) {
		t.Error("without known signatures an entitlement change must wake every tech")
	}
	n.Publish(1, 3, true, notify.NewScope(), notify.Sigs{7: "a", 8: "c"})
	if woken(n, tenant, 7, 2) {
		t.Error("tech 7 woken though its signature did not change")
	}
	if !woken(n, tenant, 8, 2) {
		t.Error("tech 8 not woken though its signature changed")
	}
	if got := notify.ChangedTechs(notify.Sigs{1: "x", 2: "y"}, notify.Sigs{2: "y", 3: "z"}); len(got) != 2 || !slices.Contains(got, 1) || !slices.Contains(got, 3) {
		t.Errorf("changed techs %v, want 1 and 3", got)
	}
}

// TestBeginHoldsCatchUp: while a mutation is between its commit and its publish, the tenant's stored revision is
// not taken for another process's change (which would wake every tech and forget the log); after it, it is.
func TestBeginHoldsCatchUp(t *testing.T) {
	ctx := testCtx(t)
	n := notify.New(fixed)
	n.Current(&store.Tenant{ID: 1, Revision: 5})
	sc := notify.NewScope()
	sc.Touch(100, 7)
	n.Publish(1, 6, false, sc, nil)
	end := n.Begin(1)
	committed := &store.Tenant{ID: 1, Revision: 7} // read after our own commit, before our publish
	if rev, _ := n.Current(committed); rev != 6 {
		t.Fatalf("revision %d during a mutation, want 6 until it publishes", rev)
	}
	if _, ok := n.ChangedSince(committed, 7, 5); !ok {
		t.Error("the log was restarted by our own mutation in flight")
	}
	n.Publish(1, 7, false, notify.NewScope(), nil)
	end()
	other := &store.Tenant{ID: 1, Revision: 9} // a revision another process committed
	if rev, changed := n.Wait(ctx, other, 7, fixed()); rev != 9 || !changed {
		t.Errorf("wait: %d, %t; want the other process's 9", rev, changed)
	}
	if _, ok := n.ChangedSince(other, 7, 7); ok {
		t.Error("the log survived a change it cannot attribute")
	}
}

// TestBeginOrders: a second mutation of a tenant waits for the first one's end.
func TestBeginOrders(t *testing.T) {
	n := notify.New(fixed)
	end := n.Begin(1)
	second := make(chan struct{})
	go func() {
		defer close(second)
		n.Begin(1)()
	}()
	select {
	case <-second:
		t.Fatal("a second mutation of the tenant began before the first ended")
	case <-time.After(50 * time.Millisecond):
	}
	n.Begin(2)() // another tenant is not held
	end()
	<-second
}
