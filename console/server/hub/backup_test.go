//go:build unix

package hub_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/watchword/watchword/console/server/hub/hubcli"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
)

// TestBackupOwnerOnly: watchword-hub backup writes its copy with mode 0600 even under a permissive umask (it
// holds the audit log and the techs' two-factor state); the copy opens as a database; a second backup to the same
// path is refused and leaves the first copy as it was.
func TestBackupOwnerOnly(t *testing.T) {
	ctx := testCtx(t)
	old := syscall.Umask(0o022) // the usual umask: a file created without an explicit mode would be 0644
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	recovery, err := seal.GenerateIdentity()
	noErr(t, err)
	var out bytes.Buffer
	if err := hubcli.Main(ctx, []string{"init", "--db", db, "--tenant", "Acme MSP", "--abbrev", "acme",
		"--recovery", recovery.Public().Recipient().String()}, &out, &out); err != nil {
		t.Fatalf("init: %v\n%s", err, out.String())
	}
	dst := filepath.Join(dir, "copy.db")
	out.Reset()
	if err := hubcli.Main(ctx, []string{"backup", "--db", db, "--out", dst}, &out, &out); err != nil {
		t.Fatalf("backup: %v\n%s", err, out.String())
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode: %v, %v; want 0600", fi.Mode(), err)
	}
	st, err := store.Open(ctx, dst)
	noErr(t, err)
	n, err := st.VerifyAudit(ctx)
	st.Close()
	if err != nil || n == 0 {
		t.Fatalf("the copy's audit chain: %d events, %v", n, err)
	}
	before, err := os.ReadFile(dst)
	noErr(t, err)
	err = hubcli.Main(ctx, []string{"backup", "--db", db, "--out", dst}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("backup over an existing copy: %v", err)
	}
	after, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the refused backup changed the existing copy (%v)", err)
	}
}
