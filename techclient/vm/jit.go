package vm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// Just-in-time access (the flow is in shared/wire/jit.go). A JIT account is disabled on its
// target, and its password sealed to the MSP's recovery key only, until the technician asks for a window: a
// duration up to the triplet's maximum and a reason. Without approval the window opens at once; with approval it
// waits for an admin of the Console. While it is open the agent enables the account and rotates to a password
// sealed to this device, which then reveals and copies as any other; at the end (or on Done) the agent disables
// the account and rotates it away from this device. The row's JIT state comes from the credential list, which the
// hub pushes through the long poll as the grant moves.

// JIT states of a row, as JITState reports them.
const (
	JITNone    = ""         // a standing account
	JITOff     = "off"      // no window was ever asked for: request one
	JITPending = "pending"  // waiting for an approver
	JITOpening = "approved" // approved: the agent is enabling the account and setting a fresh password
	JITActive  = "active"   // the window is open and the password opens on this device
	JITRefused = "refused"  // the last request was refused (a new one may be made)
	JITEnded   = "ended"    // the last window ended or expired (a new one may be made)
)

// Errors of JIT actions.
var (
	ErrJITInactive = errors.New("access to this account is not enabled: request a window first")
	ErrNoJIT       = errors.New("this hub does not offer just-in-time access")
)

// JITState says where a row's just-in-time access stands at now: one of the JIT constants.
func (r *Row) JITState(now time.Time) string {
	if !r.JIT {
		return JITNone
	}
	g := r.Grant
	if g == nil {
		return JITOff
	}
	switch g.Status {
	case wire.JITPending:
		return JITPending
	case wire.JITApproved:
		if !g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt) {
			return JITEnded
		}
		return JITOpening
	case wire.JITActive:
		if !g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt) {
			return JITEnded // the agent closes it at ExpiresAt, with or without the hub
		}
		if len(r.envelope) == 0 {
			return JITOpening
		}
		return JITActive
	case wire.JITRefused:
		return JITRefused
	}
	return JITEnded
}

// Usable says whether the row's password may be revealed or copied now: always for a standing account with a
// version, only inside an open window for a JIT one.
func (r *Row) Usable(now time.Time) bool {
	if len(r.envelope) == 0 {
		return false
	}
	return !r.JIT || r.JITState(now) == JITActive
}

// JITRotationText is when a just-in-time account's password changes, in place of a scheduled rotation's countdown:
// the window's countdown is the account's one clock.
const JITRotationText = "when access is enabled and when it ends"

// JITStatusText says in one sentence where the row's access stands, for the detail pane.
func (r *Row) JITStatusText(now time.Time) string {
	g := r.Grant
	switch r.JITState(now) {
	case JITOff:
		s := "Just-in-time access: this account is disabled until you enable it, for up to " + FormatDuration(r.JITMax) + "."
		if r.JITApproval {
			s += " Your MSP approves each request."
		}
		return s
	case JITPending:
		return "Pending approval by your MSP since " + timeOfDay(g.RequestedAt) + " (" + FormatDuration(time.Duration(g.DurationSeconds)*time.Second) + " asked)."
	case JITOpening:
		return "Approved: the agent is enabling the account and setting a fresh password…"
	case JITActive:
		return "Active until " + timeOfDay(g.ExpiresAt) + ": " + Countdown(now, g.ExpiresAt) + " left."
	case JITRefused:
		s := "Your last request was refused"
		if g.ApprovedBy != "" {
			s += " by " + g.ApprovedBy
		}
		if g.Note != "" {
			s += ": " + g.Note
		}
		return s + ". You may ask again."
	case JITEnded:
		return "Access ended at " + timeOfDay(firstNonZero(g.EndedAt, g.ExpiresAt)) + ": the account is disabled again. Enable it again when you need it."
	}
	return ""
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// jitSteps are the durations a technician picks from, up to the account's maximum.
var jitSteps = []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour,
	8 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour}

// JITDurations lists the durations a request on the row may ask for, shortest first, ending with its maximum.
func (r *Row) JITDurations() []time.Duration {
	limit := r.JITMax
	if limit <= 0 {
		limit = wire.DefaultJITDuration
	}
	var out []time.Duration
	for _, d := range jitSteps {
		if d >= wire.MinJITDuration && d < limit {
			out = append(out, d)
		}
	}
	return append(out, limit)
}

// FormatDuration renders a duration for a picker or a sentence: "15 min", "1 h", "1 h 30 min", "2 days".
func FormatDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d == 24*time.Hour:
		return "1 day"
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%d h %d min", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%d min", d/time.Minute)
}

