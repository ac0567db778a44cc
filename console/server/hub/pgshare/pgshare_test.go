package pgshare_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/watchword/watchword/console/server/hub/notify"
	"github.com/watchword/watchword/console/server/hub/pgshare"
	"github.com/watchword/watchword/internal/testsupport/targets"
)

// testDSN is the test PostgreSQL with a fresh schema of its own, dropped at the end (skipped without one, except
// in CI).
func testDSN(t *testing.T) string {
	t.Helper()
	return targets.PostgresSchema(t, targets.PostgresDSN(t))
}

// terminate ends a server process as a failover or a network cut would end its connection.
func terminate(t *testing.T, dsn string, pid uint32) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int32(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate backend %d: %t, %v", pid, ok, err)
	}
}

// collector is a listener's side: what it was delivered and how often it resynced.
type collector struct {
	mu      sync.Mutex
	got     []notify.Change
	resyncs atomic.Int32
	ch      chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 100)} }

func (c *collector) deliver(ch notify.Change) {
	c.mu.Lock()
	c.got = append(c.got, ch)
	c.mu.Unlock()
	c.ch <- struct{}{}
}

func (c *collector) resync(context.Context) { c.resyncs.Add(1) }

// next waits for the next delivered change.
func (c *collector) next(t *testing.T) notify.Change {
	t.Helper()
	select {
	case <-c.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no change delivered within 5 s")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got[len(c.got)-1]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// TestFeed: a change published by one process reaches another's listener within a second, with its techs and
// accounts, or widened to every tech when it does not fit a notification; a listener whose connection is killed
// connects again, resyncs, and gets what is published after.
func TestFeed(t *testing.T) {
	dsn := testDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b := pgshare.NewFeed(dsn, nil), pgshare.NewFeed(dsn, nil)
	defer a.Close()
	col := newCollector()
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Listen(lctx, col.deliver, col.resync)
	}()
	defer func() { stop(); <-done }()
	waitFor(t, "the first resync", func() bool { return col.resyncs.Load() == 1 })

	start := time.Now()
	want := notify.Change{Origin: "a", Tenant: 7, Rev: 12, Techs: []int64{3, 4}, Accounts: [][2]int64{{100, 3}}}
	if err := a.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	got := col.next(t)
	if d := time.Since(start); d > time.Second {
		t.Errorf("change delivered after %v, want within 1 s", d)
	}
	if got.Tenant != 7 || got.Rev != 12 || got.All || len(got.Techs) != 2 || len(got.Accounts) != 1 || got.Accounts[0] != [2]int64{100, 3} {
		t.Errorf("delivered %+v, want %+v", got, want)
	}
	t.Logf("cross-process delivery in %v", time.Since(start))

	big := notify.Change{Tenant: 7, Rev: 13, Graph: true}
	for i := range 3000 {
		big.Techs = append(big.Techs, int64(100000+i))
	}
	if err := a.Publish(ctx, big); err != nil {
		t.Fatal(err)
	}
	if got := col.next(t); !got.All || got.Techs != nil || !got.Graph || got.Rev != 13 {
		t.Errorf("an oversized change arrived as %+v (%d techs), want it widened to every tech", got, len(got.Techs))
	}

	terminate(t, dsn, b.ListenerPID())
	waitFor(t, "a resync after the listener was killed", func() bool { return col.resyncs.Load() == 2 })
	// The publishing connection dies too: the next publish opens another.
	if err := a.Publish(ctx, notify.Change{Tenant: 7, Rev: 14, All: true}); err != nil {
		t.Fatal(err)
	}
	if got := col.next(t); got.Rev != 14 {
		t.Errorf("after the reconnection: %+v, want revision 14", got)
	}
}

// TestFeedSchemas: stores in different schemas of one database do not hear each other.
func TestFeedSchemas(t *testing.T) {
	one, other := testDSN(t), testDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	col := newCollector()
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pgshare.NewFeed(one, nil).Listen(lctx, col.deliver, col.resync)
	}()
	defer func() { stop(); <-done }()
	waitFor(t, "the first resync", func() bool { return col.resyncs.Load() == 1 })
	pub := pgshare.NewFeed(other, nil)
	defer pub.Close()
	if err := pub.Publish(ctx, notify.Change{Tenant: 1, Rev: 2}); err != nil {
		t.Fatal(err)
	}
	same := pgshare.NewFeed(one, nil)
	defer same.Close()
	if err := same.Publish(ctx, notify.Change{Tenant: 1, Rev: 3}); err != nil {
		t.Fatal(err)
	}
	if got := col.next(t); got.Rev != 3 {
		t.Errorf("got %+v, the other schema's change", got)
	}
}

// TestLock: of two processes, one runs at a time; when its session dies the other takes over.
func TestLock(t *testing.T) {
	dsn := testDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var running, most atomic.Int32
	var runs atomic.Int32
	fn := func(ctx context.Context) {
		n := running.Add(1)
		runs.Add(1)
		for {
			if m := most.Load(); n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-ctx.Done()
		running.Add(-1)
	}
	locks := []*pgshare.Lock{pgshare.NewLock(dsn, pgshare.AuditStreamKey, nil), pgshare.NewLock(dsn, pgshare.AuditStreamKey, nil)}
	var wg sync.WaitGroup
	for _, l := range locks {
		l.Every = 50 * time.Millisecond
		wg.Go(func() { l.Run(ctx, fn) })
	}
	holder := func() *pgshare.Lock {
		for _, l := range locks {
			if l.HolderPID() != 0 {
				return l
			}
		}
		return nil
	}
	waitFor(t, "a holder", func() bool { return holder() != nil && running.Load() == 1 })
	time.Sleep(300 * time.Millisecond) // several tries of the other
	first := holder()
	terminate(t, dsn, first.HolderPID())
	start := time.Now()
	waitFor(t, "the other to take over", func() bool { return runs.Load() >= 2 && running.Load() == 1 })
	t.Logf("taken over in %v", time.Since(start))
	cancel()
	wg.Wait()
	if m := most.Load(); m != 1 {
		t.Errorf("%d ran at once, want 1", m)
	}
}
