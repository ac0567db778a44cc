package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// setupRights replaces the built-in All triplet with three rights granted to every tech on every agent: Ops and
// Dev (groups that exist on both targets) and Ghost (a group that exists nowhere). It returns Dev's triplet.
func setupRights(ctx context.Context, t testing.TB, h *hubtest.Harness) int64 {
	t.Helper()
	allTechs, allDomains := agenttest.WithoutAllTriplet(ctx, t, h)
	var dev int64
	for _, r := range []struct {
		name  string
		group string
	}{{"Ops", "wwt-ops"}, {"Dev", "wwt-dev"}, {"Ghost", "wwt-nosuch"}} {
		right, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: r.name,
			Targets: map[string][]string{wire.DriverAD: {r.group}, wire.DriverLinux: {r.group}}})
		if err != nil {
			t.Fatalf("right %s: %v", r.name, err)
		}
		tr, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: allTechs, AgentGroupID: allDomains, RightID: right.ID})
		if err != nil {
			t.Fatalf("triplet %s: %v", r.name, err)
		}
		if r.name == "Dev" {
			dev = tr.ID
		}
	}
	return dev
}

func accountID(ctx context.Context, t *testing.T, h *hubtest.Harness, techID, agentID int64) wire.Account {
	t.Helper()
	accs, err := h.Owner.Accounts(ctx, techID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		if a.AgentID == agentID {
			return a
		}
	}
	t.Fatalf("no account of tech %d on agent %d: %+v", techID, agentID, accs)
	return wire.Account{}
}

// confirmedAfter waits until the tech's account has a confirmed version newer than after and returns it opened.
func confirmedAfter(ctx context.Context, t *testing.T, tech *hubtest.Tech, agentID int64, account string, after int64, timeout time.Duration) (int64, string) {
	t.Helper()
	var v int64
	var pw string
	eventually(t, timeout, fmt.Sprintf("%s confirmed above version %d", account, after), func() bool {
		ver, st, p, err := agenttest.Current(ctx, t, tech, agentID, account)
		if err != nil || st != wire.VersionConfirmed || ver <= after {
			return false
		}
		v, pw = ver, p
		return true
	})
	return v, pw
}

func linuxGroups(t *testing.T, name string) []string {
	t.Helper()
	out, err := exec.Command("id", "-nG", name).Output()
	if err != nil {
		t.Fatalf("id -nG %s: %v", name, err)
	}
	g := strings.Fields(string(out))
	slices.Sort(g)
	return g
}

