package agent

// Halting: the agent never loops on an account, and never becomes the cause of a lockout.
//
//   - A rotation that stays unresolved (set but not verified or confirmed, or refused by the target) counts toward
//     wire.MaxUnresolved since the account's last confirmed rotation; one pass tries at most what is left of it.
//     At the bound the account is halted.
//   - Where the driver reads the target's own policy (driver.PolicyReader: the domain's or a fine-grained
//     policy's minimum length and lockout threshold, and the account's bad-password count), a tenant policy
//     shorter than the target's minimum is refused before anything is staged, with the rule named; and no
//     verification is made that could bring the account to its lockout threshold: the account is halted instead.
//   - An account that Watchword did not create, or a built-in or privileged one (driver.ErrNotManaged,
//     driver.ErrProtected), is halted at once.
//
// A halted account is reported to the hub as wire.AccountFailed with the reason, and the agent leaves it alone: the
// hub plans it Halted until an admin retries it (or adopts the existing account), and the Console shows it. The
// reason sent is one line of printable text; the full one is in the agent's log.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/wire"
)

// ErrWeakPolicy: the tenant's password policy is weaker than the target's own.
var ErrWeakPolicy = errors.New("password policy weaker than the target's")

// final says a driver refused for good: the account is not Watchword's to change.
func final(err error) bool {
	return errors.Is(err, driver.ErrNotManaged) || errors.Is(err, driver.ErrProtected)
}

// haltState is an account this agent halted: why, and the admin actions the plan showed at the time.
type haltState struct {
	why       string
	retriedAt time.Time
	adopt     bool
}

// skipHaltedLocked keeps the halt bookkeeping of a planned account and says whether the pass leaves it alone.
// An account is released, its counts cleared, when an admin acted on it: the hub stops planning it Halted, or
// its retry time or adoption changed since this agent halted it. Call with r.mu held.
func (r *Runner) skipHaltedLocked(a *wire.PlanAccount) bool {
	id := a.AccountID
	if a.Halted {
		// The hub holds the halt now and governs it from here.
		delete(r.halted, id)
		r.hubHalted[id] = true
		return true
	}
	h, halted := r.halted[id]
	if r.hubHalted[id] || halted && (!a.RetriedAt.Equal(h.retriedAt) || a.Adopt != h.adopt) {
		delete(r.hubHalted, id)
		delete(r.halted, id)
		delete(r.unresolved, id)
		delete(r.applied, id)
		delete(r.retryAt, id)
		r.log.Info("halted account released by an admin", "account", a.AccountName)
	}
	return false
}

// halt stops the account for the rest of the pass and from then on, until an admin acts.
func (r *Runner) halt(a *wire.PlanAccount, o *outcome, why string) {
	r.log.Error("account halted; it waits for an admin (retry or adopt in the Console)", "account", a.AccountName,
		"reason", why)
	o.halted = clip(oneLine(why))
	o.report.State, o.report.Error = wire.AccountFailed, o.halted
}

// count adds a rotation's unresolved cycles to the account's bound, and halts it at the bound or at ErrHalt.
func (r *Runner) count(a *wire.PlanAccount, o *outcome, results []rotation.Result, err error) {
	n := 0
	for _, res := range results {
		if res.State == rotation.StateUnresolved ||
			res.State == rotation.StateFailed && errors.Is(res.Err, rotation.ErrNotApplied) {
			n++
		}
	}
	r.mu.Lock()
	if err == nil {
		delete(r.unresolved, a.AccountID)
	} else {
		r.unresolved[a.AccountID] += n
	}
	total := r.unresolved[a.AccountID]
	r.mu.Unlock()
	switch {
	case err == nil:
	case errors.Is(err, rotation.ErrHalt):
		r.halt(a, o, "rotation: "+lastError(results, err))
	case total >= wire.MaxUnresolved:
		r.halt(a, o, fmt.Sprintf("%d rotations unresolved since the last confirmed one; the last: %s", total, lastError(results, err)))
	}
}

