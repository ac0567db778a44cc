package hub

// Agents: an agent's enrolment, plan, staging, confirmation, failures and account reports; an admin's list of
// agents and its actions on them.

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// maxEnvelope bounds one sealed password; a few recipients of hybrid age fit easily.
const maxEnvelope = 64 << 10

// ageHeader starts every binary age file. The hub refuses anything else, which also keeps an agent bug from
// staging a plaintext password.
var ageHeader = []byte("age-encryption.org/v1\n")

// errAgentPending answers every agent route of an agent that waits for an admin's approval: no plan, no stage.
var errAgentPending = &wire.Error{Code: wire.CodePending,
	Message: "agent is pending: an admin must approve it in the Console after comparing the key fingerprint watchword-agent enroll printed"}

var drivers = map[string]bool{wire.DriverAD: true, wire.DriverLinux: true, wire.DriverLDAP: true, wire.DriverEntra: true}

func (h *Hub) agentEnroll(r *request) (any, error) {
	var req wire.EnrollRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var errs []error
	pk, err := r.checkKey("publicKey", req.PublicKey)
	errs = append(errs, err)
	if req.Token == "" || len(req.Token) > 100 {
		errs = append(errs, wire.Invalid("token", "is required"))
	}
	name, err := text("name", req.Name, true, 253)
	errs = append(errs, err)
	if !drivers[req.Driver] {
		errs = append(errs, wire.Invalid("driver", "must be one of ad, linux, ldap"))
	}
	version, err := text("version", req.Version, false, 64)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	now := h.now().UTC()
	a := &store.Agent{TenantID: r.tenant.ID, Name: name, Driver: req.Driver, Status: wire.AgentPending, PublicKey: pk.String(),
		KeyID: pk.ID(), Version: version, LastSeen: now, CreatedAt: now}
	err = h.mutate(r.Context(), r.tenant, principal{kind: "agent"}, func(c *change) error {
		tok, err := c.tx.UseToken(r.tenant.ID, store.TokenEnroll, hashToken(req.Token), now)
		if err != nil {
			return err
		}
		if tok.ApproveOnUse {
			a.Status = wire.AgentActive
		}
		if err := c.tx.CreateAgent(a); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "publicKey", Message: "this key is already enrolled"}
			}
			return err
		}
		c.actor.id = a.ID
		if a.Status == wire.AgentActive {
			if err := joinAllDomains(c, a); err != nil {
				return err
			}
			c.graph = true
		}
		// A pending agent is in no group and changes no entitlement until an admin approves it (adminAgentAction);
		// the bump shows it in the admins' lists.
		return c.audit("agent.enroll", fmt.Sprintf("agent %d", a.ID), fmt.Sprintf("name=%q driver=%s key=%s fingerprint=%q status=%s token=%d",
			a.Name, a.Driver, a.KeyID, pk.Fingerprint().String(), a.Status, tok.ID))
	})
	if err != nil {
		return nil, err
	}
	h.log.Info("agent enrolled", "tenant", r.tenant.GUID, "agent", a.ID, "status", a.Status)
	return &wire.EnrollResponse{AgentID: a.ID, ClientGUID: r.tenant.GUID, Status: a.Status, Fingerprint: pk.Fingerprint().String()}, nil
}

// joinAllDomains adds an agent that just became active to the built-in AllDomains AgentGroup.
func joinAllDomains(c *change, a *store.Agent) error {
	groups, err := c.tx.Groups(c.tenant.ID, store.KindAgent)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if g.Builtin && g.Name == wire.AllDomains {
			return c.tx.AddMembers(c.tenant.ID, g.ID, []int64{a.ID})
		}
	}
	return nil
}

// touch records that the agent was seen, at most once a minute. It is bookkeeping, not a change of state worth
// an audit event.
func (h *Hub) touch(r *request) {
	a := *r.who.agent
	now := h.now().UTC()
	if now.Sub(a.LastSeen) < time.Minute {
		return
	}
	a.LastSeen = now
	if err := h.st.Write(r.Context(), func(tx store.Tx) error { return tx.UpdateAgent(&a) }); err != nil {
		h.log.Warn("record agent last seen", "agent", a.ID, "err", err)
	}
}

func anyDue(p *wire.Plan) bool {
	for _, a := range p.Accounts {
		if a.Due {
			return true
		}
	}
	return len(p.Disable) > 0
}

