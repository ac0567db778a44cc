// Package agent is the Watchword agent's engine: it holds a long poll open on the hub for its plan and makes the
// target (an AD domain, an LDAP directory, a Linux host) match it.
//
// # One pass
//
// [Runner.Sync] reconciles one plan:
//
//   - every planned account is Ensured on the target with exactly the planned groups; groups the target lacks are
//     skipped and reported to the hub (ReportAccounts), never created;
//   - every account the plan marks due — or that Ensure finds without a password, e.g. recreated by hand — is
//     rotated through rotation.Rotator: generate, seal to the tech's recipients and the tenant's recovery
//     recipient, stage at the hub (signed with the agent's key, Config.Key), set, verify, confirm. The hub validates
//     the version (CurrentVersion+1);
//   - every account in plan.Disable is disabled (memberships stripped), and reported disabled;
//   - every account in plan.Delete (a deleted tech's) is deleted, if Watchword created it, and reported deleted.
//
// Accounts are worked on in parallel, at most Config.Parallelism at once, each worker with its own driver (a
// driver serves one goroutine at a time). An account whose settings are unchanged since its last successful pass
// is not touched again until Config.Resync has passed, so the burst of plans that every rotation's revision bump
// causes costs the target nothing.
//
// # Outages
//
// [Runner.Run] keeps the last plan and its revision across hub failures and backs off exponentially with jitter.
// It never rotates while it cannot stage: the cycle sets a password only after the hub stored its envelope, and
// once one stage fails for want of the hub, the rest of the pass rotates nothing. An account whose pass failed is
// retried after Config.Retry, not in a loop — the hub answers a plan poll at once while anything is due.
//
// # Logs
//
// The runner logs with slog: accounts, versions, reasons, durations, errors. It never holds a password longer
// than one cycle, and no log line, error or report holds one (the drivers and the cycle keep the same rule).
//
// # Reading guide
//
//   - runner.go: Config, Runner, Run (the long poll and its backoff), Sync (one pass), the rotation of one
//     account through rotation.Rotator, and the hub adapter the cycle stages through;
//   - halt.go: when an account is halted instead of retried (the unresolved bound, the target's own password
//     and lockout policy, accounts that are not Watchword's);
//   - authority.go: the signed authority a pinned agent checks every plan against before it acts on it;
//   - jit.go: just-in-time accounts, closed outside their window and disabled at expiry by the agent's own
//     clock, the open windows kept in Config.JITStateFile, and a window's Temporary Access Pass (issued, sealed,
//     signed, handed to the hub, revoked at the close);
//   - backoff.go: exponential backoff with full jitter for hub failures;
//   - lock.go, lock_unix.go, lock_windows.go: the state directory's lock, so two agents never work one target.
//
// The targets are behind driver.Driver (package driver and its ad, openldap and linux implementations, each
// tested by driver/drivertest); the command line is package agentcli, the Windows service package winsvc, and
// package faults holds the fault-injection scenarios.
package agent

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/clock"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// HubClient is what the runner needs of the hub.
type HubClient interface {
	PlanWait(ctx context.Context, since int64, wait time.Duration) (*wire.Plan, error)
	// StageSigned stages a version with the agent's signature over its envelope statement (nil when the runner
	// has no key).
	StageSigned(ctx context.Context, accountID, version int64, envelope, signature []byte) error
	Confirm(ctx context.Context, accountID, version int64) error
	Fail(ctx context.Context, accountID, version int64, reason string) error
	ReportAccounts(ctx context.Context, reports []wire.AccountReport) error
}

var _ HubClient = (*hubclient.Client)(nil)

