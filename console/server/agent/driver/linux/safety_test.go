package linux_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/linux"
)

func passwdLine(t *testing.T, name string) string {
	t.Helper()
	out, _ := exec.Command("getent", "passwd", name).Output()
	sh, _ := exec.Command("getent", "shadow", name).Output()
	return string(out) + string(sh)
}

// root and system accounts are never touched, by a driver without a name prefix, adopt or not; a person's own
// account is refused until an admin adopts it, which marks its GECOS.
func TestLocalNeverTouchesWhatItDidNotCreate(t *testing.T) {
	requireRoot(t)
	ensureGroups(t)
	ctx := context.Background()
	d := linux.NewLocal(linux.LocalConfig{}) // no prefix: the marks and uids alone must protect
	for _, name := range []string{"root", "daemon", "nobody"} {
		before := passwdLine(t, name)
		for _, adopt := range []bool{false, true} {
			if _, err := d.Ensure(ctx, driver.Account{Name: name, Groups: testGroups, Adopt: adopt}); !errors.Is(err, driver.ErrProtected) {
				t.Errorf("Ensure(%s, adopt %t) = %v, want ErrProtected", name, adopt, err)
			}
		}
		if err := d.SetPassword(ctx, name, "Zz9-never-this"); !errors.Is(err, driver.ErrProtected) {
			t.Errorf("SetPassword(%s) = %v, want ErrProtected", name, err)
		}
		if _, err := d.Disable(ctx, name); !errors.Is(err, driver.ErrProtected) {
			t.Errorf("Disable(%s) = %v, want ErrProtected", name, err)
		}
		if after := passwdLine(t, name); after != before {
			t.Errorf("%s changed:\n%s\n%s", name, before, after)
		}
	}

	name := testName(t)
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/bash", "-c", "A Person", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	before := passwdLine(t, name)
	if _, err := d.Ensure(ctx, driver.Account{Name: name, Groups: testGroups}); !errors.Is(err, driver.ErrNotManaged) {
		t.Fatalf("Ensure of an account Watchword did not create = %v, want ErrNotManaged", err)
	}
	if err := d.SetPassword(ctx, name, "Zz9-never-this"); !errors.Is(err, driver.ErrNotManaged) {
		t.Fatalf("SetPassword = %v, want ErrNotManaged", err)
	}
	if _, err := d.Disable(ctx, name); !errors.Is(err, driver.ErrNotManaged) {
		t.Fatalf("Disable = %v, want ErrNotManaged", err)
	}
	if after := passwdLine(t, name); after != before {
		t.Fatalf("the unadopted account changed:\n%s\n%s", before, after)
	}
	rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: testGroups, Adopt: true})
	if err != nil || !rep.Adopted {
		t.Fatalf("adopt: %+v %v", rep, err)
	}
	if got := passwdLine(t, name); !strings.Contains(got, "A Person,,,,"+driver.MarkAdopted) {
		t.Fatalf("adopted account's entry %q lacks the mark", got)
	}

	created := testName(t)
	if _, err := d.Ensure(ctx, driver.Account{Name: created, DisplayName: "Alice, Admin"}); err != nil {
		t.Fatal(err)
	}
	if got := passwdLine(t, created); !strings.Contains(got, "Alice Admin,,,,"+driver.MarkManaged) {
		t.Fatalf("created account's entry %q lacks the mark", got)
	}
}

// Enable unlocks an account the runner rotated while disabled, and refuses one without a password.
func TestLocalEnable(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	d := linux.NewLocal(linux.LocalConfig{Prefix: prefix})
	name := testName(t)
	if _, err := d.Ensure(ctx, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := d.Enable(ctx, name); err == nil {
		t.Fatal("an account without a password was enabled")
	}
	if err := d.SetPassword(ctx, name, "Zz9-enable-test-pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Disable(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(ctx, name, "Zz9-enable-test-pw"); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("disabled account: %v", err)
	}
	if err := d.Enable(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(ctx, name, "Zz9-enable-test-pw"); err != nil {
		t.Fatalf("after Enable: %v", err)
	}
}
