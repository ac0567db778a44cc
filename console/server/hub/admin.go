package hub

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/entitle"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

func adminWire(a *store.Admin) *wire.Admin {
	return &wire.Admin{ID: a.ID, Name: a.Name, Role: a.Role, KeyID: a.KeyID, CreatedAt: a.CreatedAt, Organization: a.Organization,
		Status: a.Status, Fingerprint: adminFingerprint(a)}
}

func techWire(t *store.Tech) wire.Tech {
	return wire.Tech{ID: t.ID, Username: t.Username, DisplayName: t.DisplayName, Email: t.Email, Organization: t.Organization,
		CoManaged: t.CoManaged, Status: t.Status, PublicKey: t.PublicKey, Fingerprint: t.Fingerprint, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func agentWire(a *store.Agent) wire.Agent {
	out := wire.Agent{ID: a.ID, Name: a.Name, Driver: a.Driver, Status: a.Status, PublicKey: a.PublicKey, Version: a.Version,
		LastSeen: a.LastSeen, CreatedAt: a.CreatedAt}
	if pk, err := seal.ParsePublicKey(a.PublicKey); err == nil {
		out.Fingerprint = pk.Fingerprint().String()
	}
	return out
}

func groupWire(g *store.Group) wire.Group {
	m := g.Members
	if m == nil {
		m = []int64{}
	}
	return wire.Group{ID: g.ID, Name: g.Name, Builtin: g.Builtin, Members: m, IntervalSeconds: g.IntervalSeconds,
		RotateAfterUseSeconds: g.RotateAfterUseSeconds}
}

func rightWire(r *store.Right) wire.Right {
	return wire.Right{ID: r.ID, Name: r.Name, Builtin: r.Builtin, Targets: r.Targets}
}

func tripletWire(t *store.Triplet) wire.Triplet {
	return wire.Triplet{ID: t.ID, TechGroupID: t.TechGroupID, AgentGroupID: t.AgentGroupID, RightID: t.RightID, Builtin: t.Builtin,
		Mode: cmp.Or(t.Mode, wire.TripletStanding), MaxDurationSeconds: t.MaxDurationSeconds, ApprovalRequired: t.ApprovalRequired}
}

// read runs fn in a read transaction and returns its result.
func read[T any](h *Hub, r *request, fn func(tx store.Tx) (T, error)) (T, error) {
	var out T
	err := h.st.Read(r.Context(), func(tx store.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

func (h *Hub) adminClaim(r *request) (any, error) {
	var req wire.ClaimRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var errs []error
	pk, err := r.checkKey("publicKey", req.PublicKey)
	errs = append(errs, err)
	name, err := text("name", req.Name, true, 100)
	errs = append(errs, err)
	if req.Token == "" || len(req.Token) > 100 {
		errs = append(errs, wire.Invalid("token", "is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var a *store.Admin
	err = h.mutate(r.Context(), r.tenant, principal{kind: "admin"}, func(c *change) error {
		tok, err := c.tx.UseToken(r.tenant.ID, store.TokenClaim, hashToken(req.Token), c.at)
		if err != nil {
			return err
		}
		status, err := claimStatus(c.tx, r.tenant.ID)
		if err != nil {
			return err
		}
		a = &store.Admin{TenantID: r.tenant.ID, Name: name, Role: tok.Role, PublicKey: pk.String(), KeyID: pk.ID(), CreatedAt: c.at,
			Organization: tok.Organization, Status: status}
		if err := c.tx.CreateAdmin(a); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "publicKey", Message: "this key is already an admin"}
			}
			return err
		}
		c.actor.id = a.ID
		c.bump = false
		return c.audit("admin.claim", fmt.Sprintf("admin %d", a.ID), fmt.Sprintf("name=%q role=%s organization=%q status=%s key=%s", a.Name, a.Role, a.Organization, a.Status, a.KeyID))
	})
	if err != nil {
		return nil, err
	}
	return &wire.ClaimResponse{Admin: *adminWire(a), ClientGUID: r.tenant.GUID}, nil
}

func tenantWire(t *store.Tenant) *wire.Tenant {
	return &wire.Tenant{ClientGUID: t.GUID, Name: t.Name, Abbrev: t.Abbrev, Recovery: t.Recovery, Policy: t.Policy,
		Revision: t.Revision, CreatedAt: t.CreatedAt}
}

func (h *Hub) adminTenant(r *request) (any, error) { return tenantWire(r.tenant), nil }

func checkPolicy(p wire.Policy) error {
	var errs []error
	if p.IntervalSeconds < 60 || p.IntervalSeconds > 366*24*3600 {
		errs = append(errs, wire.Invalid("intervalSeconds", "must be from 60 seconds to a year"))
	}
	if p.Length < rotation.MinLength || p.Length > rotation.MaxLength {
		errs = append(errs, wire.Invalid("length", "must be from %d to %d", rotation.MinLength, rotation.MaxLength))
	}
	if p.Digits < 0 || p.Symbols < 0 || p.Digits+p.Symbols > p.Length {
		errs = append(errs, wire.Invalid("digits", "digits and symbols must be non-negative and fit in the length"))
	} else if p.Length >= rotation.MinLength && p.Length <= rotation.MaxLength {
		// The agents generate with the default symbol set, which a wire policy cannot change.
		gen := rotation.Policy{Length: p.Length, Digits: p.Digits, Symbols: p.Symbols, NoUpper: p.NoUpper, NoAmbiguous: p.NoAmbiguous}
		if err := gen.CheckEntropy(); err != nil {
			errs = append(errs, wire.Invalid("length", "%v", err))
		}
	}
	if p.RotateAfterUseSeconds < 0 || p.RotateAfterUseSeconds > int64(wire.MaxRotateAfterUse/time.Second) {
		errs = append(errs, wire.Invalid("rotateAfterUseSeconds", "must be from 0 (off) to 30 days"))
	}
	if p.HistoryDepth < 1 || p.HistoryDepth > wire.MaxHistoryDepth {
		errs = append(errs, wire.Invalid("historyDepth", "must be from 1 to %d", wire.MaxHistoryDepth))
	}
	if err := entitle.CheckFormat(p.NamingFormat); err != nil {
		errs = append(errs, wire.Invalid("namingFormat", "%v", err))
	}
	return errors.Join(errs...)
}

func (h *Hub) adminPolicy(r *request) (any, error) {
	// Fields the body leaves out keep their current values: a Console that predates a policy field must not reset it.
	req := wire.PolicyRequest{Policy: r.tenant.Policy}
	req.HistoryDepth = req.History()
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	p := req.Policy
	if err := checkPolicy(p); err != nil {
		return nil, err
	}
	// A new format without a fixed part makes account names equal the usernames: a tech named like an existing
	// account of a target would meet it. It needs the admin's explicit confirmation.
	noFixedPart := p.NamingFormat != r.tenant.Policy.NamingFormat && !entitle.HasFixedPart(p.NamingFormat)
	if noFixedPart && !req.ConfirmNoFixedPart {
		return nil, wire.Invalid("namingFormat", "format %q has no fixed part (no literal character and no {abbrev}): account names would be the bare usernames "+
			"and could meet existing accounts of the targets; add a prefix, a suffix or {abbrev}, or confirm with confirmNoFixedPart", p.NamingFormat)
	}
	t := *r.tenant
	t.Policy = p
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		if err := c.tx.UpdateTenant(&t); err != nil {
			return err
		}
		c.graph = true
		c.groupsOnly = true
		if noFixedPart {
			if err := c.audit("policy.confirm-no-fixed-part", "tenant "+t.GUID, fmt.Sprintf("namingFormat=%q was=%q", p.NamingFormat, r.tenant.Policy.NamingFormat)); err != nil {
				return err
			}
		}
		detail, _ := json.Marshal(p)
		return c.audit("policy.update", "tenant "+t.GUID, string(detail))
	})
	if err != nil {
		return nil, err
	}
	return tenantWire(&t), nil
}

func (h *Hub) adminAdmins(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.AdminsResponse, error) {
		as, err := tx.Admins(r.tenant.ID)
		out := &wire.AdminsResponse{Admins: []wire.Admin{}}
		for i := range as {
			out.Admins = append(out.Admins, *adminWire(&as[i]))
		}
		return out, err
	})
}

// tokenTTL reads a TokenRequest: its lifetime and, for an enrollment token, whether its agent is approved on use.
func (r *request) tokenTTL(kind string) (time.Duration, bool, error) {
	var req wire.TokenRequest
	if err := r.decode(&req); err != nil {
		return 0, false, err
	}
	var errs []error
	ttl := time.Duration(req.TTLSeconds) * time.Second
	switch {
	case req.TTLSeconds == 0:
		ttl = 24 * time.Hour
	case req.TTLSeconds < 60 || req.TTLSeconds > 30*24*3600:
		errs = append(errs, wire.Invalid("ttlSeconds", "must be from 60 seconds to 30 days"))
	}
	if req.ApproveOnUse && kind != store.TokenEnroll {
		errs = append(errs, wire.Invalid("approveOnUse", "applies to agent enrollment tokens only"))
	}
	return ttl, req.ApproveOnUse, errors.Join(errs...)
}

func (h *Hub) newTokenFor(r *request, kind string, role wire.Role) (any, error) {
	ttl, approve, err := r.tokenTTL(kind)
	if err != nil {
		return nil, err
	}
	token := newToken()
	var exp time.Time
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		exp = c.at.Add(ttl)
		t := &store.Token{TenantID: r.tenant.ID, Kind: kind, Role: role, Hash: hashToken(token), ExpiresAt: exp, CreatedAt: c.at,
			ApproveOnUse: approve}
		if err := c.tx.CreateToken(t); err != nil {
			return err
		}
		detail := fmt.Sprintf("kind=%s role=%s expires=%s", kind, role, exp.Format(time.RFC3339))
		if kind == store.TokenEnroll {
			detail += fmt.Sprintf(" approveOnUse=%t", approve)
		}
		return c.audit("token.create", fmt.Sprintf("token %d", t.ID), detail)
	})
	if err != nil {
		return nil, err
	}
	return &wire.TokenResponse{Token: token, ExpiresAt: exp, ApproveOnUse: approve}, nil
}

