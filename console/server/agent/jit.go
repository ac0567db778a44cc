package agent

// Just-in-time accounts (wire.PlanJIT).
//
// Outside its window a JIT account exists on the target disabled, without memberships, and any new password is
// sealed to the tenant's recovery recipient only (driver.Driver's EnsureDisabled and VerifyDisabled, which check the
// password without enabling the account). Inside its window it is an ordinary account: Ensure enables it with its
// groups and the due jit-start rotation seals a fresh password to the tech.
//
// Expiry does not wait for the hub. Every open window the runner learns from a plan is written to
// Config.JITStateFile (atomically, mode 0600) and watched by enforceJIT, which disables the account at its
// expiry by the agent's own clock — while the hub is unreachable, and after a crash or restart (the file is read
// by New, and a window that ran out while the agent was down is closed before the first plan poll). A window is
// forgotten only once the account is disabled on the target.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/wire"
)

// jitWindow is one open window the agent must close at ExpiresAt.
type jitWindow struct {
	AccountID   int64     `json:"accountId"`
	AccountName string    `json:"accountName"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

type jitFile struct {
	Windows []jitWindow `json:"windows"`
}

// loadJIT reads the windows kept by an earlier run. A missing file is no window; an unreadable one is an error
// the runner logs — it then enforces what the next plan says.
func loadJIT(path string) (map[int64]jitWindow, error) {
	out := map[int64]jitWindow{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("read jit windows %q: %w", path, err)
	}
	var f jitFile
	if err := json.Unmarshal(b, &f); err != nil {
		return out, fmt.Errorf("read jit windows %q: %w", path, err)
	}
	for _, w := range f.Windows {
		out[w.AccountID] = w
	}
	return out, nil
}

// saveJIT writes the windows atomically: a crash or a full disk leaves the old file or the new one, never half of
// one, and a failed write is returned.
func saveJIT(path string, windows map[int64]jitWindow) error {
	if path == "" {
		return nil
	}
	f := jitFile{Windows: []jitWindow{}}
	for _, w := range windows {
		f.Windows = append(f.Windows, w)
	}
	sort.Slice(f.Windows, func(i, j int) bool { return f.Windows[i].AccountID < f.Windows[j].AccountID })
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("save jit windows: %w", err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("save jit windows: %w", err)
	}
	return nil
}

// noteJIT records the open windows of plan (to disk when they changed) and wakes enforceJIT.
func (r *Runner) noteJIT(plan *wire.Plan) {
	now := r.cfg.Now()
	r.jitMu.Lock()
	changed := false
	for i := range plan.Accounts {
		a := &plan.Accounts[i]
		if _, ok := r.windows[a.AccountID]; ok && a.JIT == nil {
			// The account became standing (its triplet changed mode): its expiry no longer applies.
			delete(r.windows, a.AccountID)
			changed = true
			continue
		}
		if !a.JIT.Active(now) {
			continue // a closed window stays recorded until its account is disabled
		}
		w := jitWindow{AccountID: a.AccountID, AccountName: a.AccountName, ExpiresAt: a.JIT.ExpiresAt}
		if old, ok := r.windows[a.AccountID]; !ok || old != w {
			r.windows[a.AccountID] = w
			changed = true
		}
	}
	var err error
	if changed {
		err = saveJIT(r.cfg.JITStateFile, r.windows)
	}
	r.jitMu.Unlock()
	if err != nil {
		r.log.Error("keep jit windows on disk; expiry is enforced from memory only", "err", err)
	}
	if changed {
		select {
		case r.jitWake <- struct{}{}:
		default:
		}
	}
}

// closedJIT forgets the window of an account now disabled on the target.
func (r *Runner) closedJIT(id int64) {
	r.jitMu.Lock()
	defer r.jitMu.Unlock()
	if _, ok := r.windows[id]; !ok {
		return
	}
	delete(r.windows, id)
	if err := saveJIT(r.cfg.JITStateFile, r.windows); err != nil {
		r.log.Error("keep jit windows on disk", "err", err)
	}
}

// enforceJIT closes every recorded window at its expiry, whatever the hub says or whether it answers, until ctx
// ends. A failed disable is retried every second.
func (r *Runner) enforceJIT(ctx context.Context) {
	for ctx.Err() == nil {
		now := r.cfg.Now()
		var due []jitWindow
		next := now.Add(time.Hour)
		r.jitMu.Lock()
		for _, w := range r.windows {
			if !now.Before(w.ExpiresAt) {
				due = append(due, w)
			} else if w.ExpiresAt.Before(next) {
				next = w.ExpiresAt
			}
		}
		r.jitMu.Unlock()
		for _, w := range due {
			if err := r.expireJIT(ctx, w); err != nil {
				r.log.Error("jit window expired but the account could not be disabled; retrying", "account", w.AccountName,
					"expired", w.ExpiresAt, "err", err)
				if t := now.Add(time.Second); t.Before(next) {
					next = t
				}
			}
		}
		// At most a second between looks: the wall clock may jump (NTP, a resumed VM) past an expiry that a long
		// timer would only notice late.
		t := time.NewTimer(min(max(next.Sub(r.cfg.Now()), time.Millisecond), time.Second))
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-r.jitWake:
		}
		t.Stop()
	}
}

// expireJIT disables one account whose window ran out, and tells the hub when it can.
func (r *Runner) expireJIT(ctx context.Context, w jitWindow) error {
	d, err := r.driver()
	if err != nil {
		return fmt.Errorf("open driver: %w", err)
	}
	defer r.release(d)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.stepTimeout())
	defer cancel()
	rep, err := d.EnsureDisabled(sctx, driver.Account{Name: w.AccountName})
	if err != nil {
		return err
	}
	r.closedJIT(w.AccountID)
	r.mu.Lock()
	delete(r.applied, w.AccountID) // the next pass looks at it again
	r.mu.Unlock()
	r.stats.disabled.Add(1)
	r.log.Info("jit window expired; account disabled", "account", w.AccountName, "expired", w.ExpiresAt,
		"late", r.cfg.Now().Sub(w.ExpiresAt).Round(time.Millisecond), "removed_groups", rep.Removed)
	rctx, rcancel := context.WithTimeout(ctx, r.stepTimeout())
	defer rcancel()
	if err := r.cfg.Hub.ReportAccounts(rctx, []wire.AccountReport{{AccountID: w.AccountID, State: wire.AccountDisabled}}); err != nil {
		r.log.Debug("report an expired jit account", "account", w.AccountName, "err", err) // the next pass reports it
	}
	return nil
}

// syncClosed keeps a JIT account outside its window: disabled, no memberships, and when due a fresh password
// sealed to the recovery recipient only.
func (r *Runner) syncClosed(stop, ctx context.Context, d driver.Driver, plan *wire.Plan, a *wire.PlanAccount, hubDown *atomic.Bool, o *outcome) {
	o.report.State = wire.AccountDisabled
	ectx, cancel := context.WithTimeout(ctx, r.stepTimeout())
	rep, err := d.EnsureDisabled(ectx, driver.Account{Name: a.AccountName, DisplayName: a.DisplayName})
	cancel()
	if err != nil {
		r.stats.errors.Add(1)
		r.log.Warn("keep jit account disabled", "account", a.AccountName, "err", err)
		o.report.State, o.report.Error = wire.AccountError, clip(fmt.Sprintf("jit: %v", err))
		if final(err) {
			r.halt(a, o, fmt.Sprintf("jit: %v", err))
		}
		return
	}
	r.closedJIT(a.AccountID)
	o.ensured, o.created = true, rep.Created
	r.stats.ensured.Add(1)
	if rep.Created || rep.Disabled || len(rep.Removed) > 0 {
		r.log.Info("jit account closed", "account", a.AccountName, "created", rep.Created, "disabled", rep.Disabled,
			"removed", rep.Removed)
	}
	due, reason := a.Due, a.DueReason
	if !due && rep.NeedsPassword {
		due, reason = true, "no password on the target"
	}
	if !due {
		return
	}
	if stop.Err() != nil || hubDown.Load() {
		o.deferred = true
		return
	}
	if err := r.rotateClosed(ctx, d, plan, a, reason, hubDown, o); err != nil {
		o.rotFail = true
		o.report.Error = clip("rotation: " + err.Error())
		if o.halted != "" {
			o.report.State, o.report.Error = wire.AccountFailed, o.halted
		}
		return
	}
	o.rotated = true
}

// rotateClosed rotates a closed JIT account to a password sealed to the recovery recipient only, the account
// disabled throughout.
func (r *Runner) rotateClosed(ctx context.Context, d driver.Driver, plan *wire.Plan, a *wire.PlanAccount, reason string, hubDown *atomic.Bool, o *outcome) error {
	closed := *a
	closed.Recipients = nil
	job, err := buildJob(plan, &closed, d.PasswordRules(), &r.recipients)
	if err != nil {
		r.stats.rotFail.Add(1)
		return err
	}
	job.RecoveryOnly = true
	target, attempts, err := r.guard(ctx, d, a, job, closedTarget{d}) // halt.go
	if err != nil {
		r.stats.rotFail.Add(1)
		if errors.Is(err, rotation.ErrHalt) {
			r.halt(a, o, "rotation: "+err.Error())
		}
		return err
	}
	rot := &rotation.Rotator{Hub: r.accountHub(plan, a, hubDown),
		Target: target, Hook: r.cfg.Hook, StepTimeout: r.cfg.StepTimeout}
	results, err := rot.RotateFresh(ctx, job, attempts)
	r.count(a, o, results, err)
	last := results[len(results)-1]
	if err != nil {
		r.stats.rotFail.Add(1)
		r.log.Warn("rotation failed", "account", a.AccountName, "reason", reason, "version", last.Version, "recovery_only", true,
			"state", last.State.String(), "attempts", len(results), "err", err)
		return err
	}
	r.stats.rotated.Add(1)
	r.log.Info("rotated", "account", a.AccountName, "reason", reason, "version", last.Version, "recovery_only", true,
		"attempts", len(results), "elapsed", last.Elapsed.Round(time.Millisecond))
	return nil
}

// closedTarget sets and verifies a password of a disabled account without enabling it (SetDisabledPassword);
// the verify step makes sure it is still disabled without memberships, then checks the password without a login
// the account could not make.
type closedTarget struct{ jd driver.Driver }

func (t closedTarget) SetPassword(ctx context.Context, account, password string) error {
	return t.jd.SetDisabledPassword(ctx, account, password)
}

func (t closedTarget) Verify(ctx context.Context, account, password string) error {
	if _, err := t.jd.EnsureDisabled(ctx, driver.Account{Name: account}); err != nil {
		return err
	}
	return t.jd.VerifyDisabled(ctx, account, password)
}
