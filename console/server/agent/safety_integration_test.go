package agent_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// The do-no-harm promises of the agent on the real Samba DC, with the real hub in-process: an account that can
// never be verified stops before the lockout threshold, a policy weaker than the domain's is refused with the
// rule named, and a re-enabled account is rotated before it is enabled.

// neverVerifies is the AD driver on a DC that never accepts the new password (a password filter, a replica that
// never catches up): every verification binds, for real, with a wrong password, and so counts toward lockout.
type neverVerifies struct{ *ad.Driver }

func (d neverVerifies) Verify(ctx context.Context, name, _ string) error {
	return d.Driver.Verify(ctx, name, "Wrong-Passw0rd-for-the-test!")
}

func (d neverVerifies) VerifyDisabled(ctx context.Context, name, _ string) error {
	return d.Driver.VerifyDisabled(ctx, name, "Wrong-Passw0rd-for-the-test!")
}

// pso applies a fine-grained password policy to one account for the length of the test.
type pso struct {
	minLength, lockout int
}

func applyPSO(tb testing.TB, cfg ad.Config, account string, p pso) string {
	tb.Helper()
	conn := adAdmin(tb, cfg)
	defer conn.Close()
	user := adUser(tb, conn, cfg, account, "distinguishedName")
	name := "wwt-pso-" + account
	dn := fmt.Sprintf("CN=%s,CN=Password Settings Container,CN=System,%s", ldap.EscapeDN(name), cfg.BaseDN)
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"msDS-PasswordSettings"})
	for attr, v := range map[string]string{
		"msDS-PasswordSettingsPrecedence":          "1",
		"msDS-PasswordReversibleEncryptionEnabled": "FALSE",
		"msDS-PasswordHistoryLength":               "24",
		"msDS-PasswordComplexityEnabled":           "TRUE",
		"msDS-MinimumPasswordLength":               strconv.Itoa(p.minLength),
		"msDS-MinimumPasswordAge":                  "0",
		"msDS-MaximumPasswordAge":                  "-36288000000000", // 42 days
		"msDS-LockoutThreshold":                    strconv.Itoa(p.lockout),
		"msDS-LockoutObservationWindow":            "-18000000000", // 30 minutes
		"msDS-LockoutDuration":                     "-18000000000",
	} {
		req.Attribute(attr, []string{v})
	}
	req.Attribute("msDS-PSOAppliesTo", []string{user.DN})
	if err := conn.Add(req); err != nil {
		tb.Fatalf("add password settings %s: %v", dn, err)
	}
	tb.Cleanup(func() {
		c := adAdmin(tb, cfg)
		defer c.Close()
		if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
			tb.Logf("cleanup %s: %v", dn, err)
		}
	})
	return name
}

// adAdmin is an admin connection to the DC.
func adAdmin(tb testing.TB, cfg ad.Config) *ldap.Conn {
	tb.Helper()
	conn, err := agenttest.DialAD(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return conn
}

func adUser(tb testing.TB, conn *ldap.Conn, cfg ad.Config, name string, attrs ...string) *ldap.Entry {
	tb.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 10, false,
		fmt.Sprintf("(&(objectClass=user)(sAMAccountName=%s))", ldap.EscapeFilter(name)), attrs, nil))
	if err != nil || len(res.Entries) != 1 {
		tb.Fatalf("look up %s: %v", name, err)
	}
	return res.Entries[0]
}

func adAttr(tb testing.TB, cfg ad.Config, name, attr string) string {
	conn := adAdmin(tb, cfg)
	defer conn.Close()
	return adUser(tb, conn, cfg, name, attr).GetAttributeValue(attr)
}

// safetyHarness is a hub, one approved tech, an AD agent and a runner over the given driver.
type safetyHarness struct {
	h       *hubtest.Harness
	tech    *hubtest.Tech
	agentID int64
	agent   *hubtest.Agent
	account string
	logs    *hubtest.SyncBuffer
}

