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
	"github.com/watchword/watchword/console/server/agent/driver/linux"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/rotation"
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
	addr := env.Get(t, "WW_SSH_ADDR")
	d, err := linux.NewSSH(linux.SSHConfig{Addr: addr, HostKey: hk, User: env.Get(t, "WW_SSH_USER"), Sudo: env["WW_SSH_SUDO"] == "1", Signer: signer, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, addr, hk
}

func TestLocalLifecycle(t *testing.T) {
	requireRoot(t)
	ensureGroups(t)
	d := linux.NewLocal(linux.LocalConfig{Prefix: prefix})
	lifecycle(t, d, nil)
}

func TestSSHLifecycle(t *testing.T) {
	requireRoot(t)
	d, addr, hk := sshDriver(t)
	ensureGroups(t)
	login := func(ctx context.Context, name, pw string) error {
		return linux.Login(ctx, addr, hk, name, pw, 5*time.Second)
	}
	lifecycle(t, d, login)
}

func TestSSHRefusesWrongHostKey(t *testing.T) {
	_, addr, _ := sshDriver(t)
	other, _, _, _, _ := ssh.ParseAuthorizedKey([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtQUDIVj1Y5kRiPFpYKbV8yFpjJBPR+5Y7u1u1dIqS8"))
	err := linux.Login(context.Background(), addr, other, "root", "x", 5*time.Second)
	if err == nil || errors.Is(err, driver.ErrBadPassword) || !strings.Contains(err.Error(), "host key") {
		t.Fatalf("login with a wrong pinned host key: %v, want a host key mismatch", err)
	}
}

// lifecycle: create, 20 rotations (new password works, previous fails), rights changed, missing group reported,
// disable (login refused), re-enable. login, when set, is a raw password login that bypasses the driver.
func lifecycle(t *testing.T, d *linux.Driver, login func(ctx context.Context, name, pw string) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := testName(t)

	rep, err := d.Ensure(ctx, driver.Account{Name: name, DisplayName: "Test: Tech, Jr", Groups: []string{"wwt-ops", "wwt-nosuch"}})
	if err != nil {
		t.Fatalf("ensure: %v", err)
	}
	if !rep.Created || !rep.NeedsPassword || !slices.Equal(rep.Added, []string{"wwt-ops"}) || !slices.Equal(rep.Missing, []string{"wwt-nosuch"}) {
		t.Fatalf("first ensure report %+v", rep)
	}
	if exec.Command("getent", "group", "wwt-nosuch").Run() == nil {
		t.Fatal("a missing group was created")
	}
	if err := d.Verify(ctx, name, "anything"); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("verify before any password: %v, want ErrDisabled", err)
	}

	policy := rotation.DefaultPolicy(d.PasswordRules())
	prev := ""
	for i := range 20 {
		pw, err := policy.Generate(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SetPassword(ctx, name, pw); err != nil {
			t.Fatalf("rotation %d: set: %v", i, err)
		}
		if err := d.Verify(ctx, name, pw); err != nil {
			t.Fatalf("rotation %d: new password: %v", i, err)
		}
		if prev != "" {
			if err := d.Verify(ctx, name, prev); !errors.Is(err, driver.ErrBadPassword) {
				t.Fatalf("rotation %d: previous password: %v, want ErrBadPassword", i, err)
			}
		}
		prev = pw
	}
	if login != nil {
		if err := login(ctx, name, prev); err != nil {
			t.Fatalf("raw ssh login with the current password: %v", err)
		}
	}

	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-dev"}})
	if err != nil || rep.Created || !slices.Equal(rep.Added, []string{"wwt-dev"}) || !slices.Equal(rep.Removed, []string{"wwt-ops"}) {
		t.Fatalf("rights change: %+v %v", rep, err)
	}
	if g := groupsOf(t, name); !slices.Equal(g, []string{"wwt-dev"}) {
		t.Fatalf("groups %v, want [wwt-dev]", g)
	}

	rep, err = d.Disable(ctx, name)
	if err != nil || !rep.Disabled || !slices.Equal(rep.Removed, []string{"wwt-dev"}) {
		t.Fatalf("disable: %+v %v", rep, err)
	}
	if g := groupsOf(t, name); len(g) != 0 {
		t.Fatalf("disabled account still in %v", g)
	}
	if err := d.Verify(ctx, name, prev); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("verify a disabled account: %v, want ErrDisabled", err)
	}
	if login != nil {
		if err := login(ctx, name, prev); err == nil {
			t.Fatal("sshd accepted a password login to a disabled account")
		}
	}
	sh, _ := exec.Command("getent", "shadow", name).Output()
	if f := strings.Split(string(sh), ":"); len(f) < 8 || !strings.HasPrefix(f[1], "!") || f[7] != "1" {
		t.Fatalf("disabled shadow entry not locked and expired")
	}

	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops"}})
	if err != nil || !rep.Enabled || rep.NeedsPassword {
		t.Fatalf("re-enable: %+v %v", rep, err)
	}
	if err := d.Verify(ctx, name, prev); err != nil {
		t.Fatalf("re-enabled account: %v", err)
	}
	if login != nil {
		if err := login(ctx, name, prev); err != nil {
			t.Fatalf("raw ssh login after re-enable: %v", err)
		}
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

func TestHostileNames(t *testing.T) {
	d := linux.NewLocal(linux.LocalConfig{Prefix: prefix})
	ctx := context.Background()
	for _, n := range []string{"*)(uid=*", "root", "wwt-a;id", "wwt-$(id)", "wwt-a b", "-wwt", "wwt-../x", "WWT-A",
		"wwt-" + strings.Repeat("a", 30), ""} {
		if _, err := d.Ensure(ctx, driver.Account{Name: n}); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("Ensure(%q) = %v, want ErrInvalidName", n, err)
		}
		if err := d.SetPassword(ctx, n, "Xx1!xxxxxxxx"); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("SetPassword(%q) = %v, want ErrInvalidName", n, err)
		}
		if _, err := d.Disable(ctx, n); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("Disable(%q) = %v, want ErrInvalidName", n, err)
		}
	}
	requireRoot(t)
	ensureGroups(t)
	name := testName(t)
	rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops;id", "$(id)", "root,sudo", "-G"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Added) != 0 || len(rep.Missing) != 4 {
		t.Fatalf("hostile group names: %+v", rep)
	}
	if g := groupsOf(t, name); len(g) != 0 {
		t.Fatalf("member of %v", g)
	}
}
