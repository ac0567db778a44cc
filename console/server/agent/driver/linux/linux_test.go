package linux_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/drivertest"
	"github.com/watchword/watchword/console/server/agent/driver/linux"
	"github.com/watchword/watchword/internal/testsupport/targets"
)

// The tests manage real accounts of this machine (the SSH target is this machine too): only names with this
// prefix, removed afterwards, and the drivers are built with the prefix guard so nothing else can be touched.
const prefix = "wwt-"

var testGroups = []string{"wwt-ops", "wwt-dev"}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the Linux driver tests need root under CI=true")
		}
		t.Skip("needs root to manage local accounts")
	}
	targets.LockAccounts(t)
}

func testName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-r", name).CombinedOutput(); err != nil && !strings.Contains(string(out), "does not exist") {
			t.Logf("cleanup userdel %s: %v: %s", name, err, out)
		}
	})
	return name
}

// ensureGroups makes the test groups exist (targets.sh makes them too) and removes those it made.
func ensureGroups(t *testing.T) {
	t.Helper()
	for _, g := range testGroups {
		if exec.Command("getent", "group", g).Run() == nil {
			continue
		}
		if out, err := exec.Command("groupadd", g).CombinedOutput(); err != nil {
			t.Fatalf("groupadd %s: %v: %s", g, err, out)
		}
		t.Cleanup(func() { exec.Command("groupdel", g).Run() })
	}
}

func sshDriver(t *testing.T) (*linux.Driver, string, ssh.PublicKey) {
	t.Helper()
	cfg := sshConfig(t, prefix)
	return newSSH(t, cfg), cfg.Addr, cfg.HostKey
}

// sshConfig is the SSH target's configuration with the given name prefix ("" for none).
func sshConfig(t *testing.T, prefix string) linux.SSHConfig {
	t.Helper()
	env := targets.Require(t)
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(env.Get(t, "WW_SSH_HOST_KEY")))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(env.Get(t, "WW_SSH_KEY_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return linux.SSHConfig{Addr: env.Get(t, "WW_SSH_ADDR"), HostKey: hk, User: env.Get(t, "WW_SSH_USER"),
		Sudo: env["WW_SSH_SUDO"] == "1", Signer: signer, Prefix: prefix}
}

func newSSH(t *testing.T, cfg linux.SSHConfig) *linux.Driver {
	t.Helper()
	d, err := linux.NewSSH(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestLocalConformance(t *testing.T) {
	requireRoot(t)
	ensureGroups(t)
	d := linux.NewLocal(linux.LocalConfig{Prefix: prefix})
	cfg := conformance(linux.NewLocal(linux.LocalConfig{}), nil) // no prefix: the marks and uids alone must protect
	cfg.Cannot = map[drivertest.Case]string{
		drivertest.DeadTarget: "the local driver runs its commands on this host: there is no target to lose",
	}
	drivertest.Run(t, d, cfg)
}

func TestSSHConformance(t *testing.T) {
	requireRoot(t)
	d, addr, hk := sshDriver(t)
	unguarded := newSSH(t, sshConfig(t, ""))
	ensureGroups(t)
	login := func(ctx context.Context, name, pw string) error {
		return linux.Login(ctx, addr, hk, name, pw, 5*time.Second)
	}
	cfg := conformance(unguarded, login)
	cfg.Dead = func(t *testing.T) (driver.Driver, error) {
		dead := sshConfig(t, prefix)
		dead.Addr, dead.Timeout = "127.0.0.1:1", 5*time.Second
		return linux.NewSSH(dead)
	}
	drivertest.Run(t, d, cfg)
}

// conformance is the suite's view of this machine's accounts, for a driver with the test prefix; unguarded is a
// driver of the same kind without the prefix, for the accounts it must never touch (root, system accounts).
// login, when set, is a raw password login that bypasses the driver.
func conformance(unguarded *linux.Driver, login func(ctx context.Context, name, pw string) error) drivertest.Config {
	return drivertest.Config{
		NewName: testName,
		Groups:  groupsOf,
		GroupExists: func(t *testing.T, group string) bool {
			return exec.Command("getent", "group", group).Run() == nil
		},
		Ops: "wwt-ops", Dev: "wwt-dev",
		DisplayName: "Test: Tech, Jr",
		Check: func(t *testing.T, name, pw string, at drivertest.Stage) {
			ctx := context.Background()
			switch at {
			case drivertest.Created:
				if err := unguarded.Verify(ctx, name, "anything"); !errors.Is(err, driver.ErrDisabled) {
					t.Fatalf("verify before any password: %v, want ErrDisabled", err)
				}
			case drivertest.Enabled:
				if login != nil {
					if err := login(ctx, name, pw); err != nil {
						t.Fatalf("raw ssh login with the current password: %v", err)
					}
				}
			case drivertest.Disabled:
				if login != nil && pw != "" {
					if err := login(ctx, name, pw); err == nil {
						t.Fatal("sshd accepted a password login to a disabled account")
					}
				}
				sh, _ := exec.Command("getent", "shadow", name).Output()
				if f := strings.Split(string(sh), ":"); len(f) < 8 || !strings.HasPrefix(f[1], "!") || f[7] != "1" {
					t.Fatalf("disabled shadow entry not locked and expired")
				}
			}
		},
		HostileNames: []string{"*)(uid=*", "root", "wwt-a;id", "wwt-$(id)", "wwt-a b", "-wwt", "wwt-../x", "WWT-A",
			"wwt-" + strings.Repeat("a", 30), ""},
		HostileGroups: []string{"wwt-ops;id", "$(id)", "root,sudo", "-G"},
		Foreign: func(t *testing.T, name string) func(*testing.T) {
			if out, err := exec.Command("useradd", "-m", "-s", "/bin/bash", "-c", "A Person", name).CombinedOutput(); err != nil {
				t.Fatalf("useradd: %v: %s", err, out)
			}
			before := passwdLine(t, name)
			return func(t *testing.T) {
				if after := passwdLine(t, name); after != before {
					t.Fatalf("the unadopted account changed:\n%s\n%s", before, after)
				}
			}
		},
		Mark:               passwdLine,
		ProtectedDriver:    unguarded,
		ProtectedNames:     []string{"root", "daemon", "nobody"},
		ProtectedUnchanged: passwdLine,
	}
}

func TestSSHRefusesWrongHostKey(t *testing.T) {
	_, addr, _ := sshDriver(t)
	other, _, _, _, _ := ssh.ParseAuthorizedKey([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtQUDIVj1Y5kRiPFpYKbV8yFpjJBPR+5Y7u1u1dIqS8"))
	err := linux.Login(context.Background(), addr, other, "root", "x", 5*time.Second)
	if err == nil || errors.Is(err, driver.ErrBadPassword) || !strings.Contains(err.Error(), "host key") {
		t.Fatalf("login with a wrong pinned host key: %v, want a host key mismatch", err)
	}
}

func groupsOf(t *testing.T, name string) []string {
	t.Helper()
	all, err := exec.Command("id", "-nG", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	primary, _ := exec.Command("id", "-gn", name).Output()
	var out []string
	for _, g := range strings.Fields(string(all)) {
		if g != strings.TrimSpace(string(primary)) {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out
}