func newSafetyHarness(t *testing.T, adCfg ad.Config) *safetyHarness {
	t.Helper()
	h := hubtest.New(t)
	tech := h.ActiveTech(agenttest.UniqueUser())
	st, err := tech.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := &safetyHarness{h: h, tech: tech, account: st.Username + "-tm", logs: &hubtest.SyncBuffer{}}
	t.Cleanup(func() { agenttest.DeleteADUsers(t, adCfg, s.account) })
	s.agent = h.NewAgent("test.lan", wire.DriverAD)
	s.agentID = s.agent.ID
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent's log:\n%s", tail(s.logs.Bytes(), 6000))
		}
	})
	return s
}

func (s *safetyHarness) run(t *testing.T, newDriver func() (driver.Driver, error), retry time.Duration) {
	t.Helper()
	c, err := hubclient.New(s.h.Invite, s.agent.Identity, hubclient.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	runUntilStopped(t, agent.Config{Hub: c, Parallelism: 1, PollWait: time.Second, Retry: retry,
		Backoff: agent.Backoff{Min: 100 * time.Millisecond, Max: time.Second}, Pace: 100 * time.Millisecond,
		Now: s.h.Clock.Now, NewDriver: newDriver}, s.logs)
}

// runNeverVerifies runs the agent with a driver whose every verification fails, until the hub reports the
// account failed, and returns it.
func (s *safetyHarness) runNeverVerifies(ctx context.Context, t *testing.T, adCfg ad.Config) wire.Account {
	t.Helper()
	s.run(t, func() (driver.Driver, error) {
		d, err := ad.New(adCfg)
		return neverVerifies{d}, err
	}, time.Second)
	var acc wire.Account
	eventually(t, time.Minute, s.account+" failed", func() bool {
		acc = s.accountState(ctx, t)
		return acc.State == wire.AccountFailed
	})
	return acc
}

func (s *safetyHarness) accountState(ctx context.Context, t *testing.T) wire.Account {
	t.Helper()
	accs, err := s.h.Owner.Accounts(ctx, s.tech.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		if a.Name == s.account {
			return a
		}
	}
	return wire.Account{}
}

// withPolicy creates the tech's account through the driver (marked, as the agent does) so that a fine-grained
// policy can apply to it, and applies p; it returns the policy's name.
func (s *safetyHarness) withPolicy(ctx context.Context, t *testing.T, adCfg ad.Config, p pso) string {
	t.Helper()
	if _, err := agenttest.NewAD(t, adCfg).Ensure(ctx, driver.Account{Name: s.account}); err != nil {
		t.Fatal(err)
	}
	return applyPSO(t, adCfg, s.account, p)
}

// A password that never verifies: the agent stops before the account's lockout threshold (a fine-grained
// policy of 4 here) and reports it failed with the reason; no rotation follows; the DC never locks it.
func TestNeverVerifiableStopsBeforeLockout(t *testing.T) {
	env := targets.Require(t)
	adCfg := agenttest.ADConfig(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newSafetyHarness(t, adCfg)
	const threshold = 4
	s.withPolicy(ctx, t, adCfg, pso{minLength: 8, lockout: threshold})
	acc := s.runNeverVerifies(ctx, t, adCfg)
	if !strings.Contains(acc.LastError, "lock") || strings.ContainsAny(acc.LastError, "\n\r") {
		t.Fatalf("lastError %q: want one line that names the lockout", acc.LastError)
	}
	versions := acc.CurrentVersion
	time.Sleep(4 * time.Second) // four of the agent's polls: nothing more may happen
	if again := s.accountState(ctx, t); again.CurrentVersion != versions || again.State != wire.AccountFailed {
		t.Fatalf("after the halt: version %d → %d, state %s: the agent kept rotating", versions, again.CurrentVersion, again.State)
	}
	bad, _ := strconv.Atoi(adAttr(t, adCfg, s.account, "badPwdCount"))
	locked := adAttr(t, adCfg, s.account, "lockoutTime")
	if bad >= threshold || (locked != "" && locked != "0") {
		t.Fatalf("badPwdCount %d (threshold %d), lockoutTime %q: the agent locked the account out", bad, threshold, locked)
	}
	t.Logf("halted after %d versions with badPwdCount %d of %d: %s", versions, bad, threshold, acc.LastError)
}

// Without a lockout threshold the bound is wire.MaxUnresolved: never an endless stream of rotations.
func TestNeverVerifiableStopsAtTheBound(t *testing.T) {
	env := targets.Require(t)
	adCfg := agenttest.ADConfig(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newSafetyHarness(t, adCfg)
	s.withPolicy(ctx, t, adCfg, pso{minLength: 8, lockout: 0})
	acc := s.runNeverVerifies(ctx, t, adCfg)
	time.Sleep(4 * time.Second)
	again := s.accountState(ctx, t)
	if again.CurrentVersion != acc.CurrentVersion || again.CurrentVersion > wire.MaxUnresolved {
		t.Fatalf("versions %d then %d, want at most %d and then none", acc.CurrentVersion, again.CurrentVersion, wire.MaxUnresolved)
	}
	if !strings.Contains(acc.LastError, "unresolved") {
		t.Fatalf("lastError %q: want the bound named", acc.LastError)
	}

	// An admin retries: the agent tries again (and, the DC unchanged, halts again within the bound).
	if _, err := s.h.Owner.RetryAccount(ctx, acc.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "a new attempt after the retry", func() bool {
		a := s.accountState(ctx, t)
		return a.CurrentVersion > again.CurrentVersion && a.State == wire.AccountFailed
	})
	t.Logf("halted at version %d (bound %d), retried, halted again at %d", again.CurrentVersion, wire.MaxUnresolved,
		s.accountState(ctx, t).CurrentVersion)
}

// A tenant policy shorter than the domain's minimum (a fine-grained policy of 30 here) is refused before
// anything is staged, with the rule named; raising it rotates at once, without waiting for the retry time.
func TestWeakPolicyRefusedWithTheDomainRule(t *testing.T) {
	env := targets.Require(t)
	adCfg := agenttest.ADConfig(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newSafetyHarness(t, adCfg)
	psoName := s.withPolicy(ctx, t, adCfg, pso{minLength: 30, lockout: 0})
	s.run(t, func() (driver.Driver, error) { return ad.New(adCfg) }, 10*time.Minute)

	var acc wire.Account
	eventually(t, 30*time.Second, "the weak policy reported", func() bool {
		acc = s.accountState(ctx, t)
		return acc.LastError != ""
	})
	if !strings.Contains(acc.LastError, "minimum length 30") || !strings.Contains(acc.LastError, psoName) {
		t.Fatalf("lastError %q: want the rule (minimum length 30) and where it comes from (%s)", acc.LastError, psoName)
	}
	if acc.CurrentVersion != 0 {
		t.Fatalf("version %d staged under a policy the domain refuses", acc.CurrentVersion)
	}
	p := wire.DefaultPolicy()
	p.Length = 32
	if _, err := s.h.Owner.SetPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, 30*time.Second, "a rotation under the raised policy", func() bool {
		_, st, pw, err := agenttest.Current(ctx, t, s.tech, s.agentID, s.account)
		return err == nil && st == wire.VersionConfirmed && len(pw) == 32
	})
	t.Logf("refused: %s; rotated %s after the policy was raised (retry time 10 min)", acc.LastError, took.Round(time.Millisecond))
}

// enableProbe checks, at the moment an Ensure enables the account, that the password it held before it was
// disabled no longer binds.
type enableProbe struct {
	*ad.Driver
	check *ad.Driver
	old   func() string
	seen  chan error
}

func (d enableProbe) Ensure(ctx context.Context, a driver.Account) (driver.Report, error) {
	rep, err := d.Driver.Ensure(ctx, a)
	if err == nil && rep.Enabled {
		verr := d.check.Verify(ctx, a.Name, d.old())
		select {
		case d.seen <- verr:
		default:
		}
	}
	return rep, err
}

func (d enableProbe) Enable(ctx context.Context, name string) error {
	err := d.Driver.Enable(ctx, name)
	if err == nil {
		verr := d.check.Verify(ctx, name, d.old())
		select {
		case d.seen <- verr:
		default:
		}
	}
	return err
}

// A re-enabled account is rotated while still disabled, and only then enabled with its groups: the password it
// had before it was disabled never works again.
func TestReactivationRotatesBeforeEnabling(t *testing.T) {
	env := targets.Require(t)
	adCfg := agenttest.ADConfig(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newSafetyHarness(t, adCfg)
	var old string
	seen := make(chan error, 4)
	check := agenttest.NewAD(t, adCfg)
	s.run(t, func() (driver.Driver, error) {
		d, err := ad.New(adCfg)
		return enableProbe{Driver: d, check: check, old: func() string { return old }, seen: seen}, err
	}, time.Second)

	v1, pw1 := confirmedAfter(ctx, t, s.tech, s.agentID, s.account, 0, 30*time.Second)
	if _, err := s.h.Owner.DisableTech(ctx, s.tech.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the account disabled", func() bool {
		return s.accountState(ctx, t).State == wire.AccountDisabled
	})
	for len(seen) > 0 {
		<-seen // enables before the deactivation are not what this test is about
	}
	old = pw1
	if _, err := s.h.Owner.EnableTech(ctx, s.tech.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-seen:
		if !errors.Is(err, driver.ErrBadPassword) {
			t.Fatalf("when the account was enabled again, its old password: %v, want refused (wrong password)", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("the account was never enabled again")
	}
	v2, pw2 := confirmedAfter(ctx, t, s.tech, s.agentID, s.account, v1, 30*time.Second)
	if err := check.Verify(ctx, s.account, pw2); err != nil {
		t.Fatalf("the new password (version %d) after reactivation: %v", v2, err)
	}
	t.Logf("reactivated: version %d → %d set while disabled, the old password refused at the moment of enabling", v1, v2)
}

// A tech whose account name cannot exist on AD (longer than 20 characters under the default format) is approved
// but gets no account: the admin sees why on the tech, the agent's log says so, and nothing is created on the DC.
func TestTooLongNameIsVisible(t *testing.T) {
	env := targets.Require(t)
	adCfg := agenttest.ADConfig(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := newSafetyHarness(t, adCfg)
	long := s.h.ActiveTech("wwt-" + strings.Repeat("x", 16)) // 23 characters with "-tm"
	t.Cleanup(func() { agenttest.DeleteADUsers(t, adCfg, "wwt-"+strings.Repeat("x", 16)+"-tm") })
	s.run(t, func() (driver.Driver, error) { return ad.New(adCfg) }, time.Second)

	// The other tech's account is made: the pass ran.
	confirmedAfter(ctx, t, s.tech, s.agentID, s.account, 0, 30*time.Second)
	techs, err := s.h.Owner.Techs(ctx, wire.TechActive)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, tc := range techs {
		if tc.ID == long.ID {
			problems = tc.Problems
		}
	}
	if len(problems) == 0 || !strings.Contains(strings.Join(problems, " "), "20 characters") {
		t.Fatalf("the tech's problems %q: want the AD limit named", problems)
	}
	eventually(t, 10*time.Second, "the agent's log naming the tech", func() bool {
		return strings.Contains(string(s.logs.Bytes()), "entitled tech gets no account here")
	})
	conn := adAdmin(t, adCfg)
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(adCfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 10, false,
		"(sAMAccountName=wwt-xxxxxxxxxxxxxxxx*)", []string{"dn"}, nil))
	if err != nil || len(res.Entries) != 0 {
		t.Fatalf("an account was made for the too-long name: %v %v", res, err)
	}
	t.Logf("problems shown on the tech: %q", problems)
}
