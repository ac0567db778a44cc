package authority

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/wire"
)

// memoMax bounds the recipients a chain remembers as checked; past it the memo starts over.
const memoMax = 1 << 16

// CheckPlan checks the hub's plan for an agent against the verified state, before the agent seals anything to it
// or changes anything on its target. Every account must be an approved tech's, entitled on this agent by signed
// triplets, named by the signed naming format, in groups that a right granting it names for the agent's driver,
// and sealed only to that tech's approved device; the plan's recovery recipient must be the signed one. Accounts
// to disable need nothing: taking access away is never a breach. An account to delete must not be a tech's the
// state still approves (a deleted tech's approval was withdrawn when it was deactivated).
//
// The error joins one failure per offending account (errors.Is(err, ErrNotAuthorized)); the agent acts on none of
// the plan then. Before the genesis the chain has nothing to check against and refuses every plan.
func (c *Chain) CheckPlan(p *wire.Plan) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	if !s.Started() {
		return fmt.Errorf("%w: no signed authority verified yet", ErrNotAuthorized)
	}
	if p.ClientGUID != s.Tenant {
		return fmt.Errorf("%w: plan for tenant %q, the signed authority is %q's", ErrNotAuthorized, p.ClientGUID, s.Tenant)
	}
	agent, ok := s.Agents[p.AgentID]
	if !ok {
		return fmt.Errorf("%w: agent %d is not enrolled in the signed authority", ErrNotAuthorized, p.AgentID)
	}
	var fails []error
	if !bytes.Equal(c.recipientHash(0, p.Recovery), s.Recovery) { // no tech has ID 0
		fails = append(fails, fmt.Errorf("%w: the plan's recovery recipient is not the signed one", ErrNotAuthorized))
	}
	naming := entitle.Naming{Format: s.Naming, Abbrev: s.Abbrev}
	for _, a := range p.Accounts {
		if err := c.checkAccount(s, agent, p.AgentID, naming, a); err != nil {
			fails = append(fails, fmt.Errorf("account %q: %w", a.AccountName, err))
		}
	}
	for _, d := range p.Delete {
		// Deleting is taking access away too, but for good: never an account of a tech the admins still approve.
		if _, ok := s.Techs[d.TechID]; ok {
			fails = append(fails, fmt.Errorf("account %q: %w: delete an account of tech %d, who has a signed approval", d.AccountName, ErrNotAuthorized, d.TechID))
		}
	}
	return errs(fails)
}

func (c *Chain) checkAccount(s *State, agent Agent, agentID int64, naming entitle.Naming, a wire.PlanAccount) error {
	t, ok := s.Techs[a.TechID]
	switch {
	case !ok:
		return fmt.Errorf("%w: tech %d has no signed approval", ErrNotAuthorized, a.TechID)
	case t.Username != a.Username:
		return fmt.Errorf("%w: tech %d is %q in the signed authority, not %q", ErrNotAuthorized, a.TechID, t.Username, a.Username)
	case !signedName(naming, t, a.AccountName):
		return fmt.Errorf("%w: the signed naming format gives %q", ErrNotAuthorized, naming.Name(entitle.Base(t.Username, t.ShortName)))
	}
	rights := s.Granted(a.TechID, agentID)
	if len(rights) == 0 {
		return fmt.Errorf("%w: no signed triplet grants tech %d on agent %d", ErrNotAuthorized, a.TechID, agentID)
	}
	for _, g := range a.Groups {
		if !slices.ContainsFunc(rights, func(r int64) bool { return slices.Contains(s.Rights[r].Targets[agent.Driver], g) }) {
			return fmt.Errorf("%w: no signed right granted to the tech names group %q", ErrNotAuthorized, g)
		}
	}
	for _, r := range a.Recipients {
		if !bytes.Equal(c.recipientHash(a.TechID, r), t.Recipient) {
			return fmt.Errorf("%w: a recipient is not tech %d's approved device", ErrNotAuthorized, a.TechID)
		}
	}
	return nil
}

// signedName reports whether name is what the signed naming renders from the tech's signed short name or, for an
// account created before the short name was set (accounts keep their names), from its username. Both are the
// tech's alone: no tech's short name may be another's username or short name (OpTechShortName).
func signedName(naming entitle.Naming, t Tech, name string) bool {
	return name == naming.Name(t.Username) || t.ShortName != "" && name == naming.Name(t.ShortName)
}

// recipientHash hashes tech's recipient r, remembering the last one of each tech: a plan for 5,000 accounts repeats
// the same recipients on every poll, and a hybrid recipient is 2,000 characters to hash. The memo is keyed by tech
// rather than by recipient, so that a hit costs one comparison of r instead of hashing it for a map lookup too.
func (c *Chain) recipientHash(tech int64, r string) []byte {
	if m, ok := c.memoHash[tech]; ok && m.recipient == r {
		return m.hash
	}
	h := RecipientHash(r)
	if c.memoHash == nil || len(c.memoHash) >= memoMax {
		c.memoHash = map[int64]memo{}
	}
	c.memoHash[tech] = memo{recipient: r, hash: h}
	return h
}

// memo is a tech's last recipient and its hash.
type memo struct {
	recipient string
	hash      []byte
}