// RequestAccess asks the hub for a window on a JIT account: d up to the account's maximum, and a reason (required).
// The row shows the grant at once (pending, or opening); the agent's work reaches it through the long poll.
func (a *App) RequestAccess(ctx context.Context, accountID int64, d time.Duration, reason string) error {
	a.Touch()
	r, h, err := a.jitRow(accountID)
	if err != nil {
		a.setError(err)
		return err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case !r.JIT:
		err = fmt.Errorf("%s on %s is not a just-in-time account", r.Account, r.Host)
	case d < wire.MinJITDuration || r.JITMax > 0 && d > r.JITMax:
		err = &FieldError{Field: "duration", Message: "choose from " + FormatDuration(wire.MinJITDuration) + " to " + FormatDuration(r.JITMax)}
	default:
		if verr := wire.ValidJITReason(reason); verr != nil {
			err = &FieldError{Field: "reason", Message: verr.Error()}
		}
	}
	if err == nil {
		var g *wire.JITGrant
		req := wire.JITRequest{AccountID: accountID, DurationSeconds: int64(d / time.Second), Reason: reason}
		req.Signature, req.SignedAt = a.signEvent(func(tenant string, tech int64, at time.Time) authority.TechEventStatement {
			req.SignedAt = at
			return authority.JITRequestOf(tenant, tech, req)
		})
		g, err = h.RequestJIT(ctx, req)
		if err == nil {
			a.setGrant(accountID, g)
			_ = a.Error.Set("")
			return nil
		}
		err = fmt.Errorf("enable access to %s on %s: %w", r.Account, r.Host, err)
	}
	a.setError(err)
	return err
}

// EndAccess closes the row's open window now (Done), or withdraws a pending request.
func (a *App) EndAccess(ctx context.Context, accountID int64) error {
	a.Touch()
	r, h, err := a.jitRow(accountID)
	if err == nil && (r.Grant == nil || !r.Grant.Status.Open()) {
		err = fmt.Errorf("%s on %s has no open access to end", r.Account, r.Host)
	}
	if err != nil {
		a.setError(err)
		return err
	}
	g, err := h.EndJIT(ctx, r.Grant.ID)
	if err != nil {
		err = fmt.Errorf("end access to %s on %s: %w", r.Account, r.Host, err)
		a.setError(err)
		return err
	}
	a.setGrant(accountID, g)
	if v, _ := a.Revealed.Get(); int64(v) == accountID {
		a.Hide()
	}
	_ = a.Error.Set("")
	return nil
}

func (a *App) jitRow(accountID int64) (*Row, Hub, error) {
	a.mu.Lock()
	r, h := a.byID[accountID], a.hub
	a.mu.Unlock()
	if r == nil {
		return nil, nil, fmt.Errorf("account %d: %w", accountID, ErrNoRow)
	}
	if h == nil {
		return r, nil, fmt.Errorf("%s on %s: %w", r.Account, r.Host, ErrUnreachable)
	}
	if lacks(h, wire.CapJIT) {
		return r, nil, fmt.Errorf("%s on %s: %w", r.Account, r.Host, ErrNoJIT)
	}
	return r, h, nil
}

// setGrant shows a grant the hub just answered on its row, until the next credential list says more.
func (a *App) setGrant(accountID int64, g *wire.JITGrant) {
	if g == nil {
		return
	}
	a.mu.Lock()
	if r := a.byID[accountID]; r != nil {
		c := *r
		gc := *g
		gc.TAP = nil // the row keeps the pass of the last credential list
		c.Grant = &gc
		a.replaceRowLocked(r, &c)
	}
	a.mu.Unlock()
	a.bumpRows()
}

// replaceRowLocked swaps a row for its updated copy everywhere it is listed; a.mu is held.
func (a *App) replaceRowLocked(old, r *Row) {
	a.byID[r.AccountID] = r
	a.all = slices.Clone(a.all)
	for i, x := range a.all {
		if x == old {
			a.all[i] = r
		}
	}
	a.visible = filterRows(a.all, a.filter)
}

// jitChanges are the notifications a new credential list brings about JIT grants.
func jitChanges(old, r *Row, now time.Time) (title, body string) {
	if r.Grant == nil || old == nil {
		return "", ""
	}
	was := old.JITState(now)
	is := r.JITState(now)
	if was == is {
		return "", ""
	}
	switch is {
	case JITActive:
		return "Access enabled", fmt.Sprintf("%s on %s is enabled until %s.", r.Account, r.Host, timeOfDay(r.Grant.ExpiresAt))
	case JITRefused:
		return "Access refused", fmt.Sprintf("Your request for %s on %s was refused.", r.Account, r.Host)
	case JITEnded:
		if was == JITActive || was == JITOpening {
			return "Access ended", fmt.Sprintf("%s on %s is disabled again.", r.Account, r.Host)
		}
	}
	return "", ""
}
