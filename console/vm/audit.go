package vm

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
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
	// Before keeps the events before this seq (the next page of a newest-first list); Limit is the page's size
	// (0: 1000, the most the hub answers at once).
	Before int64
	Limit  int
}

// query is f as the hub filters it (CapAuditQuery): every field but Tech and Agent together, which the hub's
// About takes one at a time (a tech's events on an agent are rare enough to narrow here).
func (f AuditFilter) query() (q wire.AuditQuery, local func(wire.AuditEvent) bool) {
	q = wire.AuditQuery{ActorKind: f.ActorKind, ActorID: f.ActorID, ActionPrefix: f.Action, Since: f.Since, Until: f.Until,
		BeforeSeq: f.Before, Limit: f.Limit}
	local = func(wire.AuditEvent) bool { return true }
	switch {
	case f.Tech != 0 && f.Agent != 0:
		q.About = fmt.Sprintf("tech %d", f.Tech)
		local = func(e wire.AuditEvent) bool { return about(e, "agent", f.Agent) }
	case f.Tech != 0:
		q.About = fmt.Sprintf("tech %d", f.Tech)
	case f.Agent != 0:
		q.About = fmt.Sprintf("agent %d", f.Agent)
	}
	return q, local
}

// Audit reads the newest events (up to 1000, or f.Limit) matching f, newest first. A hub with CapAuditQuery
// filters and pages them all, so that the newest page of a log of 100,000 events is one query; an older one
// filters by actor and time only, answers its oldest events first, and the rest (action prefix, the tech or agent
// an event is about) is filtered here.
func (a *App) Audit(ctx context.Context, f AuditFilter) ([]wire.AuditEvent, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	if api.Supports(wire.CapAuditQuery) {
		q, local := f.query()
		q.Newest = true
		evs, err := api.Audit(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		return slices.DeleteFunc(evs, func(e wire.AuditEvent) bool { return !local(e) }), nil
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
		case f.Before != 0 && e.Seq >= f.Before:
		default:
			out = append(out, e)
		}
	}
	return out, nil
}

// about reports whether e was done by or to the principal kind id (the hub's About, for a hub without it).
func about(e wire.AuditEvent, kind string, id int64) bool {
	if e.ActorKind == kind && e.ActorID == id {
		return true
	}
	return e.Target == fmt.Sprintf("%s %d", kind, id) || slices.Contains(strings.Fields(e.Target), fmt.Sprintf("%s=%d", kind, id))
}

// VerifyAudit asks the hub to walk its hash chain and says the outcome in a sentence.
//
// The walk alone cannot see events deleted with every later hash computed again: the chain is unkeyed and its
// head lives in the same database. While this Console verifies the signed authority, it also reads the event at
// the newest audit checkpoint the admins signed and compares its hash with the signed one; a difference (or no
// such event) says the history was rewritten, and stays among the authority alerts until a verification succeeds
// again. When everything holds, it signs a checkpoint of the newest event the hub walked, so that the next rewrite
// is caught as well. Off, it is the walk alone.
func (a *App) VerifyAudit(ctx context.Context) (bool, string, error) {
	api, err := a.client()
	if err != nil {
		return false, "", err
	}
	v, err := api.VerifyAudit(ctx)
	if err != nil {
		return false, "", fmt.Errorf("verify audit chain: %w", err)
	}
	a.mu.Lock()
	chain := a.auth.chain
	a.mu.Unlock()
	if chain != nil && chain.State() != nil {
		return a.verifySignedAudit(ctx, api, chain, v)
	}
	if !v.OK {
		return false, "The audit chain is BROKEN: " + v.Error, nil
	}
	return true, fmt.Sprintf("The audit chain holds: every event links to the one before (checked %s).", a.clock()().Format("15:04:05")), nil
}

