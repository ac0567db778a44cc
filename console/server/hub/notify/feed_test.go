package notify_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/notify"
	"github.com/watchword/watchword/console/server/hub/store"
)

// replica is one Notifier sharing a Bus, over a stored revision the test sets.
type replica struct {
	n      *notify.Notifier
	mu     sync.Mutex
	stored int64
	graphs []int64 // revisions the hub was told dropped its view
}

func (r *replica) setStored(rev int64) {
	r.mu.Lock()
	r.stored = rev
	r.mu.Unlock()
}

func (r *replica) graphed() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.graphs)
}

// newReplica starts a Notifier on bus that knows tenant 1 at revision stored, and runs it until the test ends.
func newReplica(t *testing.T, bus *notify.Bus, stored int64) *replica {
	r := &replica{n: notify.New(fixed), stored: stored}
	r.n.Share(notify.Shared{
		Feed: bus,
		Stored: func(context.Context, int64) (int64, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.stored, nil
		},
		Graph: func(_, rev int64) {
			r.mu.Lock()
			r.graphs = append(r.graphs, rev)
			r.mu.Unlock()
		},
		GapWait:    100 * time.Millisecond,
		CheckEvery: time.Hour,
	})
	r.n.Current(&store.Tenant{ID: 1, Revision: stored})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.n.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	for listening := bus.Listeners(); bus.Listeners() == listening; {
		time.Sleep(time.Millisecond)
	}
	return r
}

// tenantAt is tenant 1 as a request that read it at rev sees it.
func tenantAt(rev int64) *store.Tenant { return &store.Tenant{ID: 1, Revision: rev} }

// TestSharedWake: a change published by one replica wakes the concerned techs' polls on another, and only
// theirs, and its accounts are in the other's delta log.
func TestSharedWake(t *testing.T) {
	bus := &notify.Bus{}
	a, b := newReplica(t, bus, 1), newReplica(t, bus, 1)
	sc := notify.NewScope()
	sc.Touch(100, 7)
	a.n.Publish(1, 2, false, sc, nil)
	if !woken(b.n, tenantAt(1), 7, 1) {
		t.Error("tech 7 on replica b not woken by a's change of its account")
	}
	if woken(b.n, tenantAt(1), 8, 1) {
		t.Error("tech 8 on replica b woken by a change that concerns tech 7 only")
	}
	if accs, ok := b.n.ChangedSince(tenantAt(2), 7, 1); !ok || !slices.Equal(accs, []int64{100}) {
		t.Errorf("b's log since 1: %v, %t; want [100], true", accs, ok)
	}
	// b's own change comes back to a; a's own echo is ignored.
	b.n.Publish(1, 3, false, nil, nil)
	if rev, _ := a.n.Current(tenantAt(3)); rev != 3 {
		t.Errorf("a at revision %d after b's change, want 3", rev)
	}
}

// TestSharedOrder: a revision that comes before its predecessor waits for it, so that no poll or list is
// answered at a revision whose earlier changes this replica was not told about.
func TestSharedOrder(t *testing.T) {
	bus := &notify.Bus{}
	b := newReplica(t, bus, 1)
	ctx := testCtx(t)
	three := notify.Change{Tenant: 1, Rev: 3, Techs: []int64{8}}
	bus.Publish(ctx, three)
	if rev, _ := b.n.Current(tenantAt(1)); rev != 1 {
		t.Fatalf("revision %d with revision 2 missing, want 1", rev)
	}
	bus.Publish(ctx, notify.Change{Tenant: 1, Rev: 2, Techs: []int64{7}, Accounts: [][2]int64{{100, 7}}})
	if rev, _ := b.n.Current(tenantAt(1)); rev != 3 {
		t.Fatalf("revision %d once 2 came, want 3", rev)
	}
	if !woken(b.n, tenantAt(3), 7, 1) || !woken(b.n, tenantAt(3), 8, 2) {
		t.Error("the techs of revisions 2 and 3 not both woken")
	}
	if accs, ok := b.n.ChangedSince(tenantAt(3), 7, 1); !ok || !slices.Equal(accs, []int64{100}) {
		t.Errorf("log since 1: %v, %t; want [100], true", accs, ok)
	}
}

// TestSharedLost: a revision that never comes is read from the store after GapWait, and taken as a change no one
// can attribute: every tech woken, the log restarted, the view dropped.
func TestSharedLost(t *testing.T) {
	bus := &notify.Bus{}
	b := newReplica(t, bus, 1)
	ctx := testCtx(t)
	b.setStored(3)
	bus.Publish(ctx, notify.Change{Tenant: 1, Rev: 3, Techs: []int64{8}})
	start := time.Now()
	rev, _ := b.n.Wait(ctx, tenantAt(1), 1, time.Now().Add(time.Hour))
	if rev != 3 {
		t.Fatalf("revision %d after the gap, want the stored 3", rev)
	}
	t.Logf("gap resolved in %v", time.Since(start))
	if !woken(b.n, tenantAt(3), 9, 1) {
		t.Error("a tech the change may have concerned was not woken")
	}
	if _, ok := b.n.ChangedSince(tenantAt(3), 7, 1); ok {
		t.Error("the log claims to cover a revision it never saw")
	}
	if g := b.graphed(); !slices.Contains(g, 3) {
		t.Errorf("the hub was told %v, want the view dropped at 3", g)
	}
	// A request whose tenant row is ahead waits a while for the feed, then catches up alone.
	b.setStored(5)
	if rev, _ := b.n.Current(tenantAt(5)); rev != 5 {
		t.Errorf("a request that read revision 5 got %d", rev)
	}
}

// TestSharedResync: when the feed (re)connects, every known tenant catches up with its stored revision.
func TestSharedResync(t *testing.T) {
	r := &replica{n: notify.New(fixed), stored: 4}
	bus := &notify.Bus{}
	r.n.Share(notify.Shared{Feed: bus, Stored: func(context.Context, int64) (int64, error) { return 4, nil }, CheckEvery: time.Hour})
	r.n.Current(tenantAt(1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.n.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if rev, ok := r.n.Wait(testCtx(t), tenantAt(1), 1, time.Now().Add(time.Hour)); rev != 4 || !ok {
		t.Errorf("after the feed connected: %d, %t; want 4, true", rev, ok)
	}
}

// TestSharedSignatures: an entitlement change of another replica takes its techs' signatures out of this one's, so
// that this replica's next change wakes them even when it computes the signature it last published, and still
// leaves the others asleep.
func TestSharedSignatures(t *testing.T) {
	bus := &notify.Bus{}
	b := newReplica(t, bus, 1)
	b.n.Publish(1, 2, true, notify.NewScope(), notify.Sigs{7: "s0", 8: "t0"}) // b knew no signatures: wakes all
	bus.Publish(testCtx(t), notify.Change{Tenant: 1, Rev: 3, Graph: true, Techs: []int64{7}})
	if rev, _ := b.n.Current(tenantAt(3)); rev != 3 {
		t.Fatalf("b at %d, want 3", rev)
	}
	b.n.Publish(1, 4, true, notify.NewScope(), notify.Sigs{7: "s0", 8: "t0"})
	if !woken(b.n, tenantAt(4), 7, 3) {
		t.Error("tech 7, changed back by b after another replica's change, not woken")
	}
	if woken(b.n, tenantAt(4), 8, 3) {
		t.Error("tech 8, whose signature no change touched, woken")
	}
	if g := b.graphed(); !slices.Equal(g, []int64{2, 3, 4}) {
		t.Errorf("b's hub told of entitlement changes %v, want 2, 3 and 4", g)
	}
}
