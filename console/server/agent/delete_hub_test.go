package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// accountOnTarget reports whether the fake target still holds name.
func (c *compromise) accountOnTarget(name string) bool {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	_, ok := c.d.pw[name]
	return ok
}

// accountState is the hub's state of the agent's account name, as the database holds it.
func (c *compromise) accountState(name string) string {
	c.t.Helper()
	var st string
	if err := c.db.QueryRowContext(c.ctx, `SELECT state FROM accounts WHERE agent_id = ? AND name = ?`, c.agent.ID, name).Scan(&st); err != nil {
		c.t.Fatalf("account %q: %v", name, err)
	}
	return st
}

// TestPinnedAgentRefusesAnUnsignedDelete: against the real hub, an agent pinned to the signed authority never
// deletes the account of a tech the signed state still approves. First a breached hub marks alice's account for
// deletion behind the admins' back: the agent refuses the plan, deletes nothing and its refusal shows on the
// admins' agent list; restoring the database lets alice's rotation through. Then an admin deactivates and deletes
// alice at the hub without signing it: still refused, the account stays. Once the owner signs alice's removal, the
// agent deletes the account and reports it deleted.
func TestPinnedAgentRefusesAnUnsignedDelete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := newCompromise(t, ctx)
	row := c.confirmedAfter(0)
	const acc = "alice-tm"
	const refusal = "who has a signed approval"
	was := c.accountState(acc)

	// The breach: the database says delete alice's account while she is approved and signed.
	before, refusedBefore := c.lastRow(), c.runner.Stats().Refused
	c.exec(`UPDATE accounts SET state = ? WHERE agent_id = ? AND name = ?`, wire.AccountDeleting, c.agent.ID, acc)
	c.poke()
	c.waitFor("the refusal of the breached hub's delete", func() bool {
		return strings.Contains(c.agentRecord().AuthorityRefusal, refusal)
	})
	c.waitFor("more refused plans", func() bool { return c.runner.Stats().Refused >= refusedBefore+3 })
	if !c.accountOnTarget(acc) {
		t.Fatal("the agent deleted the account of a tech the signed authority approves")
	}
	if st := c.accountState(acc); st != wire.AccountDeleting {
		t.Fatalf("the hub's account is %q after refused plans, want still %q (nothing reported)", st, wire.AccountDeleting)
	}
	for _, s := range c.versionsAfter(before) {
		t.Errorf("%s version %d staged while the agent refused the hub's plans", s.account, s.version)
	}
	c.exec(`UPDATE accounts SET state = ? WHERE agent_id = ? AND name = ?`, was, c.agent.ID, acc)
	c.poke()
	c.waitFor("the refusal cleared", func() bool { return c.agentRecord().AuthorityRefusal == "" })
	c.confirmedAfter(row)

	// The admins' own deletion, done at the hub and not signed: the signed state still approves alice.
	if _, err := c.h.Owner.DisableTech(ctx, c.alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.h.Owner.DeleteTech(ctx, c.alice.ID, true); err != nil {
		t.Fatal(err)
	}
	refusedBefore = c.runner.Stats().Refused
	c.waitFor("the refusal of the unsigned deletion", func() bool {
		return strings.Contains(c.agentRecord().AuthorityRefusal, refusal)
	})
	c.waitFor("more refused plans", func() bool { return c.runner.Stats().Refused >= refusedBefore+2 })
	if !c.accountOnTarget(acc) {
		t.Fatal("the agent deleted the account before the tech's removal was signed")
	}

	c.publish(authority.RemoveTech(c.alice.ID))
	c.waitFor("the account deleted from the target", func() bool { return !c.accountOnTarget(acc) })
	c.waitFor("the deletion reported", func() bool { return c.accountState(acc) == wire.AccountDeleted })
	c.waitFor("the refusal cleared", func() bool { return c.agentRecord().AuthorityRefusal == "" })
}