// Config configures a Runner. Hub and NewDriver are required; every other zero value has a default.
type Config struct {
	Hub HubClient
	// NewDriver opens one driver to the target; the runner opens up to Parallelism of them and closes them when
	// Run returns (or on Close).
	NewDriver func() (driver.Driver, error)
	// Parallelism bounds the accounts worked on at once (default 4).
	Parallelism int
	// PollWait is how long a plan long poll is held (default hubclient.DefaultPlanWait).
	PollWait time.Duration
	// Backoff paces plan polls after hub failures (default DefaultBackoff).
	Backoff Backoff
	// Retry is how long an account whose pass failed waits before it is tried again (default 30 s).
	Retry time.Duration
	// Pace is the shortest gap between two polls while the hub keeps answering at once with work the runner is
	// deferring (default 2 s).
	Pace time.Duration
	// Resync is how often unchanged accounts are checked on the target anyway, to undo drift (default 10 min).
	Resync time.Duration
	// RotateAttempts bounds fresh rotations after an unresolved one within one pass (default 3).
	RotateAttempts int
	// StepTimeout bounds each hub or target call of a rotation (default 30 s).
	StepTimeout time.Duration
	// JITStateFile keeps the open just-in-time windows across restarts (jit.go); empty keeps them in memory only.
	JITStateFile string
	// TemporaryAccess makes a just-in-time window also issue a Temporary Access Pass on a driver that can
	// (driver.TemporaryAccess: Entra ID, for a tenant that requires a second factor), sealed to the tech's device
	// like a password and revoked when the window closes (jit.go). The hub client must store it (StoreJITTAP).
	TemporaryAccess bool
	// Authority pins the runner to its tenant's signed authority (authority.go): every plan is checked against
	// what the admins signed before the runner acts on it. Nil trusts the hub's plan.
	Authority *AuthorityPin
	// Key is the agent's own Ed25519 key (seal.Identity.Signer). The runner signs every version it stages with it
	// (authority.SignEnvelope: tenant, agent, account, version, the envelope's hash), pinned or not, so that a
	// TechClient can tell an envelope this agent sealed from one the hub made. Without it versions are staged
	// unsigned, and a TechClient that verifies the signed authority opens none of them.
	Key ed25519.PrivateKey
	// Hook is the rotation crash hook; only fault-injection builds set it.
	Hook   rotation.Hook
	Logger *slog.Logger
	Now    func() time.Time
}

// Stats counts what a runner did since it started.
type Stats struct {
	Polls, PollErrors          int64
	Syncs                      int64
	Ensured, Rotated, Disabled int64
	RotationFailures, Errors   int64
	Refused                    int64 // plans refused by the signed authority (authority.go)
}

