package agent_test

import (
	"context"
	"fmt"
	"slices"
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

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// BenchmarkBareVsFullCycle measures, interleaved A B A B on one account of the Samba DC, (A) the bare driver
// loop — generate, set, verify — and (B) the full cycle through the real hub over loopback TLS — generate, seal
// to the tech and the recovery recipient, stage, set, verify, confirm — and reports both medians and their
// ratio. Run: go test -run '^$' -bench BareVsFull -benchtime 40x ./console/server/agent/
func BenchmarkBareVsFullCycle(b *testing.B) {
	env := targets.Require(b)
	cfg := agenttest.ADConfig(b, env)
	ctx := context.Background()
	h := hubtest.New(b)
	setupRights(ctx, b, h)
	tech := h.ActiveTech(agenttest.UniqueUser())
	ag := h.NewAgent("test.lan", wire.DriverAD)
	plan, err := ag.PlanWait(ctx, 0, 0)
	if err != nil || len(plan.Accounts) != 1 {
		b.Fatalf("plan: %+v, %v", plan, err)
	}
	pa := plan.Accounts[0]
	b.Cleanup(func() { agenttest.DeleteADUsers(b, cfg, pa.AccountName) })
	_ = tech
	d := agenttest.NewAD(b, cfg)
	if _, err := d.Ensure(ctx, driver.Account{Name: pa.AccountName, Groups: pa.Groups}); err != nil {
		b.Fatal(err)
	}
	job, err := agent.Job(plan, &pa, d.PasswordRules())
	if err != nil {
		b.Fatal(err)
	}
	rot := &rotation.Rotator{Hub: agent.AccountHub(ag.Client, pa.AccountID), Target: d}
	var bare, full []time.Duration
	for b.Loop() {
		t0 := time.Now()
		pw, err := job.Policy.Generate(pa.AccountName)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.SetPassword(ctx, pa.AccountName, pw); err != nil {
			b.Fatal(err)
		}
		if err := d.Verify(ctx, pa.AccountName, pw); err != nil {
			b.Fatal(err)
		}
		bare = append(bare, time.Since(t0))

		t0 = time.Now()
		res, err := rot.Rotate(ctx, job)
		if err != nil {
			b.Fatal(err)
		}
		full = append(full, time.Since(t0))
		job.LastVersion = res.Version
	}
	mb, mf := median(bare), median(full)
	ratio := float64(mf) / float64(mb)
	b.ReportMetric(float64(mb.Microseconds())/1000, "bare-ms")
	b.ReportMetric(float64(mf.Microseconds())/1000, "full-ms")
	b.ReportMetric(ratio, "full/bare")
	b.ReportMetric(agenttest.PctMS(bare, 99), "bare-p99-ms")
	b.ReportMetric(agenttest.PctMS(full, 99), "full-p99-ms")
	fmt.Printf("bare set+verify median %s, full cycle via hub median %s, ratio %.2f (n=%d each, interleaved)\n",
		mb.Round(10*time.Microsecond), mf.Round(10*time.Microsecond), ratio, len(bare))
}

// BenchmarkRunnerParallel measures rotations per second of one agent on the Samba DC: each iteration asks the hub
// to rotate every account of the agent now and runs one runner pass (ensure + full cycle per account) over the
// plan, at several parallelisms. Run: go test -run '^$' -bench RunnerParallel -benchtime 5x ./console/server/agent/
func BenchmarkRunnerParallel(b *testing.B) {
	const accounts = 8
	env := targets.Require(b)
	cfg := agenttest.ADConfig(b, env)
	ctx := context.Background()
	h := hubtest.New(b)
	setupRights(ctx, b, h)
	var names []string
	for range accounts {
		tech := h.ActiveTech(agenttest.UniqueUser())
		st, err := tech.Status(ctx)
		if err != nil {
			b.Fatal(err)
		}
		names = append(names, st.Username+"-tm")
	}
	b.Cleanup(func() { agenttest.DeleteADUsers(b, cfg, names...) })
	ag := h.NewAgent("test.lan", wire.DriverAD)
	for _, par := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			r, err := agent.New(agent.Config{Hub: ag.Client, Parallelism: par,
				NewDriver: func() (driver.Driver, error) { return ad.New(cfg) }})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			var rotated int
			var spent time.Duration
			for b.Loop() {
				if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AgentID: ag.ID}); err != nil {
					b.Fatal(err)
				}
				plan, err := ag.PlanWait(ctx, 0, 0)
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				sum := r.Sync(ctx, plan)
				spent += time.Since(t0)
				if sum.Failed > 0 || sum.Rotated != accounts {
					b.Fatalf("pass: %+v", sum)
				}
				rotated += sum.Rotated
			}
			rps := float64(rotated) / spent.Seconds()
			b.ReportMetric(rps, "rotations/s")
			fmt.Printf("parallelism %d: %.1f rotations/s per agent (%d accounts per pass)\n", par, rps, accounts)
		})
	}
}
