package agent

import (
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff with full jitter: the n-th consecutive failure waits a random time in
// [Min, min(Max, Min·2ⁿ)]. The jitter keeps a fleet of agents that lost the same hub from coming back in one
// synchronised wave.
type Backoff struct {
	Min, Max time.Duration
	n        int
}

// DefaultBackoff starts at half a second and caps at 15 seconds. The cap bounds how long an agent keeps sleeping
// after the hub is back: a replicated hub database fails over in about ten seconds, and rotations should resume
// within seconds of that, not a minute later. Asking a failing hub every few seconds costs it little, and the
// jitter still spreads a fleet (a thousand agents at the cap are under a hundred requests a second).
func DefaultBackoff() Backoff { return Backoff{Min: 500 * time.Millisecond, Max: 15 * time.Second} }

// Next returns the wait after one more failure.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi < lo {
		hi = lo
	}
	ceil := lo
	for range b.n {
		if ceil >= hi/2 {
			ceil = hi
			break
		}
		ceil *= 2
	}
	ceil = min(ceil, hi)
	b.n++
	if ceil <= lo {
		return lo
	}
	return lo + rand.N(ceil-lo+1)
}

// Failures is the number of consecutive failures so far.
func (b *Backoff) Failures() int { return b.n }

// Reset forgets the failures after a success.
func (b *Backoff) Reset() { b.n = 0 }
