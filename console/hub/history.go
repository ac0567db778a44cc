package hub

// Rotate after use and password history (issue 14).
//
// Rotate after use: when a tech reports a reveal or a copy of a version (techEvent), the account's rotation request
// is set to the moment the grace period ends, with the reason wire.DueAfterReveal; due (plan.go) makes it due then
// and the tech's credential list shows the moment as RotatesAfterUseAt. The grace is the tenant policy's
// RotateAfterUseSeconds unless an agent group of the account's agent overrides it (afterUseGrace).
//
// Password history: when the agent confirms a version (agentConfirm), the hub keeps the policy's HistoryDepth newest
// confirmed versions of the account, sealed as they were, and deletes the older versions that are no longer on
// the target (store.Tx.PruneVersions: never a staged one). A tech fetches the history of one of its own accounts
// with GET /v1/tech/accounts/{id}/history, audited as credential.history.

import (
	"fmt"
	"slices"
	"time"

	"github.com/watchword/watchword/console/hub/store"
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

// techHistory returns the password history of one of the calling tech's accounts. Like the credential list it
// passes the two-factor session gate; every read is audited, whether or not the device then opens anything.
func (h *Hub) techHistory(r *request) (any, error) {
	if err := h.sessionGate(r); err != nil { // lockout and two-factor session (totp.go)
		return nil, err
	}
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	depth := r.tenant.Policy.History()
	out := &wire.HistoryResponse{ClientGUID: r.tenant.GUID, AccountID: id, Depth: depth, Versions: []wire.CredentialVersion{}}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		c.concerns() // reading changes nobody's list
		acc, err := c.tx.Account(r.tenant.ID, id)
		if err != nil || acc.TechID != r.who.id {
			// Another tech's account and no account at all look the same.
			return &wire.Error{Code: wire.CodeNotFound, Field: "id", Message: "no such account of yours"}
		}
		versions, err := c.tx.History(r.tenant.ID, acc.ID, depth)
		if err != nil {
			return err
		}
		out.AgentID, out.AccountName, out.ReadAt = acc.AgentID, acc.Name, c.at
		var numbers []int64
		for _, v := range versions {
			out.Versions = append(out.Versions, wire.CredentialVersion{Version: v.Version, State: v.State,
				Envelope: v.Envelope, StagedAt: v.StagedAt, ConfirmedAt: v.ConfirmedAt})
			numbers = append(numbers, v.Version)
		}
		return c.audit("credential.history", fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("name=%q versions=%v", acc.Name, numbers))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