func (h *Hub) adminClaimToken(r *request) (any, error) {
	return h.newTokenFor(r, store.TokenClaim, wire.RoleAdmin)
}
func (h *Hub) adminEnrollToken(r *request) (any, error) {
	return h.newTokenFor(r, store.TokenEnroll, "")
}

func (h *Hub) adminTechs(r *request) (any, error) {
	status := wire.TechStatus(r.URL.Query().Get("status"))
	switch status {
	case "", wire.TechPending, wire.TechActive, wire.TechDisabled, wire.TechRejected:
	default:
		return nil, wire.Invalid("status", "must be pending, active, disabled or rejected")
	}
	var scope *problemScope
	out, err := read(h, r, func(tx store.Tx) (*wire.TechsResponse, error) {
		ts, err := tx.Techs(r.tenant.ID, status)
		ts = r.visibleTechs(ts) // a Co-managed Manager sees its organization's techs only
		out := &wire.TechsResponse{Techs: []wire.Tech{}}
		for i := range ts {
			out.Techs = append(out.Techs, techWire(&ts[i]))
		}
		if err == nil { // a reserved username's registration: what the device typed, and the groups it will join
			err = pendingReservations(tx, r.tenant.ID, out.Techs)
		}
		if err == nil { // the registration queue, whose limit refuses devices when it is full (flood.go)
			out.Registrations, err = h.registrations(tx, r.tenant.ID)
		}
		if err == nil {
			scope, err = problemScopeOf(r, tx) // and its problems name its organization's domains and techs only
		}
		return out, err
	})
	if err != nil {
		return nil, err
	}
	// The entitlements each active tech holds that cannot become an account (accounts.go).
	var active []int64
	for _, t := range out.Techs {
		if t.Status == wire.TechActive {
			active = append(active, t.ID)
		}
	}
	if len(active) > 0 {
		v, err := h.view(r.Context(), r.tenant)
		if err != nil {
			return nil, err
		}
		probs := techProblems(v, r.tenant, active, scope)
		for i := range out.Techs {
			out.Techs[i].Problems = probs[out.Techs[i].ID]
		}
	}
	return out, nil
}

