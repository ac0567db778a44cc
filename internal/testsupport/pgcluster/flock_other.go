//go:build !unix

package pgcluster

import "os"

// The cluster runs only on Linux; elsewhere Start skips before it needs the lock.
func tryLock(*os.File) error { return nil }