// Runner keeps one target in line with the hub's plan. Create it with New.
type Runner struct {
	cfg  Config
	log  *slog.Logger
	idle chan driver.Driver

	mu       sync.Mutex
	applied  map[int64]string    // account ID → what the last successful pass applied
	tried    map[int64]string    // account ID → what the last pass tried to apply, successful or not
	retryAt  map[int64]time.Time // account ID → no new attempt before
	lastFull time.Time
	last     *wire.Plan
	problems string // the plan problems last logged

	// Halting (halt.go): unresolved counts the rotations of an account left unresolved since its last confirmed
	// one; halted holds the accounts this agent stopped until the hub plans them Halted or an admin acts;
	// hubHalted those the hub plans Halted, released when it no longer does.
	unresolved map[int64]int
	halted     map[int64]haltState
	hubHalted  map[int64]bool

	jitMu   sync.Mutex
	windows map[int64]jitWindow // open JIT windows to close at expiry, kept in Config.JITStateFile (jit.go)
	jitWake chan struct{}

	recipients seal.RecipientCache // parsed recipients of the plans' accounts (buildJob)

	pin *pin // the signed authority the plans are checked against (authority.go); nil when not pinned

	stats struct {
		polls, pollErrors, syncs, ensured, rotated, disabled, rotFail, errors, refused atomic.Int64
	}
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Runner, error) {
	if cfg.Hub == nil || cfg.NewDriver == nil {
		return nil, errors.New("agent: Hub and NewDriver are required")
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = 4
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = hubclient.DefaultPlanWait
	}
	if cfg.Backoff.Min <= 0 && cfg.Backoff.Max <= 0 {
		cfg.Backoff = DefaultBackoff()
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 30 * time.Second
	}
	if cfg.Pace <= 0 {
		cfg.Pace = 2 * time.Second
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 10 * time.Minute
	}
	if cfg.RotateAttempts <= 0 {
		cfg.RotateAttempts = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	windows, err := loadJIT(cfg.JITStateFile)
	if err != nil {
		cfg.Logger.Error("jit windows of the last run unreadable; enforcing what the next plan says", "err", err)
	}
	r := &Runner{cfg: cfg, log: cfg.Logger, idle: make(chan driver.Driver, cfg.Parallelism),
		applied: map[int64]string{}, tried: map[int64]string{}, retryAt: map[int64]time.Time{},
		unresolved: map[int64]int{}, halted: map[int64]haltState{}, hubHalted: map[int64]bool{},
		windows: windows, jitWake: make(chan struct{}, 1)}
	if cfg.Authority != nil {
		if r.pin, err = loadPin(cfg.Authority); err != nil {
			return nil, err
		}
		if r.pin.broken != nil {
			cfg.Logger.Error("every plan will be refused", "err", r.pin.broken)
		}
	}
	return r, nil
}

// Stats returns the counters.
func (r *Runner) Stats() Stats {
	s := &r.stats
	return Stats{Polls: s.polls.Load(), PollErrors: s.pollErrors.Load(), Syncs: s.syncs.Load(), Ensured: s.ensured.Load(),
		Rotated: s.rotated.Load(), Disabled: s.disabled.Load(), RotationFailures: s.rotFail.Load(), Errors: s.errors.Load(),
		Refused: s.refused.Load()}
}

// LastPlan is the last plan the hub sent, kept across outages; nil before the first.
func (r *Runner) LastPlan() *wire.Plan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Close closes the idle drivers.
func (r *Runner) Close() error {
	var errs []error
	for {
		select {
		case d := <-r.idle:
			errs = append(errs, d.Close())
		default:
			return errors.Join(errs...)
		}
	}
}

// Run polls the hub and syncs each plan until ctx ends; it returns nil then. A pass in progress when ctx ends
// finishes its rotations in flight (each step is bounded by StepTimeout) but starts no new account.
func (r *Runner) Run(ctx context.Context) error {
	defer r.Close()
	bo := r.cfg.Backoff
	var since int64
	if p := r.LastPlan(); p != nil {
		since = p.Revision
	}
	r.log.Info("agent running", "parallelism", r.cfg.Parallelism)
	// Just-in-time windows close at expiry by this agent's clock, hub or no hub (jit.go).
	jctx, jcancel := context.WithCancel(ctx)
	jdone := make(chan struct{})
	go func() { defer close(jdone); r.enforceJIT(jctx) }()
	defer func() { jcancel(); <-jdone }()
	for ctx.Err() == nil {
		r.stats.polls.Add(1)
		plan, err := r.cfg.Hub.PlanWait(ctx, since, r.cfg.PollWait)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			r.stats.pollErrors.Add(1)
			wait := bo.Next()
			lvl := slog.LevelWarn
			if errors.Is(err, hubclient.ErrUnauthenticated) || errors.Is(err, hubclient.ErrPending) || errors.Is(err, hubclient.ErrForbidden) {
				lvl = slog.LevelError // the hub refuses this agent: an admin must act; keep asking, slowly
			}
			r.log.Log(ctx, lvl, "plan poll failed; keeping the last plan and backing off", "err", err,
				"failures", bo.Failures(), "retry_in", wait.Round(time.Millisecond))
			clock.Sleep(ctx, wait)
			continue
		}
		if bo.Failures() > 0 {
			r.log.Info("hub reachable again", "after_failures", bo.Failures())
		}
		bo.Reset()
		r.mu.Lock()
		r.last = plan
		r.mu.Unlock()
		sum := r.Sync(ctx, plan)
		since = plan.Revision
		switch {
		case sum.HubDown:
			// A stage or report failed in transit: the poll may well succeed, but rotations would not.
			wait := bo.Next()
			r.log.Warn("hub failed during the pass; backing off", "retry_in", wait.Round(time.Millisecond))
			clock.Sleep(ctx, wait)
		case sum.Refused:
			// The hub answers at once while anything is due, and a refused plan leaves it due.
			clock.Sleep(ctx, r.cfg.Pace)
		case sum.Deferred > 0:
			// The hub answers at once while anything is due; do not spin on work that waits for its retry time.
			clock.Sleep(ctx, min(r.cfg.Pace, max(time.Until(sum.NextRetry), 50*time.Millisecond)))
		}
	}
	r.log.Info("agent stopped")
	return nil
}

// Summary is what one pass did.
type Summary struct {
	Ensured, Created, Rotated, Disabled, Failed int
	Deferred                                    int       // due work skipped until its retry time, or because the hub was down
	NextRetry                                   time.Time // earliest retry time of deferred work
	HubDown                                     bool      // a hub call failed in transit during the pass
	Missing                                     []string  // planned groups the target lacks (sorted, unique)
	// Refused says the signed authority refused the plan (authority.go): the pass carried out its disables only.
	Refused bool
}

type task struct {
	acc     *wire.PlanAccount
	disable *wire.PlanDisable
	delete  bool // disable is a deleted tech's account to delete (plan.Delete)
	key     string
	halt    string // the account is halted here: only report it failed with this reason
	// closeHalted disables a halted just-in-time account outside its window, and reports it still failed with
	// this reason.
	closeHalted string
}

type outcome struct {
	report   wire.AccountReport
	created  bool
	ensured  bool
	rotated  bool
	disabled bool
	rotFail  bool
	deferred bool
	halted   string // the pass halted the account, for this reason
	missing  []string
}

