package agentcli_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/agentcli"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/internal/cutproxy"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/wire"
)

// TestJITExpiryAfterSIGKILL: the real agent binary holds a just-in-time window open on the
// Samba DC, is SIGKILLed, and comes back while the hub is unreachable; at the window's expiry — by its own clock,
// from jit.json in its state directory — it disables the account and strips its group. The window is the
// shortest a tech may ask for (one minute), so the test takes a little more than that.
func TestJITExpiryAfterSIGKILL(t *testing.T) {
	target := newADTarget(t)
	targets.LockAccounts(t)
	if testing.Short() {
		t.Skip("waits a minute for a window to expire")
	}
	bin := buildAgent(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	h := hubtest.New(t)
	agenttest.Grant(ctx, t, h, 0, map[string][]string{wire.DriverAD: {"wwt-ops"}})
	trips, err := h.Owner.Triplets(ctx)
	if err != nil || len(trips) != 1 {
		t.Fatalf("triplets %+v %v", trips, err)
	}
	if _, err := h.Owner.UpdateTriplet(ctx, trips[0].ID, wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: 600}); err != nil {
		t.Fatal(err)
	}
	user := agenttest.UniqueUser()
	tech := h.ActiveTech(user)
	account := user + "-tm"
	t.Cleanup(func() { agenttest.DeleteADUsers(t, target.cfg, account) })

	relay := cutproxy.New(t, strings.TrimPrefix(h.URL, "https://"))
	inv := h.Invite
	inv.HubURL = "https://" + relay.Addr()
	state := enrollAgent(ctx, t, bin, h, inv, target)
	logs := &hubtest.SyncBuffer{}
	runArgs := []string{"run", "--state-dir", state, "--log-format", "json", "--poll-wait", "5s"}
	p := start(t, bin, logs, nil, runArgs...)
	check := agenttest.NewAD(t, target.cfg)

	// The closed account, then a one-minute window.
	var c wire.Credential
	deadline := time.Now().Add(30 * time.Second)
	for {
		creds, err := tech.Credentials(ctx)
		if err == nil && len(creds.Credentials) == 1 {
			c = creds.Credentials[0]
			accs, _ := h.Owner.Accounts(ctx, tech.ID, 0)
			if len(accs) == 1 && accs[0].CurrentVersion > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no closed jit account within 30 s\n%s", tail(logs.Bytes()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	g, err := tech.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 60, Reason: "kill test"})
	if err != nil {
		t.Fatal(err)
	}
	var pw string
	for deadline = time.Now().Add(30 * time.Second); ; {
		if vs := versions(ctx, t, tech, account); len(vs) > 0 && vs[0].state == wire.VersionConfirmed && check.Verify(ctx, account, vs[0].password) == nil {
			pw = vs[0].password
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the window never bound within 30 s\n%s", tail(logs.Bytes()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(state, agentcli.JITStateName)); err != nil {
		t.Fatalf("no %s in the state directory: %v", agentcli.JITStateName, err)
	}

	// SIGKILL, the hub out of reach, and a restart.
	if err := p.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("the agent exited cleanly on SIGKILL?")
	}
	relay.Cut()
	start(t, bin, logs, nil, runArgs...)
	if time.Until(g.ExpiresAt) < 5*time.Second {
		t.Fatalf("the window ran out before the restart (expires %s): the test proves nothing", g.ExpiresAt)
	}
	if err := check.Verify(ctx, account, pw); err != nil {
		t.Fatalf("the window closed before its expiry: %v", err)
	}
	time.Sleep(time.Until(g.ExpiresAt))
	for {
		err := check.Verify(ctx, account, pw)
		if errors.Is(err, driver.ErrDisabled) && strings.Contains(err.Error(), "533") {
			break
		}
		if time.Since(g.ExpiresAt) > 10*time.Second {
			t.Fatalf("10 s after expiry the account still answers %v\n%s", err, tail(logs.Bytes()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("SIGKILLed agent, restarted without the hub: account disabled %s after the expiry", time.Since(g.ExpiresAt).Round(time.Millisecond))
	if gs, err := check.UserAccountControl(ctx, account); err != nil || gs&2 == 0 {
		t.Fatalf("userAccountControl %d %v", gs, err)
	}
	if g := groupsOf(t, target, account); slices.Contains(g, "wwt-ops") {
		t.Fatalf("expired account still in %v", g)
	}
}

// groupsOf lists the groups an AD account is a member of, by their CN.
func groupsOf(t *testing.T, a *adTarget, name string) []string {
	t.Helper()
	conn, err := ldap.DialURL(a.cfg.URL, ldap.DialWithTLSConfig(a.cfg.TLS.Clone()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(a.cfg.BindDN, a.cfg.Password); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Search(ldap.NewSearchRequest(a.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 10, false,
		"(sAMAccountName="+ldap.EscapeFilter(name)+")", []string{"memberOf"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("look up %s: %v", name, err)
	}
	var out []string
	for _, dn := range res.Entries[0].GetAttributeValues("memberOf") {
		if p, err := ldap.ParseDN(dn); err == nil && len(p.RDNs) > 0 {
			out = append(out, p.RDNs[0].Attributes[0].Value)
		}
	}
	return out
}