// techTransitions lists, per action, the states it applies to and the state it leads to.
var techTransitions = map[string]struct {
	from []wire.TechStatus
	to   wire.TechStatus
}{
	wire.ActionApprove: {[]wire.TechStatus{wire.TechPending, wire.TechRejected}, wire.TechActive},
	wire.ActionReject:  {[]wire.TechStatus{wire.TechPending}, wire.TechRejected},
	wire.ActionDisable: {[]wire.TechStatus{wire.TechActive, wire.TechPending}, wire.TechDisabled},
	wire.ActionEnable:  {[]wire.TechStatus{wire.TechDisabled}, wire.TechActive},
}

func (h *Hub) adminTechAction(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	action := r.PathValue("action")
	tr, ok := techTransitions[action]
	if !ok {
		return nil, wire.Invalid("action", "must be approve, reject, disable or enable")
	}
	var place wire.ApproveRequest // where an approved tech belongs (placement.go); the other actions read no body
	if action == wire.ActionApprove {
		if err := r.decodeOptional(&place); err != nil {
			return nil, err
		}
	}
	var t *store.Tech
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if t, err = c.tx.Tech(r.tenant.ID, id); err != nil {
			return err
		}
		if action == wire.ActionApprove {
			if err := placeTech(c, r, t, place); err != nil {
				return err
			}
		}
		if err := techScope(c, r, t, action); err != nil { // roles and the co-management switch (roles.go)
			return err
		}
		if !slices.Contains(tr.from, t.Status) {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("cannot %s a tech who is %s", action, t.Status)}
		}
		from := t.Status
		t.Status, t.UpdatedAt = tr.to, c.at
		if err := c.tx.UpdateTech(t); err != nil {
			return err
		}
		if action == wire.ActionApprove {
			if err := applyReservation(c, t); err != nil { // its groups, joined only now (csvimport.go)
				return err
			}
		}
		c.graph = true
		return c.audit("tech."+action, fmt.Sprintf("tech %d", t.ID),
			fmt.Sprintf("username=%q from=%s to=%s fingerprint=%q organization=%q", t.Username, from, t.Status, t.Fingerprint, t.Organization))
	})
	if err != nil {
		return nil, err
	}
	out := techWire(t)
	if t.Status == wire.TechActive {
		// Said at once, and audited: an approved tech whose entitlements cannot all become accounts (accounts.go).
		v, err := h.view(r.Context(), r.tenant)
		if err != nil {
			return nil, err
		}
		scope, err := read(h, r, func(tx store.Tx) (*problemScope, error) { return problemScopeOf(r, tx) })
		if err != nil {
			return nil, err
		}
		out.Problems = techProblems(v, r.tenant, []int64{t.ID}, scope)[t.ID]
		if len(out.Problems) > 0 {
			err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
				c.bump = false
				return c.audit("account.problem", fmt.Sprintf("tech %d", t.ID),
					fmt.Sprintf("username=%q on=%s problems=%q", t.Username, action, strings.Join(out.Problems, "; ")))
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// ---- agents, accounts, rotation ----

func (h *Hub) adminAgents(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.AgentsResponse, error) {
		as, err := tx.Agents(r.tenant.ID)
		if err == nil {
			as, err = r.visibleAgents(tx, as) // a Co-managed Manager sees its organization's domains only
		}
		out := &wire.AgentsResponse{Agents: []wire.Agent{}}
		for i := range as {
			out.Agents = append(out.Agents, agentWire(&as[i]))
		}
		return out, err
	})
}

