package vm

// Just-in-time access on the Console side (the flow is in shared/wire/jit.go): a triplet's mode
// (standing or just-in-time, with a maximum window and an approval switch), the queue of requests waiting for an
// approver, the open windows, and a notification when a new request arrives. The grants are part of the
// Snapshot; WatchJIT holds the hub's long poll so a request shows within a second, not at the next refresh.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/clock"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// loadJIT fills the snapshot's grants; a hub older than just-in-time access (wire.CapJIT) or a role that may not
// read them (403) leaves the list empty rather than failing the refresh. The refresh has heard the hub's capability
// version by now: it asked for the tenant first.
func loadJIT(ctx context.Context, j *hubclient.Client, s *Snapshot, load func(string, func() error)) {
	if !j.Supports(wire.CapJIT) {
		return
	}
	load("just-in-time requests", func() error {
		// Only what the screen shows: the queue and the open windows (the hub keeps every past grant), in one
		// call so that the list and its revision agree — WatchJIT waits from that revision.
		r, err := j.WaitJITRequests(ctx, wire.JITOpen, 0, 0)
		if errors.Is(err, hubclient.ErrForbidden) {
			s.JIT = nil
			return nil
		}
		if err != nil {
			return err
		}
		s.JIT, s.JITRevision = r.Grants, r.Revision
		slices.SortFunc(s.JIT, func(x, y wire.JITGrant) int { return y.RequestedAt.Compare(x.RequestedAt) })
		return nil
	})
}

// TripletMode is how a triplet grants its right: all the time, or in just-in-time windows.
type TripletMode struct {
	JIT      bool
	Max      time.Duration // the longest window a tech may ask for (JIT only; 0: the hub's default)
	Approval bool          // every request waits for an approver (JIT only)
}

// ModeOf reads a triplet's mode.
func ModeOf(t wire.Triplet) TripletMode {
	if t.Mode != wire.TripletJIT {
		return TripletMode{}
	}
	return TripletMode{JIT: true, Max: time.Duration(t.MaxDurationSeconds) * time.Second, Approval: t.ApprovalRequired}
}

func (m TripletMode) request(t wire.TripletRequest) wire.TripletRequest {
	t.Mode = wire.TripletStanding
	if m.JIT {
		t.Mode, t.MaxDurationSeconds, t.ApprovalRequired = wire.TripletJIT, int64(m.Max/time.Second), m.Approval
	}
	return t
}

// String renders the mode for the triplet table: "standing", "just-in-time ≤ 4 h, approval".
func (m TripletMode) String() string {
	if !m.JIT {
		return "standing"
	}
	max := m.Max
	if max <= 0 {
		max = wire.DefaultJITDuration
	}
	s := "just-in-time ≤ " + FormatDuration(int64(max/time.Second))
	if m.Approval {
		s += ", approval"
	}
	return s
}

// ParseMode reads the triplet editor's fields: jit, the maximum window in hours, approval.
func ParseMode(jit bool, maxHours string, approval bool) (TripletMode, error) {
	if !jit {
		return TripletMode{}, nil
	}
	m := TripletMode{JIT: true, Approval: approval}
	if strings.TrimSpace(maxHours) != "" {
		sec, err := ParseHours("maximum duration", maxHours)
		if err != nil {
			return m, err
		}
		m.Max = time.Duration(sec) * time.Second
	}
	return m, nil
}

// AddTripletMode grants a right to a TechGroup on an AgentGroup, standing or just-in-time.
func (a *App) AddTripletMode(ctx context.Context, techGroup, agentGroup, right int64, m TripletMode) error {
	s := a.Snapshot()
	label := s.TripletLabel(wire.Triplet{TechGroupID: techGroup, AgentGroupID: agentGroup, RightID: right})
	return a.addTriplet(ctx, "add triplet "+label+" ("+m.String()+")",
		m.request(wire.TripletRequest{TechGroupID: techGroup, AgentGroupID: agentGroup, RightID: right}))
}

// SetTripletMode changes a triplet's mode. Making it just-in-time disables, at each agent's next sync, the
// accounts no standing triplet still grants.
func (a *App) SetTripletMode(ctx context.Context, id int64, m TripletMode) error {
	j, err := a.client()
	if err != nil {
		return err
	}
	label := fmt.Sprintf("triplet %d", id)
	if t := find(a.Snapshot().Triplets, func(t wire.Triplet) bool { return t.ID == id }); t != nil {
		label = a.Snapshot().TripletLabel(*t)
	}
	return a.do(ctx, "set "+label+" to "+m.String(), func(*hubclient.Client) error {
		_, err := j.UpdateTriplet(ctx, id, m.request(wire.TripletRequest{}))
		return err
	})
}

// PendingJIT lists the requests waiting for an approver, oldest first.
func (a *App) PendingJIT() []wire.JITGrant {
	out := slices.DeleteFunc(slices.Clone(a.Snapshot().JIT), func(g wire.JITGrant) bool { return g.Status != wire.JITPending })
	slices.SortFunc(out, func(x, y wire.JITGrant) int { return x.RequestedAt.Compare(y.RequestedAt) })
	return out
}

