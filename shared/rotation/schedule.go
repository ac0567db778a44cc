package rotation

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// Schedule says how often an account rotates.
type Schedule struct {
	// Interval is the longest a confirmed password stays in place.
	Interval time.Duration
	// Jitter spreads rotations: each account rotates a fixed, account-specific offset in [0, Jitter) EARLIER than
	// Interval, so a password never lives longer than Interval. Capped at half the interval.
	Jitter time.Duration
}

// DefaultSchedule is 30 days with a 6-hour spread.
var DefaultSchedule = Schedule{Interval: 30 * 24 * time.Hour, Jitter: 6 * time.Hour}

// EffectiveSchedule returns the tenant's schedule unless an agent group overrides it (a zero interval means no
// override; the override's jitter replaces the tenant's only when set).
func EffectiveSchedule(tenant, group Schedule) Schedule {
	if group.Interval <= 0 {
		return tenant
	}
	s := Schedule{Interval: group.Interval, Jitter: tenant.Jitter}
	if group.Jitter > 0 {
		s.Jitter = group.Jitter
	}
	return s
}

// Validate reports a schedule that cannot be used.
func (s Schedule) Validate() error {
	if s.Interval < time.Minute {
		return fmt.Errorf("rotation interval %s: shorter than a minute", s.Interval)
	}
	if s.Jitter < 0 {
		return fmt.Errorf("rotation jitter %s: negative", s.Jitter)
	}
	return nil
}

func (s Schedule) jitter() time.Duration {
	return min(max(s.Jitter, 0), s.Interval/2)
}

// Offset is the account's deterministic place in the jitter window, from a hash of key (use tenant, agent and
// account together so the same name on two agents lands apart). The same key always gets the same offset, so the
// spread survives restarts and never drifts.
func (s Schedule) Offset(key string) time.Duration {
	j := s.jitter()
	if j <= 0 {
		return 0
	}
	sum := sha256.Sum256([]byte(key))
	return time.Duration(binary.BigEndian.Uint64(sum[:8]) % uint64(j))
}

// NextDue is when a password confirmed at confirmed becomes due.
func (s Schedule) NextDue(confirmed time.Time, key string) time.Time {
	return confirmed.Add(s.Interval - s.Offset(key))
}

// Reason says why an account must rotate now.
type Reason int

const (
	NotDue      Reason = iota
	DueNew             // never had a confirmed password: a fresh account
	DueSchedule        // its interval (less its offset) has passed
	DueOnDemand        // an admin asked "rotate now", or a reveal asked for rotate-after-use
	DueRecovery        // a staged version is unconfirmed after a crash or failure: rotate afresh
)

var reasonNames = [...]string{"not due", "new account", "scheduled", "on demand", "unresolved version"}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// AccountState is what the hub's plan says about an account's rotation. None of it comes from the target: AD's
// pwdLastSet, for one, can read older than the truth on a replica, and trusting it would rotate in a loop.
type AccountState struct {
	Key         string    // stable key for the jitter offset
	Confirmed   time.Time // when the current version was confirmed; zero if never
	RotateNow   bool      // on demand
	Unconfirmed bool      // a version newer than the confirmed one is staged and neither confirmed nor failed
}

// Due says whether the account must rotate at now, why, and when it next will otherwise.
func (s Schedule) Due(now time.Time, a AccountState) (Reason, time.Time) {
	switch {
	case a.Unconfirmed:
		return DueRecovery, now
	case a.Confirmed.IsZero():
		return DueNew, now
	case a.RotateNow:
		return DueOnDemand, now
	}
	next := s.NextDue(a.Confirmed, a.Key)
	if !now.Before(next) {
		return DueSchedule, next
	}
	return NotDue, next
}
