package agent_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/openldap"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/wire"
)

// BenchmarkOffboarding100 measures prompt offboarding: a tech entitled on 100 agents — 100 runners, each holding
// its long poll on the hub and managing its own organizational unit of the OpenLDAP directory — is deactivated
// by an admin, and the clock runs until every agent has disabled the account on its target. Each repetition then
// re-enables the tech and waits for every account to be back. It reports the time to all disabled and the
// per-agent time, median and p99. Goal: p99 ≤ 5 s. Sizes: WATCHWORD_BENCH_AGENTS (100), WATCHWORD_BENCH_REPS (10).
// Run: go test -run '^$' -bench Offboarding100 -benchtime 1x ./console/server/agent/
func BenchmarkOffboarding100(b *testing.B) {
	nAgents := agenttest.EnvInt("WATCHWORD_BENCH_AGENTS", 100)
	reps := agenttest.EnvInt("WATCHWORD_BENCH_REPS", 10)
	env := targets.Require(b)
	ctx := context.Background()
	h := hubtest.New(b)
	agenttest.OpsRight(ctx, b, h, 0, "wwt-ops")
	tech := h.ActiveTech(agenttest.UniqueUser())

	admin := agenttest.LDAPAdmin(b, env)
	defer admin.Close()
	tag := make([]byte, 3)
	rand.Read(tag)
	people := env.Get(b, "WW_LDAP_PEOPLE_DN")
	var ous []string
	b.Cleanup(func() {
		for _, ou := range ous {
			agenttest.DeleteOU(b, env, ou)
		}
	})

	type member struct {
		r    *agent.Runner
		done chan error
	}
	runCtx, stop := context.WithCancel(ctx)
	var members []member
	defer func() {
		stop()
		for _, m := range members {
			select {
			case <-m.done:
			case <-time.After(30 * time.Second):
				b.Errorf("a runner did not stop within 30 s")
			}
		}
	}()
	for i := range nAgents {
		ou := agenttest.AddOU(b, admin, fmt.Sprintf("%s%x-%03d", agenttest.Prefix, tag, i), people)
		ous = append(ous, ou)
		cfg := agenttest.LDAPConfig(b, env, ou)
		ag := h.NewAgent(fmt.Sprintf("dir%03d.test", i), wire.DriverLDAP)
		r, err := agent.New(agent.Config{Hub: ag.Client, Parallelism: 1,
			NewDriver: func() (driver.Driver, error) { return openldap.New(cfg) }})
		if err != nil {
			b.Fatal(err)
		}
		m := member{r: r, done: make(chan error, 1)}
		go func() { m.done <- r.Run(runCtx) }()
		members = append(members, m)
	}

	// waitAll waits until cond holds for every runner and returns how long each took from t0.
	waitAll := func(what string, t0 time.Time, cond func(i int, s agent.Stats) bool) []time.Duration {
		took := make([]time.Duration, len(members))
		left := len(members)
		deadline := t0.Add(2 * time.Minute)
		for left > 0 {
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d of %d agents still waiting after 2 minutes", what, left, len(members))
			}
			for i, m := range members {
				if took[i] == 0 && cond(i, m.r.Stats()) {
					took[i] = time.Since(t0)
					left--
				}
			}
			time.Sleep(time.Millisecond)
		}
		return took
	}
	t0 := time.Now()
	waitAll("first rotation", t0, func(_ int, s agent.Stats) bool { return s.Rotated >= 1 })
	b.Logf("%d agents created and rotated the account in %s", len(members), time.Since(t0).Round(time.Millisecond))

	var all, each []time.Duration
	var mu sync.Mutex
	for b.Loop() {
		for range reps {
			before := make([]agent.Stats, len(members))
			for i, m := range members {
				before[i] = m.r.Stats()
			}
			t0 := time.Now()
			if _, err := h.Owner.DisableTech(ctx, tech.ID); err != nil {
				b.Fatal(err)
			}
			took := waitAll("disable", t0, func(i int, s agent.Stats) bool { return s.Disabled > before[i].Disabled })
			mu.Lock()
			each = append(each, took...)
			all = append(all, slices.Max(took))
			mu.Unlock()

			for i, m := range members {
				before[i] = m.r.Stats()
			}
			if _, err := h.Owner.EnableTech(ctx, tech.ID); err != nil {
				b.Fatal(err)
			}
			waitAll("re-enable", time.Now(), func(i int, s agent.Stats) bool { return s.Ensured > before[i].Ensured })
		}
	}
	b.ReportMetric(agenttest.PctMS(all, 50), "all-p50-ms")
	b.ReportMetric(agenttest.PctMS(all, 99), "all-p99-ms")
	b.ReportMetric(agenttest.PctMS(each, 50), "agent-p50-ms")
	b.ReportMetric(agenttest.PctMS(each, 99), "agent-p99-ms")
	b.ReportMetric(float64(len(members)), "agents")
	fmt.Printf("offboarding, %d agents on OpenLDAP: all disabled median %.0f ms, p99 %.0f ms (%d repetitions); "+
		"per agent median %.0f ms, p99 %.0f ms\n", len(members), agenttest.PctMS(all, 50), agenttest.PctMS(all, 99), len(all),
		agenttest.PctMS(each, 50), agenttest.PctMS(each, 99))
}