// OpenJIT lists the open windows (approved or active, not past their expiry at now), soonest expiry first.
func (a *App) OpenJIT(now time.Time) []wire.JITGrant {
	out := slices.DeleteFunc(slices.Clone(a.Snapshot().JIT), func(g wire.JITGrant) bool {
		return g.Status != wire.JITApproved && g.Status != wire.JITActive || !g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt)
	})
	slices.SortFunc(out, func(x, y wire.JITGrant) int { return x.ExpiresAt.Compare(y.ExpiresAt) })
	return out
}

// ApproveJIT approves a pending request: its window opens now, for the duration the tech asked.
func (a *App) ApproveJIT(ctx context.Context, id int64) error {
	return a.decideJIT(ctx, id, "approve", "")
}

// RefuseJIT refuses a pending request; the note (optional) reaches the tech.
func (a *App) RefuseJIT(ctx context.Context, id int64, note string) error {
	return a.decideJIT(ctx, id, "refuse", strings.TrimSpace(note))
}

// EndJITNow closes an open window before its expiry (an incident is over, a laptop is lost); the note (optional)
// reaches the tech and the audit log. The agent disables the account and rotates it away as at expiry.
func (a *App) EndJITNow(ctx context.Context, id int64, note string) error {
	return a.decideJIT(ctx, id, "end", strings.TrimSpace(note))
}

func (a *App) decideJIT(ctx context.Context, id int64, verb, note string) error {
	j, err := a.client()
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%s just-in-time request %d", verb, id)
	if g := find(a.Snapshot().JIT, func(g wire.JITGrant) bool { return g.ID == id }); g != nil {
		what = fmt.Sprintf("%s %s's request for %s on %s", verb, g.Username, g.AccountName, g.AgentName)
	}
	return a.do(ctx, what, func(*hubclient.Client) error {
		switch verb {
		case "approve":
			_, err = j.ApproveJIT(ctx, id, note)
		case "refuse":
			_, err = j.RefuseJIT(ctx, id, note)
		default:
			_, err = j.EndJITNow(ctx, id, note)
		}
		return err
	})
}

// ApproveJITText is the confirmation of approving a request.
func ApproveJITText(g wire.JITGrant) string {
	s := fmt.Sprintf("Approve %s's request?\n\n%s on %s is enabled for %s from now, with a fresh password only %s's device opens. Reason given: %q",
		g.Username, g.AccountName, g.AgentName, FormatDuration(g.DurationSeconds), g.Username, g.Reason)
	return s
}

// DescribeJIT is one request in words, for lists and notifications: "alice: alice-tm on contoso.local for 2 h —
// ticket 4711".
func DescribeJIT(g wire.JITGrant) string {
	return fmt.Sprintf("%s: %s on %s for %s — %s", g.Username, g.AccountName, g.AgentName, FormatDuration(g.DurationSeconds), g.Reason)
}

// OnJITRequest registers fn to run for every pending request a refresh finds that the previous one did not (not
// for those already waiting when the Console connected: the navigation's count shows them).
func (a *App) OnJITRequest(fn func(wire.JITGrant)) {
	a.mu.Lock()
	a.jitListeners = append(a.jitListeners, fn)
	a.mu.Unlock()
}

// newJITRequests returns the pending requests of s not in the previous snapshot, and remembers s's; a.mu is held.
func (a *App) newJITRequestsLocked(s *Snapshot) []wire.JITGrant {
	first := a.jitSeen == nil
	if first {
		a.jitSeen = map[int64]bool{}
	}
	var out []wire.JITGrant
	for _, g := range s.JIT {
		if g.Status == wire.JITPending && !a.jitSeen[g.ID] {
			a.jitSeen[g.ID] = true
			if !first {
				out = append(out, g)
			}
		}
	}
	return out
}

// WatchJIT holds the hub's long poll on just-in-time grants until ctx ends, refreshing the moment one changes:
// a new request shows (and notifies) within a second.
func (a *App) WatchJIT(ctx context.Context, wait time.Duration) {
	for ctx.Err() == nil {
		j, err := a.client()
		if err != nil {
			return
		}
		if j.HubCapability() != 0 && !j.Supports(wire.CapJIT) {
			return // a hub without just-in-time access
		}
		since := a.Snapshot().JITRevision
		if since == 0 {
			since = 1
		}
		r, err := j.WaitJITRequests(ctx, "", since, wait)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, hubclient.ErrForbidden):
			return // a role that may not read it
		case errors.Is(err, hubclient.ErrPending):
			clock.Sleep(ctx, 15*time.Second) // a Console waiting for the owner's approval: the refresh loop tells
		case err != nil:
			clock.Sleep(ctx, 2*time.Second)
		case r.Changed || r.Revision != a.Snapshot().JITRevision:
			if err := a.Refresh(ctx); err != nil {
				clock.Sleep(ctx, 2*time.Second)
			}
		}
	}
}
