package vm

// The deleted techs as the Techs screen lists them on demand: the hub keeps each as a tombstone (the audit log and
// its accounts still name it), and the accounts it asked the agents to delete stay listed until each agent reports
// the deletion, so that an admin can follow it and see one an agent could not delete.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/shared/wire"
)

// DeletedTech is a deleted tech's tombstone with its accounts as the agents last reported them.
type DeletedTech struct {
	wire.Tech
	Accounts []TechAccount
}

// deletion counts a deleted tech's accounts by how far their deletion has come.
type deletion struct {
	deleted                   int
	waiting, retrying, failed []string // agent names
	kept                      int      // left on the target, disabled
}

func (d DeletedTech) count() deletion {
	var c deletion
	for _, acc := range d.Accounts {
		switch {
		case acc.State == wire.AccountDeleted:
			c.deleted++
		case acc.State == wire.AccountDeleting && acc.LastError != "": // the hub asks again
			c.retrying = append(c.retrying, acc.AgentName)
		case acc.State == wire.AccountDeleting:
			c.waiting = append(c.waiting, acc.AgentName)
		case acc.State == wire.AccountError || acc.State == wire.AccountFailed:
			c.failed = append(c.failed, acc.AgentName)
		default:
			c.kept++
		}
	}
	return c
}

// Done says whether nothing is left for an agent to do about the tech's accounts: each deleted, or kept.
func (d DeletedTech) Done() bool {
	c := d.count()
	return len(c.waiting)+len(c.retrying) == 0 && (len(c.failed) == 0 || !d.DeleteAccounts)
}

// Progress says in a line how far the deletion of the tech's accounts has come: deleted, waiting for an agent, to
// be tried again after an agent's error, refused by the target's driver (the account's state says why), or left on
// the targets disabled as the admin chose.
func (d DeletedTech) Progress() string {
	if len(d.Accounts) == 0 {
		return "no accounts"
	}
	c := d.count()
	var parts []string
	if d.DeleteAccounts || c.deleted > 0 {
		if c.deleted == len(d.Accounts) {
			return fmt.Sprintf("all %d deleted", c.deleted)
		}
		parts = append(parts, fmt.Sprintf("%d of %d deleted", c.deleted, len(d.Accounts)))
	}
	if len(c.waiting) > 0 {
		parts = append(parts, fmt.Sprintf("%d waiting for their agent (%s)", len(c.waiting), someOf(c.waiting)))
	}
	if len(c.retrying) > 0 {
		parts = append(parts, fmt.Sprintf("%d to try again after an error (%s)", len(c.retrying), someOf(c.retrying)))
	}
	if len(c.failed) > 0 {
		what := "not deleted, see the error"
		if !d.DeleteAccounts { // kept: the error is the agent's last word on the account, not about a deletion
			what = "with an error"
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s)", len(c.failed), what, someOf(c.failed)))
	}
	if c.kept > 0 {
		parts = append(parts, fmt.Sprintf("%d left on the targets, disabled", c.kept))
	}
	return strings.Join(parts, "; ")
}

// Fate is what the admin chose for the tech's accounts when deleting it.
func (d DeletedTech) Fate() string {
	if d.DeleteAccounts {
		return "accounts deleted from the domains and hosts"
	}
	return "accounts kept there, disabled"
}

// DeletedTechs reads the deleted techs matching f (its status aside) from the hub, the last deleted first, each
// with its accounts from the last Refresh.
func (a *App) DeletedTechs(ctx context.Context, f TechFilter) ([]DeletedTech, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	ts, err := api.DeletedTechs(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the deleted techs: %w", err)
	}
	f.Status = ""
	s := a.Snapshot()
	var out []DeletedTech
	for _, t := range ts {
		if f.Matches(t) {
			out = append(out, DeletedTech{Tech: t, Accounts: s.AccountsOfTech(t.ID)})
		}
	}
	slices.SortStableFunc(out, func(x, y DeletedTech) int {
		return cmp.Or(y.DeletedAt.Compare(x.DeletedAt), cmp.Compare(x.Username, y.Username))
	})
	return out, nil
}

// someOf names up to three agents and counts the rest: an MSP's tech can have accounts on hundreds of domains, and
// the account list below says each.
func someOf(agents []string) string {
	const most = 3
	if len(agents) <= most {
		return strings.Join(agents, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(agents[:most], ", "), len(agents)-most)
}
