//go:build unix

package keystore

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system, all threads) this process has used, so a benchmark on a busy machine
// can report what one unlock costs a core rather than how long it waited for one.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
