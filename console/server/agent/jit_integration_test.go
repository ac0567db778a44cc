package agent_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/driver/linux"
	"github.com/watchword/watchword/console/server/agent/internal/cutproxy"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// jitRights replaces the All triplet with one jit triplet granting Ops (wwt-ops on both targets) to every tech on
// every agent, and returns it.
func jitRights(ctx context.Context, t testing.TB, h *hubtest.Harness, max int64) wire.Triplet {
	t.Helper()
	return agenttest.Grant(ctx, t, h, max, map[string][]string{wire.DriverAD: {"wwt-ops"}, wire.DriverLinux: {"wwt-ops"}})
}

// runUntilStopped runs a runner and returns a stop that ends it like a crash would for the target: no cleanup of
// any kind happens on the way out.
func runUntilStopped(t testing.TB, cfg agent.Config, logs *hubtest.SyncBuffer) func() {
	t.Helper()
	cfg.Logger = newJSONLogger(logs)
	r, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

// uac reads an AD account's userAccountControl through a driver of its own.
func uac(ctx context.Context, t testing.TB, cfg ad.Config, name string) int64 {
	t.Helper()
	d := agenttest.NewAD(t, cfg)
	v, err := d.UserAccountControl(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// shadowOf returns a local account's shadow hash and expiry fields.
func shadowOf(t testing.TB, name string) (hash, expire string) {
	t.Helper()
	out, err := exec.Command("getent", "shadow", name).Output()
	if err != nil {
		t.Fatalf("getent shadow %s: %v", name, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	return f[1], f[7]
}

// linuxClosed says whether a local account is locked and expired, with no supplementary group.
func linuxClosed(t testing.TB, name string) bool {
	hash, expire := shadowOf(t, name)
	g := linuxGroups(t.(*testing.T), name)
	return strings.HasPrefix(hash, "!") && expire == "1" && !slices.Contains(g, "wwt-ops")
}

// jitPassword waits for a version of the tech's account that its device opens and that binds (AD) or logs in
// (SSH), and returns it with the time it took from start.
func jitPassword(ctx context.Context, t *testing.T, tech *hubtest.Tech, agentID int64, account string, works func(pw string) bool, start time.Time, timeout time.Duration) (string, time.Duration) {
	t.Helper()
	var pw string
	for {
		if _, st, p, err := agenttest.Current(ctx, t, tech, agentID, account); err == nil && st == wire.VersionConfirmed && works(p) {
			pw = p
			return pw, time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("no working jit password for %s within %s", account, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJITAgainstRealTargets walks just-in-time access on the Samba AD DC and the SSH Linux
// target: closed accounts exist disabled without groups and the tech opens nothing; an enable binds within 2 s
// with the right's group; an unapproved request changes nothing; at expiry the account is disabled (AD data 533)
// without groups and the window's password stops working; and an agent stopped during a window and restarted
// while the hub is unreachable still disables the account at expiry from its state file.
func TestJITAgainstRealTargets(t *testing.T) {
	env := targets.Require(t)
	targets.LockAccounts(t) // its agents add and disable accounts on this machine's SSH target
	if os.Geteuid() != 0 {
		t.Skip("the SSH target is this host; cleaning its accounts up needs root")
	}
	adCfg := agenttest.ADConfig(t, env)
	sshT := newSSHTarget(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	h := hubtest.New(t)
	trip := jitRights(ctx, t, h, 300)
	alice := h.ActiveTech(agenttest.UniqueUser())
	st, err := alice.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acc := st.Username + "-tm"
	t.Cleanup(func() {
		agenttest.DeleteADUsers(t, adCfg, acc)
		deleteLinuxUsers(t, acc)
	})
	adAgent := h.NewAgent("test.lan", wire.DriverAD)
	sshAgent := h.NewAgent("ssh.test.lan", wire.DriverLinux)
	px := cutproxy.New(t, hostOf(h.URL)) // both agents reach the hub through it, so the test can cut them off
	client := func(a *hubtest.Agent) *hubclient.Client {
		c, err := hubclient.New(proxyInvite(px, h), a.Identity, hubclient.WithTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	rec := &recorder{}
	logs := &hubtest.SyncBuffer{}
	dir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() { // the logs hold no password (checked below), so they may help
			t.Logf("agents' logs:\n%s", tail(logs.Bytes(), 6000))
		}
	})
	// The agents share the hub's clock, so the test can move time past an expiry for both.
	base := agent.Config{Parallelism: 2, PollWait: 5 * time.Second, Backoff: agent.Backoff{Min: 100 * time.Millisecond, Max: time.Second},
		Retry: 2 * time.Second, Pace: 200 * time.Millisecond, Now: h.Clock.Now}
	adRun := base
	adRun.Hub, adRun.JITStateFile = client(adAgent), filepath.Join(dir, "ad-jit.json")
	adRun.NewDriver = func() (driver.Driver, error) {
		d, err := ad.New(adCfg)
		return recordingDriver{d, rec}, err
	}
	sshRun := base
	sshRun.Hub, sshRun.JITStateFile = client(sshAgent), filepath.Join(dir, "ssh-jit.json")
	sshRun.NewDriver = func() (driver.Driver, error) {
		d, err := linux.NewSSH(sshT.cfg)
		return recordingDriver{d, rec}, err
	}
	stopAD := runUntilStopped(t, adRun, logs)
	runUntilStopped(t, sshRun, logs)
	check := agenttest.NewAD(t, adCfg)
	adBinds := func(pw string) bool { return check.Verify(ctx, acc, pw) == nil }
	sshLogs := func(pw string) bool {
		return linux.Login(ctx, sshT.addr, sshT.hostKey, acc, pw, 5*time.Second) == nil
	}

	// Closed: the accounts exist, disabled, without groups, with a recovery-only password the tech cannot get.
	eventually(t, 30*time.Second, "closed jit accounts with a recovery-only password", func() bool {
		accs, err := h.Owner.Accounts(ctx, alice.ID, 0)
		if err != nil || len(accs) != 2 {
			return false
		}
		for _, a := range accs {
			if a.CurrentVersion == 0 || a.State != wire.AccountDisabled {
				return false
			}
		}
		return true
	})
	if v := uac(ctx, t, adCfg, acc); v&2 == 0 {
		t.Fatalf("closed AD account userAccountControl %d: not disabled", v)
	}
	if g := memberOf(t, adCfg, acc); len(g) != 0 {
		t.Fatalf("closed AD account in %v", g)
	}
	if !linuxClosed(t, acc) {
		t.Fatalf("closed Linux account not locked, expired and groupless: %v", linuxGroups(t, acc))
	}
	creds, err := alice.Credentials(ctx)
	if err != nil || len(creds.Credentials) != 2 {
		t.Fatalf("credentials %+v %v", creds, err)
	}
	for _, c := range creds.Credentials {
		if !c.JIT || len(c.Versions) != 0 {
			t.Fatalf("closed jit credential hands out %+v", c)
		}
	}
	credOn := func(agentID int64) wire.Credential {
		for _, c := range creds.Credentials {
			if c.AgentID == agentID {
				return c
			}
		}
		t.Fatalf("no credential on agent %d", agentID)
		return wire.Credential{}
	}
	adCred, sshCred := credOn(adAgent.ID), credOn(sshAgent.ID)

	// Enable: a bind works within 2 s of the request, with the right's group.
	asked := time.Now()
	_, err = alice.RequestJIT(ctx, wire.JITRequest{AccountID: adCred.AccountID, DurationSeconds: 120, Reason: "ticket 4711"})
	if err != nil {
		t.Fatal(err)
	}
	adPw, adLatency := jitPassword(ctx, t, alice, adAgent.ID, acc, adBinds, asked, 10*time.Second)
	t.Logf("JIT enable on AD: request → bind works in %s", adLatency.Round(time.Millisecond))
	asked = time.Now()
	if _, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: sshCred.AccountID, DurationSeconds: 120, Reason: "ticket 4711"}); err != nil {
		t.Fatal(err)
	}
	sshPw, sshLatency := jitPassword(ctx, t, alice, sshAgent.ID, acc, sshLogs, asked, 10*time.Second)
	t.Logf("JIT enable on SSH: request → login works in %s", sshLatency.Round(time.Millisecond))
	// The goal is 2 s for a bind on the DC. The SSH target's enable is a dozen sudo commands and a password login
	// over SSH (about 1 s here, 2.6 s seen on a loaded machine): it gets more room.
	if adLatency > 2*time.Second {
		t.Errorf("enable latency on AD %s: the goal is 2 s", adLatency)
	}
	if sshLatency > 5*time.Second {
		t.Errorf("enable latency on SSH %s: more than 5 s", sshLatency)
	}
	if g := memberOf(t, adCfg, acc); !slices.Equal(g, []string{"wwt-ops"}) {
		t.Fatalf("open AD account in %v, want [wwt-ops]", g)
	}
	if g := linuxGroups(t, acc); !slices.Contains(g, "wwt-ops") {
		t.Fatalf("open Linux account in %v", g)
	}

	// Expiry, by the shared clock: disabled (data 533), no groups, within seconds; then rotated away from the tech.
	h.Clock.Advance(121 * time.Second)
	moved := time.Now()
	d := eventually(t, 10*time.Second, "AD account disabled at expiry", func() bool {
		err := check.Verify(ctx, acc, adPw)
		return errors.Is(err, driver.ErrDisabled) && strings.Contains(err.Error(), "533") || errors.Is(err, driver.ErrBadPassword)
	})
	t.Logf("expiry → AD account disabled in %s", d.Round(time.Millisecond))
	if g := memberOf(t, adCfg, acc); len(g) != 0 {
		t.Fatalf("expired AD account still in %v", g)
	}
	eventually(t, 10*time.Second, "Linux account closed at expiry", func() bool { return linuxClosed(t, acc) })
	t.Logf("expiry → both targets closed %s after the clock passed it", time.Since(moved).Round(time.Millisecond))
	eventually(t, 20*time.Second, "the window's passwords rotated away", func() bool {
		return errors.Is(check.Verify(ctx, acc, adPw), driver.ErrBadPassword) && !sshLogs(sshPw)
	})
	mine, err := alice.ListMyJIT(ctx)
	if err != nil || len(mine) != 2 || mine[0].Status != wire.JITExpired || mine[1].Status != wire.JITExpired {
		t.Fatalf("grants after expiry: %+v %v", mine, err)
	}
	eventually(t, 10*time.Second, "no password left for the tech once the recovery-only versions are confirmed", func() bool {
		creds, err = alice.Credentials(ctx)
		return err == nil && len(credOn(adAgent.ID).Versions)+len(credOn(sshAgent.ID).Versions) == 0
	})

	// Approval: an unapproved request changes nothing on the target.
	if _, err := h.Owner.UpdateTriplet(ctx, trip.ID, wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: 300, ApprovalRequired: true}); err != nil {
		t.Fatal(err)
	}
	pending, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: adCred.AccountID, DurationSeconds: 120, Reason: "ticket 4712"})
	if err != nil || pending.Status != wire.JITPending {
		t.Fatalf("request needing approval: %+v %v", pending, err)
	}
	time.Sleep(3 * time.Second) // more than the enable takes
	if v := uac(ctx, t, adCfg, acc); v&2 == 0 || len(memberOf(t, adCfg, acc)) != 0 {
		t.Fatalf("an unapproved request enabled the account (userAccountControl %d)", v)
	}
	if creds, _ = alice.Credentials(ctx); len(credOn(adAgent.ID).Versions) != 0 {
		t.Fatal("an unapproved request handed out a password")
	}
	asked = time.Now()
	if _, err := h.Owner.ApproveJIT(ctx, pending.ID, "approved for the test"); err != nil {
		t.Fatal(err)
	}
	adPw, d = jitPassword(ctx, t, alice, adAgent.ID, acc, adBinds, asked, 10*time.Second)
	t.Logf("JIT enable on AD after approval: approval → bind works in %s", d.Round(time.Millisecond))

	// The AD agent stops during the window and comes back while the hub is unreachable: it still closes the
	// account at expiry, from its state file and its own clock.
	stopAD()
	px.Cut()
	runUntilStopped(t, adRun, logs)
	time.Sleep(500 * time.Millisecond)
	if err := check.Verify(ctx, acc, adPw); err != nil {
		t.Fatalf("the restarted agent closed the window early: %v", err)
	}
	h.Clock.Advance(121 * time.Second)
	d = eventually(t, 10*time.Second, "AD account disabled at expiry by a restarted agent without the hub", func() bool {
		err := check.Verify(ctx, acc, adPw)
		return errors.Is(err, driver.ErrDisabled) && strings.Contains(err.Error(), "533")
	})
	t.Logf("restarted agent, hub unreachable: expiry → AD account disabled in %s", d.Round(time.Millisecond))
	if g := memberOf(t, adCfg, acc); len(g) != 0 {
		t.Fatalf("expired AD account still in %v after the restart", g)
	}
	// The hub back: the window's password is rotated away.
	px.Restore()
	eventually(t, 20*time.Second, "the window's password rotated away after the outage", func() bool {
		return errors.Is(check.Verify(ctx, acc, adPw), driver.ErrBadPassword)
	})

	// Zero knowledge: no password the agents set is in the hub's files or any log.
	for _, f := range []string{h.DBPath, h.DBPath + "-wal"} {
		if b, err := os.ReadFile(f); err == nil {
			grepSecrets(t, f, b, rec.all())
		}
	}
	grepSecrets(t, "the agents' logs", logs.Bytes(), rec.all())
	grepSecrets(t, "the hub's logs", h.Logs.Bytes(), rec.all())
}

func newJSONLogger(w *hubtest.SyncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// The recording wrapper records the passwords set on a disabled account too.
func (d recordingDriver) SetDisabledPassword(ctx context.Context, name, pw string) error {
	d.rec.add(pw)
	return d.Driver.SetDisabledPassword(ctx, name, pw)
}
