//go:build !unix

package keystore

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