func (h *Hub) agentPlan(r *request) (any, error) {
	since, err := r.queryInt("since")
	if err != nil {
		return nil, err
	}
	until, err := h.waitDeadline(r)
	if err != nil {
		return nil, err
	}
	h.touch(r)
	p, err := h.plan(r.Context(), r.tenant, r.who.agent)
	if err != nil {
		return nil, err
	}
	if since == 0 || p.Revision > since || anyDue(p) {
		p.Changed = true
		return p, nil
	}
	// Nothing to do: hold the poll until the tenant changes or the next rotation falls due.
	if !p.NextDueAt.IsZero() && p.NextDueAt.Before(until) {
		until = p.NextDueAt
	}
	release, err := h.longPoll(r) // flood.go
	if err != nil {
		return nil, err
	}
	defer release()
	rev, changed := h.notify.Wait(r.Context(), r.tenant, since, until)
	if r.Context().Err() != nil { // shutting down or the agent hung up: answer with what we have
		p.Revision = since
		return p, nil
	}
	if !changed && !(p.NextDueAt.IsZero() || h.now().Before(p.NextDueAt)) {
		changed = true
	}
	if !changed {
		p.Revision = rev
		return p, nil
	}
	t := *r.tenant
	err = h.st.Read(r.Context(), func(tx store.Tx) error {
		fresh, err := tx.TenantByID(t.ID)
		if err == nil {
			t = *fresh
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if p, err = h.plan(r.Context(), &t, r.who.agent); err != nil {
		return nil, err
	}
	p.Changed = true
	return p, nil
}

// agentAccount loads an account of the calling agent; another agent's account does not exist for it.
func (c *change) agentAccount(r *request, id int64) (*store.Account, error) {
	acc, err := c.tx.Account(r.tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && acc.AgentID != r.who.id) {
		return nil, wire.Invalid("accountId", "no such account on this agent")
	}
	return acc, err
}

func (h *Hub) agentStage(r *request) (any, error) {
	var req wire.StageRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	switch {
	case req.Version <= 0:
		return nil, wire.Invalid("version", "must be positive")
	case len(req.Envelope) == 0 || len(req.Envelope) > maxEnvelope:
		return nil, wire.Invalid("envelope", "must hold 1 to %d bytes", maxEnvelope)
	case !bytes.HasPrefix(req.Envelope, ageHeader):
		return nil, wire.Invalid("envelope", "must be a binary age file")
	case len(req.Signature) != 0 && len(req.Signature) != ed25519.SignatureSize:
		// The hub does not verify it (a TechClient must not trust the hub to); it only keeps junk out.
		return nil, wire.Invalid("signature", "must be an Ed25519 signature of %d bytes", ed25519.SignatureSize)
	}
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		acc, err := c.agentAccount(r, req.AccountID)
		if err != nil {
			return err
		}
		if err := jitStageCheck(c, v, acc, req.RecoveryOnly); err != nil { // jit.go
			return err
		}
		// A failed account waits for an admin (accounts.go). Closing a JIT window still rotates it away.
		if acc.State == wire.AccountFailed && !req.RecoveryOnly {
			return &wire.Error{Code: wire.CodeConflict, Field: "accountId",
				Message: fmt.Sprintf("account %q failed and waits for an admin to retry or adopt it", acc.Name)}
		}
		if req.Version <= acc.CurrentVersion {
			return wire.Invalid("version", "must exceed the current version %d", acc.CurrentVersion)
		}
		if err := c.tx.StageVersion(r.tenant.ID, &store.Version{AccountID: acc.ID, Version: req.Version, Envelope: req.Envelope, StagedAt: c.at, RecoveryOnly: req.RecoveryOnly, Signature: req.Signature}); err != nil {
			return err
		}
		c.touched(acc)
		return c.audit("version.stage", fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("version=%d name=%q recoveryOnly=%t", req.Version, acc.Name, req.RecoveryOnly))
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *Hub) agentConfirm(r *request) (any, error) {
	var req wire.ConfirmRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		acc, err := c.agentAccount(r, req.AccountID)
		if err != nil {
			return err
		}
		if err := c.tx.ConfirmVersion(r.tenant.ID, acc.ID, req.Version, c.at); err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "version", Message: fmt.Sprintf("version %d is not staged", req.Version)}
			}
			return err
		}
		// Password history (history.go): keep the policy's depth of confirmed versions, delete what is older.
		pruned, err := c.tx.PruneVersions(r.tenant.ID, acc.ID, r.tenant.Policy.History())
		if err != nil {
			return err
		}
		c.touched(acc)
		if err := jitConfirmed(c, acc, req.Version); err != nil { // jit.go
			return err
		}
		return c.audit("version.confirm", fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("version=%d name=%q pruned=%d", req.Version, acc.Name, pruned))
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *Hub) agentFail(r *request) (any, error) {
	var req wire.FailRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	reason, err := text("reason", req.Reason, false, 500)
	if err != nil {
		return nil, err
	}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		acc, err := c.agentAccount(r, req.AccountID)
		if err != nil {
			return err
		}
		if err := c.tx.FailVersion(r.tenant.ID, acc.ID, req.Version, reason); err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "version", Message: fmt.Sprintf("version %d is not staged", req.Version)}
			}
			return err
		}
		c.touched(acc)
		return c.audit("version.fail", fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("version=%d name=%q reason=%q", req.Version, acc.Name, reason))
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

