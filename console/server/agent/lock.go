package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LockFile is the name of the lock file in the state directory.
const LockFile = "agent.lock"

// ErrLocked says another agent process holds the state directory's lock.
var ErrLocked = errors.New("another watchword-agent holds the lock")

// Lock is an exclusive flock(2) (LockFileEx on Windows) on the state directory's lock file. The kernel releases it when the process
// dies, however it dies, so a SIGKILLed agent never leaves a stale lock behind, and two agents started on the
// same state directory (a unit started twice, an admin's manual run beside the service) never work one target
// at the same time.
type Lock struct {
	f *os.File
}

// AcquireLock takes the lock of dir without waiting; it fails with ErrLocked when another process (or another
// Lock in this one) holds it.
func AcquireLock(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	// The PID is for the humans reading the file; the lock itself is the flock.
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return &Lock{f: f}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}