// Sync reconciles the target with plan once. It is safe to call while Run is not running; Run calls it itself.
// A pinned runner checks plan against the signed authority first, and acts only on the disables of a plan it
// refuses (authority.go).
func (r *Runner) Sync(ctx context.Context, plan *wire.Plan) Summary {
	r.stats.syncs.Add(1)
	if r.pin == nil {
		return r.pass(ctx, plan)
	}
	err := r.checkAuthority(ctx, plan)
	if err == nil {
		return r.pass(ctx, plan)
	}
	sum := r.pass(ctx, disablesOnly(plan))
	sum.Refused = true
	sum.HubDown = sum.HubDown || errors.Is(err, errUnreachable)
	return sum
}

// pass reconciles the target with plan once.
func (r *Runner) pass(ctx context.Context, plan *wire.Plan) Summary {
	r.noteJIT(plan)
	now := r.cfg.Now()
	r.mu.Lock()
	full := now.Sub(r.lastFull) >= r.cfg.Resync
	if full {
		r.lastFull = now
	}
	var tasks []task
	var sum Summary
	defer func() {
		if !sum.NextRetry.IsZero() && sum.NextRetry.Before(now) {
			sum.NextRetry = now
		}
	}()
	deferUntil := func(at time.Time) {
		sum.Deferred++
		if sum.NextRetry.IsZero() || at.Before(sum.NextRetry) {
			sum.NextRetry = at
		}
	}
	r.logProblems(plan)
	for i := range plan.Accounts {
		a := &plan.Accounts[i]
		if r.skipHaltedLocked(a) {
			// It waits for an admin (halt.go); but a just-in-time account outside its window is kept closed,
			// halted or not.
			if a.JIT != nil && !a.JIT.Active(now) {
				key := "closed halted\x00" + a.HaltReason
				if r.applied[a.AccountID] != key || full {
					tasks = append(tasks, task{disable: &wire.PlanDisable{AccountID: a.AccountID, TechID: a.TechID,
						AccountName: a.AccountName}, key: key, closeHalted: cmp.Or(a.HaltReason, "failed")})
				}
			}
			continue
		}
		key := accountKey(plan, a)
		if h, ok := r.halted[a.AccountID]; ok {
			// Halted here, not yet by the hub: report it until the report lands.
			key = "halt\x00" + h.why
			if r.applied[a.AccountID] != key {
				tasks = append(tasks, task{acc: a, key: key, halt: h.why})
			}
			continue
		}
		changed := r.applied[a.AccountID] != key
		at, failed := r.retryAt[a.AccountID]
		switch {
		case failed && now.Before(at) && r.tried[a.AccountID] == key:
			// It failed with these very settings a moment ago: wait for its retry time.
			if a.Due {
				deferUntil(at)
			}
		case a.Due || changed || failed || full:
			tasks = append(tasks, task{acc: a, key: key})
		}
	}
	for i := range plan.Disable {
		d := &plan.Disable[i]
		if at, ok := r.retryAt[d.AccountID]; ok && now.Before(at) {
			deferUntil(at)
			continue
		}
		tasks = append(tasks, task{disable: d})
	}
	for i := range plan.Delete {
		d := &plan.Delete[i]
		if at, ok := r.retryAt[d.AccountID]; ok && now.Before(at) {
			deferUntil(at)
			continue
		}
		tasks = append(tasks, task{disable: d, delete: true})
	}
	r.mu.Unlock()
	if len(tasks) == 0 {
		return sum
	}

	var hubDown atomic.Bool
	work := context.WithoutCancel(ctx) // in-flight cycles finish on shutdown; ctx only stops new tasks
	outcomes := make([]*outcome, len(tasks))
	sem := make(chan struct{}, r.cfg.Parallelism)
	var wg sync.WaitGroup
	for i, t := range tasks {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			outcomes[i] = r.run(ctx, work, plan, t, &hubDown)
		})
	}
	wg.Wait()

	var reports []wire.AccountReport
	var missing []string
	r.mu.Lock()
	for i, o := range outcomes {
		if o == nil {
			continue
		}
		t := tasks[i]
		id := o.report.AccountID
		if t.acc != nil {
			r.tried[id] = t.key
		}
		if t.halt != "" || t.closeHalted != "" && o.disabled {
			r.applied[id] = t.key // reported; again only when the report is lost
			reports = append(reports, o.report)
			continue
		}
		if o.report.State == wire.AccountError || o.report.State == wire.AccountFailed || o.rotFail {
			sum.Failed++
			r.retryAt[id] = now.Add(r.cfg.Retry)
			delete(r.applied, id)
		} else {
			delete(r.retryAt, id)
			if t.acc != nil && !o.deferred {
				r.applied[id] = t.key
			} else {
				delete(r.applied, id)
			}
		}
		if o.halted != "" && t.acc != nil {
			r.halted[id] = haltState{why: o.halted, retriedAt: t.acc.RetriedAt, adopt: t.acc.Adopt}
			r.applied[id] = "halt\x00" + o.halted // this very report says it
		}
		if o.deferred {
			deferUntil(now.Add(r.cfg.Pace))
		}
		sum.Created += b2i(o.created)
		sum.Ensured += b2i(o.ensured)
		sum.Rotated += b2i(o.rotated)
		sum.Disabled += b2i(o.disabled)
		missing = append(missing, o.missing...)
		reports = append(reports, o.report)
	}
	r.mu.Unlock()
	slices.Sort(missing)
	sum.Missing = slices.Compact(missing)

	if len(reports) > 0 {
		for i := range reports {
			// One line of printable text, as the hub stores it; the full text is in this agent's log.
			reports[i].Error = clip(oneLine(reports[i].Error))
		}
		rctx, cancel := context.WithTimeout(work, r.stepTimeout())
		err := r.cfg.Hub.ReportAccounts(rctx, reports)
		cancel()
		if err != nil {
			r.log.Warn("report accounts", "accounts", len(reports), "err", err)
			if !isRefusal(err) {
				hubDown.Store(true)
			}
			// Report again next pass.
			r.mu.Lock()
			for _, rep := range reports {
				delete(r.applied, rep.AccountID)
			}
			r.mu.Unlock()
		}
	}
	sum.HubDown = hubDown.Load()
	r.log.Debug("pass done", "revision", plan.Revision, "tasks", len(tasks), "ensured", sum.Ensured, "created", sum.Created,
		"rotated", sum.Rotated, "disabled", sum.Disabled, "failed", sum.Failed, "deferred", sum.Deferred)
	return sum
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// accountKey is what a pass applies for a planned account; a change of any of it makes the account worth a pass
// at once, even one that failed a moment ago (a policy raised to the domain's minimum is tried without waiting).
func accountKey(plan *wire.Plan, a *wire.PlanAccount) string {
	g := slices.Clone(a.Groups)
	slices.Sort(g)
	key := a.AccountName + "\x00" + a.DisplayName + "\x00" + strings.Join(g, "\x00") +
		fmt.Sprintf("\x00adopt %t policy %+v", a.Adopt, plan.Policy)
	if a.JIT != nil {
		key += fmt.Sprintf("\x00jit %t %d", a.JIT.Enabled, a.JIT.ExpiresAt.UnixNano())
	}
	return key
}

