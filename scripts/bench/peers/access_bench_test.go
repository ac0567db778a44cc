package peers_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/wire"
)

// runAgent runs an agent runner on the Samba DC, in its long poll, until tb ends.
func runAgent(tb testing.TB, ag *hubtest.Agent, cfg ad.Config, jitState string) {
	tb.Helper()
	r, err := agent.New(agent.Config{Hub: ag.Client, Parallelism: 1, JITStateFile: jitState, Logger: slog.New(slog.DiscardHandler),
		NewDriver: func() (driver.Driver, error) { return ad.New(cfg) }})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	tb.Cleanup(func() { stop(); <-done })
}

// BenchmarkCheckOutVsJIT measures getting a password that works on the Samba DC, interleaved A B A B: (A) Vault's
// library check-out (`library/SET/check-out`, a flag in Vault's storage: no LDAP call) until a bind with the
// password it returns works, and its check-in apart (the check-in is Vault's rotation of the pool account); (B)
// Watchword's just-in-time enable: the tech asks the hub for a window on its own account, and the clock runs until
// a bind with the password its device opens works (the agent's long poll wakes, it enables the account and adds
// its groups, runs the full rotation cycle, the tech fetches); then the tech clicks Done and the account is closed
// again, outside the clock. Vault's library hands out a pre-existing pool account, always enabled, with the
// password of its last check-in; Watchword enables the tech's own account with a fresh password.
// Size: WATCHWORD_BENCH_JIT (20). Run: go test -run '^$' -bench CheckOutVsJIT -benchtime 1x .
func BenchmarkCheckOutVsJIT(b *testing.B) {
	n := agenttest.EnvInt("WATCHWORD_BENCH_JIT", 20)
	env := targets.Require(b)
	targets.LockAccounts(b)
	ctx := context.Background()
	cfg := agenttest.ADConfig(b, env)
	h := hubtest.New(b)
	agenttest.OpsRight(ctx, b, h, 600, "wwt-ops")
	tech := h.ActiveTech(agenttest.UniqueUser())
	st, err := tech.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	acc := st.Username + "-tm"
	pool := agenttest.UniqueUser() + "-lib"
	b.Cleanup(func() { agenttest.DeleteADUsers(b, cfg, acc, pool) })
	ag := h.NewAgent("test.lan", wire.DriverAD)
	runAgent(b, ag, cfg, b.TempDir()+"/jit.json")
	check := agenttest.NewAD(b, cfg)

	ensureAD(ctx, b, check, pool)
	pol := rotation.DefaultPolicy(rotation.RulesAD)
	v := newVault(ctx, b, env, func() (string, error) { return pol.Generate(pool) })
	v.library(ctx, b, "pool", []string{pool})

	closed := func() bool { return agenttest.Closed(ctx, b, h, tech, ag.ID) }
	waitFor(b, "closed account with a recovery-only password", closed)
	c, _ := agenttest.Credential(ctx, b, tech, ag.ID)

	var out, in, outCall, jit []time.Duration
	for b.Loop() {
		for i := range n {
			token := fmt.Sprintf("bench-token-%d", i)
			t0 := time.Now()
			name, pw, err := v.checkOut(ctx, "pool", token)
			if err != nil {
				b.Fatal(err)
			}
			outCall = append(outCall, time.Since(t0))
			if err := check.Verify(ctx, name, pw); err != nil {
				b.Fatalf("a bind with the password Vault checked out: %v", err)
			}
			out = append(out, time.Since(t0))
			took, err := timed(func() error { return v.checkIn(ctx, "pool", token) })
			if err != nil {
				b.Fatal(err)
			}
			in = append(in, took)

			t0 = time.Now()
			g, err := tech.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 300, Reason: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			waitFor(b, "a working just-in-time password", func() bool { return binds(ctx, b, tech, ag.ID, acc, check) })
			jit = append(jit, time.Since(t0))
			if _, err := tech.EndJIT(ctx, g.ID); err != nil {
				b.Fatal(err)
			}
			waitFor(b, "closed again after Done", closed)
		}
	}
	b.ReportMetric(pct(out, 50), "vault-out-ms")
	b.ReportMetric(pct(out, 99), "vault-out-p99-ms")
	b.ReportMetric(pct(outCall, 50), "vault-call-ms")
	b.ReportMetric(pct(in, 50), "vault-in-ms")
	b.ReportMetric(pct(in, 99), "vault-in-p99-ms")
	b.ReportMetric(pct(jit, 50), "ww-ms")
	b.ReportMetric(pct(jit, 99), "ww-p99-ms")
	b.ReportMetric(pct(jit, 50)/pct(out, 50), "ww/vault")
	b.ReportMetric(float64(len(jit)), "samples")
	fmt.Printf("check-out vs jit, Samba DC: Vault check-out to a working bind median %.1f ms (p99 %.1f; the check-out call %.2f ms), "+
		"its check-in (rotation) %.1f ms (p99 %.1f); Watchword jit enable to a working bind median %.1f ms (p99 %.1f); n=%d each, interleaved\n",
		pct(out, 50), pct(out, 99), pct(outCall, 50), pct(in, 50), pct(in, 99), pct(jit, 50), pct(jit, 99), len(jit))
}

// BenchmarkOnboarding measures a new tech's account: an admin approves a tech whose triplet grants the Samba DC's
// agent (a runner in its long poll), and the clock runs until a bind with the password the tech's device opens
// works (the hub wakes the agent, which creates the account, adds its groups and runs the full rotation cycle;
// the tech fetches). Size: WATCHWORD_BENCH_ONBOARD (10). Run: go test -run '^$' -bench Onboarding -benchtime 1x .
func BenchmarkOnboarding(b *testing.B) {
	n := agenttest.EnvInt("WATCHWORD_BENCH_ONBOARD", 10)
	env := targets.Require(b)
	ctx := context.Background()
	cfg := agenttest.ADConfig(b, env)
	h := hubtest.New(b)
	agenttest.OpsRight(ctx, b, h, 0, "wwt-ops")
	ag := h.NewAgent("test.lan", wire.DriverAD)
	runAgent(b, ag, cfg, "")
	check := agenttest.NewAD(b, cfg)
	var names []string
	b.Cleanup(func() { agenttest.DeleteADUsers(b, cfg, names...) })

	var took []time.Duration
	for b.Loop() {
		for range n {
			tech := h.NewTech(agenttest.UniqueUser())
			st, err := tech.Status(ctx)
			if err != nil {
				b.Fatal(err)
			}
			acc := st.Username + "-tm"
			names = append(names, acc)
			t0 := time.Now()
			if _, err := h.Owner.ApproveTech(ctx, tech.ID); err != nil {
				b.Fatal(err)
			}
			waitFor(b, "the new tech's working account", func() bool { return binds(ctx, b, tech, ag.ID, acc, check) })
			took = append(took, time.Since(t0))
		}
	}
	b.ReportMetric(pct(took, 50), "p50-ms")
	b.ReportMetric(pct(took, 99), "p99-ms")
	b.ReportMetric(float64(len(took)), "techs")
	fmt.Printf("onboarding, approve → the new tech's account binds on the Samba DC: median %.0f ms, p99 %.0f ms (%d techs)\n",
		pct(took, 50), pct(took, 99), len(took))
}
