package agentcli_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/agentcli"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// buildAgent builds the real watchword-agent binary, with extra build tags.
func buildAgent(t *testing.T, tags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "watchword-agent")
	args := []string{"build", "-o", bin}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, "github.com/watchword/watchword/console/server/cmd/watchword-agent")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// adTarget is the Samba DC of scripts/targets.sh with its settings as enroll flags.
type adTarget struct {
	env   targets.Env
	cfg   ad.Config
	flags []string
}

// enrollAgent enrolls the agent binary bin as "test.lan" on the hub at inv for target, with a fresh state directory
// and passphrase file, and returns the state directory.
func enrollAgent(ctx context.Context, t *testing.T, bin string, h *hubtest.Harness, inv wire.Invite, target *adTarget) string {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	pass := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(pass, []byte("test agent passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := h.Owner.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{ApproveOnUse: true})
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(tok.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	enroll := exec.CommandContext(ctx, bin, append([]string{"enroll", "--hub", inv.String(), "--token-file", tokFile, "--name", "test.lan",
		"--state-dir", state, "--passphrase-file", pass, "--kdf-work-factor", "10"}, target.flags...)...)
	if out, err := enroll.CombinedOutput(); err != nil {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	return state
}

func newADTarget(t *testing.T) *adTarget {
	t.Helper()
	env := targets.Require(t)
	c := agenttest.ADConfig(t, env)
	dir := t.TempDir()
	pass := filepath.Join(dir, "bind.pass")
	if err := os.WriteFile(pass, []byte(c.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &adTarget{env: env, cfg: c, flags: []string{"--driver", "ad", "--ldap-url", c.URL, "--base-dn", c.BaseDN, "--ou", c.OU,
		"--bind-dn", c.BindDN, "--ca-file", env.Get(t, "WW_CA_CERT"), "--bind-password-file", pass}}
}

// proc is a running agent binary.
type proc struct {
	cmd    *exec.Cmd
	faults chan string
	logs   *hubtest.SyncBuffer
	done   chan error
}

func start(t *testing.T, bin string, logs *hubtest.SyncBuffer, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, faults: make(chan string, 1), logs: logs, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "watchword-fault:") {
				select {
				case p.faults <- sc.Text():
				default:
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return p
}

// stop sends sig and waits for the exit.
func (p *proc) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("agent did not exit within 20 s of %s", sig)
		return nil
	}
}

// versions opens every version the tech can read of the account, newest first.
func versions(ctx context.Context, t *testing.T, tech *hubtest.Tech, account string) []opened {
	t.Helper()
	creds, err := tech.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []opened
	for _, c := range creds.Credentials {
		if c.AccountName != account {
			continue
		}
		for _, v := range c.Versions {
			pw, err := seal.Open(v.Envelope, hubclient.SealContext(creds.ClientGUID, c.AgentID, c.AccountName, v.Version), tech.Identity)
			if err != nil {
				t.Fatalf("the hub holds version %d of %s that the tech cannot open: %v", v.Version, account, err)
			}
			out = append(out, opened{version: v.Version, state: v.State, password: string(pw)})
		}
	}
	return out
}

type opened struct {
	version  int64
	state    wire.VersionState
	password string
}

func waitFault(t *testing.T, p *proc, what string) string {
	t.Helper()
	select {
	case line := <-p.faults:
		return line
	case err := <-p.done:
		t.Fatalf("%s: the agent exited before the fault point: %v\n%s", what, err, tail(p.logs.Bytes()))
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no fault point within 30 s\n%s", what, tail(p.logs.Bytes()))
	}
	return ""
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// TestFaultInjectionKillsRealBinary is the product's promise under the worst a host can do: the real agent
// binary, built with the faultinject tag, is SIGKILLed at every rotation step boundary against the Samba DC and a
// real hub, restarted, and left to converge. After every kill, and after every recovery, the account's real
// password (an LDAPS bind) must be one that a stored envelope opens with the tech's identity.
//
// WATCHWORD_FAULT_TRIALS sets the trials per crash point (default 10).
func TestFaultInjectionKillsRealBinary(t *testing.T) {
	target := newADTarget(t)
	if testing.Short() {
		t.Skip("builds and kills the agent binary 50 times")
	}
	perPoint := 10
	if s := os.Getenv("WATCHWORD_FAULT_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("WATCHWORD_FAULT_TRIALS=%q", s)
		}
		perPoint = n
	}
	bin := buildAgent(t, "faultinject")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	h := hubtest.New(t)
	agenttest.Grant(ctx, t, h, 0, map[string][]string{wire.DriverAD: {"wwt-ops"}})
	user := agenttest.UniqueUser()
	tech := h.ActiveTech(user)
	account := user + "-tm"
	t.Cleanup(func() { agenttest.DeleteADUsers(t, target.cfg, account) })

	state := enrollAgent(ctx, t, bin, h, h.Invite, target)
	logs := &hubtest.SyncBuffer{}
	runArgs := []string{"run", "--state-dir", state, "--log-format", "json", "--poll-wait", "5s"}

	check := agenttest.NewAD(t, target.cfg)
	var lockouts, trials, wrongBinds int
	seen := map[string]bool{}
	verify := func(pw string) error {
		err := check.Verify(ctx, account, pw)
		if errors.Is(err, driver.ErrLockedOut) {
			lockouts++
		}
		return err
	}
	// invariant binds with the stored versions, newest first, until one opens the account.
	invariant := func(when string) opened {
		t.Helper()
		vs := versions(ctx, t, tech, account)
		var errs []error
		for _, v := range vs {
			seen[v.password] = true
			err := verify(v.password)
			if err == nil {
				return v
			}
			wrongBinds++
			errs = append(errs, fmt.Errorf("v%d (%s): %w", v.version, v.state, err))
		}
		lockouts++ // no stored envelope opens the account: its owner is locked out
		t.Fatalf("%s: the password on the DC is none of the %d stored versions: %v", when, len(vs), errors.Join(errs...))
		return opened{}
	}
	converge := func(when string, atLeast int64) opened {
		t.Helper()
		running := bytes.Count(logs.Bytes(), []byte(`"msg":"agent running"`))
		p := start(t, bin, logs, nil, runArgs...)
		deadline := time.Now().Add(30 * time.Second)
		for {
			vs := versions(ctx, t, tech, account)
			up := bytes.Count(logs.Bytes(), []byte(`"msg":"agent running"`)) > running
			if up && len(vs) > 0 && vs[0].state == wire.VersionConfirmed && vs[0].version >= atLeast {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no convergence within 30 s: %+v\n%s", when, vs, tail(logs.Bytes()))
			}
			time.Sleep(25 * time.Millisecond)
		}
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("%s: graceful stop: %v\n%s", when, err, tail(logs.Bytes()))
		}
		v := invariant(when)
		if v.state != wire.VersionConfirmed {
			t.Fatalf("%s: the DC holds v%d (%s), not the confirmed version", when, v.version, v.state)
		}
		return v
	}

	converge("first run", 1)
	accs, err := h.Owner.Accounts(ctx, tech.ID, 0)
	if err != nil || len(accs) != 1 {
		t.Fatalf("accounts: %+v, %v", accs, err)
	}
	start0 := time.Now()
	tally := map[rotation.Point]map[bool]int{} // point → did the DC hold the version being rotated at the kill
	for _, p := range rotation.Points {
		tally[p] = map[bool]int{}
	}
	for _, point := range rotation.Points {
		for trial := range perPoint {
			when := fmt.Sprintf("%s trial %d", point, trial)
			if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AccountID: accs[0].ID}); err != nil {
				t.Fatal(err)
			}
			p := start(t, bin, logs, []string{agentcli.FaultEnv + "=" + point.String()}, runArgs...)
			line := waitFault(t, p, when)
			err := p.stop(t, syscall.SIGKILL)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("%s: agent not killed by SIGKILL: %v", when, err)
			}
			v, _ := strconv.ParseInt(line[strings.LastIndex(line, "=")+1:], 10, 64)
			if point == rotation.DuringSet {
				// The set was on the wire when the process died: the DC still processes it, tens of
				// milliseconds later. Let it land, or the checker's two binds could straddle the change.
				time.Sleep(300 * time.Millisecond)
			}
			held := invariant(when + ", right after the kill")
			tally[point][held.version == v]++
			converge(when+", after the restart", v)
			trials++
		}
	}
	fmt.Printf("crash points: %d, trials: %d, lockouts: %d\n", len(rotation.Points), trials, lockouts)
	t.Logf("crash points: %d, trials: %d, lockouts: %d (%s; %d wrong binds by the checker trying staged versions first)",
		len(rotation.Points), trials, lockouts, time.Since(start0).Round(time.Second), wrongBinds)
	for _, p := range rotation.Points {
		t.Logf("  killed %-13s the DC held the new version %2d times, the previous one %2d times", p.String()+":", tally[p][true], tally[p][false])
	}
	if lockouts != 0 {
		t.Fatalf("%d lockouts", lockouts)
	}
	// Before the set the DC must hold the previous password, from the set on the new one.
	if tally[rotation.AfterStage][true] != 0 || tally[rotation.AfterSet][false] != 0 || tally[rotation.AfterConfirm][false] != 0 {
		t.Fatalf("the DC's password contradicts the step it was killed at: %v", tally)
	}

	// A production build has no hook: the variable is ignored (with a warning) and the rotation completes.
	prod := buildAgent(t, "")
	before := versions(ctx, t, tech, account)[0].version
	if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AccountID: accs[0].ID}); err != nil {
		t.Fatal(err)
	}
	plogs := &hubtest.SyncBuffer{}
	p := start(t, prod, plogs, []string{agentcli.FaultEnv + "=" + rotation.AfterStage.String()}, runArgs...)
	deadline := time.Now().Add(30 * time.Second)
	for vs := versions(ctx, t, tech, account); vs[0].version <= before || vs[0].state != wire.VersionConfirmed; vs = versions(ctx, t, tech, account) {
		if time.Now().After(deadline) {
			t.Fatalf("production build did not rotate: %s", tail(plogs.Bytes()))
		}
		time.Sleep(25 * time.Millisecond)
	}
	select {
	case line := <-p.faults:
		t.Fatalf("a production build stopped at a fault point: %s", line)
	default:
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("production build: %v", err)
	}
	if !bytes.Contains(plogs.Bytes(), []byte("built without fault injection")) {
		t.Errorf("no warning about the ignored variable: %s", tail(plogs.Bytes()))
	}
	logs.Write(plogs.Bytes())
	invariant("after the production build's rotation")
	// Zero knowledge for the binary as well: none of the passwords it generated is in its own logs or the hub's
	// database.
	db, err := os.ReadFile(h.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(h.DBPath + "-wal")
	for pw := range seen {
		for where, blob := range map[string][]byte{"agent logs": logs.Bytes(), "hub db": db, "hub wal": wal, "hub logs": h.Logs.Bytes()} {
			if bytes.Contains(blob, []byte(pw)) {
				t.Errorf("a generated password is in the %s", where)
			}
		}
	}
}

var _ io.Writer = (*hubtest.SyncBuffer)(nil)
