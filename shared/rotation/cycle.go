package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"filippo.io/age"

	"github.com/watchword/watchword/shared/seal"
)

// Ref names one managed account.
type Ref struct {
	Tenant  string // client GUID
	Agent   string // agent ID
	Account string // account name on the target
}

func (r Ref) context(version int64) seal.Context {
	return seal.Context{Tenant: r.Tenant, Agent: r.Agent, Account: r.Account, Version: version}
}

// Staged is one sealed version handed to the hub. Envelope is an age file that opens only with the tech's device
// keys or the tenant's recovery identity; it is never a plaintext.
type Staged struct {
	Ref
	Version  int64
	Envelope []byte
	// RecoveryOnly: sealed to the recovery recipient alone (Job.RecoveryOnly).
	RecoveryOnly bool
}

// Hub is what the cycle needs from the hub. The typed hub client satisfies it through a thin adapter in the agent.
type Hub interface {
	// Stage stores the sealed version durably; it returns nil only once a later crash cannot lose it.
	Stage(ctx context.Context, s Staged) error
	// Confirm records that version is the password now on the target.
	Confirm(ctx context.Context, ref Ref, version int64) error
	// Fail records that version never reached the target, so no one needs it.
	Fail(ctx context.Context, ref Ref, version int64, reason string) error
}

// Target is what the cycle needs from a driver.
type Target interface {
	SetPassword(ctx context.Context, account, password string) error
	// Verify binds or logs in with password, once: a retry with a stale password counts toward lockout.
	Verify(ctx context.Context, account, password string) error
}

// ErrNotApplied marks a target error that certainly left the old password in place (e.g. AD refused the password
// under its policy). Drivers wrap it; the cycle may then mark the version failed instead of unresolved.
var ErrNotApplied = errors.New("password not applied on target")

// ErrHalt marks a target error after which no fresh rotation may follow in the same run: another attempt could
// harm the target (a verification that could lock the account out). RotateFresh stops at it.
var ErrHalt = errors.New("rotation halted")

// Sentinel errors of the cycle.
var (
	ErrNoRecipients = errors.New("no recipient to seal to")
	ErrNoRecovery   = errors.New("no recovery recipient")
	ErrCrashed      = errors.New("rotation interrupted by a crash hook")
)

// State is where one rotation stands.
type State int

// The states, in the only order the cycle walks them; Failed, Unresolved and Crashed are terminal failures.
const (
	StateNew State = iota
	StateGenerated
	StateStaged
	StateSet
	StateVerified
	StateConfirmed
	StateFailed     // nothing reached the target; the version (if staged) was marked failed
	StateUnresolved // the target may hold the new password; it stays staged; needs a fresh rotation
	StateCrashed    // a crash hook stopped the cycle; the hub was not told; needs a fresh rotation
)