// agentTransitions lists, per action, the states it applies to and the state it leads to. Only approval makes a
// pending agent active (and a member of AllDomains); a rejected agent stays rejected: it enrolls again with a new
// token and key if it was a mistake.
var agentTransitions = map[string]struct {
	from wire.AgentStatus
	to   wire.AgentStatus
}{
	wire.ActionApprove: {wire.AgentPending, wire.AgentActive},
	wire.ActionReject:  {wire.AgentPending, wire.AgentRejected},
	wire.ActionDisable: {wire.AgentActive, wire.AgentDisabled},
	wire.ActionEnable:  {wire.AgentDisabled, wire.AgentActive},
}

func (h *Hub) adminAgentAction(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	action := r.PathValue("action")
	tr, ok := agentTransitions[action]
	if !ok {
		return nil, wire.Invalid("action", "must be approve, reject, disable or enable")
	}
	var a *store.Agent
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if a, err = c.tx.Agent(r.tenant.ID, id); err != nil {
			return err
		}
		switch {
		case a.Status == tr.to:
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("agent is already %s", tr.to)}
		case a.Status != tr.from:
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("agent %q is %s: %s applies to a %s agent", a.Name, a.Status, action, tr.from)}
		}
		a.Status = tr.to
		if err := c.tx.UpdateAgent(a); err != nil {
			return err
		}
		detail := fmt.Sprintf("name=%q", a.Name)
		if action == wire.ActionApprove || action == wire.ActionReject {
			detail += fmt.Sprintf(" key=%s fingerprint=%q", a.KeyID, agentWire(a).Fingerprint)
		}
		if action == wire.ActionApprove {
			if err := joinAllDomains(c, a); err != nil {
				return err
			}
		}
		c.graph = action != wire.ActionReject // a rejected agent was never in the view's entitlements
		return c.audit("agent."+action, fmt.Sprintf("agent %d", a.ID), detail)
	})
	if err != nil {
		return nil, err
	}
	return agentWire(a), nil
}

