package hub_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/notify"
	"github.com/watchword/watchword/console/server/hub/pgshare"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// replicaB is a second hub process on the harness's database: its own Hub (own memory: revisions, views, caches),
// its own store connection, its own address, the same key.
type replicaB struct {
	hub *hub.Hub
	url string
}

// startReplica starts hub B over st with feed, and follows the changes of both until the test ends.
func startReplica(t *testing.T, h *hubtest.Harness, st store.Store, feed notify.Feed, lock hub.Exclusive) *replicaB {
	t.Helper()
	b := hub.New(st, h.HubKey, hub.Config{Logger: slog.New(slog.NewJSONHandler(h.Logs, nil)), Now: h.Clock.Now,
		RateBurst: 1000, RateEvery: time.Millisecond, Feed: feed, AuditStreamLock: lock})
	tlsCfg, err := hubserve.TLSConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(b.Handler())
	srv.TLS = tlsCfg
	base, cancel := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.StartTLS()
	done := make(chan struct{}, 2)
	go func() { h.Hub.FollowChanges(base); done <- struct{}{} }()
	go func() { b.FollowChanges(base); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		srv.Close()
		<-done
		<-done
	})
	return &replicaB{hub: b, url: srv.URL}
}

// lateFeed is a feed whose connection is known only once the harness made its schema; what is published before
// is lost, as on a feed that was down.
type lateFeed struct {
	mu sync.Mutex
	f  *pgshare.Feed
}

func (l *lateFeed) set(f *pgshare.Feed) { l.mu.Lock(); l.f = f; l.mu.Unlock() }

func (l *lateFeed) get() *pgshare.Feed { l.mu.Lock(); defer l.mu.Unlock(); return l.f }

func (l *lateFeed) Publish(ctx context.Context, c notify.Change) error {
	if f := l.get(); f != nil {
		return f.Publish(ctx, c)
	}
	return errors.New("feed not connected yet")
}

func (l *lateFeed) Listen(ctx context.Context, deliver func(notify.Change), resync func(context.Context)) {
	l.get().Listen(ctx, deliver, resync)
}

// lateLock is the same for the audit stream's lock; l is set before anything runs under it.
type lateLock struct{ l *pgshare.Lock }

func (l *lateLock) Run(ctx context.Context, fn func(context.Context)) { l.l.Run(ctx, fn) }

