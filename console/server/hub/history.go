package hub

// Rotate after use and password history.
//
// Rotate after use: a use of an account's password makes its rotation request the moment the grace period ends,
// with the reason wire.DueAfterReveal; due (plan.go) makes it due then and the tech's credential list shows the
// moment as RotatesAfterUseAt. The grace is the tenant policy's RotateAfterUseSeconds unless an agent group of the
// account's agent overrides it (afterUseGrace). A use is what the hub itself can see: the history handing out the
// current version's envelope (techHistory), or a device reporting a reveal or a copy (techEvent). The credential
// list hands the current envelope out too, but a TechClient fetches it at every change, with nobody looking at it:
// counting that would rotate every account once per grace period whatever happened. A device's reports are
// best-effort (a modified client can open what it holds without saying so); docs/security.md says what that means.
//
// Password history: when the agent confirms a version (agentConfirm), the hub keeps the policy's HistoryDepth newest
// confirmed versions of the account, sealed as they were, and deletes the older versions that are no longer on
// the target (store.Tx.PruneVersions: never a staged one). A tech fetches the history of one of its own accounts
// with GET /v1/tech/accounts/{id}/history, audited as credential.history, under the credential list's checks: the
// two-factor session, an entitlement that still grants the account, and for a just-in-time account an open window.

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/wire"
)

// afterUseGrace is how long after a reveal or copy an account on agent rotates; 0 is off. Agent groups that
// override the tenant's grace decide it: the shortest positive override wins (the stricter rule), and the
// feature is off only when every overriding group turns it off.
func afterUseGrace(tx store.Tx, tenant *store.Tenant, agent int64) (time.Duration, error) {
	groups, err := tx.Groups(tenant.ID, store.KindAgent)
	if err != nil {
		return 0, err
	}
	overridden, best := false, int64(0)
	for _, g := range groups {
		if g.RotateAfterUseSeconds == nil || !slices.Contains(g.Members, agent) {
			continue
		}
		overridden = true
		if s := *g.RotateAfterUseSeconds; s > 0 && (best == 0 || s < best) {
			best = s
		}
	}
	if !overridden {
		best = tenant.Policy.RotateAfterUseSeconds
	}
	return time.Duration(best) * time.Second, nil
}

// afterUseDetail renders a group's rotate-after-use override for its audit event.
func afterUseDetail(g *store.Group) string {
	if g.RotateAfterUseSeconds == nil {
		return ""
	}
	return fmt.Sprintf(" rotateAfterUse=%d", *g.RotateAfterUseSeconds)
}

// rotatesAfterUseAt is when a pending after-use rotation of acc is due, zero when none is pending.
func rotatesAfterUseAt(acc *store.Account) time.Time {
	if acc.RotateReason == wire.DueAfterReveal && acc.RotateRequestedAt.After(acc.RotatedAt) {
		return acc.RotateRequestedAt
	}
	return time.Time{}
}

// markUsed records a use of acc's password — kind is how the hub learnt of it — and, unless rotate after use is
// off for acc's agent or an earlier rotation is already pending, makes the account due once the grace has passed.
// It runs inside the change that saw the use.
func markUsed(c *change, acc *store.Account, kind string) error {
	grace, err := afterUseGrace(c.tx, c.tenant, acc.AgentID)
	if err != nil || grace <= 0 {
		return err
	}
	at := c.at.Add(grace)
	if acc.RotateRequestedAt.After(acc.RotatedAt) && acc.RotateRequestedAt.Before(at) {
		return nil // an earlier rotation is already pending
	}
	acc.RotateRequestedAt, acc.RotateReason = at, wire.DueAfterReveal
	if err := c.tx.UpdateAccount(acc); err != nil {
		return err
	}
	c.bump = true  // the agent's plan now has an earlier NextDueAt
	c.touched(acc) // the tech's entry now shows RotatesAfterUseAt
	return c.audit("rotate.after-use", fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("kind=%s at=%s", kind, at.Format(time.RFC3339)))
}

