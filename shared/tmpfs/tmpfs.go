// Package tmpfs gives tests a small file system of their own to fill up: a disk-full failure from the kernel
// itself, not a fake writer. Mounting needs root (or CAP_SYS_ADMIN); elsewhere the test is skipped.
package tmpfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size (mount's size= option: "64k", "4m") on a new temporary directory, unmounted when
// the test ends, and returns the directory. It skips the test when it cannot mount.
func Mount(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// Fill writes a file name in dir until the file system is full, and returns the file's size.
func Fill(t testing.TB, dir, name string) int64 {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var size int64
	for {
		n, err := f.Write(make([]byte, 4096))
		size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			return size
		}
		if err != nil {
			t.Fatalf("fill %s: %v", dir, err)
		}
	}
}
