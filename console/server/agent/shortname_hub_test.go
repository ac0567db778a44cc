package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// TestPinnedAgentShortName: against the real hub, a tech's short name that the hub holds but the admins never
// signed makes the agent pinned to the signed authority refuse the plan (its account name is not the signed
// naming's); once the owner signs the short name the same plan is acted on and the account, named from the short
// name, gets a password.
func TestPinnedAgentShortName(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := newCompromise(t, ctx)
	c.confirmedAfter(0)

	tech := c.h.NewTech("maximilian.oz")
	if _, err := c.h.Owner.SetTechShortName(ctx, tech.ID, "maxo"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.h.Owner.ApproveTech(ctx, tech.ID); err != nil {
		t.Fatal(err)
	}
	c.publish(authority.ApproveTech(tech.ID, "maximilian.oz", "", tech.Identity.Public())) // the short name unsigned
	refusedBefore := c.runner.Stats().Refused
	c.poke()
	c.waitFor("the refusal of the unsigned short name", func() bool {
		return strings.Contains(c.agentRecord().AuthorityRefusal, `the signed naming format gives "maximilian.oz-tm"`)
	})
	c.waitFor("more refused plans", func() bool { return c.runner.Stats().Refused >= refusedBefore+2 })
	c.d.mu.Lock()
	_, made := c.d.pw["maxo-tm"]
	c.d.mu.Unlock()
	if made {
		t.Fatal("the agent set a password on an account named from an unsigned short name")
	}

	c.publish(authority.SetTechShortName(tech.ID, "maxo"))
	c.poke()
	c.waitFor("maxo-tm's password on the target", func() bool {
		c.d.mu.Lock()
		defer c.d.mu.Unlock()
		return c.d.pw["maxo-tm"] != ""
	})
	c.waitFor("the refusal cleared", func() bool { return c.agentRecord().AuthorityRefusal == "" })
	accs, err := c.h.Owner.Accounts(ctx, tech.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(accs) != 1 || accs[0].Name != "maxo-tm" || accs[0].State == wire.AccountFailed {
		t.Fatalf("the tech.s accounts: %+v", accs)
	}
}
