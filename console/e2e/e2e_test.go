package e2e_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	_ "modernc.org/sqlite"

	"github.com/watchword/watchword/console/server/agent/driver"
	cvm "github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/graphtest"
	"github.com/watchword/watchword/internal/testsupport/summary"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// story runs the numbered steps: each prints one line with its latency; after a failure the rest are not run
// (they build on it) and count as failed.
type story struct {
	t              *testing.T
	passed, failed int
	broken         bool
}

func (s *story) step(n int, what string, fn func() (string, error)) {
	s.t.Helper()
	if s.broken {
		s.failed++
		summary.Print(fmt.Sprintf("e2e %2d FAIL %-58s not run: an earlier step failed", n, what))
		return
	}
	start := time.Now()
	detail, err := fn()
	el := time.Since(start)
	if err != nil {
		s.failed++
		s.broken = true
		summary.Print(fmt.Sprintf("e2e %2d FAIL %-58s %6.2fs  %v", n, what, el.Seconds(), err))
		s.t.Errorf("step %d, %s: %v", n, what, err)
		return
	}
	s.passed++
	summary.Print(fmt.Sprintf("e2e %2d ok   %-58s %6.2fs  %s", n, what, el.Seconds(), detail))
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// TestE2E is the co-managed tech guide's story against the real hub and agent binaries and the real AD, SSH and LDAP targets.
func TestE2E(t *testing.T) {
	env := targets.Require(t)
	targets.LockAccounts(t) // its agents add and disable accounts on this machine's SSH target
	test.NewTempApp(t)      // the view-models' bindings need a (headless) fyne app
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	work := t.TempDir()

	// Set-up: binaries, a fresh hub with one tenant, its owner's Console.
	setupStart := time.Now()
	bin := build(t, work)
	buildTime := time.Since(setupStart)
	recovery, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(work, "hub", "hub.db")
	addr := freeAddr(t)
	out, err := exec.Command(bin.hub, "init", "--db", db, "--tenant", "E2E MSP", "--abbrev", "ee",
		"--recovery", recovery.Public().Recipient().String(), "--url", "https://"+addr).CombinedOutput()
	if err != nil {
		t.Fatalf("watchword-hub init: %v\n%s", err, out)
	}
	invText, ownerToken := field(string(out), "invite:"), field(string(out), "owner token:")
	inv, err := wire.ParseInvite(invText)
	if err != nil || ownerToken == "" {
		t.Fatalf("watchword-hub init printed %q: %v", out, err)
	}
	hubProc := start(t, "watchword-hub", nil, bin.hub, "serve", "--db", db, "--listen", addr, "--log-json", "true", "--log-level", "debug")
	waitHealthy(t, hubProc, addr)
	ownerID, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	owner, err := hubclient.New(inv, ownerID, hubclient.WithTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.Claim(ctx, ownerToken, "E2E owner"); err != nil {
		t.Fatalf("claim the tenant: %v", err)
	}
	console := cvm.New()
	console.Connect(owner, inv, "e2e hub "+addr)
	if err := console.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	// Names: unique per run (the targets are shared), with the prefix the cleanups insist on.
	rb := make([]byte, 2)
	rand.Read(rb)
	run := hex.EncodeToString(rb)
	user := func(role string) string { return "wwt-" + run + "-" + role }
	account := func(u string) string { return u + "-ee" }
	ad, ldapDir := adDirectory(t, env), ldapDirectory(t, env)
	var adNames, sshNames, ldapNames []string
	t.Cleanup(func() {
		ad.remove(t, adNames)
		ldapDir.remove(t, ldapNames)
		removeLocalUsers(t, sshNames)
	})
	for _, r := range []string{"m1", "m2", "m3", "c1", "c2"} {
		adNames = append(adNames, account(user(r)))
		sshNames = append(sshNames, account(user(r)))
		ldapNames = append(ldapNames, account(user(r)))
	}

	agentLogs := map[string]*proc{}
	agentIDs := map[string]int64{}
	enroll := func(name, drv string, extraEnv []string, flags ...string) error {
		// As an admin does it: the Console's command (no token in it), the token on the agent's standard input, then
		// the agent, pending, approved in the Console once its fingerprint matches the one enroll printed.
		en, err := console.NewEnrollment(ctx, name, drv, 10*time.Minute, false)
		if err != nil {
			return err
		}
		if !strings.Contains(en.Command, "--token-file - ") || strings.Contains(en.Command, en.Token) {
			return fmt.Errorf("the Console's enroll command carries the token or does not read it from standard input: %s", en.Command)
		}
		state := filepath.Join(work, "agent-"+name)
		extraEnv = append(extraEnv, "WW_E2E_PASSPHRASE=e2e-agent-passphrase-"+run)
		args := append([]string{"enroll", "--state-dir", state, "--hub", inv.String(), "--token-file", "-", "--name", name,
			"--driver", drv, "--passphrase-env", "WW_E2E_PASSPHRASE", "--kdf-work-factor", "10"}, flags...)
		c := exec.CommandContext(ctx, bin.agent, args...)
		c.Env = append(os.Environ(), extraEnv...)
		c.Stdin = strings.NewReader(en.Token + "\n")
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("watchword-agent enroll %s: %v\n%s", name, err, out)
		}
		agentLogs[name] = start(t, "watchword-agent "+name, extraEnv, bin.agent, "run", "--state-dir", state,
			"--poll-wait", "10s", "--log-format", "json", "--log-level", "debug")
		if err := console.Refresh(ctx); err != nil {
			return err
		}
		for _, a := range console.PendingAgents() {
			if a.Name != name {
				continue
			}
			if !strings.Contains(string(out), "key fingerprint: "+a.Fingerprint+"\n") {
				return fmt.Errorf("agent %s: the Console's fingerprint %q is not the one enroll printed:\n%s", name, a.Fingerprint, out)
			}
			if err := console.ApproveAgent(ctx, a.ID); err != nil {
				return err
			}
			agentIDs[name] = a.ID
			return nil
		}
		return fmt.Errorf("agent %s enrolled but not listed as pending in the Console", name)
	}
	const adHost, sshHost, ldapHost = "test.lan", "ssh.test.lan", "directory.test"
	caFile := env.Get(t, "WW_CA_CERT")
	adEnv := []string{"WW_E2E_AD_BIND=" + env.Get(t, "WW_AD_ADMIN_PASSWORD")}
	ldapEnv := []string{"WW_E2E_LDAP_BIND=" + env.Get(t, "WW_LDAP_ADMIN_PASSWORD")}
	if err := enroll(adHost, "ad", adEnv, "--ldap-url", env.Get(t, "WW_AD_URL"), "--base-dn", env.Get(t, "WW_AD_BASE_DN"),
		"--ou", env.Get(t, "WW_AD_OU"), "--bind-dn", env.Get(t, "WW_AD_ADMIN_DN"), "--ca-file", caFile,
		"--bind-password-env", "WW_E2E_AD_BIND"); err != nil {
		t.Fatal(err)
	}
	sshArgs := []string{"--ssh-addr", env.Get(t, "WW_SSH_ADDR"), "--ssh-user", env.Get(t, "WW_SSH_USER"),
		"--ssh-host-key", env.Get(t, "WW_SSH_HOST_KEY"), "--ssh-key-file", env.Get(t, "WW_SSH_KEY_FILE"), "--prefix", "wwt-"}
	if env["WW_SSH_SUDO"] == "1" {
		sshArgs = append(sshArgs, "--ssh-sudo")
	}
	if err := enroll(sshHost, "ssh", nil, sshArgs...); err != nil {
		t.Fatal(err)
	}
	summary.Print(fmt.Sprintf("e2e  0 ok   %-58s %6.2fs  build %.1f s, hub and 2 agents up", "set-up: binaries, hub init/serve, owner claims, agents enroll",
		time.Since(setupStart).Seconds(), buildTime.Seconds()))

	var devs []*device
	newDev := func(role, org string) *device {
		d := newDevice(filepath.Join(work, "techclient-"+role), user(role), org)
		t.Cleanup(d.app.Close)
		devs = append(devs, d)
		return d
	}
	var secrets []string // every password a TechClient showed during the run
	revealTo := func(d *device, host string) (string, error) {
		pw, _, err := d.reveal(host)
		if err == nil {
			secrets = append(secrets, pw)
		}
		return pw, err
	}
	// works proves a tech's password on host by logging in the way the tech would.
	works := func(d *device, host string) error {
		pw, err := revealTo(d, host)
		if err != nil {
			return err
		}
		name := account(d.username)
		switch host {
		case adHost:
			err = ad.bind(name, pw)
		case ldapHost:
			err = ldapDir.bind(name, pw)
		case sshHost:
			err = sshLogin(t, env, name, pw)
		}
		if err != nil {
			return fmt.Errorf("%s's password on %s does not work: %w", name, host, err)
		}
		return nil
	}
	pendingID := func(d *device) (int64, error) {
		if err := console.Refresh(ctx); err != nil {
			return 0, err
		}
		for _, p := range console.Pending() {
			if p.Username == d.username {
				d.techID = p.ID
				if p.Fingerprint != d.fingerprint() {
					return 0, fmt.Errorf("%s pending with fingerprint %q, the device shows %q", d.username, p.Fingerprint, d.fingerprint())
				}
				return p.ID, nil
			}
		}
		return 0, fmt.Errorf("%s is not listed as pending", d.username)
	}

	s := &story{t: t}
	m1, m2 := newDev("m1", ""), newDev("m2", "")
	var c1, c2, m3 *device
	const org = "Test Corp"

	s.step(1, "MSP techs active, All triplet: accounts on AD and SSH bind", func() (string, error) {
		start := time.Now()
		for _, d := range []*device{m1, m2} {
			if err := d.register(ctx, inv); err != nil {
				return "", err
			}
			id, err := pendingID(d)
			if err != nil {
				return "", err
			}
			if err := console.Approve(ctx, id); err != nil {
				return "", err
			}
		}
		approved := time.Now()
		for _, d := range []*device{m1, m2} {
			if _, err := d.hosts(60*time.Second, adHost, sshHost); err != nil {
				return "", err
			}
		}
		listed := time.Since(approved)
		for _, d := range []*device{m1, m2} {
			for _, h := range []string{adHost, sshHost} {
				if err := works(d, h); err != nil {
					return "", err
				}
			}
		}
		return fmt.Sprintf("approve → 4 accounts listed %s; 2 AD binds + 2 SSH logins (total %s)", ms(listed), ms(time.Since(start))), nil
	})

	s.step(2, "co-managed techs register, Pending with matching fingerprints", func() (string, error) {
		c1, c2 = newDev("c1", org), newDev("c2", org)
		var lat []string
		for _, d := range []*device{c1, c2} {
			st := time.Now()
			if err := d.register(ctx, inv); err != nil {
				return "", err
			}
			if _, err := pendingID(d); err != nil {
				return "", err
			}
			lat = append(lat, ms(time.Since(st)))
		}
		if n := len(console.Pending()); n != 2 {
			return "", fmt.Errorf("%d techs pending, want 2", n)
		}
		return "register → pending in the Console: " + strings.Join(lat, ", "), nil
	})

	var onboardAt time.Time
	s.step(3, "co-managed onboarding: CMTG, MSPTG, CMDG, triplets, All gone", func() (string, error) {
		o := console.NewOnboarding(org)
		if !slices.Equal(sorted(o.CoManagedTechs), sorted([]int64{c1.techID, c2.techID})) {
			return "", fmt.Errorf("onboarding proposes co-managed techs %v, want %v", o.CoManagedTechs, []int64{c1.techID, c2.techID})
		}
		if !slices.Equal(sorted(o.MSPTechs), sorted([]int64{m1.techID, m2.techID})) {
			return "", fmt.Errorf("onboarding proposes MSP techs %v", o.MSPTechs)
		}
		o.Domains = []int64{agentIDs[adHost]} // the AD domain only
		if p := console.Preview(o); len(p.Problems) > 0 {
			return "", fmt.Errorf("onboarding preview: %v", p.Problems)
		}
		st := time.Now()
		resp, err := console.ApplyOnboarding(ctx, o)
		if err != nil {
			return "", err
		}
		onboardAt = time.Now()
		el := time.Since(st)
		if len(resp.Activated) != 2 {
			return "", fmt.Errorf("onboarding activated %d techs, want 2", len(resp.Activated))
		}
		snap := console.Snapshot()
		var labels []string
		for _, tr := range snap.Triplets {
			labels = append(labels, snap.TripletLabel(tr))
		}
		want := []string{o.CoManagedGroup + " × " + o.DomainGroup + " × " + wire.AllRights, o.MSPGroup + " × " + wire.AllDomains + " × " + wire.AllRights}
		if !slices.Equal(sorted(labels), sorted(want)) {
			return "", fmt.Errorf("triplets after onboarding: %q, want %q", labels, want)
		}
		return fmt.Sprintf("one atomic request %s; triplets now %q", ms(el), labels), nil
	})

	s.step(4, "co-managed: one AD account that binds; SSH refused; MSP both", func() (string, error) {
		var lat []string
		for _, d := range []*device{c1, c2} {
			if err := d.enrol(ctx, 30*time.Second); err != nil { // two-factor: every co-managed tech
				return "", err
			}
			if _, err := d.hosts(30*time.Second, adHost); err != nil {
				return "", err
			}
			lat = append(lat, ms(time.Since(onboardAt)))
			if err := works(d, adHost); err != nil {
				return "", err
			}
		}
		for _, d := range []*device{m1, m2} {
			if _, err := d.hosts(5*time.Second, adHost, sshHost); err != nil {
				return "", err
			}
		}
		// The API refuses the co-managed device anything on the SSH host, and anything an admin reads.
		id, err := c1.identity()
		if err != nil {
			return "", err
		}
		c, err := hubclient.New(inv, id, hubclient.WithTimeout(10*time.Second))
		if err != nil {
			return "", err
		}
		defer c.Close()
		cr, err := c.Credentials(ctx)
		if err != nil {
			return "", err
		}
		for _, cred := range cr.Credentials {
			if cred.AgentID == agentIDs[sshHost] {
				return "", fmt.Errorf("the hub hands %s a credential on %s", c1.username, sshHost)
			}
		}
		sshRow := m1.row(sshHost)
		if err := c.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventReveal, AccountID: sshRow.AccountID, Version: sshRow.Version}); err == nil {
			return "", fmt.Errorf("the hub accepted %s revealing %s's account on %s", c1.username, m1.username, sshHost)
		}
		if _, err := c.Accounts(ctx, 0, agentIDs[sshHost]); err == nil {
			return "", errors.New("the hub listed the SSH host's accounts to a co-managed tech")
		}
		return "onboarding → co-managed account listed " + strings.Join(lat, ", ") + "; SSH: refused", nil
	})

	// byHost are the devices holding an account on the AD domain now.
	s.step(5, "forced rotation: every TechClient within 1 s; old password dead", func() (string, error) {
		holders := []*device{m1, m2, c1, c2}
		before := map[*device]int64{}
		oldPW, _, err := c1.reveal(adHost)
		if err != nil {
			return "", err
		}
		secrets = append(secrets, oldPW)
		for _, d := range holders {
			before[d] = d.row(adHost).Version
		}
		st := time.Now()
		n, err := console.RotateAgent(ctx, agentIDs[adHost], 0)
		if err != nil {
			return "", err
		}
		if n != len(holders) {
			return "", fmt.Errorf("rotate now marked %d accounts, want %d", n, len(holders))
		}
		seen := map[*device]time.Duration{} // confirm → shown
		if _, err := waitFor(60*time.Second, func() bool {
			for _, d := range holders {
				if _, ok := seen[d]; ok {
					continue
				}
				if r := d.row(adHost); r != nil && r.Confirmed && r.Version > before[d] {
					seen[d] = time.Since(r.RotatedAt)
				}
			}
			return len(seen) == len(holders)
		}); err != nil {
			return "", fmt.Errorf("%d of %d TechClients show the new version: %w", len(seen), len(holders), err)
		}
		total := time.Since(st)
		var worst time.Duration
		var lat []string
		for _, d := range holders {
			worst = max(worst, seen[d])
			lat = append(lat, ms(seen[d]))
		}
		if worst > time.Second {
			return "", fmt.Errorf("confirm → TechClient took %v (all: %v), want ≤ 1 s", worst, lat)
		}
		newPW, err := revealTo(c1, adHost)
		if err != nil {
			return "", err
		}
		if newPW == oldPW {
			return "", errors.New("the rotation kept the password")
		}
		if err := ad.bind(account(c1.username), newPW); err != nil {
			return "", fmt.Errorf("the new password does not bind: %w", err)
		}
		if err := ad.bind(account(c1.username), oldPW); err == nil || !strings.Contains(err.Error(), "52e") {
			return "", fmt.Errorf("the old password: bind answered %v, want data 52e", err)
		}
		// Users log in with Kerberos and NTLM, not by LDAP bind: the tech's new password must work over both, and
		// the old one must be refused over both (NTLM alone may keep an old password for a grace period).
		var logins []string
		for _, l := range []struct {
			proto string
			login func(context.Context, targets.Env, string, string) error
		}{{"Kerberos", targets.KerberosLogin}, {"SMB/NTLM", targets.SMBLogin}} {
			st := time.Now()
			if err := l.login(ctx, env, account(c1.username), newPW); err != nil {
				return "", fmt.Errorf("%s login with the new password: %w", l.proto, err)
			}
			in := time.Since(st)
			st = time.Now()
			if err := l.login(ctx, env, account(c1.username), oldPW); !errors.Is(err, driver.ErrBadPassword) {
				return "", fmt.Errorf("%s login with the old password: %v, want refused as %q", l.proto, err, driver.ErrBadPassword)
			}
			logins = append(logins, fmt.Sprintf("%s new %s, old refused %s", l.proto, ms(in), ms(time.Since(st))))
		}
		return fmt.Sprintf("4 accounts rotated in %s; confirm → shown %s (max %s); new binds, old 52e; %s", ms(total), strings.Join(lat, ", "), ms(worst), strings.Join(logins, "; ")), nil
	})

	s.step(6, "deactivate a co-managed tech: AD disabled (data 533) and list empty, each ≤ 5 s", func() (string, error) {
		pw, err := revealTo(c2, adHost)
		if err != nil {
			return "", err
		}
		name := account(c2.username)
		if err := ad.bind(name, pw); err != nil {
			return "", fmt.Errorf("before deactivation: %w", err)
		}
		st := time.Now()
		if err := console.Deactivate(ctx, c2.techID); err != nil {
			return "", err
		}
		var last error
		_, err = waitFor(5*time.Second, func() bool {
			last = ad.bind(name, pw)
			if last == nil {
				time.Sleep(50 * time.Millisecond)
			}
			return last != nil && strings.Contains(last.Error(), "data 533")
		})
		if err != nil {
			return "", fmt.Errorf("AD bind after deactivation: %v (%w)", last, err)
		}
		disabled := time.Since(st)
		if disabled > 5*time.Second {
			return "", fmt.Errorf("AD account disabled %s after the deactivation, want ≤ 5 s", ms(disabled))
		}
		if _, err := waitFor(5*time.Second, func() bool { return len(c2.rows()) == 0 && c2.app.Current() == "disabled" }); err != nil {
			return "", fmt.Errorf("%s's TechClient still shows %v (state %s)", c2.username, c2.rows(), c2.app.Current())
		}
		// Measured from the deactivation, not from the AD disable: the tech's list empties as promptly.
		emptied := time.Since(st)
		if emptied > 5*time.Second {
			return "", fmt.Errorf("%s's TechClient emptied %s after the deactivation, want ≤ 5 s", c2.username, ms(emptied))
		}
		return fmt.Sprintf("deactivate → AD bind data 533 in %s; TechClient empty in %s", ms(disabled), ms(emptied)), nil
	})

	s.step(7, "new MSP tech joins MSPTG, activated: accounts on both", func() (string, error) {
		m3 = newDev("m3", "")
		if err := m3.register(ctx, inv); err != nil {
			return "", err
		}
		id, err := pendingID(m3)
		if err != nil {
			return "", err
		}
		st := time.Now()
		if err := console.Approve(ctx, id); err != nil {
			return "", err
		}
		if _, err := m3.hosts(60*time.Second, adHost, sshHost); err != nil {
			return "", err
		}
		el := time.Since(st)
		groups := console.Snapshot().GroupsOf(id)
		if !slices.Contains(groups, "MSP techs") {
			return "", fmt.Errorf("%s is in %v, not in the MSP TechGroup", m3.username, groups)
		}
		for _, h := range []string{adHost, sshHost} {
			if err := works(m3, h); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("approve → 2 accounts listed %s; groups %v", ms(el), groups), nil
	})

	s.step(8, "new domain enrolls: in AllDomains; MSP techs get it, co-managed not", func() (string, error) {
		st := time.Now()
		if err := enroll(ldapHost, "ldap", ldapEnv, "--ldap-url", env.Get(t, "WW_LDAP_URL"), "--people-dn", env.Get(t, "WW_LDAP_PEOPLE_DN"),
			"--groups-dn", env.Get(t, "WW_LDAP_GROUPS_DN"), "--bind-dn", env.Get(t, "WW_LDAP_ADMIN_DN"), "--ca-file", caFile,
			"--bind-password-env", "WW_E2E_LDAP_BIND"); err != nil {
			return "", err
		}
		snap := console.Snapshot()
		var in bool
		for _, g := range snap.AgentGroups {
			if g.Builtin && g.Name == wire.AllDomains {
				in = slices.Contains(g.Members, agentIDs[ldapHost])
			}
		}
		if !in {
			return "", fmt.Errorf("%s is not in AllDomains", ldapHost)
		}
		for _, d := range []*device{m1, m2, m3} {
			if _, err := d.hosts(60*time.Second, adHost, ldapHost, sshHost); err != nil {
				return "", err
			}
		}
		el := time.Since(st)
		for _, d := range []*device{m1, m3} {
			if err := works(d, ldapHost); err != nil {
				return "", err
			}
		}
		if rs := c1.rows(); len(rs) != 1 || rs[0].Host != adHost {
			return "", fmt.Errorf("%s now lists %v", c1.username, rs)
		}
		accs, err := owner.Accounts(ctx, 0, agentIDs[ldapHost])
		if err != nil {
			return "", err
		}
		for _, a := range accs {
			if a.TechID == c1.techID || a.TechID == c2.techID {
				return "", fmt.Errorf("co-managed tech %d has account %q on %s", a.TechID, a.Name, ldapHost)
			}
		}
		return fmt.Sprintf("enroll → 3 MSP techs listed it %s; LDAP binds; co-managed: none", ms(el)), nil
	})

	s.step(9, "zero knowledge: hub database and logs hold no password", func() (string, error) {
		if len(secrets) < 10 {
			return "", fmt.Errorf("only %d passwords seen: nothing much to grep for", len(secrets))
		}
		for _, pw := range secrets {
			if len(pw) < 12 {
				return "", fmt.Errorf("a %d-character password is too short to grep for meaningfully", len(pw))
			}
		}
		blobs := map[string][]byte{"hub logs": hubProc.logs.Bytes()}
		for name, p := range agentLogs {
			blobs["agent "+name+" logs"] = p.logs.Bytes()
		}
		files := []string{db, db + "-wal", db + "-shm"}
		for _, d := range devs { // the TechClients' device files and offline caches hold sealed envelopes only
			files = append(files, filepath.Join(d.dir, "device.json"), filepath.Join(d.dir, "credentials.json"))
		}
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				blobs[filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = b
			}
		}
		var size int
		var leaks []string
		for where, b := range blobs {
			size += len(b)
			for _, pw := range secrets {
				if strings.Contains(string(b), pw) {
					leaks = append(leaks, where)
				}
			}
		}
		if len(leaks) > 0 {
			return "", fmt.Errorf("a password is in %v", leaks)
		}
		return fmt.Sprintf("%d passwords × %d files (%d KiB): 0 found", len(secrets), len(blobs), size/1024), nil
	})

	s.step(10, "recovery export, then the recovery identity opens the envelope with the plain age command", func() (string, error) {
		pw, r, err := c1.reveal(adHost)
		if err != nil {
			return "", err
		}
		// The documented break-glass: export the account's envelopes with the hub's command line, then age -d.
		dir := t.TempDir()
		out, err := exec.CommandContext(ctx, bin.hub, "recovery", "export", "--db", db, "--account", r.Account,
			"--host", r.Host, "--history", "--out", dir).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("watchword-hub recovery export: %v: %s", err, out)
		}
		envFile := ""
		for _, line := range strings.Split(string(out), "\n") {
			if base := filepath.Base(line); strings.HasSuffix(base, fmt.Sprintf("_v%d.age", r.Version)) ||
				strings.Contains(base, fmt.Sprintf("_v%d-", r.Version)) {
				envFile = line
			}
		}
		if envFile == "" {
			return "", fmt.Errorf("watchword-hub recovery export wrote no file of %s v%d: %s", r.Account, r.Version, out)
		}
		envelope, err := os.ReadFile(envFile)
		if err != nil {
			return "", err
		}
		keyFile := filepath.Join(dir, "recovery-identity.txt")
		if err := os.WriteFile(keyFile, []byte(recovery.AgeIdentity().String()+"\n"), 0o600); err != nil {
			return "", err
		}
		st := time.Now()
		c := exec.CommandContext(ctx, bin.age, "-d", "-i", keyFile, envFile)
		var stderr strings.Builder
		c.Stderr = &stderr
		plain, err := c.Output()
		if err != nil {
			return "", fmt.Errorf("age -d: %v: %s", err, stderr.String())
		}
		el := time.Since(st)
		if !strings.HasSuffix(string(plain), pw) || !strings.Contains(string(plain), r.Account) {
			return "", errors.New("age -d printed something else than the account's context and password")
		}
		return fmt.Sprintf("watchword-hub recovery export, then age -d -i recovery-identity.txt %s: %s, %d-byte envelope, shows %s v%d",
			filepath.Base(envFile), ms(el), len(envelope), r.Account, r.Version), nil
	})

	s.step(11, "audit log verifies and holds the run's changes", func() (string, error) {
		ok, msg, err := console.VerifyAudit(ctx)
		if err != nil || !ok {
			return "", fmt.Errorf("audit verification: %v %s %v", ok, msg, err)
		}
		// Every approval (2 MSP, 2 by the onboarding, 1 more MSP), the onboarding's changes, the forced rotation,
		// every first password and rotation confirmed (4 + 4 + 2 + 3), every reveal, the deactivation.
		want := map[string]int{"tech.approve": 5, "onboard.comanaged": 1, "triplet.create": 2, "triplet.delete": 1,
			"techgroup.create": 2, "agentgroup.create": 1, "rotate.now": 1, "version.confirm": 4 + 4 + 2 + 3,
			"credential.reveal": int(reveals.Load()), "tech.disable": 1, "agent.enroll": 3}
		var missing []string
		var total int
		// Reveals reach the hub in the background: give the last ones a moment.
		_, _ = waitFor(5*time.Second, func() bool {
			evs, err := owner.Audit(ctx, wire.AuditQuery{Limit: 5000})
			if err != nil {
				missing = []string{err.Error()}
				return false
			}
			count := map[string]int{}
			for _, e := range evs {
				count[e.Action]++
			}
			total, missing = len(evs), nil
			for a, n := range want {
				if count[a] < n {
					missing = append(missing, fmt.Sprintf("%s: %d < %d", a, count[a], n))
				}
			}
			if len(missing) > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			return len(missing) == 0
		})
		if len(missing) > 0 {
			slices.Sort(missing)
			return "", fmt.Errorf("audit log lacks events: %v", missing)
		}
		out, err := exec.CommandContext(ctx, bin.hub, "verify-audit", "--db", db).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "audit chain intact") {
			return "", fmt.Errorf("watchword-hub verify-audit: %v: %s", err, out)
		}
		return fmt.Sprintf("%d events, %d reveals; Console: chain holds; CLI: %s", total, reveals.Load(), strings.TrimSpace(string(out))), nil
	})

	s.step(12, "co-managed tech's Entra account: on the TechClient, gone when deactivated", func() (string, error) {
		// The organization's Microsoft 365 tenant, as Microsoft Graph's test server on loopback, and an entra agent
		// for it enrolled as an admin does; the Console gives the organization's domains and the All rights an
		// Entra directory role.
		const entraHost = "testcorp.onmicrosoft.test"
		srv := graphtest.New(t)
		clientID, cert := srv.NewApp(t)
		dir := filepath.Join(work, "entra")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		certFile, keyFile := cert.WriteFiles(t, dir)
		st := time.Now()
		if err := enroll(entraHost, wire.DriverEntra, nil, "--tenant-id", srv.TenantID, "--client-id", clientID,
			"--cert-file", certFile, "--key-file", keyFile, "--upn-domain", srv.Domain, "--usage-location", "GB",
			"--ca-file", srv.CAFile(t, dir), "--authority-url", srv.LoginURL, "--graph-url", srv.GraphURL); err != nil {
			return "", err
		}
		snap := console.Snapshot()
		var all *wire.Right
		for i := range snap.Rights {
			if snap.Rights[i].Name == wire.AllRights {
				all = &snap.Rights[i]
			}
		}
		var domains *wire.Group
		for i := range snap.AgentGroups {
			if snap.AgentGroups[i].Name == org+" domains" {
				domains = &snap.AgentGroups[i]
			}
		}
		if all == nil || domains == nil {
			return "", fmt.Errorf("no %s right or %q AgentGroup", wire.AllRights, org+" domains")
		}
		targets := cvm.FormatTargets(all.Targets) + "\n" + wire.DriverEntra + ": User Administrator"
		if err := console.SaveRight(ctx, all.ID, all.Name, targets); err != nil {
			return "", err
		}
		if err := console.SaveGroup(ctx, true, domains.ID, domains.Name, append(slices.Clone(domains.Members), agentIDs[entraHost])); err != nil {
			return "", err
		}
		upn := account(c1.username) + "@" + srv.Domain
		if _, err := c1.hosts(30*time.Second, adHost, entraHost); err != nil {
			return "", fmt.Errorf("%s's TechClient: %v (rows %v)", c1.username, err, c1.rows())
		}
		listed := time.Since(st) // from the enrolment: the agent's first plan made the account
		if u, ok := srv.LookupUser(upn); !ok || !u.Enabled || !slices.Equal(srv.Rights(upn), []string{"User Administrator"}) {
			return "", fmt.Errorf("%s in the tenant: present %v, enabled %v, roles %v", upn, ok, u.Enabled, srv.Rights(upn))
		}
		pw, err := revealTo(c1, entraHost)
		if err != nil {
			return "", err
		}
		if u, _ := srv.LookupUser(upn); u.Password != pw {
			return "", fmt.Errorf("the password %s's TechClient shows is not %s's in the tenant", c1.username, upn)
		}
		dt := time.Now()
		if err := console.Deactivate(ctx, c1.techID); err != nil {
			return "", err
		}
		if _, err := waitFor(10*time.Second, func() bool {
			u, _ := srv.LookupUser(upn)
			return !u.Enabled && len(srv.Rights(upn)) == 0
		}); err != nil {
			u, _ := srv.LookupUser(upn)
			return "", fmt.Errorf("%s after the deactivation: enabled %v, roles %v", upn, u.Enabled, srv.Rights(upn))
		}
		disabled := time.Since(dt)
		if _, err := waitFor(5*time.Second, func() bool { return len(c1.rows()) == 0 }); err != nil {
			return "", fmt.Errorf("%s's TechClient still shows %v", c1.username, c1.rows())
		}
		return fmt.Sprintf("enroll → Entra account with its role on the TechClient %s; deactivate → disabled, roles removed %s, TechClient empty %s",
			ms(listed), ms(disabled), ms(time.Since(dt))), nil
	})

	for _, p := range append([]*proc{hubProc}, mapValues(agentLogs)...) {
		if err := p.alive(); err != nil {
			t.Error(err)
		}
	}
	summary.Print(fmt.Sprintf("e2e: %d passed, %d failed", s.passed, s.failed))
	if t.Failed() {
		t.Logf("hub log tail:\n%s", tail(hubProc.logs.Bytes()))
		for name, p := range agentLogs {
			t.Logf("agent %s log tail:\n%s", name, tail(p.logs.Bytes()))
		}
	}
}

// field returns what follows label on its line of out.
func field(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

func sorted[T cmp.Ordered](xs []T) []T { return slices.Sorted(slices.Values(xs)) }

func mapValues[K comparable, V any](m map[K]V) []V {
	var out []V
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
