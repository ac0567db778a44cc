package peers_test

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
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/wire"
)

// BenchmarkRotateOnDemand rotates one account of the Samba DC on demand, interleaved A B A B: (A) Vault's static
// role `rotate-role` — a new password from the policy, then an LDAP search for the role's DN and a unicodePwd
// replace, each on a fresh admin connection; Vault does not check the new password — and (B) Watchword's full
// cycle through a real hub over loopback TLS: generate, seal to the tech and the recovery recipient, stage, set,
// verify (a bind as the account), confirm. Each system has its own account of the same kind, made by the
// product's driver. Outside the clock, every Vault sample is checked with a bind using the password Vault then
// hands out (static-cred), and the time of that read and bind is reported as "Vault + a verify bind".
// Size: -benchtime Nx pairs. Run: go test -run '^$' -bench RotateOnDemand -benchtime 40x .
func BenchmarkRotateOnDemand(b *testing.B) {
	env := targets.Require(b)
	cfg := agenttest.ADConfig(b, env)
	ctx := context.Background()
	h := hubtest.New(b)
	agenttest.OpsRight(ctx, b, h, 0, "wwt-ops")
	h.ActiveTech(agenttest.UniqueUser())
	ag := h.NewAgent("test.lan", wire.DriverAD)
	plan, err := ag.PlanWait(ctx, 0, 0)
	if err != nil || len(plan.Accounts) != 1 {
		b.Fatalf("plan: %+v, %v", plan, err)
	}
	pa := plan.Accounts[0]
	vname := agenttest.UniqueUser() + "-vlt"
	b.Cleanup(func() { agenttest.DeleteADUsers(b, cfg, pa.AccountName, vname) })
	d := agenttest.NewAD(b, cfg)
	ensureAD(ctx, b, d, pa.AccountName)
	ensureAD(ctx, b, d, vname)
	job, err := agent.Job(plan, &pa, d.PasswordRules())
	if err != nil {
		b.Fatal(err)
	}
	rot := &rotation.Rotator{Hub: agent.AccountHub(ag.Client, pa.AccountID), Target: d}
	v := newVault(ctx, b, env, func() (string, error) { return job.Policy.Generate(vname) })
	v.staticRole(ctx, b, "peer", vname, adDN(b, cfg, vname))

	var vaultT, vaultVerified, ww []time.Duration
	for b.Loop() {
		took, err := timed(func() error { return v.rotate(ctx, "peer") })
		if err != nil {
			b.Fatal(err)
		}
		vaultT = append(vaultT, took)
		check, err := timed(func() error { return d.Verify(ctx, vname, v.password(ctx, b, "peer")) })
		if err != nil {
			b.Fatalf("a bind with the password Vault set: %v", err)
		}
		vaultVerified = append(vaultVerified, took+check)

		t0 := time.Now()
		res, err := rot.Rotate(ctx, job)
		if err != nil {
			b.Fatal(err)
		}
		ww = append(ww, time.Since(t0))
		job.LastVersion = res.Version
	}
	mv, mw := pct(vaultT, 50), pct(ww, 50)
	b.ReportMetric(mv, "vault-ms")
	b.ReportMetric(pct(vaultT, 99), "vault-p99-ms")
	b.ReportMetric(pct(vaultVerified, 50), "vault-verified-ms")
	b.ReportMetric(mw, "ww-ms")
	b.ReportMetric(pct(ww, 99), "ww-p99-ms")
	b.ReportMetric(mw/mv, "ww/vault")
	fmt.Printf("rotate on demand, Samba DC: Vault rotate-role median %.1f ms (p99 %.1f; with a verify bind %.1f), "+
		"Watchword full cycle via hub median %.1f ms (p99 %.1f), ratio %.2f (n=%d each, interleaved)\n",
		mv, pct(vaultT, 99), pct(vaultVerified, 50), mw, pct(ww, 99), mw/mv, len(ww))
}

