//go:build unix

package local

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/watchword/watchword/shared/seal"
)

// TestWriteRecoveryOwnerOnly: the recovery identity's file is mode 0600 under a permissive umask, also when it
// replaces a world-readable file (as a file save dialog creates one before the Console writes), and holds the
// identity; a directory that does not exist is an error naming the path, leaving nothing behind.
func TestWriteRecoveryOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "recovery.txt")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteRecovery(path, "Northwind IT", id); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("recovery file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(b), id.AgeIdentity().String()+"\n") || !strings.Contains(string(b), "Northwind IT") {
		t.Fatalf("recovery file holds:\n%s", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d entries in the directory, want the file alone", len(entries))
	}
	missing := filepath.Join(dir, "no-such-dir", "recovery.txt")
	if err := WriteRecovery(missing, "Northwind IT", id); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("write into a missing directory: %v", err)
	} else if strings.Contains(err.Error(), "AGE-SECRET-KEY") {
		t.Fatal("the error carries the identity")
	}
}
