//go:build !windows

package agent

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock without waiting; ErrLocked when another descriptor holds it.
func tryLock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}
