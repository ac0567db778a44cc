package faults_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestClockSkew runs an agent whose clock is ten minutes ahead of, then behind, the hub's, with the shortest
// rotation interval the hub allows. Each account must rotate once (it is new) and then stay put: the hub alone
// decides what is due, so a skewed agent neither loops nor stalls.
func TestClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			ctx := testCtx(t)
			h := hubtest.New(t)
			pol := wire.DefaultPolicy()
			pol.IntervalSeconds = 60
			if _, err := h.Owner.SetPolicy(ctx, pol); err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{"alice", "bob", "carol"} {
				h.ActiveTech(u)
			}
			ag := h.NewAgent("skew.local", wire.DriverAD)
			mem := newMemDriver()
			logs := &hubtest.SyncBuffer{}
			r, err := agent.New(agent.Config{Hub: ag.Client, NewDriver: func() (driver.Driver, error) { return mem, nil },
				PollWait: time.Second, Retry: 100 * time.Millisecond, Pace: 50 * time.Millisecond,
				Backoff: agent.Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond},
				Now:     func() time.Time { return time.Now().Add(skew) },
				Logger:  slog.New(slog.NewJSONHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(runCtx) }()
			run := 3 * time.Second
			if soak() {
				run = 50 * time.Second // just under the interval
			}
			time.Sleep(run)
			stop()
			<-done
			scenarios.Add(1)
			st := r.Stats()
			if mem.sets.Load() != 3 || st.Rotated != 3 {
				t.Fatalf("skew %v: %d passwords set, runner %+v; want exactly one rotation per account", skew, mem.sets.Load(), st)
			}
			if st.Polls > int64(run/(500*time.Millisecond))+10 {
				t.Fatalf("skew %v: %d polls in %v: the agent is spinning", skew, st.Polls, run)
			}
			// And once the interval has passed on the hub's clock, each account rotates exactly once more.
			h.Clock.Advance(61 * time.Second)
			runCtx, stop = context.WithCancel(ctx)
			go func() { done <- r.Run(runCtx) }()
			deadline := time.Now().Add(20 * time.Second)
			for mem.sets.Load() < 6 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(time.Second)
			stop()
			<-done
			if mem.sets.Load() != 6 {
				t.Fatalf("skew %v: after one interval %d passwords set in all, want 6", skew, mem.sets.Load())
			}
		})
	}
}