// BenchmarkThroughputVsVault rotates the same 500 accounts of the Samba DC with the same parallelism, pass by
// pass, A B C A B C: (A) bare, P workers each with its own driver generating, setting and verifying passwords, the
// directory's own cost; (B) Vault, P workers sending rotate-role for one static role per account; (C) Watchword's
// runner, one pass of the full cycle (ensure + stage, set, verify, confirm) after the hub marked every account due.
// The accounts are created by the runner's first pass, which is not measured; Vault manages the same entries as
// static roles (created without the import rotation). Sizes: WATCHWORD_BENCH_ACCOUNTS (500), WATCHWORD_BENCH_PASSES
// (1), WATCHWORD_BENCH_PARALLELISM (4, the runner's default).
// Run: go test -run '^$' -bench ThroughputVsVault -benchtime 1x -timeout 20m .
func BenchmarkThroughputVsVault(b *testing.B) {
	n := agenttest.EnvInt("WATCHWORD_BENCH_ACCOUNTS", 500)
	passes := agenttest.EnvInt("WATCHWORD_BENCH_PASSES", 1)
	par := agenttest.EnvInt("WATCHWORD_BENCH_PARALLELISM", 4)
	env := targets.Require(b)
	cfg := agenttest.ADConfig(b, env)
	ctx := context.Background()
	h := hubtest.New(b)

	f := agenttest.NewADFleet(ctx, b, h, cfg, n, par, "y")
	names := f.Names
	plan, err := f.Agent.PlanWait(ctx, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	pol, err := agent.Policy(plan.Policy, rotation.RulesAD)
	if err != nil {
		b.Fatal(err)
	}
	v := newVault(ctx, b, env, func() (string, error) { return pol.Generate() })
	conn, err := agenttest.DialAD(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dns, err := accountDNs(conn, cfg, names)
	conn.Close()
	if err != nil {
		b.Fatal(err)
	}
	for i, name := range names {
		v.staticRole(ctx, b, fmt.Sprintf("r%d", i), name, dns[name])
	}
	vaultPass := func() time.Duration {
		t0 := time.Now()
		if err := agenttest.InParallel(par, n, func(_, i int) error { return v.rotate(ctx, fmt.Sprintf("r%d", i)) }); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	bareDrivers := make([]*ad.Driver, par)
	for i := range bareDrivers {
		bareDrivers[i] = agenttest.NewAD(b, cfg)
	}
	check := agenttest.NewAD(b, cfg)
	var bareR, vaultR, wwR []float64
	for b.Loop() {
		for range passes {
			bareR = append(bareR, float64(n)/f.Bare(ctx, b, bareDrivers, pol).Seconds())
			vaultR = append(vaultR, float64(n)/vaultPass().Seconds())
			// Spot-check Vault's pass, which checks nothing itself: its passwords of the first and last account bind.
			for _, i := range []int{0, n - 1} {
				if err := check.Verify(ctx, names[i], v.password(ctx, b, fmt.Sprintf("r%d", i))); err != nil {
					b.Fatalf("%s: a bind with the password Vault set: %v", names[i], err)
				}
			}
			wwR = append(wwR, float64(n)/f.Rotate(ctx, b).Seconds())
		}
	}
	slices.Sort(bareR)
	slices.Sort(vaultR)
	slices.Sort(wwR)
	mb, mv, mw := bareR[len(bareR)/2], vaultR[len(vaultR)/2], wwR[len(wwR)/2]
	b.ReportMetric(mb, "bare-rot/s")
	b.ReportMetric(bareR[0], "bare-worst-rot/s")
	b.ReportMetric(mv, "vault-rot/s")
	b.ReportMetric(vaultR[0], "vault-worst-rot/s")
	b.ReportMetric(mw, "ww-rot/s")
	b.ReportMetric(wwR[0], "ww-worst-rot/s")
	b.ReportMetric(mw/mv, "ww/vault")
	b.ReportMetric(mb/mw, "bare/ww")
	b.ReportMetric(float64(n)/f.Created.Seconds(), "create-rot/s")
	b.ReportMetric(float64(n), "accounts")
	b.ReportMetric(float64(par), "parallelism")
	fmt.Printf("throughput, %d accounts of the Samba DC, parallelism %d: bare set+verify %.1f rotations/s, Vault rotate-role %.1f/s, "+
		"Watchword full cycle %.1f/s; Watchword/Vault %.2f, bare/Watchword %.2f over %d passes each, interleaved; Watchword's first pass with creation %.1f/s\n",
		n, par, mb, mv, mw, mw/mv, mb/mw, len(wwR), float64(n)/f.Created.Seconds())
}
