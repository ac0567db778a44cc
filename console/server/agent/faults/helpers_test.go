package faults_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/summary"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Counters for the summary lines.
var scenarios, dataLost, lockouts, leaks, fuzzTargets atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	if scenarios.Load() > 0 {
		summary.Print(fmt.Sprintf("fault scenarios: %d, data lost: %d, lockouts: %d", scenarios.Load(), dataLost.Load(), lockouts.Load()))
		summary.Print(fmt.Sprintf("secret leaks: %d", leaks.Load()))
	}
	if fuzzTargets.Load() > 0 {
		summary.Print(fmt.Sprintf("fuzz targets: %d", fuzzTargets.Load()))
	}
	os.Exit(code)
}

// soak reports whether the long runs of make soak were asked for.
func soak() bool { return os.Getenv("WATCHWORD_SOAK") == "1" }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// moduleRoot is the repository root (where go.mod is).
func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

var hubBin struct {
	once sync.Once
	path string
	err  error
}

// buildHub builds the production watchword-hub binary once per test run.
func buildHub(t *testing.T) string {
	hubBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "watchword-faults-")
		if err != nil {
			hubBin.err = err
			return
		}
		hubBin.path = filepath.Join(dir, "watchword-hub")
		cmd := exec.Command("go", "build", "-o", hubBin.path, "./console/server/cmd/watchword-hub")
		cmd.Dir = moduleRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			hubBin.err = fmt.Errorf("build watchword-hub: %v\n%s", err, out)
		}
	})
	if hubBin.err != nil {
		t.Fatal(hubBin.err)
	}
	return hubBin.path
}

// hubProc is a running watchword-hub serve.
type hubProc struct {
	cmd  *exec.Cmd
	done chan error
}

func serveHub(t *testing.T, bin, db, addr string, logs *hubtest.SyncBuffer) *hubProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--db", db, "--listen", addr, "--log-json", "true", "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &hubProc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.kill() })
	// Ready when /healthz answers.
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := c.Get("https://" + addr + wire.PathHealthz); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("hub exited at start: %v\n%s", err, logs.Bytes())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("hub not healthy within 20 s\n%s", logs.Bytes())
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *hubProc) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

var execCommand = exec.Command

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// integrityCheck opens the database as SQLite itself would after a crash and runs PRAGMA integrity_check.
func integrityCheck(t *testing.T, db string) {
	t.Helper()
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var res string
	if err := conn.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check of %s: %q, %v", db, res, err)
	}
}

// versionStates reads (account, version) → state straight from the database.
func versionStates(t *testing.T, db string) map[[2]int64]string {
	t.Helper()
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query("SELECT account_id, version, state FROM versions")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[[2]int64]string{}
	for rows.Next() {
		var a, v int64
		var s string
		if err := rows.Scan(&a, &v, &s); err != nil {
			t.Fatal(err)
		}
		out[[2]int64{a, v}] = s
	}
	return out
}

// grepSecrets counts every secret found in every file under the paths (files or directories) and in the blobs,
// and fails the test for each. Paths that do not exist are skipped.
func grepSecrets(t *testing.T, secrets []string, paths []string, blobs map[string][]byte) {
	t.Helper()
	all := map[string][]byte{}
	for k, v := range blobs {
		all[k] = v
	}
	for _, p := range paths {
		filepath.Walk(p, func(path string, info os.FileInfo, err error) error {
			if err == nil && info.Mode().IsRegular() {
				if b, err := os.ReadFile(path); err == nil {
					all[path] = b
				}
			}
			return nil
		})
	}
	for where, blob := range all {
		for _, s := range secrets {
			if len(s) < 8 {
				t.Fatalf("secret %d characters long is too short to grep for", len(s))
			}
			if bytes.Contains(blob, []byte(s)) {
				leaks.Add(1)
				t.Errorf("secret leak: a secret of %d characters is in %s", len(s), where)
			}
		}
	}
	if len(all) == 0 {
		t.Fatal("nothing to grep for secrets")
	}
}

// memDriver is an in-memory target that remembers every password set, for scenarios about the hub.
type memDriver struct {
	mu   sync.Mutex
	pw   map[string]string
	sets atomic.Int64
}

var _ driver.Driver = (*memDriver)(nil)

func newMemDriver() *memDriver { return &memDriver{pw: map[string]string{}} }

func (d *memDriver) Kind() string                  { return "ad" }
func (d *memDriver) ValidateName(string) error     { return nil }
func (d *memDriver) PasswordRules() rotation.Rules { return rotation.RulesNone }
func (d *memDriver) Close() error                  { return nil }
func (d *memDriver) Ensure(_ context.Context, a driver.Account) (driver.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.pw[a.Name]; !ok {
		d.pw[a.Name] = ""
		return driver.Report{Created: true, NeedsPassword: true}, nil
	}
	return driver.Report{}, nil
}
func (d *memDriver) SetPassword(_ context.Context, name, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pw[name] = pw
	d.sets.Add(1)
	return nil
}
func (d *memDriver) Verify(_ context.Context, name, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pw[name] != pw {
		return driver.ErrBadPassword
	}
	return nil
}
func (d *memDriver) Disable(context.Context, string) (driver.Report, error) {
	return driver.Report{}, nil
}
func (d *memDriver) Delete(_ context.Context, name string) (driver.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.pw, name)
	return driver.Report{Deleted: true}, nil
}

// The just-in-time side: the scenarios here plan no just-in-time account, so a closed account is only created.
func (d *memDriver) EnsureDisabled(ctx context.Context, a driver.Account) (driver.Report, error) {
	return d.Ensure(ctx, a)
}
func (d *memDriver) SetDisabledPassword(ctx context.Context, name, pw string) error {
	return d.SetPassword(ctx, name, pw)
}
func (d *memDriver) VerifyDisabled(ctx context.Context, name, pw string) error {
	return d.Verify(ctx, name, pw)
}
func (d *memDriver) Enable(context.Context, string) error { return nil }

func (d *memDriver) password(name string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pw[name]
}

// waitConfirmed waits up to 60 s for a confirmed version of the tech's account, opening every version the tech can
// see on the way, and returns the confirmed version, its password and every version's password. stats describes
// the runner for the failure message.
func waitConfirmed(ctx context.Context, t *testing.T, tech *hubtest.Tech, stats func() string, logs *hubtest.SyncBuffer) (int64, string, map[int64]string) {
	t.Helper()
	passwords := map[int64]string{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("no confirmed version within 60 s; runner %s\n%s", stats(), tailBytes(logs.Bytes()))
		}
		time.Sleep(100 * time.Millisecond)
		cr, err := tech.Credentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var confirmedV int64
		var confirmedPW string
		for _, c := range cr.Credentials {
			for _, v := range c.Versions {
				pw, err := seal.Open(v.Envelope, hubclient.SealContext(cr.ClientGUID, c.AgentID, c.AccountName, v.Version), tech.Identity)
				if err != nil {
					t.Fatalf("tech cannot open version %d: %v", v.Version, err)
				}
				passwords[v.Version] = string(pw)
				if v.State == wire.VersionConfirmed {
					confirmedV, confirmedPW = v.Version, string(pw)
				}
			}
		}
		if confirmedV != 0 {
			return confirmedV, confirmedPW, passwords
		}
	}
}
