package vm

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/reltime"
	"github.com/watchword/watchword/shared/wire"
)

// Grant is one tech's access to one agent and where it comes from: the auditor's question.
type Grant struct {
	Tech   wire.Tech
	Agent  wire.Agent
	Rights []string // right names, sorted
	Via    []string // the triplets granting it, as "TechGroup × AgentGroup × Right"
	// Groups are the target groups the rights name for the agent's driver kind (Domain Admins, sudo), sorted: what
	// the account is really a member of.
	Groups []string
	// Standing and JIT say how the triplets grant it: a standing triplet keeps the account open; a just-in-time one
	// opens it for a window the tech requests. Both can hold.
	Standing, JIT bool
	// JITMaxSeconds is the longest window a just-in-time triplet allows; JITApproval, whether one needs an approver.
	JITMaxSeconds int64
	JITApproval   bool
	// Account is the account as its agent last reported it (nil: none yet), and Problem, when no account can be
	// made, why ("no account on contoso.local: …"). Filled by AccessForTech and AccessForAgent.
	Account *wire.Account
	Problem string
}

// GroupsText is what the account is a member of on its target, named as that target names it: on an Entra ID
// agent the right's groups are directory roles ("Entra roles: User Administrator"), elsewhere groups.
func (g Grant) GroupsText() string {
	if len(g.Groups) == 0 {
		return "—"
	}
	return GroupsLabel(g.Agent.Driver, g.Groups)
}

// GroupsLabel names a driver kind's target groups for people: Entra ID's are directory roles (and role-assignable
// groups), prefixed so; other kinds' groups as they are.
func GroupsLabel(driver string, groups []string) string {
	s := strings.Join(groups, ", ")
	if driver == wire.DriverEntra {
		return "Entra roles: " + s
	}
	return s
}

// ModeText says how the access is granted: "standing", "just-in-time" or both.
func (g Grant) ModeText() string {
	if !g.JIT {
		return "standing"
	}
	jit := "just-in-time"
	if g.JITMaxSeconds > 0 {
		jit += ", up to " + FormatDuration(g.JITMaxSeconds)
	}
	if g.JITApproval {
		jit += ", approved"
	}
	if g.Standing {
		return "standing + " + jit
	}
	return jit
}

// AccountText is the account's real state as the agent last reported it: its name and state, its last
// rotation, its last error; or why there is none.
func (g Grant) AccountText(now time.Time) string {
	if g.Problem != "" {
		return "⚠ " + g.Problem
	}
	acc := g.Account
	if acc == nil {
		return "not created yet (at the agent's next sync)"
	}
	s := acc.Name + ": " + AccountStateText(*acc)
	if !acc.RotatedAt.IsZero() {
		s += ", rotated " + reltime.Ago(now, acc.RotatedAt)
	} else if acc.State != "planned" {
		s += ", never rotated"
	}
	return s
}

// ComputeAccess applies the hub's rule to the snapshot: tech T gets rights R on agent A where R is the union of
// the rights of every triplet whose TechGroup holds T and whose AgentGroup holds A, counting active techs and
// agents only. The hub answers the same question (API.Access) but cannot say through which triplet; tests check
// the two agree.
func ComputeAccess(s *Snapshot) []Grant {
	type key struct{ tech, agent int64 }
	grants := map[key]*Grant{}
	for _, tr := range s.Triplets {
		tg, ag, r := s.Group(false, tr.TechGroupID), s.Group(true, tr.AgentGroupID), s.Right(tr.RightID)
		if tg == nil || ag == nil || r == nil {
			continue
		}
		via := s.TripletLabel(tr)
		for _, t := range s.Techs {
			if t.Status != wire.TechActive || !isAllTechs(*tg) && !slices.Contains(tg.Members, t.ID) {
				continue
			}
			for _, agent := range s.Agents {
				if agent.Status != wire.AgentActive || !slices.Contains(ag.Members, agent.ID) {
					continue
				}
				k := key{t.ID, agent.ID}
				g := grants[k]
				if g == nil {
					g = &Grant{Tech: t, Agent: agent}
					grants[k] = g
				}
				if !slices.Contains(g.Rights, r.Name) {
					g.Rights = append(g.Rights, r.Name)
				}
				for _, grp := range r.Targets[agent.Driver] {
					if !slices.Contains(g.Groups, grp) {
						g.Groups = append(g.Groups, grp)
					}
				}
				if tr.Mode == wire.TripletJIT {
					g.JIT = true
					g.JITMaxSeconds = max(g.JITMaxSeconds, tr.MaxDurationSeconds)
					g.JITApproval = g.JITApproval || tr.ApprovalRequired
				} else {
					g.Standing = true
				}
				g.Via = append(g.Via, via)
			}
		}
	}
	out := make([]Grant, 0, len(grants))
	for _, g := range grants {
		slices.Sort(g.Rights)
		slices.Sort(g.Via)
		slices.Sort(g.Groups)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(x, y Grant) int {
		if c := strings.Compare(x.Tech.Username, y.Tech.Username); c != 0 {
			return c
		}
		return strings.Compare(x.Agent.Name, y.Agent.Name)
	})
	return out
}

// AccessForTech lists every domain and right a tech gets, through which triplet, and the account it has there.
func (a *App) AccessForTech(id int64) []Grant {
	s := a.Snapshot()
	return s.withAccounts(filterGrants(ComputeAccess(s), func(g Grant) bool { return g.Tech.ID == id }))
}

// AccessForAgent lists every tech who reaches an agent, and the account each has there.
func (a *App) AccessForAgent(id int64) []Grant {
	s := a.Snapshot()
	return s.withAccounts(filterGrants(ComputeAccess(s), func(g Grant) bool { return g.Agent.ID == id }))
}