func (h *Hub) adminAccounts(r *request) (any, error) {
	tech, err := r.queryInt("tech")
	if err != nil {
		return nil, err
	}
	agent, err := r.queryInt("agent")
	if err != nil {
		return nil, err
	}
	if (tech == 0) == (agent == 0) {
		return nil, wire.Invalid("tech", "give exactly one of tech or agent")
	}
	return read(h, r, func(tx store.Tx) (*wire.AccountsResponse, error) {
		var as []store.Account
		var err error
		if tech != 0 {
			as, err = tx.AccountsByTech(r.tenant.ID, tech)
		} else {
			as, err = tx.AccountsByAgent(r.tenant.ID, agent)
		}
		out := &wire.AccountsResponse{Accounts: []wire.Account{}}
		for i := range as {
			out.Accounts = append(out.Accounts, accountWire(&as[i]))
		}
		return out, err
	})
}

func (h *Hub) adminRotate(r *request) (any, error) {
	var req wire.RotateRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	if req.TechID < 0 || req.AgentID < 0 || req.AccountID < 0 {
		return nil, wire.Invalid("techId", "IDs must be positive")
	}
	var n int
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if n, err = c.tx.RequestRotation(r.tenant.ID, req.TechID, req.AgentID, req.AccountID, c.at); err != nil {
			return err
		}
		c.concerns() // the agents act on it; a tech's list changes only when they stage
		return c.audit("rotate.now", fmt.Sprintf("tech=%d agent=%d account=%d", req.TechID, req.AgentID, req.AccountID), fmt.Sprintf("accounts=%d", n))
	})
	if err != nil {
		return nil, err
	}
	return &wire.RotateResponse{Accounts: n}, nil
}