var accountStates = map[string]bool{wire.AccountPresent: true, wire.AccountDisabled: true, wire.AccountError: true, wire.AccountFailed: true,
	wire.AccountDeleted: true}

func (h *Hub) agentAccounts(r *request) (any, error) {
	var req wire.AccountsReport
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	if len(req.Accounts) > 100_000 {
		return nil, wire.Invalid("accounts", "too many")
	}
	for i, a := range req.Accounts {
		if !accountStates[a.State] {
			return nil, wire.Invalid(fmt.Sprintf("accounts[%d].state", i), "must be present, disabled, error or failed")
		}
		if _, err := text(fmt.Sprintf("accounts[%d].error", i), a.Error, false, 500); err != nil {
			return nil, err
		}
	}
	// A closed JIT account is disabled by design and already rotates to a recovery-only password (jit.go).
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		for i, rep := range req.Accounts {
			acc, err := c.agentAccount(r, rep.AccountID)
			if err != nil {
				return wire.Invalid(fmt.Sprintf("accounts[%d].accountId", i), "no such account on this agent")
			}
			rep, ok := deletionReport(acc, rep) // a deleted tech's accounts (techlife.go)
			if !ok || acc.State == rep.State && acc.LastError == rep.Error {
				continue
			}
			// A failed account stays failed until an admin retries or adopts it (accounts.go): only another failure
			// or its disabling (offboarding) replaces it.
			if acc.State == wire.AccountFailed && rep.State != wire.AccountFailed && rep.State != wire.AccountDisabled {
				continue
			}
			if rep.State == wire.AccountDisabled && acc.State != wire.AccountDisabled && !v.jitOf(acc.TechID, acc.AgentID).jit {
				// Should the account come back, it comes back with a fresh password.
				acc.RotateRequestedAt, acc.RotateReason = c.at, wire.DueRotateNow
			}
			acc.State, acc.LastError = rep.State, rep.Error
			if err := c.tx.UpdateAccount(acc); err != nil {
				return err
			}
			if rep.State == wire.AccountFailed {
				if err := c.audit("account.failed", accountTarget(acc), fmt.Sprintf("name=%q by=agent reason=%q", acc.Name, rep.Error)); err != nil {
					return err
				}
				continue
			}
			if err := c.audit("account.state", fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("state=%s error=%q", rep.State, rep.Error)); err != nil {
				return err
			}
		}
		if c.events == 0 {
			return errNoChange
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return nil, err
	}
	return struct{}{}, nil
}

// ---- an admin's agents ----

func agentWire(a *store.Agent) wire.Agent {
	out := wire.Agent{ID: a.ID, Name: a.Name, Driver: a.Driver, Status: a.Status, PublicKey: a.PublicKey, Version: a.Version,
		LastSeen: a.LastSeen, CreatedAt: a.CreatedAt, AuthorityRefusal: a.Authority.Refusal}
	if a.Authority.Hash != "" {
		out.AuthorityHead = &wire.AuthorityHead{Seq: a.Authority.Seq, Hash: a.Authority.Hash}
	}
	if pk, err := seal.ParsePublicKey(a.PublicKey); err == nil {
		out.Fingerprint = pk.Fingerprint().String()
	}
	return out
}

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
