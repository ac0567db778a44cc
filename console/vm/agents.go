package vm

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

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

// DriverSSH is the enrolment driver of a Linux host the agent manages over SSH from another machine; the hub knows
// such an agent as a linux one (its account names are Linux user names).
const DriverSSH = "ssh"

// EnrollDrivers are the drivers an enrolment command may name, in the order the picker offers them.
var EnrollDrivers = []string{wire.DriverAD, wire.DriverLinux, DriverSSH, wire.DriverLDAP, wire.DriverEntra}

// AgentPollInterval is how often the hub records an active agent as seen: the agent's long poll returns at least
// every wire.MaxWait, and the hub writes its last-seen time at most once a minute. An agent not seen for twice
// that is offline: stopped, cut off from the hub, or its machine down, and no password of its target rotates.
const AgentPollInterval = time.Minute

// Now is the Console's time: the wall clock unless UseClock replaced it.
func (a *App) Now() time.Time { return a.clock()() }

// UseClock replaces the Console's clock (tests): it decides which agents are offline and dates signed updates.
func (a *App) UseClock(now func() time.Time) {
	a.mu.Lock()
	a.now = now
	a.mu.Unlock()
}

// Offline reports whether an active agent has not been seen for longer than twice AgentPollInterval at now, and
// for how long. Pending, rejected and retired agents are never offline: nothing expects them to poll.
func Offline(g wire.Agent, now time.Time) (time.Duration, bool) {
	if g.Status != wire.AgentActive {
		return 0, false
	}
	seen := g.LastSeen
	if seen.IsZero() {
		seen = g.CreatedAt
	}
	d := now.Sub(seen)
	return d, d > 2*AgentPollInterval
}

// AgentStatusText is an agent's status as the list shows it: an offline agent is marked so it stands out.
func AgentStatusText(g wire.Agent, now time.Time) string {
	if d, off := Offline(g, now); off {
		return "⚠ OFFLINE " + FormatDuration(int64(d/time.Second))
	}
	if g.Status == wire.AgentDisabled {
		return "retired"
	}
	return string(g.Status)
}

// OfflineText describes an offline agent, for the notification and the screen.
func OfflineText(g wire.Agent, now time.Time) string {
	d, _ := Offline(g, now)
	return fmt.Sprintf("%s (%s) has not been seen for %s: its passwords do not rotate and just-in-time windows cannot open "+
		"until it polls the hub again. Check the agent's service and its network path to the hub.", g.Name, g.Driver, FormatDuration(int64(d/time.Second)))
}

// OfflineAgents lists the active agents offline at now.
func (s *Snapshot) OfflineAgents(now time.Time) []wire.Agent {
	var out []wire.Agent
	for _, g := range s.Agents {
		if _, off := Offline(g, now); off {
			out = append(out, g)
		}
	}
	return out
}

// OnAgentOffline registers fn to run for every agent a refresh finds offline that the previous refresh did not
// (not for those already offline when the Console connected: the Agents screen marks them). An agent that comes
// back and goes offline again is announced again.
func (a *App) OnAgentOffline(fn func(wire.Agent)) {
	var mu sync.Mutex
	var seen map[int64]bool
	a.OnChange(func() {
		s := a.Snapshot()
		if len(s.Agents) == 0 {
			return // not connected, or no agent read yet
		}
		off := map[int64]bool{}
		var fresh []wire.Agent
		mu.Lock()
		for _, g := range s.OfflineAgents(a.Now()) {
			off[g.ID] = true
			if seen != nil && !seen[g.ID] {
				fresh = append(fresh, g)
			}
		}
		seen = off
		mu.Unlock()
		for _, g := range fresh {
			fn(g)
		}
	})
}

// RetireText is the confirmation of retiring an agent: what happens to it and to the accounts on its target.
func (s *Snapshot) RetireText(id int64) string {
	g := s.Agent(id)
	if g == nil {
		return ""
	}
	open := 0
	for _, acc := range s.Accounts[id] {
		if acc.State != wire.AccountDisabled {
			open++
		}
	}
	return fmt.Sprintf("Retire %s (%s)?\n\nThe agent gets no plan from now on: it stops rotating, and the techs' TechClients "+
		"drop its accounts. Its %d account(s) on %s stay as they are now: %d still enabled, with their groups and their last "+
		"password, because no agent is left to disable them. To have them disabled first, take %s out of its AgentGroups "+
		"or triplets and wait for its next sync, then retire it; or disable them on the target by hand.\n\n"+
		"The signed authority withdraws the agent's enrolment. Restore brings it back with the same key.",
		g.Name, g.Driver, len(s.Accounts[id]), g.Name, open, g.Name)
}

// RetireAgent retires an active agent (the hub disables it) and withdraws its signed enrolment.
func (a *App) RetireAgent(ctx context.Context, id int64) error {
	return a.signed(ctx, "retire agent "+a.Snapshot().agentName(id), func(api *hubclient.Client) error {
		_, err := api.DisableAgent(ctx, id)
		return err
	}, func(state *authority.State) ([]authority.Op, error) {
		if _, ok := state.Agents[id]; !ok {
			return nil, nil
		}
		return []authority.Op{authority.RemoveAgent(id)}, nil
	})
}

// RestoreAgent brings a retired agent back with its key, enrolled again in the signed authority.
func (a *App) RestoreAgent(ctx context.Context, id int64) error {
	ag := a.Snapshot().Agent(id)
	if ag == nil {
		return fmt.Errorf("restore agent %d: not found", id)
	}
	seen := *ag
	return a.signed(ctx, "restore agent "+seen.Name, func(api *hubclient.Client) error {
		_, err := api.EnableAgent(ctx, id)
		return err
	}, func(*authority.State) ([]authority.Op, error) {
		op, err := enrollOp(seen)
		return []authority.Op{op}, err
	})
}
