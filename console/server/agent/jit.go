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
//
// Temporary Access Pass. On an agent configured for it (Config.TemporaryAccess) whose driver can
// (driver.TemporaryAccess), an open window also gets a pass lasting the window: issued once the account is enabled
// with its groups and the tech's password, sealed to the tech's device and the recovery recipient under its own
// context (wire.TAPAccount, the grant's ID as the version), signed like a staged version, and handed to the hub
// (StoreJITTAP). The window's record says a pass may exist on the target (TAPGrant, written before the pass is
// issued, so a crash in between still revokes it) and that the hub holds it (TAPStored). Closing the window —
// at expiry, or when the plan closes it — revokes the pass before the account is disabled; a failed revoke is
// retried and never keeps the account enabled. The code is never logged, reported or kept.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// jitWindow is one open window the agent must close at ExpiresAt.
type jitWindow struct {
	AccountID   int64     `json:"accountId"`
	AccountName string    `json:"accountName"`
	ExpiresAt   time.Time `json:"expiresAt"`
	// TAPGrant is the grant whose Temporary Access Pass may exist on the target (set before it is issued);
	// TAPStored says the hub holds it sealed, so the pass is not issued again for that grant.
	TAPGrant  int64 `json:"tapGrant,omitempty"`
	TAPStored bool  `json:"tapStored,omitempty"`
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
		old, ok := r.windows[a.AccountID]
		w.TAPGrant, w.TAPStored = old.TAPGrant, old.TAPStored // a pass outlives a change of the window's end
		if !ok || old != w {
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
	revokeErr := r.revokeTAP(sctx, d, w, false)
	rep, err := d.EnsureDisabled(sctx, driver.Account{Name: w.AccountName})
	if err != nil {
		return err
	}
	if revokeErr != nil {
		// Disabled, so the pass signs in no one; the window stays recorded and the revoke is tried again.
		return revokeErr
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
	r.jitMu.Lock()
	w, recorded := r.windows[a.AccountID]
	r.jitMu.Unlock()
	revokeErr := r.revokeTAP(ectx, d, w, false)
	rep, err := d.EnsureDisabled(ectx, driver.Account{Name: a.AccountName, DisplayName: a.DisplayName})
	if err == nil && rep.Disabled && !recorded {
		// It was enabled without a window this agent remembers (its state file lost): a pass may be there too.
		revokeErr = r.revokeTAP(ectx, d, jitWindow{AccountID: a.AccountID, AccountName: a.AccountName}, true)
	}
	cancel()
	if err == nil && revokeErr != nil {
		err = revokeErr
	}
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

// tapStorer hands the hub a window's sealed Temporary Access Pass; hubclient.Client is one. Apart from HubClient,
// as recoveryStager is: a hub client without it makes every pass fail, never a pass left unsealed.
type tapStorer interface {
	StoreJITTAP(ctx context.Context, req wire.JITTAPRequest) error
}

var _ tapStorer = (*hubclient.Client)(nil)

// issueTAP gives an open window its Temporary Access Pass when the agent is configured to and the driver can, once
// per grant: recorded first (a pass on the target is revoked at the close even after a crash), then issued for
// the rest of the window, sealed to the tech's recipients and the recovery recipient, signed, and stored at the hub.
func (r *Runner) issueTAP(ctx context.Context, d driver.Driver, plan *wire.Plan, a *wire.PlanAccount) error {
	ta, ok := d.(driver.TemporaryAccess)
	now := r.cfg.Now()
	if !r.cfg.TemporaryAccess || !ok || !a.JIT.Active(now) || a.JIT.GrantID == 0 {
		return nil
	}
	store, ok := r.cfg.Hub.(tapStorer)
	if !ok {
		return errors.New("this hub client cannot store a temporary access pass")
	}
	r.jitMu.Lock()
	w, open := r.windows[a.AccountID]
	if !open {
		w = jitWindow{AccountID: a.AccountID, AccountName: a.AccountName, ExpiresAt: a.JIT.ExpiresAt}
	}
	if w.TAPGrant == a.JIT.GrantID && w.TAPStored {
		r.jitMu.Unlock()
		return nil
	}
	w.TAPGrant, w.TAPStored = a.JIT.GrantID, false
	r.windows[a.AccountID] = w
	err := saveJIT(r.cfg.JITStateFile, r.windows)
	r.jitMu.Unlock()
	if err != nil {
		return fmt.Errorf("record the pass before issuing it: %w", err)
	}
	job, err := buildJob(plan, a, d.PasswordRules(), &r.recipients)
	if err != nil {
		return err
	}
	if len(job.Recipients) == 0 || job.Recovery == nil {
		return errors.New("no device of the tech and the recovery recipient to seal the pass to")
	}
	start := now
	ictx, cancel := context.WithTimeout(ctx, r.stepTimeout())
	code, expires, err := ta.IssueTemporaryAccess(ictx, a.AccountName, a.JIT.ExpiresAt.Sub(now))
	cancel()
	if err != nil {
		return fmt.Errorf("issue for %q: %w", a.AccountName, err)
	}
	if expires.IsZero() || expires.After(a.JIT.ExpiresAt) {
		expires = a.JIT.ExpiresAt // revoked when the window closes, whatever the target's minimum lifetime
	}
	sctx := hubclient.SealContext(plan.ClientGUID, plan.AgentID, wire.TAPAccount(a.AccountName), a.JIT.GrantID)
	env, err := seal.Seal([]byte(code), sctx, append(slices.Clone(job.Recipients), job.Recovery)...)
	code = ""
	if err != nil {
		return fmt.Errorf("seal the pass of %q: %w", a.AccountName, err)
	}
	var sig []byte
	if r.cfg.Key != nil {
		sig = authority.SignEnvelope(r.cfg.Key, authority.NewEnvelopeStatement(plan.ClientGUID, plan.AgentID, a.AccountID,
			wire.TAPAccount(a.AccountName), a.JIT.GrantID, env))
	}
	hctx, hcancel := context.WithTimeout(ctx, r.stepTimeout())
	err = store.StoreJITTAP(hctx, wire.JITTAPRequest{GrantID: a.JIT.GrantID, AccountID: a.AccountID, Envelope: env,
		Signature: sig, ExpiresAt: expires})
	hcancel()
	if err != nil {
		// Nobody can read it: take it away again rather than leave a working pass no one holds.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), r.stepTimeout())
		if rerr := ta.RevokeTemporaryAccess(rctx, a.AccountName); rerr != nil {
			r.log.Warn("revoke a temporary access pass the hub did not store", "account", a.AccountName, "err", rerr)
		}
		rcancel()
		return fmt.Errorf("store the sealed pass of %q at the hub: %w", a.AccountName, err)
	}
	r.jitMu.Lock()
	if cur, ok := r.windows[a.AccountID]; ok && cur.TAPGrant == a.JIT.GrantID {
		cur.TAPStored = true
		r.windows[a.AccountID] = cur
		err = saveJIT(r.cfg.JITStateFile, r.windows)
	}
	r.jitMu.Unlock()
	if err != nil {
		r.log.Error("keep jit windows on disk", "err", err)
	}
	r.log.Info("temporary access pass issued and sealed to the tech", "account", a.AccountName, "grant", a.JIT.GrantID,
		"expires", expires, "elapsed", r.cfg.Now().Sub(start).Round(time.Millisecond), "signed", sig != nil)
	return nil
}

// revokeTAP removes the pass of window w from the target: when one may exist there (w.TAPGrant), or always with
// force. Nothing to do on an agent that issues none.
func (r *Runner) revokeTAP(ctx context.Context, d driver.Driver, w jitWindow, force bool) error {
	ta, ok := d.(driver.TemporaryAccess)
	if !ok || !r.cfg.TemporaryAccess || (w.TAPGrant == 0 && !force) {
		return nil
	}
	if err := ta.RevokeTemporaryAccess(ctx, w.AccountName); err != nil {
		r.log.Warn("revoke the temporary access pass; retrying", "account", w.AccountName, "err", err)
		return fmt.Errorf("revoke the temporary access pass of %q: %w", w.AccountName, err)
	}
	r.log.Info("temporary access pass revoked", "account", w.AccountName, "grant", w.TAPGrant)
	return nil
}