func (h *Hub) adminAudit(r *request) (any, error) {
	q := r.URL.Query()
	aq := wire.AuditQuery{Action: q.Get("action"), ActorKind: q.Get("actorKind")}
	var err error
	if aq.ActorID, err = r.queryInt("actorId"); err != nil {
		return nil, err
	}
	if aq.AfterSeq, err = r.queryInt("after"); err != nil {
		return nil, err
	}
	limit, err := r.queryInt("limit")
	if err != nil {
		return nil, err
	}
	aq.Limit = int(min(limit, 1000))
	for name, dst := range map[string]*time.Time{"since": &aq.Since, "until": &aq.Until} {
		if s := q.Get(name); s != "" {
			if *dst, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return nil, wire.Invalid(name, "must be an RFC 3339 time")
			}
		}
	}
	return read(h, r, func(tx store.Tx) (*wire.AuditResponse, error) {
		es, err := tx.AuditEvents(r.tenant.ID, aq)
		out := &wire.AuditResponse{Events: []wire.AuditEvent{}}
		for _, e := range es {
			out.Events = append(out.Events, wire.AuditEvent{Seq: e.Seq, At: e.At, ActorKind: e.ActorKind, ActorID: e.ActorID,
				Action: e.Action, Target: e.Target, Detail: e.Detail, Hash: e.Hash})
		}
		return out, err
	})
}

func (h *Hub) adminAuditVerify(r *request) (any, error) {
	// The caller's tenant's chain only: whether another tenant's chain holds is none of its admins' business
	// (the hub's operator checks them all with watchword-hub verify-audit).
	n, err := h.st.VerifyAuditOf(r.Context(), r.tenant.ID)
	if errors.Is(err, store.ErrAuditBroken) {
		return &wire.VerifyResponse{OK: false, Events: n, Error: "the audit chain is broken; run watchword-hub verify-audit on the hub"}, nil
	}
	if err != nil {
		return nil, err
	}
	return &wire.VerifyResponse{OK: true, Events: n}, nil
}

func (h *Hub) adminAccess(r *request) (any, error) {
	tech, err := r.queryInt("tech")
	if err != nil {
		return nil, err
	}
	agent, err := r.queryInt("agent")
	if err != nil {
		return nil, err
	}
	if (tech == 0) == (agent == 0) {
		return nil, wire.Invalid("tech", "give exactly one of tech or agent")
	}
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	var grants []entitle.Grant
	if tech != 0 {
		if v.techs[tech] == nil {
			// A registration does not rebuild the view (flood.go): a tech it lacks may be pending, with no access.
			if err := h.st.Read(r.Context(), func(tx store.Tx) error { _, err := tx.Tech(r.tenant.ID, tech); return err }); err != nil {
				return nil, wire.Invalid("tech", "no such tech")
			}
		}
		grants = v.idx.ForTech(tech)
	} else {
		if v.agents[agent] == nil {
			return nil, wire.Invalid("agent", "no such agent")
		}
		grants = v.idx.ForAgent(agent)
	}
	naming := entitle.Naming{Format: r.tenant.Policy.NamingFormat, Abbrev: r.tenant.Abbrev}
	out := &wire.AccessResponse{Access: []wire.Access{}}
	for _, g := range grants {
		a := v.agents[g.Agent.ID]
		names, _ := v.rightNames(g.Rights, a.Driver)
		out.Access = append(out.Access, wire.Access{TechID: g.Tech.ID, Username: g.Tech.Username, AgentID: a.ID, AgentName: a.Name,
			AccountName: naming.Name(g.Tech.Username), Rights: names})
	}
	return out, nil
}