func (r *Runner) stepTimeout() time.Duration {
	if r.cfg.StepTimeout > 0 {
		return r.cfg.StepTimeout
	}
	return 30 * time.Second
}

// driver takes an idle driver or opens one; at most Parallelism are ever open since at most that many tasks run.
func (r *Runner) driver() (driver.Driver, error) {
	select {
	case d := <-r.idle:
		return d, nil
	default:
	}
	return r.cfg.NewDriver()
}

func (r *Runner) release(d driver.Driver) {
	select {
	case r.idle <- d:
	default:
		d.Close()
	}
}

// run performs one task with a driver of its own.
func (r *Runner) run(stop, ctx context.Context, plan *wire.Plan, t task, hubDown *atomic.Bool) *outcome {
	o := &outcome{}
	if t.disable != nil {
		o.report = wire.AccountReport{AccountID: t.disable.AccountID, State: wire.AccountDisabled}
	} else {
		o.report = wire.AccountReport{AccountID: t.acc.AccountID, State: wire.AccountPresent}
	}
	if t.halt != "" {
		o.report.State, o.report.Error = wire.AccountFailed, t.halt
		return o
	}
	d, err := r.driver()
	if err != nil {
		r.stats.errors.Add(1)
		r.log.Error("open driver", "err", err)
		o.report.State, o.report.Error = wire.AccountError, clip(fmt.Sprintf("open driver: %v", err))
		return o
	}
	defer r.release(d)
	if t.delete {
		r.delete(ctx, d, t.disable, o)
	} else if t.disable != nil {
		r.disable(ctx, d, t.disable, o)
		if t.closeHalted != "" && o.disabled {
			o.report.State, o.report.Error = wire.AccountFailed, t.closeHalted
		}
	} else {
		r.sync(stop, ctx, d, plan, t.acc, hubDown, o)
	}
	return o
}

