package atomicfile_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/tmpfs"
)

// names lists dir, so a test sees a temporary file left behind.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteReplacesWithMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("an older and longer content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new" {
		t.Fatalf("contents = %q, %v; want %q", got, err, "new")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if n := names(t, dir); !slices.Equal(n, []string{"state.json"}) {
		t.Fatalf("directory holds %q, want only state.json", n)
	}
}

// TestWriteFullDisk fills a small tmpfs, leaves a few KiB free so the write is partial before it fails, and checks
// that Write says so (naming the file), keeps the previous file whole and leaves no temporary file; then that it
// works again once there is space. Needs root (tmpfs.Mount).
func TestWriteFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, "256k")
	path := filepath.Join(dir, "state.json")
	old := []byte(`{"windows":[{"accountId":1}]}`)
	if err := atomicfile.Write(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	if err := os.Truncate(filler, tmpfs.Fill(t, dir, "filler")-8192); err != nil {
		t.Fatal(err)
	}

	big := bytes.Repeat([]byte("x"), 64<<10)
	err := atomicfile.Write(path, big, 0o600)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
		t.Fatalf("write on a full disk: %v; want ENOSPC naming %s", err, path)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("previous file after the failed write = %q, %v; want %q", got, err, old)
	}
	if n := names(t, dir); !slices.Equal(n, []string{"filler", "state.json"}) {
		t.Fatalf("directory holds %q after the failed write, want filler and state.json", n)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(path, big, 0o600); err != nil {
		t.Fatalf("write once space is free: %v", err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("file after the second write: %d bytes, %v; want %d", len(got), err, len(big))
	}
}

// TestWriteRenameFails: the last step fails (path is a directory), and the written temporary file is removed.
func TestWriteRenameFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := atomicfile.Write(path, []byte("new"), 0o600)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("write over a directory: %v; want an error naming %s", err, path)
	}
	if n := names(t, dir); !slices.Equal(n, []string{"state.json"}) {
		t.Fatalf("directory holds %q, want only state.json", n)
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Fatalf("the directory at %s changed: %v, %v", path, fi, err)
	}
}

func TestWriteMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "state.json")
	err := atomicfile.Write(path, []byte("new"), 0o600)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("write into a missing directory: %v; want ErrNotExist naming %s", err, path)
	}
}