// TestAgentAgainstRealTargets runs two agents — one on the Samba AD DC, one on the OpenSSH host — against a real
// hub, and walks the product's promises: accounts appear for entitled techs with passwords only their device
// opens, missing groups are reported and never created, rights changes change groups, rotate-now rotates, a hub
// outage makes the agent back off and resume without rotating blind, deactivation disables within seconds, and
// no generated password reaches the hub's database or any log.
func TestAgentAgainstRealTargets(t *testing.T) {
	env := targets.Require(t)
	targets.LockAccounts(t) // its agents add and disable accounts on this machine's SSH target
	if os.Geteuid() != 0 {
		t.Skip("the SSH target is this host; cleaning its accounts up needs root")
	}
	adCfg := agenttest.ADConfig(t, env)
	sshT := newSSHTarget(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	h := hubtest.New(t)
	devTriplet := setupRights(ctx, t, h)
	alice, bob := h.ActiveTech(agenttest.UniqueUser()), h.ActiveTech(agenttest.UniqueUser())
	aliceStatus, err := alice.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bobStatus, err := bob.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	aliceAcc, bobAcc := aliceStatus.Username+"-tm", bobStatus.Username+"-tm"
	t.Cleanup(func() {
		agenttest.DeleteADUsers(t, adCfg, aliceAcc, bobAcc)
		deleteLinuxUsers(t, aliceAcc, bobAcc)
	})

	adAgent := h.NewAgent("test.lan", wire.DriverAD)
	sshAgent := h.NewAgent("ssh.test.lan", wire.DriverLinux)
	px := cutproxy.New(t, hostOf(h.URL))
	adClient, err := hubclient.New(proxyInvite(px, h), adAgent.Identity, hubclient.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(adClient.Close)

	rec := &recorder{}
	logs := &hubtest.SyncBuffer{}
	base := agent.Config{Parallelism: 2, PollWait: 5 * time.Second, Backoff: agent.Backoff{Min: 100 * time.Millisecond, Max: time.Second},
		Retry: 2 * time.Second, Pace: 200 * time.Millisecond}
	adRun := base
	adRun.Hub = adClient
	adRun.NewDriver = func() (driver.Driver, error) {
		d, err := ad.New(adCfg)
		return recordingDriver{d, rec}, err
	}
	runner := startRunner(t, adRun, logs)
	sshRun := base
	sshRun.Hub = sshAgent.Client
	sshRun.NewDriver = func() (driver.Driver, error) {
		d, err := linux.NewSSH(sshT.cfg)
		return recordingDriver{d, rec}, err
	}
	startRunner(t, sshRun, logs)
	check := agenttest.NewAD(t, adCfg)

	// Accounts for entitled techs, passwords their own identity opens, exactly the planned groups.
	took := time.Now()
	aliceV, alicePw := confirmedAfter(ctx, t, alice, adAgent.ID, aliceAcc, 0, 30*time.Second)
	bobV, bobPw := confirmedAfter(ctx, t, bob, adAgent.ID, bobAcc, 0, 30*time.Second)
	t.Logf("AD: 2 accounts created, rotated and confirmed in %s", time.Since(took).Round(time.Millisecond))
	if err := check.Verify(ctx, aliceAcc, alicePw); err != nil {
		t.Fatalf("bind as %s with the password alice's device opens: %v", aliceAcc, err)
	}
	if g := memberOf(t, adCfg, aliceAcc); !slices.Equal(sortCopy(g), []string{"wwt-dev", "wwt-ops"}) {
		t.Fatalf("%s groups: %v", aliceAcc, g)
	}
	eventually(t, 10*time.Second, "the missing group reported at the hub", func() bool {
		a := accountID(ctx, t, h, alice.ID, adAgent.ID)
		return a.State == wire.AccountPresent && strings.Contains(a.LastError, "wwt-nosuch")
	})

	// The SSH agent: a local account on this host, reachable by password over SSH.
	_, aliceSSHPw := confirmedAfter(ctx, t, alice, sshAgent.ID, aliceAcc, 0, 30*time.Second)
	if err := linux.Login(ctx, sshT.addr, sshT.hostKey, aliceAcc, aliceSSHPw, 10*time.Second); err != nil {
		t.Fatalf("ssh login as %s: %v", aliceAcc, err)
	}
	if g := linuxGroups(t, aliceAcc); !slices.Contains(g, "wwt-ops") || !slices.Contains(g, "wwt-dev") {
		t.Fatalf("linux groups of %s: %v", aliceAcc, g)
	}

	// Rights change → groups change.
	if err := h.Owner.DeleteTriplet(ctx, devTriplet); err != nil {
		t.Fatal(err)
	}
	d := eventually(t, 10*time.Second, "wwt-dev membership removed", func() bool {
		return slices.Equal(memberOf(t, adCfg, aliceAcc), []string{"wwt-ops"})
	})
	t.Logf("rights change applied on AD in %s", d.Round(time.Millisecond))

	// Rotate now.
	aliceAD := accountID(ctx, t, h, alice.ID, adAgent.ID)
	if n, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AccountID: aliceAD.ID}); err != nil || n != 1 {
		t.Fatalf("rotate now: %d, %v", n, err)
	}
	newV, newPw := confirmedAfter(ctx, t, alice, adAgent.ID, aliceAcc, aliceV, 10*time.Second)
	if err := check.Verify(ctx, aliceAcc, newPw); err != nil {
		t.Fatalf("bind with the rotated password: %v", err)
	}
	if err := check.Verify(ctx, aliceAcc, alicePw); !errors.Is(err, driver.ErrBadPassword) {
		t.Fatalf("the old password after rotate-now: %v, want wrong password", err)
	}
	t.Logf("rotate-now: version %d → %d", aliceV, newV)

	// Hub outage: the agent backs off, keeps its plan, rotates nothing blind, and resumes.
	px.Cut()
	errs0 := runner.Stats().PollErrors
	eventually(t, 10*time.Second, "poll failures during the outage", func() bool { return runner.Stats().PollErrors >= errs0+3 })
	bobAD := accountID(ctx, t, h, bob.ID, adAgent.ID)
	if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AccountID: bobAD.ID}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if v, st, _, err := agenttest.Current(ctx, t, bob, adAgent.ID, bobAcc); err != nil || v != bobV || st != wire.VersionConfirmed {
		t.Fatalf("during the outage bob's account moved: v%d %s (was v%d), %v", v, st, bobV, err)
	}
	if err := check.Verify(ctx, bobAcc, bobPw); err != nil {
		t.Fatalf("during the outage bob's password changed on the target: %v", err)
	}
	if runner.LastPlan() == nil {
		t.Fatal("no last plan kept")
	}
	outage := runner.Stats().PollErrors - errs0
	px.Restore()
	d = eventually(t, 15*time.Second, "rotation after the hub came back", func() bool {
		v, st, _, err := agenttest.Current(ctx, t, bob, adAgent.ID, bobAcc)
		return err == nil && v > bobV && st == wire.VersionConfirmed
	})
	t.Logf("hub outage: %d failed polls with backoff; resumed and rotated %s after the hub came back", outage, d.Round(time.Millisecond))
	if !bytes.Contains(logs.Bytes(), []byte("backing off")) {
		t.Error("no backoff in the agent's log")
	}
	_, bobPw, _ = func() (int64, string, error) {
		v, _, p, err := agenttest.Current(ctx, t, bob, adAgent.ID, bobAcc)
		return v, p, err
	}()

	// Deactivation → disabled within seconds through the long poll.
	start := time.Now()
	if _, err := h.Owner.DisableTech(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, bobAcc+" disabled on the DC", func() bool {
		uac, err := check.UserAccountControl(ctx, bobAcc)
		return err == nil && uac&0x2 != 0
	})
	t.Logf("deactivation → AD account disabled in %s", time.Since(start).Round(time.Millisecond))
	err = check.Verify(ctx, bobAcc, bobPw)
	if !errors.Is(err, driver.ErrDisabled) || !strings.Contains(err.Error(), "533") {
		t.Fatalf("bind as the deactivated tech's account: %v, want data 533", err)
	}
	if g := memberOf(t, adCfg, bobAcc); len(g) != 0 {
		t.Fatalf("deactivated account still in %v", g)
	}
	eventually(t, 10*time.Second, "the disabled state reported at the hub", func() bool {
		return accountID(ctx, t, h, bob.ID, adAgent.ID).State == wire.AccountDisabled
	})
	eventually(t, 10*time.Second, bobAcc+" locked on the SSH host", func() bool {
		out, _ := exec.Command("getent", "shadow", bobAcc).Output()
		return strings.HasPrefix(strings.SplitN(string(out), ":", 3)[1], "!")
	})

	// Zero knowledge: no generated password in the hub's database files or in any log.
	pws := rec.all()
	if len(pws) < 6 {
		t.Fatalf("only %d passwords recorded", len(pws))
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(h.DBPath + suffix)
		if err != nil && suffix == "" {
			t.Fatal(err)
		}
		grepSecrets(t, "the hub database file "+h.DBPath+suffix, b, pws)
	}
	grepSecrets(t, "the hub's log", h.Logs.Bytes(), pws)
	grepSecrets(t, "the agents' logs", logs.Bytes(), pws)
	if !bytes.Contains(append(logs.Bytes(), pws[0]...), []byte(pws[0])) {
		t.Fatal("grep self-check failed")
	}
	t.Logf("zero knowledge: %d generated passwords absent from the hub DB (%s + WAL) and %d KiB of logs",
		len(pws), h.DBPath, (len(h.Logs.Bytes())+len(logs.Bytes()))/1024)
}

func sortCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