// verifySignedAudit is VerifyAudit with the signed checkpoints, v the hub's walk.
func (a *App) verifySignedAudit(ctx context.Context, api *hubclient.Client, chain *authority.Chain, v *wire.VerifyResponse) (bool, string, error) {
	// The newest verified state: another admin may have signed a newer checkpoint since the last refresh.
	if err := a.syncAuthority(ctx, api); err != nil {
		return false, "", fmt.Errorf("verify audit chain: %w", err)
	}
	at := a.clock()().Format("15:04:05")
	cp := chain.State().Audit
	if cp.Seq > 0 {
		ev, err := auditEvent(ctx, api, cp.Seq)
		if err != nil {
			return false, "", err
		}
		problem := ""
		switch {
		case ev == nil:
			problem = fmt.Sprintf("event %d, which the admins signed in authority update %d, is missing", cp.Seq, cp.Update)
		case !sameHash(ev.Hash, cp.Hash):
			problem = fmt.Sprintf("event %d is not the one the admins signed in authority update %d", cp.Seq, cp.Update)
		}
		if problem != "" {
			a.setAuditAlert(api, fmt.Sprintf("The audit history was REWRITTEN: %s (found %s).", problem, at))
			return false, "The audit history was REWRITTEN: " + problem + ". Events up to it were deleted or changed and " +
				"the chain's hashes computed again at the hub; restore the hub's database from a backup taken before.", nil
		}
	}
	if !v.OK {
		return false, "The audit chain is BROKEN: " + v.Error, nil
	}
	a.setAuditAlert(api, "")
	note := ""
	if v.Events > cp.Seq {
		if err := a.signCheckpoint(ctx, api, chain, v.Events); err != nil {
			note = " A checkpoint of event " + strconv.FormatInt(v.Events, 10) + " was not signed: " + err.Error() + "."
		}
	}
	cp = chain.State().Audit
	if cp.Seq == 0 {
		return true, fmt.Sprintf("The audit chain holds: every event links to the one before; no event is pinned by the admins' signatures yet (checked %s).%s", at, note), nil
	}
	return true, fmt.Sprintf("The audit chain holds: every event links to the one before, and the admins' signatures pin it up to event %d (authority update %d) (checked %s).%s",
		cp.Seq, cp.Update, at, note), nil
}

// auditEvent reads the tenant's audit event seq; nil when the hub has none.
func auditEvent(ctx context.Context, api *hubclient.Client, seq int64) (*wire.AuditEvent, error) {
	evs, err := api.Audit(ctx, wire.AuditQuery{AfterSeq: seq - 1, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("read audit event %d: %w", seq, err)
	}
	if len(evs) == 0 || evs[0].Seq != seq {
		return nil, nil
	}
	return &evs[0], nil
}

func sameHash(hexHash string, signed []byte) bool {
	b, err := hex.DecodeString(hexHash)
	return err == nil && len(b) == len(signed) && string(b) == string(signed)
}

// signCheckpoint signs a checkpoint of audit event seq, which the hub's walk just covered, unless the only event
// after the newest checkpoint is the hub's record of the update that signed it: pinning that record would only
// make another one, and every verification would sign again.
func (a *App) signCheckpoint(ctx context.Context, api *hubclient.Client, chain *authority.Chain, seq int64) error {
	ev, err := auditEvent(ctx, api, seq)
	if err != nil {
		return err
	}
	if ev == nil {
		return fmt.Errorf("the hub has no audit event %d", seq)
	}
	hash, err := hex.DecodeString(ev.Hash)
	if err != nil {
		return fmt.Errorf("audit event %d: hash %q is not hex", seq, ev.Hash)
	}
	if st := chain.State(); st.Audit.Seq == seq-1 && st.Audit.Update == st.Seq && ev.Action == "authority.update" &&
		ev.Target == fmt.Sprintf("authority %d", st.Seq) {
		return nil
	}
	err = a.sign(ctx, api, func(st *authority.State) ([]authority.Op, error) {
		if st.Audit.Seq >= seq {
			return nil, nil // another admin pinned as far already
		}
		return []authority.Op{authority.AuditCheckpoint(seq, hash)}, nil
	})
	a.showAuthority(api)
	return err
}

// setAuditAlert sets or clears the rewritten-history alert and shows it at once.
func (a *App) setAuditAlert(api *hubclient.Client, alert string) {
	a.mu.Lock()
	changed := a.auth.auditAlert != alert
	a.auth.auditAlert = alert
	a.mu.Unlock()
	if changed {
		a.showAuthority(api)
	}
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