func (r *Runner) disable(ctx context.Context, d driver.Driver, pd *wire.PlanDisable, o *outcome) {
	ctx, cancel := context.WithTimeout(ctx, r.stepTimeout())
	defer cancel()
	rep, err := d.Disable(ctx, pd.AccountName)
	if err != nil {
		r.refused(o, "disable", pd.AccountName, err)
		return
	}
	o.disabled = true
	r.stats.disabled.Add(1)
	r.log.Info("account disabled", "account", pd.AccountName, "was_enabled", rep.Disabled, "removed_groups", rep.Removed)
}

// refused reports a disable or a delete of account that failed: an error to try again at the next pass, or, when the
// account is not Watchword's to change (final), failed, not tried again until the plan changes.
func (r *Runner) refused(o *outcome, step, account string, err error) {
	r.stats.errors.Add(1)
	r.log.Warn(step+" failed", "account", account, "err", err)
	o.report.State, o.report.Error = wire.AccountError, clip(fmt.Sprintf("%s: %v", step, err))
	if final(err) {
		o.report.State = wire.AccountFailed
	}
}

// delete deletes a deleted tech's account from the target (driver.Delete: only what Watchword created) and
// reports it deleted; an account the driver refuses is reported failed, and stays as it is.
func (r *Runner) delete(ctx context.Context, d driver.Driver, pd *wire.PlanDisable, o *outcome) {
	ctx, cancel := context.WithTimeout(ctx, r.stepTimeout())
	defer cancel()
	o.report.State = wire.AccountDeleted
	rep, err := d.Delete(ctx, pd.AccountName)
	if err != nil {
		r.refused(o, "delete", pd.AccountName, err)
		return
	}
	o.disabled = true
	r.log.Info("account deleted", "account", pd.AccountName, "existed", rep.Deleted, "removed_groups", rep.Removed)
}

func (r *Runner) sync(stop, ctx context.Context, d driver.Driver, plan *wire.Plan, a *wire.PlanAccount, hubDown *atomic.Bool, o *outcome) {
	if a.JIT != nil && !a.JIT.Active(r.cfg.Now()) {
		r.syncClosed(stop, ctx, d, plan, a, hubDown, o) // jit.go
		return
	}
	due, reason := a.Due, a.DueReason
	acc := driver.Account{Name: a.AccountName, DisplayName: a.DisplayName, Groups: a.Groups, Adopt: a.Adopt,
		HoldDisabled: due} // a disabled account due for a rotation is rotated before it is enabled again
	ectx, cancel := context.WithTimeout(ctx, r.stepTimeout())
	rep, err := d.Ensure(ectx, acc)
	cancel()
	if err != nil {
		r.stats.errors.Add(1)
		r.log.Warn("ensure failed", "account", a.AccountName, "err", err)
		o.report.State, o.report.Error = wire.AccountError, clip(fmt.Sprintf("ensure: %v", err))
		if final(err) {
			r.halt(a, o, fmt.Sprintf("ensure: %v", err))
		}
		return
	}
	if rep.Adopted {
		r.log.Info("existing account adopted", "account", a.AccountName)
	}
	if a.JIT != nil && !a.JIT.Active(r.cfg.Now()) {
		// The window ran out while Ensure enabled the account: close it again at once.
		r.syncClosed(stop, ctx, d, plan, a, hubDown, o)
		return
	}
	o.ensured, o.created, o.missing = true, rep.Created, rep.Missing
	r.stats.ensured.Add(1)
	if rep.Created || rep.Enabled || len(rep.Added) > 0 || len(rep.Removed) > 0 {
		r.log.Info("account ensured", "account", a.AccountName, "created", rep.Created, "enabled", rep.Enabled,
			"added", rep.Added, "removed", rep.Removed)
	}
	var problems []string
	if len(rep.Missing) > 0 {
		r.log.Warn("planned groups missing on the target; skipped, not created", "account", a.AccountName, "groups", rep.Missing)
		problems = append(problems, "groups missing on the target (skipped, never created): "+strings.Join(rep.Missing, ", "))
	}
	if !due && rep.NeedsPassword {
		// The hub thinks a confirmed password is in place, but the account has none (recreated by hand?).
		due, reason = true, "no password on the target"
	}
	if due {
		switch {
		case stop.Err() != nil || hubDown.Load():
			// Shutting down, or the hub failed in transit this pass: never rotate without a place to stage.
			o.deferred = true
		default:
			if err := r.rotate(ctx, d, plan, a, reason, hubDown, rep.Held, o); err != nil {
				o.rotFail = true
				problems = append(problems, "rotation: "+err.Error())
			} else {
				o.rotated = true
			}
		}
	}
	if rep.Held && o.rotated {
		// Rotated while disabled: only now enable it (its groups were set by the Ensure above).
		ectx, cancel := context.WithTimeout(ctx, r.stepTimeout())
		err := d.Enable(ectx, a.AccountName)
		cancel()
		if err != nil {
			r.stats.errors.Add(1)
			problems = append(problems, fmt.Sprintf("enable after the rotation: %v", err))
		} else {
			r.log.Info("account enabled after its rotation", "account", a.AccountName)
		}
	}
	if a.JIT != nil && !o.rotFail && !o.deferred && o.halted == "" {
		// The window's Temporary Access Pass, once the account is enabled with its groups and the tech's password (jit.go).
		if err := r.issueTAP(ctx, d, plan, a); err != nil {
			r.stats.errors.Add(1)
			o.rotFail = true // try again at the next pass, as a failed rotation is
			problems = append(problems, "temporary access pass: "+err.Error())
		}
	}
	if o.halted != "" {
		o.report.State = wire.AccountFailed
		problems = append([]string{o.halted}, problems...)
		problems = slices.Compact(problems)
	}
	if len(problems) > 0 {
		o.report.Error = clip(strings.Join(problems, "; "))
	}
}

