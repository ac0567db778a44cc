package hub

// Just-in-time access (the flow is in shared/wire/jit.go).
//
// A triplet is standing or jit. An account is JIT when every triplet that grants it is jit (jitOf): a standing
// triplet on the same (tech, agent) keeps the account standing, with all its rights. Among the jit triplets of an
// account the strictest rule wins: the shortest maximum duration, and approval when any of them requires it.
//
// A tech asks for a window (techJITRequest); without approval the window opens at once, with approval it waits for
// an Owner, an Administrator or the Co-managed Manager of the tech's organization (adminJITAction). An open window
// makes the plan enable the account with its groups and rotate it to a password sealed to the tech (due
// jit-start); the agent's confirmation of that version makes the grant active (jitConfirmed). When the window
// closes — expiry, or the tech's Done — the plan disables the account and rotates it to a password sealed to the
// recovery recipient only (due jit-end), which the hub then never hands to the tech. Every step is audited with the
// request's reason and wakes the agent's long poll, the tech's list and the Console's approval queue.
//
// Expiry needs nothing to happen at the hub for the target to follow: the plan carries expiresAt and the agent
// disables at that moment from its own clock and its last plan, kept on disk. The hub marks the grant expired
// (audited jit.expire) with a timer set when the window opens, and on every plan, list and credential read after
// the moment, so a hub restart loses nothing; a plan's NextDueAt is the earliest expiry, so the agent's long poll
// returns then.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// jitRule is how JIT applies to one (tech, agent) pair.
type jitRule struct {
	jit      bool
	max      time.Duration
	approval bool
}

// jitTriplets is the view's copy of the triplets and memberships jitOf needs; built only when some triplet is jit,
// so a tenant without JIT pays nothing per account.
type jitTriplets struct {
	triplets []store.Triplet
	allTechs int64                    // the AllTechs group: every active tech
	techIn   map[int64]map[int64]bool // tech group → members
	agentIn  map[int64]map[int64]bool // agent group → members
}

// jitOf says whether tech's account on agent is JIT and under which rule.
func (v *view) jitOf(tech, agent int64) jitRule {
	j := v.jit
	if j == nil {
		return jitRule{}
	}
	var rule jitRule
	for i := range j.triplets {
		t := &j.triplets[i]
		if !(t.TechGroupID == j.allTechs || j.techIn[t.TechGroupID][tech]) || !j.agentIn[t.AgentGroupID][agent] {
			continue
		}
		if t.Mode != wire.TripletJIT {
			return jitRule{} // a standing grant keeps the account standing
		}
		max := tripletMax(t)
		if !rule.jit || max < rule.max {
			rule.max = max
		}
		rule.jit = true
		rule.approval = rule.approval || t.ApprovalRequired
	}
	return rule
}

func tripletMax(t *store.Triplet) time.Duration {
	if t.MaxDurationSeconds <= 0 {
		return wire.DefaultJITDuration
	}
	return time.Duration(t.MaxDurationSeconds) * time.Second
}

// buildJIT fills the view's JIT tables from the tenant's triplets and groups.
func buildJIT(trips []store.Triplet, techGroups, agentGroups []store.Group) *jitTriplets {
	if !slices.ContainsFunc(trips, func(t store.Triplet) bool { return t.Mode == wire.TripletJIT }) {
		return nil
	}
	j := &jitTriplets{triplets: trips, techIn: map[int64]map[int64]bool{}, agentIn: map[int64]map[int64]bool{}}
	for _, g := range techGroups {
		if g.Builtin && g.Name == wire.AllTechs {
			j.allTechs = g.ID
		}
		j.techIn[g.ID] = setOf(g.Members)
	}
	for _, g := range agentGroups {
		j.agentIn[g.ID] = setOf(g.Members)
	}
	return j
}

