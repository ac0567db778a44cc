package agenttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/wire"
)

// ADFleet is the set-up of the throughput benchmarks: n techs written straight into a hub's store, entitled through
// the Ops right to one agent on the Samba DC, whose runner makes a pass when asked.
type ADFleet struct {
	Agent   *hubtest.Agent
	Names   []string      // the techs' accounts on the DC, deleted when tb ends
	Created time.Duration // the first pass, which created and rotated every account
	h       *hubtest.Harness
	r       *agent.Runner
}

// NewADFleet sets the fleet up on h with a runner of the given parallelism and makes the first pass; mark tells
// the names of one benchmark's accounts from another's.
func NewADFleet(ctx context.Context, tb testing.TB, h *hubtest.Harness, cfg ad.Config, n, parallelism int, mark string) *ADFleet {
	tb.Helper()
	tag := make([]byte, 2)
	rand.Read(tag)
	f := &ADFleet{h: h}
	users := make([]string, n)
	for i := range n {
		users[i] = fmt.Sprintf("%s%s%s%03d", Prefix, hex.EncodeToString(tag), mark, i)
		f.Names = append(f.Names, users[i]+"-tm")
	}
	h.AddTechs(users...)
	tb.Cleanup(func() { DeleteADUsers(tb, cfg, f.Names...) })
	OpsRight(ctx, tb, h, 0, "wwt-ops") // after the store writes: it also makes the hub rebuild its entitlement view
	f.Agent = h.NewAgent("test.lan", wire.DriverAD)
	r, err := agent.New(agent.Config{Hub: f.Agent.Client, Parallelism: parallelism, NewDriver: func() (driver.Driver, error) { return ad.New(cfg) }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	f.r = r
	var sum agent.Summary
	f.Created, sum = f.pass(ctx, tb)
	if sum.Created != n || sum.Rotated != n || sum.Failed > 0 {
		tb.Fatalf("first pass: %+v", sum)
	}
	return f
}

func (f *ADFleet) pass(ctx context.Context, tb testing.TB) (time.Duration, agent.Summary) {
	plan, err := f.Agent.PlanWait(ctx, 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	t0 := time.Now()
	sum := f.r.Sync(ctx, plan)
	return time.Since(t0), sum
}

// Rotate marks every account due at the hub and makes one pass of the runner's full cycle over them (ensure +
// stage, set, verify, confirm), which must rotate them all; it returns how long the pass took.
func (f *ADFleet) Rotate(ctx context.Context, tb testing.TB) time.Duration {
	tb.Helper()
	if _, err := f.h.Owner.RotateNow(ctx, wire.RotateRequest{AgentID: f.Agent.ID}); err != nil {
		tb.Fatal(err)
	}
	took, sum := f.pass(ctx, tb)
	if sum.Rotated != len(f.Names) || sum.Failed > 0 {
		tb.Fatalf("full pass: %+v", sum)
	}
	return took
}

// Bare generates, sets and verifies a password for every account with the bare drivers, one worker each, with no
// hub and no sealing: the directory's own cost. It returns how long that took.
func (f *ADFleet) Bare(ctx context.Context, tb testing.TB, drivers []*ad.Driver, pol rotation.Policy) time.Duration {
	tb.Helper()
	t0 := time.Now()
	err := InParallel(len(drivers), len(f.Names), func(w, i int) error {
		d, name := drivers[w], f.Names[i]
		pw, err := pol.Generate(name)
		if err == nil {
			err = d.SetPassword(ctx, name, pw)
		}
		if err == nil {
			err = d.Verify(ctx, name, pw)
		}
		if err != nil {
			return fmt.Errorf("bare %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return time.Since(t0)
}

// InParallel runs f for 0 ≤ i < n on workers goroutines, worker w taking the next i; it returns the first error.
func InParallel(workers, n int, f func(w, i int) error) error {
	work := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var ferr error
	for w := range workers {
		wg.Go(func() {
			for i := range work {
				if err := f(w, i); err != nil {
					once.Do(func() { ferr = err })
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return ferr
}
