package vm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// AuditFilter is what the audit screen filters by; zero values do not filter.
type AuditFilter struct {
	ActorKind string // tech, agent, admin, system
	ActorID   int64
	Tech      int64  // events by or about this tech
	Agent     int64  // events by or about this agent
	Action    string // prefix, e.g. "tech." or "triplet.delete"
	Since     time.Time
	Until     time.Time
}

// Audit reads the newest events (up to 1000) matching f, newest first. The hub filters by actor and time; the
// rest (action prefix, the tech or agent an event is about) is filtered here.
func (a *App) Audit(ctx context.Context, f AuditFilter) ([]wire.AuditEvent, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	evs, err := api.Audit(ctx, wire.AuditQuery{ActorKind: f.ActorKind, ActorID: f.ActorID, Since: f.Since, Until: f.Until, Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	var out []wire.AuditEvent
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		switch {
		case f.Action != "" && !strings.HasPrefix(e.Action, f.Action):
		case f.Tech != 0 && !about(e, "tech", f.Tech):
		case f.Agent != 0 && !about(e, "agent", f.Agent):
		default:
			out = append(out, e)
		}
	}
	return out, nil
}

// about reports whether e was done by or to the principal kind id.
func about(e wire.AuditEvent, kind string, id int64) bool {
	if e.ActorKind == kind && e.ActorID == id {
		return true
	}
	return e.Target == fmt.Sprintf("%s %d", kind, id) || strings.Contains(e.Target, fmt.Sprintf("%s=%d", kind, id))
}

// VerifyAudit asks the hub to walk its hash chain and says the outcome in a sentence.
func (a *App) VerifyAudit(ctx context.Context) (bool, string, error) {
	api, err := a.client()
	if err != nil {
		return false, "", err
	}
	v, err := api.VerifyAudit(ctx)
	if err != nil {
		return false, "", fmt.Errorf("verify audit chain: %w", err)
	}
	if !v.OK {
		return false, "The audit chain is BROKEN: " + v.Error, nil
	}
	return true, fmt.Sprintf("The audit chain holds: every event links to the one before (checked %s).", time.Now().Format("15:04:05")), nil
}

// Actor names who did an event, for people.
func (s *Snapshot) Actor(e wire.AuditEvent) string {
	switch e.ActorKind {
	case "tech":
		if t := s.Tech(e.ActorID); t != nil {
			return "tech " + t.Username
		}
	case "agent":
		if a := s.Agent(e.ActorID); a != nil {
			return "agent " + a.Name
		}
	case "admin":
		return fmt.Sprintf("admin #%d", e.ActorID)
	}
	if e.ActorID == 0 {
		return e.ActorKind
	}
	return fmt.Sprintf("%s #%d", e.ActorKind, e.ActorID)
}
