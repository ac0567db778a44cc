package linux_test

import (
	"context"
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

// The mark is the GECOS "other" field, the fields before it kept: an adopted account keeps its full name, and a
// created one gets its display name with the field separators taken out.
func TestLocalMarksInGECOS(t *testing.T) {
	requireRoot(t)
	ensureGroups(t)
	ctx := context.Background()
	d := linux.NewLocal(linux.LocalConfig{Prefix: prefix})
	name := testName(t)
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/bash", "-c", "A Person", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
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