// withAccounts fills each grant's account as the agent reported it or, without one, the naming problem that keeps
// it from being made: the hub's rule (entitle.Plan) applied to the snapshot, so the admin sees the reason beside
// the domain, not only in the tech's list of problems.
func (s *Snapshot) withAccounts(gs []Grant) []Grant {
	naming := entitle.Naming{Format: s.Tenant.Policy.NamingFormat, Abbrev: s.Tenant.Abbrev}
	for i := range gs {
		g := &gs[i]
		for j, acc := range s.Accounts[g.Agent.ID] {
			if acc.TechID == g.Tech.ID {
				g.Account = &s.Accounts[g.Agent.ID][j]
				break
			}
		}
		if g.Account != nil {
			continue // an account keeps the name it was made with
		}
		name := naming.Name(entitle.Base(g.Tech.Username, g.Tech.ShortName))
		if err := entitle.CheckName(g.Agent.Driver, name); err != nil {
			g.Problem = fmt.Sprintf("no account on %s: %v", g.Agent.Name, err)
			continue
		}
		for _, acc := range s.Accounts[g.Agent.ID] {
			if acc.Name == name && acc.TechID != g.Tech.ID {
				g.Problem = fmt.Sprintf("no account on %s: account name %q is %s's", g.Agent.Name, name, s.techName(acc.TechID))
				break
			}
		}
		if g.Problem != "" {
			continue
		}
		for _, o := range s.Techs {
			if o.ID != g.Tech.ID && o.Status == wire.TechActive && naming.Name(entitle.Base(o.Username, o.ShortName)) == name &&
				len(g.Tech.Problems) > 0 {
				g.Problem = fmt.Sprintf("no account on %s: account name %q would also be %s's, and two techs never share an account", g.Agent.Name, name, o.Username)
				break
			}
		}
	}
	return gs
}

func (s *Snapshot) techName(id int64) string {
	if t := s.Tech(id); t != nil {
		return t.Username
	}
	return fmt.Sprintf("tech %d", id)
}

func filterGrants(gs []Grant, ok func(Grant) bool) []Grant {
	var out []Grant
	for _, g := range gs {
		if ok(g) {
			out = append(out, g)
		}
	}
	return out
}

// Change is what one tech gains or loses on one agent.
type Change struct {
	Tech   string // username
	Agent  string // agent name
	Before []string
	After  []string // empty: the account is disabled
}

func (c Change) String() string {
	switch {
	case len(c.Before) == 0:
		return fmt.Sprintf("%s gains %s on %s", c.Tech, strings.Join(c.After, ", "), c.Agent)
	case len(c.After) == 0:
		return fmt.Sprintf("%s loses all access to %s (account disabled)", c.Tech, c.Agent)
	default:
		return fmt.Sprintf("%s on %s: %s → %s", c.Tech, c.Agent, strings.Join(c.Before, ", "), strings.Join(c.After, ", "))
	}
}

// DiffAccess lists every (tech, agent) whose rights differ between two snapshots.
func DiffAccess(before, after *Snapshot) []Change {
	type key struct{ tech, agent string }
	m := map[key]*Change{}
	get := func(g Grant) *Change {
		k := key{g.Tech.Username, g.Agent.Name}
		if m[k] == nil {
			m[k] = &Change{Tech: k.tech, Agent: k.agent}
		}
		return m[k]
	}
	for _, g := range ComputeAccess(before) {
		get(g).Before = g.Rights
	}
	for _, g := range ComputeAccess(after) {
		get(g).After = g.Rights
	}
	var out []Change
	for _, c := range m {
		if !slices.Equal(c.Before, c.After) {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(x, y Change) int {
		if c := strings.Compare(x.Tech, y.Tech); c != 0 {
			return c
		}
		return strings.Compare(x.Agent, y.Agent)
	})
	return out
}

// clone copies the parts of a snapshot a simulation changes.
func (s *Snapshot) clone() *Snapshot {
	c := *s
	c.Techs = slices.Clone(s.Techs)
	c.Triplets = slices.Clone(s.Triplets)
	c.TechGroups = cloneGroups(s.TechGroups)
	c.AgentGroups = cloneGroups(s.AgentGroups)
	return &c
}

func cloneGroups(gs []wire.Group) []wire.Group {
	out := slices.Clone(gs)
	for i := range out {
		out[i].Members = slices.Clone(out[i].Members)
	}
	return out
}

// TripletImpact says what deleting triplet id would take away, and a warning to show before; the All triplet
// gets its own.
func (a *App) TripletImpact(id int64) (warning string, changes []Change) {
	s := a.Snapshot()
	t := find(s.Triplets, func(t wire.Triplet) bool { return t.ID == id })
	if t == nil {
		return "", nil
	}
	after := s.clone()
	after.Triplets = slices.DeleteFunc(after.Triplets, func(x wire.Triplet) bool { return x.ID == id })
	changes = DiffAccess(s, after)
	lost := 0
	for _, c := range changes {
		if len(c.After) == 0 {
			lost++
		}
	}
	warning = fmt.Sprintf("Delete the triplet %s?\n%d account(s) lose access entirely, %d change rights.", s.TripletLabel(*t), lost, len(changes)-lost)
	if t.Builtin {
		warning = fmt.Sprintf("Delete the All triplet (%s)?\nIt gives every active tech every right on every domain. "+
			"Without it, techs reach only what other triplets grant: %d account(s) would be disabled at the agents' next sync. "+
			"The co-managed onboarding deletes it for you after creating the triplets that replace it.", s.TripletLabel(*t), lost)
	}
	return warning, changes
}