// errNotGranted refuses the history of an account the tech still owns but no longer holds.
func errNotGranted(id int64) error {
	return &wire.Error{Code: wire.CodeForbidden, Field: "id",
		Message: fmt.Sprintf("account %d is no longer granted to you: no entitlement gives you its passwords", id)}
}

// historyGate applies the credential list's entitlement to one account: the tech must hold a grant on its agent
// (a removed triplet, group membership or agent ends it), and a just-in-time account needs an open window. The
// credential list never hands out a version sealed to the recovery recipient alone; the history refuses outright
// outside a window, since every version it holds is a password of a window that has ended.
func (h *Hub) historyGate(r *request, acc *store.Account) error {
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(v.idx.ForTech(r.who.id), func(g entitle.Grant) bool { return g.Agent.ID == acc.AgentID }) {
		return errNotGranted(acc.ID)
	}
	if !v.jitOf(r.who.id, acc.AgentID).jit {
		return nil
	}
	h.expireJIT(r.Context(), r.tenant)
	return h.st.Read(r.Context(), func(tx store.Tx) error {
		gs, err := tx.JITGrants(r.tenant.ID, store.JITQuery{AccountID: acc.ID, Open: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(gs) == 0 || !windowOpen(&gs[0], h.now()) {
			return &wire.Error{Code: wire.CodeForbidden, Field: "id",
				Message: fmt.Sprintf("account %d is just-in-time and outside its window: its history opens with a window", acc.ID)}
		}
		return nil
	})
}

// techHistory returns the password history of one of the calling tech's accounts. It passes the credential
// list's gates (sessionGate, historyGate); every read is audited, whether or not the device then opens anything,
// and handing out the current version is a use (markUsed).
func (h *Hub) techHistory(r *request) (any, error) {
	if err := h.sessionGate(r); err != nil { // lockout and two-factor session (totp.go)
		return nil, err
	}
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	// Another tech's account and no account at all look the same.
	notYours := &wire.Error{Code: wire.CodeNotFound, Field: "id", Message: "no such account of yours"}
	var acc *store.Account
	err = h.st.Read(r.Context(), func(tx store.Tx) error {
		var err error
		acc, err = tx.Account(r.tenant.ID, id)
		return err
	})
	if err != nil || acc.TechID != r.who.id {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return nil, notYours
	}
	if err := h.historyGate(r, acc); err != nil {
		return nil, err
	}
	depth := r.tenant.Policy.History()
	out := &wire.HistoryResponse{ClientGUID: r.tenant.GUID, AccountID: id, Depth: depth, Versions: []wire.CredentialVersion{}}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		c.concerns() // reading changes nobody's list
		acc, err := c.tx.Account(r.tenant.ID, id)
		if err != nil || acc.TechID != r.who.id {
			return notYours
		}
		versions, err := c.tx.History(r.tenant.ID, acc.ID, depth)
		if err != nil {
			return err
		}
		out.AgentID, out.AccountName, out.ReadAt = acc.AgentID, acc.Name, c.at
		var numbers []int64
		current := int64(0)
		for _, v := range versions {
			out.Versions = append(out.Versions, wire.CredentialVersion{Version: v.Version, State: v.State,
				Envelope: v.Envelope, StagedAt: v.StagedAt, ConfirmedAt: v.ConfirmedAt, Signature: v.Signature})
			numbers = append(numbers, v.Version)
			if v.State == wire.VersionConfirmed && v.Version == acc.CurrentVersion {
				current = v.Version
			}
		}
		if err := c.audit("credential.history", fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("name=%q versions=%v", acc.Name, numbers)); err != nil {
			return err
		}
		if current == 0 {
			return nil
		}
		// The password on the target now left the hub: a use, whatever the device reports later.
		if err := c.audit("credential.reveal", fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("version=%d name=%q via=history", current, acc.Name)); err != nil {
			return err
		}
		return markUsed(c, acc, "history")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
