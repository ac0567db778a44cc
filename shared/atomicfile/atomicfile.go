// Package atomicfile replaces a file's contents so that a reader, a crash or a full disk finds the old file or the
// new one, never an empty or partial one.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with data, with exactly the permissions perm (the umask does not apply). The data goes to a
// temporary file in path's directory (a rename is atomic only within one file system) whose mode is set before any
// byte is written; the file is synced, closed and renamed over path, then the directory is synced so the rename
// itself survives a crash.
//
// The error names path. On an error before the rename (a full disk, an I/O error, a missing directory) the
// temporary file is removed and path is left as it was. An error syncing the directory comes after the rename:
// path then holds data, which a power loss may still undo.
func Write(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := fill(f, data, perm); err != nil {
		f.Close() // fill may have closed it already: nothing more to learn from this one
		os.Remove(f.Name())
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %q: sync directory: %w", path, err)
	}
	return nil
}

// fill sets f's mode, writes data to it, syncs and closes it, and returns the first error.
func fill(f *os.File, data []byte, perm fs.FileMode) error {
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// syncDir makes a rename in dir durable. Windows has no fsync for a directory (NTFS journals the rename itself).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
