package targets

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var accounts struct {
	sync.Mutex
	held int
	f    *os.File
}

// LockAccounts holds, until tb ends, the machine-wide lock that test binaries take before they add, change or
// remove local accounts (the SSH target is this machine's own sshd, so its accounts are /etc/passwd here).
// go test runs packages side by side, and shadow-utils lock /etc/passwd per command: a useradd or usermod that
// finds it locked sleeps a second and tries again, so two binaries churning accounts at once slow each other into
// timeouts. Within one test binary the lock is shared.
func LockAccounts(tb testing.TB) {
	tb.Helper()
	accounts.Lock()
	defer accounts.Unlock()
	if accounts.held == 0 {
		f, err := os.OpenFile(filepath.Join(os.TempDir(), "watchword-targets-accounts.lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			tb.Fatalf("accounts lock: %v", err)
		}
		if err := flock(f); err != nil {
			f.Close()
			tb.Fatalf("accounts lock: %v", err)
		}
		accounts.f = f
	}
	accounts.held++
	tb.Cleanup(func() {
		accounts.Lock()
		defer accounts.Unlock()
		if accounts.held--; accounts.held == 0 {
			accounts.f.Close() // closing the last descriptor releases the flock
			accounts.f = nil
		}
	})
}
