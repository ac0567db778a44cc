package agent_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/openldap"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/wire"
)

// ldapAdmin binds to the OpenLDAP directory of scripts/targets.sh as its admin.
func ldapAdmin(tb testing.TB, env targets.Env) *ldap.Conn {
	tb.Helper()
	c, err := ldap.DialURL(env.Get(tb, "WW_LDAP_URL"), ldap.DialWithTLSConfig(env.TLSConfig(tb)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Bind(env.Get(tb, "WW_LDAP_ADMIN_DN"), env.Get(tb, "WW_LDAP_ADMIN_PASSWORD")); err != nil {
		c.Close()
		tb.Fatal(err)
	}
	return c
}

// deleteSubtree removes dn and everything under it, children first; it refuses anything not named by the prefix.
func deleteSubtree(tb testing.TB, c *ldap.Conn, dn string) {
	if !strings.HasPrefix(dn, "ou="+prefix) {
		tb.Errorf("cleanup: refusing to delete %q", dn)
		return
	}
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 10, false,
		"(objectClass=*)", []string{"dn"}, nil))
	if err != nil {
		tb.Logf("cleanup %s: %v", dn, err)
		return
	}
	for _, e := range res.Entries {
		if err := c.Del(ldap.NewDelRequest(e.DN, nil)); err != nil {
			tb.Logf("cleanup %s: %v", e.DN, err)
		}
	}
	if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		tb.Logf("cleanup %s: %v", dn, err)
	}
}

// BenchmarkOffboarding100 measures prompt offboarding: a tech entitled on 100 agents — 100 runners, each holding
// its long poll on the hub and managing its own organizational unit of the OpenLDAP directory — is deactivated
// by an admin, and the clock runs until every agent has disabled the account on its target. Each repetition then
// re-enables the tech and waits for every account to be back. It reports the time to all disabled and the
// per-agent time, median and p99. Goal: p99 ≤ 5 s. Sizes: WATCHWORD_BENCH_AGENTS (100), WATCHWORD_BENCH_REPS (10).
// Run: go test -run '^$' -bench Offboarding100 -benchtime 1x ./console/server/agent/
func BenchmarkOffboarding100(b *testing.B) {
	nAgents := envInt("WATCHWORD_BENCH_AGENTS", 100)
	reps := envInt("WATCHWORD_BENCH_REPS", 10)
	env := targets.Require(b)
	ctx := context.Background()
	h := hubtest.New(b)
	opsRight(ctx, b, h)
	tech := h.ActiveTech(uniqueUser(b))

	admin := ldapAdmin(b, env)
	defer admin.Close()
	tag := make([]byte, 3)
	rand.Read(tag)
	people := env.Get(b, "WW_LDAP_PEOPLE_DN")
	var ous []string
	b.Cleanup(func() {
		c := ldapAdmin(b, env)
		defer c.Close()
		for _, ou := range ous {
			deleteSubtree(b, c, ou)
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
		ou := fmt.Sprintf("ou=%s%x-%03d,%s", prefix, tag, i, people)
		add := ldap.NewAddRequest(ou, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{fmt.Sprintf("%s%x-%03d", prefix, tag, i)})
		if err := admin.Add(add); err != nil {
			b.Fatalf("add %s: %v", ou, err)
		}
		ous = append(ous, ou)
		cfg := openldap.Config{PeopleDN: ou, GroupsDN: env.Get(b, "WW_LDAP_GROUPS_DN")}
		cfg.URL, cfg.TLS = env.Get(b, "WW_LDAP_URL"), env.TLSConfig(b)
		cfg.BindDN, cfg.Password = env.Get(b, "WW_LDAP_ADMIN_DN"), env.Get(b, "WW_LDAP_ADMIN_PASSWORD")
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
	b.ReportMetric(pctMS(all, 50), "all-p50-ms")
	b.ReportMetric(pctMS(all, 99), "all-p99-ms")
	b.ReportMetric(pctMS(each, 50), "agent-p50-ms")
	b.ReportMetric(pctMS(each, 99), "agent-p99-ms")
	b.ReportMetric(float64(len(members)), "agents")
	fmt.Printf("offboarding, %d agents on OpenLDAP: all disabled median %.0f ms, p99 %.0f ms (%d repetitions); "+
		"per agent median %.0f ms, p99 %.0f ms\n", len(members), pctMS(all, 50), pctMS(all, 99), len(all),
		pctMS(each, 50), pctMS(each, 99))
}