// Job builds the rotation job of a planned account, parsing its recipients afresh; the runner builds its jobs
// with its own cache of parsed recipients (Runner.recipients, buildJob).
func Job(plan *wire.Plan, a *wire.PlanAccount, rules rotation.Rules) (rotation.Job, error) {
	return buildJob(plan, a, rules, new(seal.RecipientCache))
}

// buildJob builds the rotation job of a planned account with the recipients parsed through cache. A plan repeats the
// same few recipients: the tenant's recovery recipient on every account, a tech's device recipient on each of its
// accounts, and every plan again.
func buildJob(plan *wire.Plan, a *wire.PlanAccount, rules rotation.Rules, cache *seal.RecipientCache) (rotation.Job, error) {
	job := rotation.Job{
		Ref:         rotation.Ref{Tenant: plan.ClientGUID, Agent: strconv.FormatInt(plan.AgentID, 10), Account: a.AccountName},
		LastVersion: a.CurrentVersion,
		Names:       slices.DeleteFunc([]string{a.DisplayName, a.Username}, func(s string) bool { return s == "" }),
	}
	var errs []error
	for _, s := range a.Recipients {
		rc, err := cache.Recipient(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("recipient of %q: %w", a.Username, err))
			continue
		}
		job.Recipients = append(job.Recipients, rc)
	}
	if plan.Recovery != "" {
		rc, err := cache.Recipient(plan.Recovery)
		if err != nil {
			errs = append(errs, fmt.Errorf("recovery recipient: %w", err))
		} else {
			job.Recovery = rc
		}
	}
	pol, err := Policy(plan.Policy, rules)
	job.Policy = pol
	errs = append(errs, err)
	return job, errors.Join(errs...)
}

// Policy turns the tenant's wire policy into a generation policy under the target's rules; an unset length means
// the default policy.
func Policy(p wire.Policy, rules rotation.Rules) (rotation.Policy, error) {
	pol := rotation.DefaultPolicy(rules)
	if p.Length > 0 {
		pol.Length, pol.Digits, pol.Symbols = p.Length, p.Digits, p.Symbols
		pol.NoUpper, pol.NoAmbiguous = p.NoUpper, p.NoAmbiguous
	}
	if err := pol.Validate(); err != nil {
		return pol, fmt.Errorf("tenant policy: %w", err)
	}
	return pol, nil
}

