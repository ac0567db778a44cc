package peers_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/openldap"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/wire"
)

// addEntries adds an entry for each user's account (its name: the user and the tenant's "-tm") to ou as the
// OpenLDAP driver creates one, marked as Watchword's, with a password, over four connections.
func addEntries(tb testing.TB, env targets.Env, ou string, users []string) {
	tb.Helper()
	conns := make([]*ldap.Conn, 4)
	for w := range conns {
		conns[w] = agenttest.LDAPAdmin(tb, env)
		defer conns[w].Close()
	}
	err := agenttest.InParallel(len(conns), len(users), func(w, i int) error {
		name := users[i] + "-tm"
		add := ldap.NewAddRequest(fmt.Sprintf("uid=%s,%s", name, ou), nil)
		add.Attribute("objectClass", []string{"inetOrgPerson"})
		add.Attribute("uid", []string{name})
		add.Attribute("cn", []string{name})
		add.Attribute("sn", []string{name})
		add.Attribute("description", []string{driver.MarkManaged})
		add.Attribute("userPassword", []string{rand.Text()})
		if err := conns[w].Add(add); err != nil {
			return fmt.Errorf("add %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// cpu is this process's user and system CPU time so far: the hub's, the agent's and both sides' TLS.
func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scaleSizes are the numbers of accounts BenchmarkRotationScale runs at: WATCHWORD_BENCH_SCALE, comma separated.
func scaleSizes(tb testing.TB) []int {
	spec := os.Getenv("WATCHWORD_BENCH_SCALE")
	if spec == "" {
		spec = "100,1000,10000"
	}
	var out []int
	for f := range strings.SplitSeq(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			tb.Fatalf("WATCHWORD_BENCH_SCALE %q: %q is not a positive number", spec, f)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkRotationScale measures what one rotation costs as the work of one agent grows: for each size, a hub
// with that many techs entitled on one agent that manages an OpenLDAP organizational unit of its own, and the
// clock runs over one pass of the runner over every account (ensure + generate, seal, stage, set, verify, confirm;
// parallelism 4, the runner's default). The entries are added beforehand with plain LDAP adds, as the driver
// creates them (marked as Watchword's, with a password, in the run's own group), so that the run does not spend a
// second pass on creating them. It reports the pass, the time and this process's CPU time (hub, agent and both
// sides of TLS; slapd's own is not counted) per rotation, and the time the hub takes to hand out the agent's first
// plan (in which it adds the accounts' rows).
// Sizes: WATCHWORD_BENCH_SCALE (100,1000,10000). Run: go test -run '^$' -bench RotationScale -benchtime 1x -timeout 30m .
func BenchmarkRotationScale(b *testing.B) {
	env := targets.Require(b)
	for _, n := range scaleSizes(b) {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) { rotationScale(b, env, n) })
	}
}

func rotationScale(b *testing.B, env targets.Env, n int) {
	ctx := context.Background()
	h := hubtest.New(b)
	tag := make([]byte, 3)
	rand.Read(tag)
	base := fmt.Sprintf("%s%x-s%d", agenttest.Prefix, tag, n)
	group := fmt.Sprintf("cn=%s,%s", base, env.Get(b, "WW_LDAP_GROUPS_DN"))

	admin := agenttest.LDAPAdmin(b, env)
	ou := agenttest.AddOU(b, admin, base, env.Get(b, "WW_LDAP_PEOPLE_DN"))
	b.Cleanup(func() {
		agenttest.DeleteOU(b, env, ou)
		c := agenttest.LDAPAdmin(b, env)
		defer c.Close()
		if err := c.Del(ldap.NewDelRequest(group, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			b.Logf("cleanup %s: %v", group, err)
		}
	})
	t0 := time.Now()
	users := make([]string, n)
	for i := range n {
		users[i] = fmt.Sprintf("%s%xs%05d", agenttest.Prefix, tag, i)
	}
	addEntries(b, env, ou, users)
	// The run's own group, so that thousands of members never land in a group other tests use; every entry joins
	// it in one modify.
	members := make([]string, n)
	for i, u := range users {
		members[i] = fmt.Sprintf("uid=%s-tm,%s", u, ou)
	}
	add := ldap.NewAddRequest(group, nil)
	add.Attribute("objectClass", []string{"groupOfNames"})
	add.Attribute("cn", []string{base})
	add.Attribute("member", members)
	if err := admin.Add(add); err != nil {
		b.Fatalf("add %s: %v", group, err)
	}
	admin.Close()
	b.Logf("%d entries in the directory in %s", n, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	h.AddTechs(users...)
	agenttest.OpsRight(ctx, b, h, 0, base)
	ag := h.NewAgent("dir.test", wire.DriverLDAP)
	cfg := agenttest.LDAPConfig(b, env, ou)
	r, err := agent.New(agent.Config{Hub: ag.Client, NewDriver: func() (driver.Driver, error) { return openldap.New(cfg) }})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.Logf("%d techs in the hub in %s", n, time.Since(t0).Round(time.Millisecond))

	var planT time.Duration
	pass := func() (time.Duration, time.Duration, agent.Summary) {
		t0 := time.Now()
		plan, err := ag.PlanWait(ctx, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		planT = time.Since(t0)
		if len(plan.Accounts) != n {
			b.Fatalf("plan of %d accounts, want %d", len(plan.Accounts), n)
		}
		c0 := cpu()
		t0 = time.Now()
		sum := r.Sync(ctx, plan)
		return time.Since(t0), cpu() - c0, sum
	}
	var took, spent time.Duration
	var sum agent.Summary
	for b.Loop() {
		took, spent, sum = pass()
		if sum.Rotated != n || sum.Failed > 0 {
			b.Fatalf("pass: %+v", sum)
		}
	}
	per := ms(took) / float64(n)
	b.ReportMetric(took.Seconds(), "pass-s")
	b.ReportMetric(per, "ms/rotation")
	b.ReportMetric(float64(n)/took.Seconds(), "rot/s")
	b.ReportMetric(ms(spent)/float64(n), "cpu-ms/rotation")
	b.ReportMetric(ms(planT), "plan-ms")
	b.ReportMetric(float64(n), "accounts")
	fmt.Printf("rotation scale, %d accounts on one agent (OpenLDAP): pass %.1f s, %.2f ms and %.2f ms of CPU per rotation "+
		"(%.0f rotations/s); the agent's plan %.0f ms\n",
		n, took.Seconds(), per, ms(spent)/float64(n), float64(n)/took.Seconds(), ms(planT))
}