// killBackend ends a PostgreSQL server process, as a failover or a cut network ends its connection.
func killBackend(t *testing.T, dsn string, pid uint32) {
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

// on is a client of the harness's tenant with identity id that talks to url.
func on(t *testing.T, h *hubtest.Harness, url string, id *seal.Identity) *hubclient.Client {
	t.Helper()
	inv := h.Invite
	inv.HubURL = url
	c, err := hubclient.New(inv, id, hubclient.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestReplicaWakeups: two hubs on one database behave as one. A rotation confirmed through A wakes the long poll
// its tech holds on B within a second, and not another tech's, and B's delta list carries it; an approval through
// A shows at once in the plan an agent reads from B (no stale entitlement view); a tech locked out through A is
// locked on B. On PostgreSQL (the feed over LISTEN/NOTIFY) a killed listening connection loses no wake-up, and
// one replica at a time streams the audit log.
func TestReplicaWakeups(t *testing.T) {
	t.Run("bus", func(t *testing.T) {
		// Two hubs over one SQLite store in one process, their changes on an in-process feed.
		bus := &notify.Bus{}
		h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.Feed = bus }))
		b := startReplica(t, h, h.Store, bus, nil)
		replicaScenario(t, h, b, nil)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Setenv(hubtest.DBEnvVar, targets.PostgresDSN(t))
		// A's feed and lock connect to the harness's schema, known once it made it.
		feedA, lockA := &lateFeed{}, &lateLock{}
		h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.Feed, c.AuditStreamLock = feedA, lockA }))
		dsn := h.PostgresDSN()
		feedA.set(pgshare.NewFeed(dsn, nil))
		feedB := pgshare.NewFeed(dsn, nil)
		t.Cleanup(func() { feedA.get().Close(); feedB.Close() })
		lockA.l = pgshare.NewLock(dsn, pgshare.AuditStreamKey, nil)
		lockB := pgshare.NewLock(dsn, pgshare.AuditStreamKey, nil)
		lockA.l.Every, lockB.Every = 100*time.Millisecond, 100*time.Millisecond
		b := startReplica(t, h, h.OpenStore(), feedB, lockB)
		replicaScenario(t, h, b, func(ctx context.Context, rotate func()) {
			// The listening connection killed as a failover kills it: a change committed meanwhile is found again.
			pid := feedB.ListenerPID()
			killBackend(t, dsn, pid)
			rotate()
			for feedB.ListenerPID() == 0 || feedB.ListenerPID() == pid {
				time.Sleep(10 * time.Millisecond)
			}
		})
		// One streamer at a time.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go h.Hub.StreamAudit(ctx)
		go b.hub.StreamAudit(ctx)
		deadline := time.Now().Add(10 * time.Second)
		for lockA.l.HolderPID() == 0 && lockB.HolderPID() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // the other tries several times meanwhile
		if (lockA.l.HolderPID() != 0) == (lockB.HolderPID() != 0) {
			t.Fatalf("streamers: A holds %t, B holds %t; want exactly one", lockA.l.HolderPID() != 0, lockB.HolderPID() != 0)
		}
		holder, other := lockA.l, lockB
		if lockB.HolderPID() != 0 {
			holder, other = lockB, lockA.l
		}
		killBackend(t, dsn, holder.HolderPID())
		for other.HolderPID() == 0 {
			if time.Now().After(deadline.Add(10 * time.Second)) {
				t.Fatal("no replica took the audit stream over")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// replicaScenario runs the checks on A (the harness) and B. lose, when given, is called with a rotation to
// commit through A while B's feed is cut.
func replicaScenario(t *testing.T, h *hubtest.Harness, b *replicaB, lose func(ctx context.Context, rotate func())) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, bob := h.ActiveTech("alice"), h.ActiveTech("bob")
	agent := h.NewAgent("one.local", wire.DriverAD)
	accounts := map[int64]int64{}
	rotate := func(tech, version int64) {
		t.Helper()
		p, err := agent.Plan(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, pa := range p.Accounts {
			if pa.TechID == tech {
				accounts[tech] = pa.AccountID
				if err := agent.Stage(ctx, pa.AccountID, version, hubtest.Seal(t, p, pa, version, "Pw-secret-1")); err != nil {
					t.Fatal(err)
				}
				if err := agent.Confirm(ctx, pa.AccountID, version); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatalf("no account of tech %d planned", tech)
	}
	rotate(alice.ID, 1)
	rotate(bob.ID, 1)

	aliceB, bobB := on(t, h, b.url, alice.Identity), on(t, h, b.url, bob.Identity)
	full, err := aliceB.CredentialsSince(ctx, 0, "")
	if err != nil || len(full.Credentials) != 1 {
		t.Fatalf("alice's list on B: %+v, %v", full, err)
	}
	bobFull, err := bobB.CredentialsSince(ctx, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		ch *wire.ChangesResponse
		at time.Time
	}
	poll := func(c *hubclient.Client, since int64) <-chan answer {
		out := make(chan answer, 1)
		go func() {
			ch, err := c.WaitChanges(ctx, since, 5*time.Second)
			if err != nil && ctx.Err() == nil {
				t.Error(err)
			}
			out <- answer{ch, time.Now()}
		}()
		return out
	}
	alicePoll, bobPoll := poll(aliceB, full.Revision), poll(bobB, bobFull.Revision)
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	rotate(alice.ID, 2)
	a := <-alicePoll
	if a.ch == nil || !a.ch.Changed {
		t.Fatalf("alice's poll on B after her rotation through A: %+v", a.ch)
	}
	if d := a.at.Sub(start); d > time.Second {
		t.Errorf("alice woken on B %v after her rotation through A, want within 1 s", d)
	} else {
		t.Logf("cross-replica wake-up: %v (rotation's stage and confirm included)", d)
	}
	select {
	case got := <-bobPoll:
		t.Errorf("bob's poll on B woken by alice's rotation: %+v", got.ch)
	case <-time.After(300 * time.Millisecond):
	}
	d, err := aliceB.CredentialsSince(ctx, full.Revision, full.Grants)
	if err != nil || !d.Delta || len(d.Credentials) != 1 || d.Credentials[0].AccountID != accounts[alice.ID] {
		t.Fatalf("alice's delta on B: %+v, %v; want her account alone", d, err)
	}

	// An approval through A: the plan the agent reads from B has the new tech's account at once.
	agentB := on(t, h, b.url, agent.Identity)
	if _, err := agentB.Plan(ctx, 0); err != nil { // B's view cached
		t.Fatal(err)
	}
	carol := h.NewTech("carol")
	if _, err := h.Owner.ApproveTech(ctx, carol.ID); err != nil {
		t.Fatal(err)
	}
	p, err := agentB.Plan(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Accounts, func(pa wire.PlanAccount) bool { return pa.TechID == carol.ID }) {
		t.Error("the plan read from B right after carol's approval through A has no account of hers: a stale view")
	}

	if lose != nil {
		since := d.Revision
		alicePoll = poll(aliceB, since)
		time.Sleep(200 * time.Millisecond)
		lose(ctx, func() { rotate(alice.ID, 3) })
		select {
		case a := <-alicePoll:
			if a.ch == nil || !a.ch.Changed {
				t.Fatalf("alice's poll on B after a rotation while B's feed was cut: %+v", a.ch)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a rotation committed while B's feed was cut never woke alice on B")
		}
	}

	// A lockout through A holds on B.
	for range 10 {
		if _, err := alice.ReportUnlock(ctx, wire.UnlockFailed); err != nil {
			var we *wire.Error
			if errors.As(err, &we) && we.Field == wire.FieldLocked {
				break
			}
			t.Fatal(err)
		}
	}
	_, err = aliceB.CredentialsSince(ctx, 0, "")
	var we *wire.Error
	if !errors.As(err, &we) || we.Field != wire.FieldLocked {
		t.Errorf("alice's list on B after her lockout through A: %v, want refused as locked", err)
	}
}
