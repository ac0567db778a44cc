// Package clock holds the one context-aware sleep every loop of Watchword waits with (the agent's backoff, the
// TechClient's and the Console's refresh loops), so that a wait always ends when its context does.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx ends, whichever comes first, and reports whether the whole of d passed. A d of
// zero or less returns at once (true unless ctx has already ended).
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