// rotate rotates a planned account: through the driver, or, for a disabled account (held), without enabling it.
// The target's own policy is checked first where the driver reads it (halt.go); every unresolved cycle counts
// toward the account's bound, and reaching it halts the account (o.halted).
func (r *Runner) rotate(ctx context.Context, d driver.Driver, plan *wire.Plan, a *wire.PlanAccount, reason string, hubDown *atomic.Bool, held bool, o *outcome) error {
	job, err := buildJob(plan, a, d.PasswordRules(), &r.recipients)
	if err != nil {
		r.stats.rotFail.Add(1)
		r.log.Warn("rotation not attempted", "account", a.AccountName, "err", err)
		return err
	}
	var target rotation.Target = d
	if held {
		target = disabledTarget{d}
	}
	target, attempts, err := r.guard(ctx, d, a, job, target)
	if err != nil {
		r.stats.rotFail.Add(1)
		r.log.Warn("rotation not attempted", "account", a.AccountName, "err", err)
		if errors.Is(err, rotation.ErrHalt) {
			r.halt(a, o, "rotation: "+err.Error())
		}
		return err
	}
	rot := &rotation.Rotator{Hub: r.accountHub(plan, a, hubDown), Target: target,
		Hook: r.cfg.Hook, StepTimeout: r.cfg.StepTimeout}
	results, err := rot.RotateFresh(ctx, job, attempts)
	r.count(a, o, results, err)
	last := results[len(results)-1]
	if err != nil {
		r.stats.rotFail.Add(1)
		r.log.Warn("rotation failed", "account", a.AccountName, "reason", reason, "version", last.Version,
			"state", last.State.String(), "attempts", len(results), "err", err)
		return err
	}
	r.stats.rotated.Add(1)
	r.log.Info("rotated", "account", a.AccountName, "reason", reason, "version", last.Version,
		"attempts", len(results), "elapsed", last.Elapsed.Round(time.Millisecond))
	return nil
}

// AccountHub adapts a hub client to rotation.Hub for one account: the cycle's view of the hub, as the runner
// uses it.
func AccountHub(h HubClient, accountID int64) rotation.Hub { return &accountHub{hub: h, id: accountID} }

// accountHub adapts the hub client to rotation.Hub for one account. A call that fails in transit (no answer
// from the hub, as opposed to a refusal) raises down, so the rest of the pass stops rotating. With a key it signs
// every version it stages as agent's.
type accountHub struct {
	hub   HubClient
	id    int64
	down  *atomic.Bool
	key   ed25519.PrivateKey
	agent int64
}

// accountHub is the cycle's view of the hub for one account of plan, signing with the runner's key.
func (r *Runner) accountHub(plan *wire.Plan, a *wire.PlanAccount, down *atomic.Bool) *accountHub {
	return &accountHub{hub: r.cfg.Hub, id: a.AccountID, down: down, key: r.cfg.Key, agent: plan.AgentID}
}

// sign is the agent's signature over the staged version's envelope statement; nil without a key. Signing costs
// about 50 µs, nothing beside sealing.
func (h *accountHub) sign(s rotation.Staged) []byte {
	if h.key == nil {
		return nil
	}
	return authority.SignEnvelope(h.key, authority.NewEnvelopeStatement(s.Tenant, h.agent, h.id, s.Account, s.Version, s.Envelope))
}

var _ rotation.Hub = (*accountHub)(nil)

func (h *accountHub) note(err error) error {
	if err != nil && !isRefusal(err) && h.down != nil {
		h.down.Store(true)
	}
	return err
}

func (h *accountHub) Stage(ctx context.Context, s rotation.Staged) error {
	if s.RecoveryOnly {
		rs, ok := h.hub.(recoveryStager)
		if !ok {
			return fmt.Errorf("stage version %d: this hub client cannot stage a recovery-only version", s.Version)
		}
		return h.note(rs.StageRecoveryOnlySigned(ctx, h.id, s.Version, s.Envelope, h.sign(s)))
	}
	return h.note(h.hub.StageSigned(ctx, h.id, s.Version, s.Envelope, h.sign(s)))
}

// recoveryStager stages versions sealed to the recovery recipient alone (just-in-time accounts outside their
// window); hubclient.Client is one. It stays apart from HubClient so that a hub client without it is a case the
// runner handles (it rotates no closed account rather than seal one to the tech), which the JIT tests exercise.
type recoveryStager interface {
	StageRecoveryOnlySigned(ctx context.Context, accountID, version int64, envelope, signature []byte) error
}

var _ recoveryStager = (*hubclient.Client)(nil)

func (h *accountHub) Confirm(ctx context.Context, _ rotation.Ref, version int64) error {
	return h.note(h.hub.Confirm(ctx, h.id, version))
}

func (h *accountHub) Fail(ctx context.Context, _ rotation.Ref, version int64, reason string) error {
	return h.note(h.hub.Fail(ctx, h.id, version, clip(reason)))
}

// isRefusal says the hub answered (and refused), as opposed to a failure in transit.
func isRefusal(err error) bool {
	var he *hubclient.Error
	return errors.As(err, &he)
}

// clip keeps a message within what the hub stores (500 characters).
func clip(s string) string {
	const limit = 480
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