var stateNames = [...]string{"new", "generated", "staged", "set", "verified", "confirmed", "failed", "unresolved", "crashed"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Terminal reports whether s ends a cycle.
func (s State) Terminal() bool { return s >= StateConfirmed }

// Point is a step boundary where a crash hook runs.
type Point int

const (
	AfterStage   Point = iota + 1 // envelope durable at the hub, target untouched
	DuringSet                     // the set is in flight: the target may or may not apply it
	AfterSet                      // the target holds the new password, not yet verified
	AfterVerify                   // verified, not yet confirmed at the hub
	AfterConfirm                  // confirmed
)

// Points lists every crash point, for fault-injection loops.
var Points = []Point{AfterStage, DuringSet, AfterSet, AfterVerify, AfterConfirm}

var pointNames = [...]string{"", "after-stage", "during-set", "after-set", "after-verify", "after-confirm"}

func (p Point) String() string {
	if p > 0 && int(p) < len(pointNames) {
		return pointNames[p]
	}
	return fmt.Sprintf("point(%d)", int(p))
}

// Hook runs at each step boundary. A non-nil error stops the cycle there as a crash would; a hook may also
// end the process itself.
type Hook func(ctx context.Context, p Point, ref Ref, version int64) error

// Job is one rotation to run.
type Job struct {
	Ref
	// LastVersion is the highest version the hub holds for the account (staged, confirmed or failed); the cycle
	// stages LastVersion+1.
	LastVersion int64
	Recipients  []age.Recipient // the tech's device keys
	Recovery    age.Recipient   // the tenant's recovery recipient, required
	Policy      Policy
	Names       []string // extra names the password must not contain (display name), for AD rules
	// RecoveryOnly seals to the recovery recipient alone, with no device recipient: a just-in-time account outside
	// its window, whose password no tech may hold.
	RecoveryOnly bool
}

// Result tells how a cycle ended. It never holds the password.
type Result struct {
	Version int64
	State   State   // terminal state
	Trace   []State // every state entered, in order, starting with StateNew
	Err     error   // why it did not reach StateConfirmed
	Elapsed time.Duration
}

// Rotator runs rotation cycles for one target.
type Rotator struct {
	Hub    Hub
	Target Target
	Hook   Hook // optional

	// StepTimeout bounds each hub or target call; zero means 30 s.
	StepTimeout time.Duration
}

// cycle is the state of one run; it holds the password only while it runs.
type cycle struct {
	r        *Rotator
	job      Job
	version  int64
	password string
	envelope []byte
	res      Result
}

// Rotate runs one cycle for job, with version job.LastVersion+1. The returned error is Result.Err: nil exactly
// when the state is [StateConfirmed].
func (r *Rotator) Rotate(ctx context.Context, job Job) (Result, error) {
	start := time.Now()
	c := &cycle{r: r, job: job, version: job.LastVersion + 1}
	c.res = Result{Version: c.version, Trace: []State{StateNew}}
	state := StateNew
	for !state.Terminal() {
		next, err := c.step(ctx, state)
		if err != nil && c.res.Err == nil {
			c.res.Err = err
		}
		state = next
		c.res.Trace = append(c.res.Trace, state)
	}
	c.password = ""
	c.res.State = state
	c.res.Elapsed = time.Since(start)
	return c.res, c.res.Err
}

// step performs the work that leaves state and returns the state entered.
func (c *cycle) step(ctx context.Context, state State) (State, error) {
	ref := c.job.Ref
	switch state {
	case StateNew:
		if c.job.Recovery == nil {
			return StateFailed, fmt.Errorf("rotate %q: %w", ref.Account, ErrNoRecovery)
		}
		if len(c.job.Recipients) == 0 && !c.job.RecoveryOnly {
			return StateFailed, fmt.Errorf("rotate %q: %w", ref.Account, ErrNoRecipients)
		}
		if len(c.job.Recipients) > 0 && c.job.RecoveryOnly {
			return StateFailed, fmt.Errorf("rotate %q: a recovery-only rotation has device recipients", ref.Account)
		}
		pw, err := c.job.Policy.Generate(append([]string{ref.Account}, c.job.Names...)...)
		if err != nil {
			return StateFailed, fmt.Errorf("rotate %q: %w", ref.Account, err)
		}
		c.password = pw
		return StateGenerated, nil

	case StateGenerated:
		rcpts := append(append([]age.Recipient{}, c.job.Recipients...), c.job.Recovery)
		env, err := seal.Seal([]byte(c.password), ref.context(c.version), rcpts...)
		if err != nil {
			return StateFailed, fmt.Errorf("rotate %q: seal version %d: %w", ref.Account, c.version, err)
		}
		c.envelope = env
		sctx, cancel := c.timeout(ctx)
		err = c.r.Hub.Stage(sctx, Staged{Ref: ref, Version: c.version, Envelope: env, RecoveryOnly: c.job.RecoveryOnly})
		cancel()
		if err != nil {
			// The hub may have stored it before the error; it was never set, so failing it is right either way.
			err = fmt.Errorf("rotate %q: stage version %d: %w", ref.Account, c.version, err)
			return StateFailed, errors.Join(err, c.fail(ctx, err))
		}
		if err := c.hook(ctx, AfterStage); err != nil {
			return StateCrashed, err
		}
		return StateStaged, nil

	case StateStaged:
		sctx, cancel := c.timeout(ctx)
		done := make(chan error, 1)
		go func() { done <- c.r.Target.SetPassword(sctx, ref.Account, c.password) }()
		if err := c.hook(ctx, DuringSet); err != nil {
			// Whatever was sent is processed or not; wait for it so a later fresh rotation cannot race it.
			cancel()
			<-done
			return StateCrashed, err
		}
		err := <-done
		cancel()
		if err != nil {
			err = fmt.Errorf("rotate %q: set version %d: %w", ref.Account, c.version, err)
			if errors.Is(err, ErrNotApplied) {
				return StateFailed, errors.Join(err, c.fail(ctx, err))
			}
			return StateUnresolved, err
		}
		if err := c.hook(ctx, AfterSet); err != nil {
			return StateCrashed, err
		}
		return StateSet, nil

	case StateSet:
		sctx, cancel := c.timeout(ctx)
		err := c.r.Target.Verify(sctx, ref.Account, c.password)
		cancel()
		if err != nil {
			// Never verify again with the same password, never set it again: rotate afresh.
			return StateUnresolved, fmt.Errorf("rotate %q: verify version %d: %w", ref.Account, c.version, err)
		}
		if err := c.hook(ctx, AfterVerify); err != nil {
			return StateCrashed, err
		}
		return StateVerified, nil

	case StateVerified:
		sctx, cancel := c.timeout(ctx)
		err := c.r.Hub.Confirm(sctx, ref, c.version)
		cancel()
		if err != nil {
			return StateUnresolved, fmt.Errorf("rotate %q: confirm version %d: %w", ref.Account, c.version, err)
		}
		if err := c.hook(ctx, AfterConfirm); err != nil {
			// The rotation is complete; the crash only stops the caller from learning so.
			return StateCrashed, err
		}
		return StateConfirmed, nil
	}
	return StateFailed, fmt.Errorf("rotate %q: no transition from state %s", ref.Account, state)
}

func (c *cycle) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	d := c.r.StepTimeout
	if d <= 0 {
		d = 30 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

func (c *cycle) hook(ctx context.Context, p Point) error {
	if c.r.Hook == nil {
		return nil
	}
	if err := c.r.Hook(ctx, p, c.job.Ref, c.version); err != nil {
		return fmt.Errorf("rotate %q: version %d %s: %w: %w", c.job.Account, c.version, p, ErrCrashed, err)
	}
	return nil
}

// fail tells the hub that the version never reached the target. Best effort: a hub that is down will see the
// version unconfirmed, which is harmless, and the next plan brings a fresh rotation.
func (c *cycle) fail(ctx context.Context, cause error) error {
	sctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.r.Hub.Fail(sctx, c.job.Ref, c.version, cause.Error()); err != nil {
		return fmt.Errorf("mark version %d failed: %w", c.version, err)
	}
	return nil
}

// RotateFresh rotates until a version is confirmed, starting a FRESH rotation (new password, next version) after
// each unresolved one, at most attempts cycles. It stops at the first StateFailed (the target still holds its
// previous password; the caller backs off, e.g. while the hub is unreachable), at a crash, and at an error that
// wraps ErrHalt. It returns every cycle's result.
func (r *Rotator) RotateFresh(ctx context.Context, job Job, attempts int) ([]Result, error) {
	var results []Result
	var errs []error
	for range max(attempts, 1) {
		res, err := r.Rotate(ctx, job)
		results = append(results, res)
		if err == nil {
			return results, nil
		}
		errs = append(errs, err)
		if res.State != StateUnresolved || ctx.Err() != nil || errors.Is(err, ErrHalt) {
			break
		}
		job.LastVersion = res.Version
	}
	return results, errors.Join(errs...)
}
