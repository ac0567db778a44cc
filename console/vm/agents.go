package vm

import (
	"context"
	"fmt"
	"slices"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// PendingAgents lists the agents waiting for an admin's approval, oldest first.
func (a *App) PendingAgents() []wire.Agent {
	out := slices.Clone(a.Snapshot().Agents)
	out = slices.DeleteFunc(out, func(g wire.Agent) bool { return g.Status != wire.AgentPending })
	slices.SortFunc(out, func(x, y wire.Agent) int { return x.CreatedAt.Compare(y.CreatedAt) })
	return out
}

// AgentApprovalText is the confirmation text of approving a pending agent.
func AgentApprovalText(g wire.Agent) string {
	return fmt.Sprintf("%q (driver %s) chose its own name when it enrolled. Ask whoever ran watchword-agent enroll on its machine "+
		"to read out the key fingerprint it printed, and approve only if every group matches. Once approved it joins AllDomains: "+
		"the All triplet and every AgentGroup it is in then give it the techs' accounts on its target.", g.Name, g.Driver)
}

// ApproveAgent makes a pending agent active; it joins AllDomains. The signed authority enrols the key the admin
// compared.
func (a *App) ApproveAgent(ctx context.Context, id int64) error {
	ag := a.Snapshot().Agent(id)
	if ag == nil {
		return fmt.Errorf("approve agent %d: not found", id)
	}
	seen := *ag // the key whose fingerprint the admin compared
	return a.signed(ctx, "approve agent "+seen.Name, func(api *hubclient.Client) error {
		_, err := api.ApproveAgent(ctx, id)
		return err
	}, func(*authority.State) ([]authority.Op, error) {
		op, err := enrollOp(seen)
		return []authority.Op{op}, err
	})
}

// RejectAgent refuses a pending agent for good; it gets nothing, ever.
func (a *App) RejectAgent(ctx context.Context, id int64) error {
	return a.signed(ctx, "reject agent "+a.Snapshot().agentName(id), func(api *hubclient.Client) error {
		_, err := api.RejectAgent(ctx, id)
		return err
	}, func(state *authority.State) ([]authority.Op, error) {
		if _, ok := state.Agents[id]; !ok {
			return nil, nil
		}
		return []authority.Op{authority.RemoveAgent(id)}, nil
	})
}
