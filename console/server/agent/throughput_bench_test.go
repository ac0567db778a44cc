package agent_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/wire"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// pctMS is the p-th percentile (nearest rank) of d in milliseconds.
func pctMS(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(max(int(p/100*float64(len(s))+0.5)-1, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

// opsRight replaces the All triplet with one right, wwt-ops on AD and LDAP targets, for every tech on every agent.
func opsRight(ctx context.Context, tb testing.TB, h *hubtest.Harness) {
	tb.Helper()
	allTechs, allDomains := withoutAllTriplet(ctx, tb, h)
	right, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "Ops",
		Targets: map[string][]string{wire.DriverAD: {"wwt-ops"}, wire.DriverLDAP: {"wwt-ops"}}})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: allTechs, AgentGroupID: allDomains, RightID: right.ID}); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkThroughput500 measures rotations per second of one agent on the Samba DC holding 500 accounts, against
// the bare driver on the same accounts at the same parallelism: (A) bare — each of P workers generates, sets and
// verifies passwords with its own driver — and (B) full — the hub marks every account due and the runner makes
// one pass (ensure + stage, set, verify, confirm per account). Passes alternate A B A B. The first pass, which
// creates the 500 accounts, is reported apart. Sizes: WATCHWORD_BENCH_ACCOUNTS (500), WATCHWORD_BENCH_PASSES (2),
// WATCHWORD_BENCH_PARALLELISM (4, the runner's default).
// Run: go test -run '^$' -bench Throughput500 -benchtime 1x -timeout 20m ./console/server/agent/
func BenchmarkThroughput500(b *testing.B) {
	n := envInt("WATCHWORD_BENCH_ACCOUNTS", 500)
	passes := envInt("WATCHWORD_BENCH_PASSES", 2)
	par := envInt("WATCHWORD_BENCH_PARALLELISM", 4)
	env := targets.Require(b)
	cfg := adConfig(b, env)
	ctx := context.Background()
	h := hubtest.New(b)

	// The techs go straight into the store (registration is rate limited and not what is measured); one device
	// key serves them all, only the key IDs differ.
	tag := make([]byte, 2)
	rand.Read(tag)
	pub := h.NewIdentity().Public()
	var names []string
	err := h.Store.Write(ctx, func(tx store.Tx) error {
		tn, err := tx.Tenant(h.GUID)
		if err != nil {
			return err
		}
		now := time.Now()
		for i := range n {
			u := fmt.Sprintf("%s%sx%03d", prefix, hex.EncodeToString(tag), i)
			names = append(names, u+"-tm")
			if err := tx.CreateTech(&store.Tech{TenantID: tn.ID, Username: u, DisplayName: u, Email: u + "@example.com",
				Status: wire.TechActive, PublicKey: pub.String(), KeyID: fmt.Sprintf("bench-%x-%d", tag, i), Fingerprint: "f",
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { deleteADUsers(b, cfg, names...) })
	opsRight(ctx, b, h) // after the store writes: it also makes the hub rebuild its entitlement view
	ag := h.NewAgent("test.lan", wire.DriverAD)
	r, err := agent.New(agent.Config{Hub: ag.Client, Parallelism: par, NewDriver: func() (driver.Driver, error) { return ad.New(cfg) }})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()

	fullPass := func() (time.Duration, agent.Summary) {
		plan, err := ag.PlanWait(ctx, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		sum := r.Sync(ctx, plan)
		return time.Since(t0), sum
	}
	created, sum := fullPass()
	if sum.Created != n || sum.Rotated != n || sum.Failed > 0 {
		b.Fatalf("first pass: %+v", sum)
	}
	b.Logf("first pass: created and rotated %d accounts in %s (%.1f/s)", n, created.Round(time.Millisecond), float64(n)/created.Seconds())

	plan, err := ag.PlanWait(ctx, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	bareDrivers := make([]*ad.Driver, par)
	for i := range bareDrivers {
		bareDrivers[i] = newAD(b, cfg)
	}
	barePass := func() time.Duration {
		work := make(chan *wire.PlanAccount)
		var wg sync.WaitGroup
		var failed sync.Once
		var ferr error
		t0 := time.Now()
		for _, d := range bareDrivers {
			pol, err := agent.Policy(plan.Policy, d.PasswordRules())
			if err != nil {
				b.Fatal(err)
			}
			wg.Go(func() {
				for a := range work {
					pw, err := pol.Generate(a.AccountName)
					if err == nil {
						err = d.SetPassword(ctx, a.AccountName, pw)
					}
					if err == nil {
						err = d.Verify(ctx, a.AccountName, pw)
					}
					if err != nil {
						failed.Do(func() { ferr = fmt.Errorf("bare %s: %w", a.AccountName, err) })
					}
				}
			})
		}
		for i := range plan.Accounts {
			work <- &plan.Accounts[i]
		}
		close(work)
		wg.Wait()
		if ferr != nil {
			b.Fatal(ferr)
		}
		return time.Since(t0)
	}

	var bare, full []float64
	for b.Loop() {
		for range passes {
			bare = append(bare, float64(n)/barePass().Seconds())
			if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AgentID: ag.ID}); err != nil {
				b.Fatal(err)
			}
			d, sum := fullPass()
			if sum.Rotated != n || sum.Failed > 0 {
				b.Fatalf("full pass: %+v", sum)
			}
			full = append(full, float64(n)/d.Seconds())
		}
	}
	slices.Sort(bare)
	slices.Sort(full)
	mb, mf := bare[len(bare)/2], full[len(full)/2]
	b.ReportMetric(mf, "full-rot/s")
	b.ReportMetric(full[0], "full-worst-rot/s")
	b.ReportMetric(mb, "bare-rot/s")
	b.ReportMetric(bare[0], "bare-worst-rot/s")
	b.ReportMetric(mb/mf, "bare/full")
	b.ReportMetric(float64(n)/created.Seconds(), "create-rot/s")
	b.ReportMetric(float64(n), "accounts")
	fmt.Printf("throughput, %d accounts, parallelism %d: full %.1f rotations/s (worst %.1f), bare set+verify %.1f/s (worst %.1f), "+
		"bare/full %.2f over %d passes each, interleaved; first pass with creation %.1f/s\n",
		n, par, mf, full[0], mb, bare[0], mb/mf, len(full), float64(n)/created.Seconds())
}
