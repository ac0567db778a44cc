// Package pgcluster starts, for one test or benchmark, the highly available PostgreSQL of scripts/pgcluster.sh (one
// etcd and two Patroni members in synchronous mode on loopback) and crashes its primary's node on demand. The
// script does the work (install, bounded waits, stop by PID); this package runs it, reads the DSN it writes and
// stops the cluster when the test ends.
package pgcluster

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/targets"
)

// Cluster is a running cluster.
type Cluster struct {
	script, dir string
	env         targets.Env
	// Up is how long the start took (packages installed, etcd, a leader, a synchronous standby, the database).
	Up time.Duration
}

// Start starts a fresh cluster and stops it when tb ends. It needs root (the servers run as the postgres user; the
// packages may need installing): without root, or when the start fails, tb skips, and fails under CI=true.
// The cluster's ports are fixed, so a machine-wide lock, held until tb ends, makes test binaries that want it
// (go test runs packages side by side; engineers share machines) take turns; a cluster left by a run that died is
// stopped first, so each holder gets a fresh one.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	skip := func(format string, args ...any) {
		tb.Helper()
		if os.Getenv("CI") == "true" {
			tb.Fatalf(format, args...)
		}
		tb.Skipf(format, args...)
	}
	if os.Geteuid() != 0 {
		skip("the PostgreSQL cluster needs root (scripts/pgcluster.sh runs its servers as the postgres user)")
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	c := &Cluster{script: filepath.Join(root, "scripts", "pgcluster.sh"), dir: os.Getenv("WATCHWORD_PGCLUSTER_DIR")}
	if c.dir == "" {
		c.dir = "/tmp/watchword-pgcluster"
	}
	lock(tb, c.dir+".lock", 15*time.Minute)
	if out, err := c.run("stop"); err != nil {
		tb.Fatalf("scripts/pgcluster.sh stop (a cluster left running): %v\n%s", err, out)
	}
	st := time.Now()
	if out, err := c.run("start"); err != nil {
		_, _ = c.run("stop")
		skip("scripts/pgcluster.sh start: %v\n%s", err, out)
	}
	c.Up = time.Since(st)
	tb.Cleanup(func() {
		if out, err := c.run("stop"); err != nil {
			tb.Errorf("scripts/pgcluster.sh stop: %v\n%s", err, out)
		}
	})
	if c.env, err = targets.Load(filepath.Join(c.dir, "pgcluster.env")); err != nil {
		tb.Fatalf("cluster env: %v", err)
	}
	return c
}

// lock holds the file lock at path until tb ends, waiting for it at most wait.
func lock(tb testing.TB, path string, wait time.Duration) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		tb.Fatalf("cluster lock: %v", err)
	}
	deadline := time.Now().Add(wait)
	for tryLock(f) != nil {
		if time.Now().After(deadline) {
			f.Close()
			tb.Fatalf("cluster lock %s: still held by another test after %v", path, wait)
		}
		time.Sleep(500 * time.Millisecond)
	}
	tb.Cleanup(func() { f.Close() }) // registered before the stop, so it runs after it
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", errors.New("go env GOMOD: " + err.Error())
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func (c *Cluster) run(args ...string) (string, error) {
	cmd := exec.Command(c.script, args...)
	cmd.Env = append(os.Environ(), "WATCHWORD_PGCLUSTER_DIR="+c.dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// DSN is the multi-host connection string of the tests' database, with target_session_attrs=read-write so that a
// client follows a failover.
func (c *Cluster) DSN() string { return c.env["PGCLUSTER_DSN"] }

// AdminDSN is the same for the maintenance database (postgres), to create more databases.
func (c *Cluster) AdminDSN() string { return c.env["PGCLUSTER_ADMIN_DSN"] }

// KillPrimary crashes the leader's node, patroni and its postmaster at once (killing patroni alone would leave a
// writable orphan), and returns the member's name.
func (c *Cluster) KillPrimary() (string, error) {
	out, err := c.run("kill-primary")
	f := strings.Fields(out)
	if err != nil || len(f) == 0 {
		return "", errors.New("scripts/pgcluster.sh kill-primary: " + strings.TrimSpace(out))
	}
	return f[len(f)-1], nil
}

// Rejoin restarts the killed member's patroni; it becomes a standby again (Healthy tells when it is synchronous).
func (c *Cluster) Rejoin() error {
	if out, err := c.run("rejoin"); err != nil {
		return errors.New("scripts/pgcluster.sh rejoin: " + strings.TrimSpace(out))
	}
	return nil
}

// Leader is the member whose Patroni answers as the writable leader ("n1" or "n2"), or "" when none does.
func (c *Cluster) Leader() string {
	out, _ := c.run("status")
	for _, line := range strings.Split(out, "\n") {
		if name, rest, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(rest, "leader ") {
			return name
		}
	}
	return ""
}

// Healthy reports whether a leader and a synchronous standby exist.
func (c *Cluster) Healthy() bool { _, err := c.run("status"); return err == nil }