func lastError(results []rotation.Result, err error) string {
	if len(results) > 0 && results[len(results)-1].Err != nil {
		return results[len(results)-1].Err.Error()
	}
	return err.Error()
}

// guard bounds a rotation before it starts: the attempts left under wire.MaxUnresolved, the target's own policy
// and lockout threshold. It returns the target to rotate through (wrapped so each verification is checked
// against the lockout threshold first) and how many cycles may run.
func (r *Runner) guard(ctx context.Context, d driver.Driver, a *wire.PlanAccount, job rotation.Job, target rotation.Target) (rotation.Target, int, error) {
	r.mu.Lock()
	left := wire.MaxUnresolved - r.unresolved[a.AccountID]
	r.mu.Unlock()
	if left <= 0 {
		return nil, 0, fmt.Errorf("%w: %d rotations unresolved since the last confirmed one", rotation.ErrHalt, wire.MaxUnresolved-left)
	}
	attempts := min(r.cfg.RotateAttempts, left)
	pr, ok := d.(driver.PolicyReader)
	if !ok {
		return target, attempts, nil
	}
	pctx, cancel := context.WithTimeout(ctx, r.stepTimeout())
	tp, err := pr.TargetPolicy(pctx, a.AccountName)
	cancel()
	if err != nil {
		if final(err) {
			return nil, 0, fmt.Errorf("%w: %w", rotation.ErrHalt, err)
		}
		return nil, 0, fmt.Errorf("read the target's password policy: %w", err)
	}
	if job.Policy.Length < tp.MinLength {
		return nil, 0, fmt.Errorf("%w: the password length %d is below the minimum length %d of the %s: raise the length in the Console's policy to at least %d",
			ErrWeakPolicy, job.Policy.Length, tp.MinLength, tp.Source, tp.MinLength)
	}
	if err := tp.VerifySafe(a.AccountName); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", rotation.ErrHalt, err)
	}
	return lockoutGuard{Target: target, pr: pr}, attempts, nil
}

// lockoutGuard reads the account's bad-password count before each verification and refuses one that a failure
// could turn into a lockout.
type lockoutGuard struct {
	rotation.Target
	pr driver.PolicyReader
}

func (g lockoutGuard) Verify(ctx context.Context, account, password string) error {
	tp, err := g.pr.TargetPolicy(ctx, account)
	if err != nil {
		return fmt.Errorf("%w: read the lockout count before verifying: %w", rotation.ErrHalt, err)
	}
	if err := tp.VerifySafe(account); err != nil {
		return fmt.Errorf("%w: %w", rotation.ErrHalt, err)
	}
	return g.Target.Verify(ctx, account, password)
}

// disabledTarget rotates a disabled account without enabling it (SetDisabledPassword, VerifyDisabled): the new
// password is set and checked while the account stays disabled.
type disabledTarget struct{ jd driver.Driver }

func (t disabledTarget) SetPassword(ctx context.Context, account, password string) error {
	return t.jd.SetDisabledPassword(ctx, account, password)
}

func (t disabledTarget) Verify(ctx context.Context, account, password string) error {
	return t.jd.VerifyDisabled(ctx, account, password)
}

// logProblems logs the plan's problems (names that cannot be accounts on this target) when they change.
func (r *Runner) logProblems(plan *wire.Plan) {
	var b strings.Builder
	for _, p := range plan.Problems {
		fmt.Fprintf(&b, "%d %s %s %s\n", p.TechID, p.Username, p.AccountName, p.Reason)
	}
	if b.String() == r.problems {
		return
	}
	r.problems = b.String()
	for _, p := range plan.Problems {
		r.log.Error("entitled tech gets no account here", "username", p.Username, "account", p.AccountName, "reason", p.Reason)
	}
}

// oneLine makes s one line of printable text: line breaks and tabs become "; " and " ", other control characters
// are dropped. The hub refuses control characters in a report.
func oneLine(s string) string {
	s = strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ", "\t", " ").Replace(s)
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}