func setOf(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// windowOpen says whether g holds an open window at now.
func windowOpen(g *store.JITGrant, now time.Time) bool {
	return g != nil && (g.Status == wire.JITApproved || g.Status == wire.JITActive) && now.Before(g.ExpiresAt)
}

// ---- triplet mode ----

// tripletMode validates the mode fields of a triplet request.
func tripletMode(req wire.TripletRequest) (mode string, max int64, approval bool, err error) {
	switch req.Mode {
	case "", wire.TripletStanding:
		if req.MaxDurationSeconds != 0 {
			return "", 0, false, wire.Invalid("maxDurationSeconds", "applies to jit triplets only")
		}
		if req.ApprovalRequired {
			return "", 0, false, wire.Invalid("approvalRequired", "applies to jit triplets only")
		}
		return wire.TripletStanding, 0, false, nil
	case wire.TripletJIT:
		max = req.MaxDurationSeconds
		if max == 0 {
			max = int64(wire.DefaultJITDuration / time.Second)
		}
		if d := time.Duration(max) * time.Second; max < 0 || d < wire.MinJITDuration || d > wire.MaxJITDuration {
			return "", 0, false, wire.Invalid("maxDurationSeconds", "must lie between %d and %d seconds",
				int64(wire.MinJITDuration/time.Second), int64(wire.MaxJITDuration/time.Second))
		}
		return wire.TripletJIT, max, req.ApprovalRequired, nil
	}
	return "", 0, false, wire.Invalid("mode", "must be %q or %q", wire.TripletStanding, wire.TripletJIT)
}

func tripletModeDetail(t *store.Triplet) string {
	if t.Mode != wire.TripletJIT {
		return " mode=standing"
	}
	return fmt.Sprintf(" mode=jit maxDuration=%d approval=%t", t.MaxDurationSeconds, t.ApprovalRequired)
}

// adminTripletUpdate changes a triplet's mode. Open windows on accounts that become standing simply stay open
// until they end; accounts that become JIT close at the agent's next plan.
func (h *Hub) adminTripletUpdate(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	var req wire.TripletRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	mode, max, approval, err := tripletMode(req)
	if err != nil {
		return nil, err
	}
	var out wire.Triplet
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		ts, err := c.tx.Triplets(r.tenant.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ts, func(t store.Triplet) bool { return t.ID == id })
		if i < 0 {
			return &wire.Error{Code: wire.CodeNotFound, Field: "id", Message: fmt.Sprintf("triplet %d: not found", id)}
		}
		t := &ts[i]
		for _, f := range []struct {
			name      string
			got, have int64
		}{{"techGroupId", req.TechGroupID, t.TechGroupID}, {"agentGroupId", req.AgentGroupID, t.AgentGroupID}, {"rightId", req.RightID, t.RightID}} {
			if f.got != 0 && f.got != f.have {
				return wire.Invalid(f.name, "cannot change on triplet %d: delete it and create another", id)
			}
		}
		t.Mode, t.MaxDurationSeconds, t.ApprovalRequired = mode, max, approval
		if err := c.tx.UpdateTriplet(t); err != nil {
			return err
		}
		c.graph = true
		out = tripletWire(t)
		return c.audit("triplet.update", fmt.Sprintf("triplet %d", t.ID), strings.TrimSpace(tripletModeDetail(t)))
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ---- tech side ----

func (h *Hub) jitWire(tx store.Tx, g *store.JITGrant, v *view) wire.JITGrant {
	out := wire.JITGrant{ID: g.ID, TechID: g.TechID, AccountID: g.AccountID, AgentID: g.AgentID, Status: g.Status,
		Reason: g.Reason, DurationSeconds: g.DurationSeconds, ApprovalRequired: g.ApprovalRequired, RequestedAt: g.RequestedAt,
		ApprovedBy: g.DecidedBy, DecidedAt: g.DecidedAt, Note: g.Note, EnabledAt: g.EnabledAt, ExpiresAt: g.ExpiresAt, EndedAt: g.EndedAt}
	if v != nil {
		if t := v.techs[g.TechID]; t != nil {
			out.Username, out.Organization = t.Username, t.Organization
		}
		if a := v.agents[g.AgentID]; a != nil {
			out.AgentName = a.Name
		}
	}
	if acc, err := tx.Account(g.TenantID, g.AccountID); err == nil {
		out.AccountName = acc.Name
	}
	return out
}

func (h *Hub) techJITRequest(r *request) (any, error) {
	if err := h.sessionGate(r); err != nil { // a locked-out tech enables nothing
		return nil, err
	}
	var req wire.JITRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var errs []error
	if err := wire.ValidJITReason(req.Reason); err != nil {
		errs = append(errs, wire.Invalid("reason", "%v", err))
	}
	if d := time.Duration(req.DurationSeconds) * time.Second; req.DurationSeconds < 0 || d < wire.MinJITDuration {
		errs = append(errs, wire.Invalid("durationSeconds", "must be at least %d seconds", int64(wire.MinJITDuration/time.Second)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	devsig, err := deviceSignature(r.who.tech, authority.JITRequestOf(r.tenant.GUID, r.who.id, req), req.Signature, req.SignedAt)
	if err != nil {
		return nil, err
	}
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	g := &store.JITGrant{TenantID: r.tenant.ID, TechID: r.who.id, AccountID: req.AccountID, Reason: req.Reason,
		DurationSeconds: req.DurationSeconds}
	var out wire.JITGrant
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		acc, err := c.tx.Account(r.tenant.ID, req.AccountID)
		if err != nil || acc.TechID != r.who.id {
			return &wire.Error{Code: wire.CodeNotFound, Field: "accountId", Message: "no such account of yours"}
		}
		rule := v.jitOf(acc.TechID, acc.AgentID)
		if a := v.agents[acc.AgentID]; !rule.jit || a == nil || a.Status != wire.AgentActive {
			return wire.Invalid("accountId", "account %d is not a just-in-time account", acc.ID)
		}
		if d := time.Duration(req.DurationSeconds) * time.Second; d > rule.max {
			return wire.Invalid("durationSeconds", "must be at most %d seconds for account %d", int64(rule.max/time.Second), acc.ID)
		}
		g.RequestedAt, g.ApprovalRequired = c.at, rule.approval
		g.Status = wire.JITPending
		if !rule.approval {
			g.Status, g.DecidedBy, g.DecidedAt = wire.JITApproved, "auto", c.at
			g.ExpiresAt = c.at.Add(time.Duration(req.DurationSeconds) * time.Second)
		}
		if err := c.tx.CreateJITGrant(g); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "accountId", Message: fmt.Sprintf("account %d already has an open just-in-time request", acc.ID)}
			}
			return err
		}
		c.touched(acc)
		target := fmt.Sprintf("jit %d", g.ID)
		if err := c.audit("jit.request", target, fmt.Sprintf("account=%d name=%q duration=%d approval=%t reason=%q",
			acc.ID, acc.Name, g.DurationSeconds, g.ApprovalRequired, g.Reason)+devsig); err != nil {
			return err
		}
		out = h.jitWire(c.tx, g, v)
		if !rule.approval {
			return c.audit("jit.approve", target, fmt.Sprintf("account=%d by=auto expires=%s reason=%q", acc.ID, g.ExpiresAt.Format(time.RFC3339), g.Reason))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.scheduleExpiry(r.tenant, g)
	return &out, nil
}

func (h *Hub) techJITList(r *request) (any, error) {
	h.expireJIT(r.Context(), r.tenant)
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	return read(h, r, func(tx store.Tx) (*wire.JITGrantsResponse, error) {
		gs, err := tx.JITGrants(r.tenant.ID, store.JITQuery{TechID: r.who.id, Limit: 500})
		rev, _ := h.notify.Current(r.tenant)
		out := &wire.JITGrantsResponse{Revision: rev, Grants: []wire.JITGrant{}}
		now := h.now()
		for i := range gs {
			w := h.jitWire(tx, &gs[i], v)
			w.TAP = tapWire(&gs[i], now)
			out.Grants = append(out.Grants, w)
		}
		return out, err
	})
}

// techJITAction is the tech's Done: a pending request is withdrawn, an open window closes.
func (h *Hub) techJITAction(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	if r.PathValue("action") != wire.ActionJITDone {
		return nil, wire.Invalid("action", "must be %q", wire.ActionJITDone)
	}
	return h.endJIT(r, id, "", func(g *store.JITGrant) error {
		if g.TechID != r.who.id {
			return &wire.Error{Code: wire.CodeNotFound, Field: "id", Message: fmt.Sprintf("jit request %d: not found", id)}
		}
		return nil
	})
}

// endJIT closes grant id after check, as the caller's doing; note (an admin's, optional) is kept and audited.
func (h *Hub) endJIT(r *request, id int64, note string, check func(*store.JITGrant) error) (any, error) {
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	var out wire.JITGrant
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		g, err := c.tx.JITGrant(r.tenant.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return &wire.Error{Code: wire.CodeNotFound, Field: "id", Message: fmt.Sprintf("jit request %d: not found", id)}
		}
		if err != nil {
			return err
		}
		if err := check(g); err != nil {
			return err
		}
		if !g.Status.Open() || (g.Status != wire.JITPending && !c.at.Before(g.ExpiresAt)) {
			return &wire.Error{Code: wire.CodeConflict, Field: "id", Message: fmt.Sprintf("jit request %d is %s, not open", id, g.Status)}
		}
		was := g.Status
		g.Status, g.EndedAt = wire.JITEnded, c.at
		if note != "" {
			g.Note = note
		}
		if err := c.tx.UpdateJITGrant(g); err != nil {
			return err
		}
		acc, err := c.tx.Account(r.tenant.ID, g.AccountID)
		if err != nil {
			return err
		}
		c.touched(acc)
		out = h.jitWire(c.tx, g, v)
		detail := fmt.Sprintf("account=%d name=%q was=%s reason=%q", acc.ID, acc.Name, was, g.Reason)
		if r.who.admin != nil {
			detail += fmt.Sprintf(" tech=%d role=%s note=%q", g.TechID, r.who.admin.Role, note)
		}
		return c.audit("jit.end", fmt.Sprintf("jit %d", g.ID), detail)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ---- admin side ----

// jitVisible says whether the calling admin sees (and may decide) the grants of tech: a Co-managed Manager only
// those of its organization's co-managed techs (techscope.go).
func jitVisible(r *request, v *view, tech int64) bool {
	t := v.techs[tech]
	return t != nil && mayManage(r, t)
}

func (h *Hub) adminJITList(r *request) (any, error) {
	status := wire.JITStatus(r.URL.Query().Get("status"))
	switch status {
	case "", wire.JITOpen, wire.JITPending, wire.JITApproved, wire.JITActive, wire.JITEnded, wire.JITRefused, wire.JITExpired:
	default:
		return nil, wire.Invalid("status", "must be open, pending, approved, active, ended, refused or expired")
	}
	q := store.JITQuery{Status: status, Limit: 1000}
	if status == wire.JITOpen {
		q = store.JITQuery{Open: true, Limit: 1000}
	}
	since, err := r.queryInt("since")
	if err != nil {
		return nil, err
	}
	until, err := h.waitDeadline(r)
	if err != nil {
		return nil, err
	}
	changed := true
	if since > 0 {
		release, err := h.longPoll(r) // flood.go
		if err != nil {
			return nil, err
		}
		_, changed = h.notify.Wait(r.Context(), r.tenant, since, until)
		release()
		if err := h.reauthorize(r, orgRead); err != nil { // the admin's access may have changed while held
			return nil, err
		}
	}
	h.expireJIT(r.Context(), r.tenant)
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	// The revision is read before the grants: a list never carries a revision newer than what it holds, or a
	// Console waiting from that revision would sleep through the change it missed.
	rev, _ := h.notify.Current(r.tenant)
	return read(h, r, func(tx store.Tx) (*wire.JITGrantsResponse, error) {
		gs, err := tx.JITGrants(r.tenant.ID, q)
		out := &wire.JITGrantsResponse{Revision: rev, Changed: changed, Grants: []wire.JITGrant{}}
		for i := range gs {
			if jitVisible(r, v, gs[i].TechID) {
				out.Grants = append(out.Grants, h.jitWire(tx, &gs[i], v))
			}
		}
		return out, err
	})
}

// adminJITAction approves or refuses a pending grant. An Auditor never gets here (orgManage); a Co-managed
// Manager decides only for its organization's techs, and another organization's request answers not found.
func (h *Hub) adminJITAction(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	action := r.PathValue("action")
	if action != wire.ActionJITApprove && action != wire.ActionJITRefuse && action != wire.ActionJITEnd {
		return nil, wire.Invalid("action", "must be %q, %q or %q", wire.ActionJITApprove, wire.ActionJITRefuse, wire.ActionJITEnd)
	}
	var req wire.JITDecision
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	note := req.Note
	if note != "" {
		if err := wire.ValidJITReason(note); err != nil {
			return nil, wire.Invalid("note", "%v", err)
		}
	}
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	if action == wire.ActionJITEnd { // revoke: the window closes now, as at its expiry
		return h.endJIT(r, id, note, func(g *store.JITGrant) error {
			if !jitVisible(r, v, g.TechID) {
				return &wire.Error{Code: wire.CodeNotFound, Field: "id", Message: fmt.Sprintf("jit request %d: not found", id)}
			}
			return nil
		})
	}
	var out wire.JITGrant
	var g *store.JITGrant
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		g, err = c.tx.JITGrant(r.tenant.ID, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !jitVisible(r, v, g.TechID)) {
			return &wire.Error{Code: wire.CodeNotFound, Field: "id", Message: fmt.Sprintf("jit request %d: not found", id)}
		}
		if err != nil {
			return err
		}
		if g.Status != wire.JITPending {
			return &wire.Error{Code: wire.CodeConflict, Field: "id", Message: fmt.Sprintf("jit request %d is %s, not pending", id, g.Status)}
		}
		acc, err := c.tx.Account(r.tenant.ID, g.AccountID)
		if err != nil {
			return err
		}
		g.DecidedBy, g.DecidedAt, g.Note = r.who.admin.Name, c.at, note
		detail := fmt.Sprintf("account=%d name=%q tech=%d role=%s reason=%q note=%q", acc.ID, acc.Name, g.TechID, r.who.admin.Role, g.Reason, note)
		if action == wire.ActionJITApprove {
			g.Status, g.ExpiresAt = wire.JITApproved, c.at.Add(time.Duration(g.DurationSeconds)*time.Second)
			detail += " expires=" + g.ExpiresAt.Format(time.RFC3339)
		} else {
			g.Status, g.EndedAt = wire.JITRefused, c.at
		}
		if err := c.tx.UpdateJITGrant(g); err != nil {
			return err
		}
		c.touched(acc)
		out = h.jitWire(c.tx, g, v)
		return c.audit("jit."+action, fmt.Sprintf("jit %d", g.ID), detail)
	})
	if err != nil {
		return nil, err
	}
	h.scheduleExpiry(r.tenant, g)
	return &out, nil
}

// ---- agent side and expiry ----

// jitConfirmed records what a confirmed version means for the account's grant: a version sealed to the tech inside
// a window makes the grant active (the agent enabled the account); a recovery-only one after a window is the
// rotation away from the tech, audited with the grant's reason.
func jitConfirmed(c *change, acc *store.Account, version int64) error {
	gs, err := c.tx.JITGrants(c.tenant.ID, store.JITQuery{AccountID: acc.ID, Limit: 1})
	if err != nil || len(gs) == 0 {
		return err
	}
	g := &gs[0]
	versions, err := c.tx.Versions(c.tenant.ID, acc.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(versions, func(v store.Version) bool { return v.Version == version })
	if i < 0 {
		return nil
	}
	target := fmt.Sprintf("jit %d", g.ID)
	switch {
	case !versions[i].RecoveryOnly && g.Status == wire.JITApproved && c.at.Before(g.ExpiresAt):
		g.Status, g.EnabledAt = wire.JITActive, c.at
		if err := c.tx.UpdateJITGrant(g); err != nil {
			return err
		}
		return c.audit("jit.enable", target, fmt.Sprintf("account=%d name=%q version=%d latency=%s reason=%q",
			acc.ID, acc.Name, version, c.at.Sub(g.DecidedAt).Round(time.Millisecond), g.Reason))
	case versions[i].RecoveryOnly && !g.Status.Open():
		return c.audit("jit.sealed-away", target, fmt.Sprintf("account=%d name=%q version=%d status=%s reason=%q",
			acc.ID, acc.Name, version, g.Status, g.Reason))
	}
	return nil
}

// expireJIT marks every window of tenant that ran out as expired, audited as the system's doing. Errors are
// logged: the agent enforces expiry on the target whatever the hub's bookkeeping says.
func (h *Hub) expireJIT(ctx context.Context, tenant *store.Tenant) {
	now := h.now()
	var due []store.JITGrant
	err := h.st.Read(ctx, func(tx store.Tx) error {
		gs, err := tx.JITGrants(tenant.ID, store.JITQuery{Open: true})
		for _, g := range gs {
			if g.Status != wire.JITPending && !now.Before(g.ExpiresAt) {
				due = append(due, g)
			}
		}
		return err
	})
	if err != nil || len(due) == 0 {
		if err != nil {
			h.log.Warn("read jit grants", "tenant", tenant.GUID, "err", err)
		}
		return
	}
	err = h.mutate(ctx, tenant, principal{kind: "system"}, func(c *change) error {
		for _, d := range due {
			g, err := c.tx.JITGrant(tenant.ID, d.ID)
			if err != nil {
				return err
			}
			if !g.Status.Open() || g.Status == wire.JITPending { // another request got there first
				continue
			}
			g.Status, g.EndedAt = wire.JITExpired, g.ExpiresAt
			if err := c.tx.UpdateJITGrant(g); err != nil {
				return err
			}
			acc, err := c.tx.Account(tenant.ID, g.AccountID)
			if err != nil {
				return err
			}
			c.touched(acc)
			if err := c.audit("jit.expire", fmt.Sprintf("jit %d", g.ID), fmt.Sprintf("account=%d name=%q expired=%s reason=%q",
				acc.ID, acc.Name, g.ExpiresAt.Format(time.RFC3339), g.Reason)); err != nil {
				return err
			}
		}
		if c.events == 0 {
			return errNoChange
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		h.log.Warn("expire jit grants", "tenant", tenant.GUID, "err", err)
	}
}

// scheduleExpiry marks g expired at its expiry even when nobody asks: the tech's list and the Console's queue then
// change at that moment. Lost on restart, which the reads make up for.
func (h *Hub) scheduleExpiry(tenant *store.Tenant, g *store.JITGrant) {
	if g == nil || g.ExpiresAt.IsZero() || g.Status == wire.JITPending {
		return
	}
	t := *tenant
	time.AfterFunc(g.ExpiresAt.Sub(h.now())+10*time.Millisecond, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.expireJIT(ctx, &t)
	})
}

// jitStageCheck refuses a version sealed to the tech for a JIT account outside its window: only the agent's
// sealing decides who can open it, and the hub must not hand the tech a password it should not hold.
func jitStageCheck(c *change, v *view, acc *store.Account, recoveryOnly bool) error {
	if recoveryOnly || !v.jitOf(acc.TechID, acc.AgentID).jit {
		return nil
	}
	gs, err := c.tx.JITGrants(c.tenant.ID, store.JITQuery{AccountID: acc.ID, Open: true, Limit: 1})
	if err != nil {
		return err
	}
	if len(gs) == 0 || !windowOpen(&gs[0], c.at) {
		return wire.Invalid("recoveryOnly", "account %d is outside its just-in-time window: seal to the recovery recipient only", acc.ID)
	}
	return nil
}

// openGrants returns the open grants of agent's accounts by account ID.
func (h *Hub) openGrants(ctx context.Context, tenant *store.Tenant, agent int64) (map[int64]*store.JITGrant, error) {
	out := map[int64]*store.JITGrant{}
	err := h.st.Read(ctx, func(tx store.Tx) error {
		gs, err := tx.JITGrants(tenant.ID, store.JITQuery{AgentID: agent, Open: true})
		for i := range gs {
			out[gs[i].AccountID] = &gs[i]
		}
		return err
	})
	return out, err
}

// jitPlan turns a JIT account's plan entry into what its window says. lv is the account's latest version.
func jitPlan(pa *wire.PlanAccount, g *store.JITGrant, lv *store.Version, now time.Time) {
	open := windowOpen(g, now)
	pa.JIT = &wire.PlanJIT{Enabled: open}
	if g != nil {
		pa.JIT.GrantID = g.ID
	}
	if open {
		pa.JIT.ExpiresAt = g.ExpiresAt
	} else {
		// No rights, and nobody but the recovery recipient may open the next password.
		pa.Groups, pa.Recipients = []string{}, []string{}
	}
	if lv != nil && lv.State == wire.VersionStaged {
		return // due already rotates afresh (unconfirmed-stage-recovery), sealed as the window now says
	}
	// A failed latest version tells nothing about the sealing of the one the target holds: rotate again.
	unknown := lv != nil && lv.State == wire.VersionFailed
	switch {
	case open && (lv == nil || lv.RecoveryOnly || unknown):
		pa.Due, pa.DueReason = true, wire.DueJITStart
	case !open && lv != nil && (!lv.RecoveryOnly || unknown):
		pa.Due, pa.DueReason = true, wire.DueJITEnd
	}
}

// jitDecorate fills the JIT fields of a tech's credential entries: the rule of each JIT account and its latest
// grant.
func (h *Hub) jitDecorate(ctx context.Context, tenant *store.Tenant, v *view, tech int64, out *wire.CredentialsResponse) error {
	if v.jit == nil || len(out.Credentials) == 0 {
		return nil
	}
	return h.st.Read(ctx, func(tx store.Tx) error {
		gs, err := tx.JITGrants(tenant.ID, store.JITQuery{TechID: tech})
		if err != nil {
			return err
		}
		latest := map[int64]*store.JITGrant{}
		for i := range gs { // newest first
			if latest[gs[i].AccountID] == nil {
				latest[gs[i].AccountID] = &gs[i]
			}
		}
		for i := range out.Credentials {
			c := &out.Credentials[i]
			rule := v.jitOf(tech, c.AgentID)
			if !rule.jit {
				continue
			}
			c.JIT, c.JITMaxSeconds, c.JITApproval = true, int64(rule.max/time.Second), rule.approval
			if g := latest[c.AccountID]; g != nil {
				w := h.jitWire(tx, g, v)
				w.TAP = tapWire(g, h.now())
				c.JITGrant = &w
			}
		}
		return nil
	})
}

// agentJITTAP keeps the sealed Temporary Access Pass the agent issued for an open window of one of its accounts
// (wire.PathAgentJITTAP). The hub checks only that the window is open and the envelope looks like an age file; it
// cannot open it, and the tech's device checks the agent's signature. The tech's list wakes, as for a new version.
func (h *Hub) agentJITTAP(r *request) (any, error) {
	var req wire.JITTAPRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	switch {
	case req.GrantID <= 0:
		return nil, wire.Invalid("grantId", "must be positive")
	case len(req.Envelope) == 0 || len(req.Envelope) > maxEnvelope:
		return nil, wire.Invalid("envelope", "must hold 1 to %d bytes", maxEnvelope)
	case !bytes.HasPrefix(req.Envelope, ageHeader):
		return nil, wire.Invalid("envelope", "must be a binary age file")
	case len(req.Signature) != 0 && len(req.Signature) != ed25519.SignatureSize:
		return nil, wire.Invalid("signature", "must be an Ed25519 signature of %d bytes", ed25519.SignatureSize)
	case req.ExpiresAt.IsZero():
		return nil, wire.Invalid("expiresAt", "is required")
	}
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		acc, err := c.agentAccount(r, req.AccountID)
		if err != nil {
			return err
		}
		g, err := c.tx.JITGrant(r.tenant.ID, req.GrantID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && g.AccountID != acc.ID) {
			return wire.Invalid("grantId", "no such just-in-time window of account %d", acc.ID)
		}
		if err != nil {
			return err
		}
		if !windowOpen(g, c.at) {
			return &wire.Error{Code: wire.CodeConflict, Field: "grantId",
				Message: fmt.Sprintf("the just-in-time window %d of account %q is not open", g.ID, acc.Name)}
		}
		if !req.ExpiresAt.After(c.at) {
			return wire.Invalid("expiresAt", "must be after now")
		}
		tap := &store.JITTAP{Envelope: req.Envelope, Signature: req.Signature, IssuedAt: c.at, ExpiresAt: req.ExpiresAt}
		if err := c.tx.SetJITTAP(r.tenant.ID, g.ID, tap); err != nil {
			return err
		}
		c.touched(acc)
		return c.audit("jit.tap", fmt.Sprintf("jit %d", g.ID), fmt.Sprintf("account=%d name=%q expires=%s signed=%t",
			acc.ID, acc.Name, req.ExpiresAt.UTC().Format(time.RFC3339), len(req.Signature) > 0))
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// tapWire is the window's sealed pass as the tech's device receives it: only while the window is open.
func tapWire(g *store.JITGrant, now time.Time) *wire.JITTAP {
	if g.TAP == nil || !windowOpen(g, now) {
		return nil
	}
	return &wire.JITTAP{Envelope: g.TAP.Envelope, Signature: g.TAP.Signature, IssuedAt: g.TAP.IssuedAt, ExpiresAt: g.TAP.ExpiresAt}
}
