package agent_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
)

// BenchmarkThroughput500 measures rotations per second of one agent on the Samba DC holding 500 accounts, against
// the bare driver on the same accounts at the same parallelism: (A) bare — each of P workers generates, sets and
// verifies passwords with its own driver — and (B) full — the hub marks every account due and the runner makes
// one pass (ensure + stage, set, verify, confirm per account). Passes alternate A B A B. The first pass, which
// creates the 500 accounts, is reported apart. Sizes: WATCHWORD_BENCH_ACCOUNTS (500), WATCHWORD_BENCH_PASSES (2),
// WATCHWORD_BENCH_PARALLELISM (4, the runner's default).
// Run: go test -run '^$' -bench Throughput500 -benchtime 1x -timeout 20m ./console/server/agent/
func BenchmarkThroughput500(b *testing.B) {
	n := agenttest.EnvInt("WATCHWORD_BENCH_ACCOUNTS", 500)
	passes := agenttest.EnvInt("WATCHWORD_BENCH_PASSES", 2)
	par := agenttest.EnvInt("WATCHWORD_BENCH_PARALLELISM", 4)
	env := targets.Require(b)
	cfg := agenttest.ADConfig(b, env)
	ctx := context.Background()
	h := hubtest.New(b)

	f := agenttest.NewADFleet(ctx, b, h, cfg, n, par, "x")
	b.Logf("first pass: created and rotated %d accounts in %s (%.1f/s)", n, f.Created.Round(time.Millisecond), float64(n)/f.Created.Seconds())

	plan, err := f.Agent.PlanWait(ctx, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	bareDrivers := make([]*ad.Driver, par)
	for i := range bareDrivers {
		bareDrivers[i] = agenttest.NewAD(b, cfg)
	}
	pol, err := agent.Policy(plan.Policy, bareDrivers[0].PasswordRules())
	if err != nil {
		b.Fatal(err)
	}

	var bare, full []float64
	for b.Loop() {
		for range passes {
			bare = append(bare, float64(n)/f.Bare(ctx, b, bareDrivers, pol).Seconds())
			full = append(full, float64(n)/f.Rotate(ctx, b).Seconds())
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
	b.ReportMetric(float64(n)/f.Created.Seconds(), "create-rot/s")
	b.ReportMetric(float64(n), "accounts")
	fmt.Printf("throughput, %d accounts, parallelism %d: full %.1f rotations/s (worst %.1f), bare set+verify %.1f/s (worst %.1f), "+
		"bare/full %.2f over %d passes each, interleaved; first pass with creation %.1f/s\n",
		n, par, mf, full[0], mb, bare[0], mb/mf, len(full), float64(n)/f.Created.Seconds())
}
