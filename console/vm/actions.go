package vm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// do runs one change at the hub, then refreshes so every screen shows its effect.
func (a *App) do(ctx context.Context, what string, fn func(*hubclient.Client) error) error {
	api, err := a.client()
	if err != nil {
		return err
	}
	if err := fn(api); err != nil {
		err = fmt.Errorf("%s: %w", what, err)
		_ = a.Notice.Set(err.Error())
		return err
	}
	if err := a.Refresh(ctx); err != nil {
		return err
	}
	_ = a.Notice.Set(what + ": done")
	return nil
}

// MSPGroups are the TechGroups new MSP techs join when approved: after a co-managed onboarding, the TechGroups
// granted something on AllDomains (AllTechs aside). Before one, there are none and AllTechs does the job.
func (s *Snapshot) MSPGroups() []wire.Group {
	var out []wire.Group
	for _, t := range s.Triplets {
		ag := s.Group(true, t.AgentGroupID)
		tg := s.Group(false, t.TechGroupID)
		if ag != nil && tg != nil && isAllDomains(*ag) && !isAllTechs(*tg) && !slices.ContainsFunc(out, func(g wire.Group) bool { return g.ID == tg.ID }) {
			out = append(out, *tg)
		}
	}
	return out
}

// Approve activates a pending tech where the pending list places it: in its suggested organization, or MSP staff
// when it names none.
func (a *App) Approve(ctx context.Context, id int64) error {
	return a.ApproveAs(ctx, id, wire.ApproveRequest{})
}

// ApproveAs activates a pending tech and decides where it belongs (placement.go): in a client organization, which
// makes it co-managed and requires 2FA, or MSP staff. An MSP tech joins the MSP TechGroups in the same hub request,
// so that after a co-managed onboarding a new MSP tech still reaches every domain and is never active without
// them; one signed update holds both. place.OverrideTriplets carries the admin's explicit override of the
// triplets that would give a co-managed tech every domain (BroadTriplets); without it the hub refuses.
func (a *App) ApproveAs(ctx context.Context, id int64, place wire.ApproveRequest) error {
	s := a.Snapshot()
	t := s.Tech(id)
	if t == nil {
		return fmt.Errorf("approve tech %d: not found", id)
	}
	seen := *t
	mspStaff := place.MSPStaff || place.Organization == "" && t.Organization == ""
	if mspStaff {
		place.Groups = s.mspGroupsToJoin(id)
	}
	err := a.signed(ctx, fmt.Sprintf("approve %q", t.Username), func(api *hubclient.Client) error {
		return approveAt(ctx, api, s, id, place)
	}, func(state *authority.State) ([]authority.Op, error) {
		return approvalOps(state, s, seen, place, mspStaff)
	})
	if err != nil {
		return err
	}
	// Said at approval: what of the tech's access cannot become an account (the hub's answer, now in the snapshot).
	if nt := a.Snapshot().Tech(id); nt != nil && len(nt.Problems) > 0 {
		_ = a.Notice.Set(fmt.Sprintf("approve %q: done, but %s", t.Username, strings.Join(nt.Problems, "; ")))
	}
	return nil
}

// mspGroupsToJoin lists the MSP TechGroups tech id is not in yet.
func (s *Snapshot) mspGroupsToJoin(id int64) []int64 {
	var out []int64
	for _, g := range s.MSPGroups() {
		if !slices.Contains(g.Members, id) {
			out = append(out, g.ID)
		}
	}
	return out
}

// approveAt sends one approval: with its groups in the same request, or, to a hub older than wire.CapApproveInto,
// the groups' members first and the approval after, as such a hub takes them.
func approveAt(ctx context.Context, api *hubclient.Client, s *Snapshot, id int64, place wire.ApproveRequest) error {
	if !api.Supports(wire.CapApproveInto) && api.HubCapability() != 0 {
		for _, g := range place.Groups {
			if _, err := api.EditMembers(ctx, false, g, []int64{id}, nil); err != nil {
				return fmt.Errorf("add to %q: %w", s.GroupName(false, g), err)
			}
		}
		place.Groups, place.OverrideTriplets = nil, nil
	}
	_, err := api.ApproveTechAs(ctx, id, place)
	return err
}

// approvalOps are the signed operations of approving tech t (as the admin saw it, key included) with place: its
// device key, and its joining the MSP TechGroups (mspStaff) and the TechGroups its CSV reservation names, each
// as the verified state holds it plus the tech.
func approvalOps(state *authority.State, s *Snapshot, t wire.Tech, place wire.ApproveRequest, mspStaff bool) ([]authority.Op, error) {
	org := t.Organization
	switch {
	case place.MSPStaff:
		org = ""
	case place.Organization != "":
		org = place.Organization
	}
	op, err := approveOp(t, org, t.PublicKey)
	if err != nil {
		return nil, err
	}
	ops := append([]authority.Op{op}, shortNameOps(t)...)
	groups := slices.Clone(place.Groups)
	if mspStaff {
		for _, g := range s.MSPGroups() {
			groups = append(groups, g.ID)
		}
	}
	if t.Reservation != nil {
		for _, name := range t.Reservation.Groups {
			if id, ok := groupByName(state, name); ok {
				groups = append(groups, id)
			}
		}
	}
	slices.Sort(groups)
	for _, g := range slices.Compact(groups) {
		if op, ok := withMember(state, authority.TechGroup, g, t.ID, true); ok {
			ops = append(ops, op)
		}
	}
	return ops, nil
}

func (a *App) techAction(ctx context.Context, verb string, id int64, fn func(*hubclient.Client) (*wire.Tech, error),
	build func(*authority.State) ([]authority.Op, error)) error {
	name := fmt.Sprintf("tech %d", id)
	if t := a.Snapshot().Tech(id); t != nil {
		name = fmt.Sprintf("%q", t.Username)
	}
	return a.signed(ctx, verb+" "+name, func(api *hubclient.Client) error { _, err := fn(api); return err }, build)
}

// removeTech withdraws a tech's signed approval, when it has one.
func removeTech(id int64) func(*authority.State) ([]authority.Op, error) {
	return func(state *authority.State) ([]authority.Op, error) {
		if _, ok := state.Techs[id]; !ok {
			return nil, nil
		}
		return []authority.Op{authority.RemoveTech(id)}, nil
	}
}

// Reject refuses a pending tech's registration.
func (a *App) Reject(ctx context.Context, id int64) error {
	return a.techAction(ctx, "reject", id, func(api *hubclient.Client) (*wire.Tech, error) { return api.RejectTech(ctx, id) }, removeTech(id))
}

// Deactivate offboards a tech: their accounts are disabled on every target at the agents' next sync; the signed
// authority withdraws the tech's approval.
func (a *App) Deactivate(ctx context.Context, id int64) error {
	return a.techAction(ctx, "deactivate", id, func(api *hubclient.Client) (*wire.Tech, error) { return api.DisableTech(ctx, id) }, removeTech(id))
}

// Reactivate lets a deactivated tech back in; its device key as the admin saw it is approved again.
func (a *App) Reactivate(ctx context.Context, id int64) error {
	t := a.Snapshot().Tech(id)
	if t == nil {
		return fmt.Errorf("reactivate tech %d: not found", id)
	}
	seen := *t
	return a.techAction(ctx, "reactivate", id, func(api *hubclient.Client) (*wire.Tech, error) { return api.EnableTech(ctx, id) },
		func(*authority.State) ([]authority.Op, error) {
			op, err := approveOp(seen, seen.Organization, seen.PublicKey)
			return append([]authority.Op{op}, shortNameOps(seen)...), err
		})
}

// DeactivateWarning is what the confirmation says before a deactivation.
func (a *App) DeactivateWarning(id int64) string {
	s := a.Snapshot()
	t := s.Tech(id)
	if t == nil {
		return ""
	}
	n := len(a.AccessForTech(id))
	return fmt.Sprintf("Deactivate %s (%s)?\n\nTheir accounts are disabled everywhere: on all %d domains and hosts they reach today, "+
		"at each agent's next sync. Their TechClient stops receiving passwords. The accounts are kept for the logs; reactivating restores them.",
		t.DisplayName, t.Username, n)
}

// SaveGroup creates a group (id 0) or renames it and replaces its members. An AgentGroup keeps its interval and
// rotate-after-use overrides (SaveAgentGroup changes the latter).
func (a *App) SaveGroup(ctx context.Context, agents bool, id int64, name string, members []int64) error {
	var afterUse *int64
	if g := a.Snapshot().Group(agents, id); agents && g != nil {
		afterUse = g.RotateAfterUseSeconds
	}
	return a.saveGroup(ctx, agents, id, name, members, afterUse)
}

// SaveAgentGroup creates or updates an AgentGroup with its rotate-after-use override: nil inherits the tenant's
// policy, 0 turns rotate-after-use off for the group's agents, a positive number of seconds replaces the grace.
func (a *App) SaveAgentGroup(ctx context.Context, id int64, name string, members []int64, afterUse *int64) error {
	return a.saveGroup(ctx, true, id, name, members, afterUse)
}

func (a *App) saveGroup(ctx context.Context, agents bool, id int64, name string, members []int64, afterUse *int64) error {
	kind := "TechGroup"
	if agents {
		kind = "AgentGroup"
	}
	name = strings.TrimSpace(name)
	signKind, all := authority.TechGroup, false
	if agents {
		signKind = authority.AgentGroup
	}
	if g := a.Snapshot().Group(agents, id); g != nil {
		all = isAllTechs(*g) || isAllDomains(*g)
	}
	saved := id
	return a.signed(ctx, fmt.Sprintf("save %s %q", kind, name), func(api *hubclient.Client) error {
		if members == nil {
			members = []int64{}
		}
		req := wire.GroupRequest{Name: name, Members: members, RotateAfterUseSeconds: afterUse}
		if id == 0 {
			var g *wire.Group
			var err error
			if agents {
				g, err = api.CreateAgentGroup(ctx, req)
			} else {
				g, err = api.CreateTechGroup(ctx, req)
			}
			if err == nil {
				saved = g.ID
			}
			return err
		}
		g := a.Snapshot().Group(agents, id)
		if g != nil && isAllTechs(*g) {
			req.Members = nil // AllTechs is implicit
		}
		if g != nil {
			req.IntervalSeconds = g.IntervalSeconds
		}
		_, err := api.UpdateGroup(ctx, agents, id, req)
		return err
	}, func(*authority.State) ([]authority.Op, error) {
		var m []int64
		if !all {
			m = members
		}
		return []authority.Op{authority.SetGroup(signKind, saved, name, all, m)}, nil
	})
}

// DeleteGroup deletes a group and the triplets that use it.
func (a *App) DeleteGroup(ctx context.Context, agents bool, id int64) error {
	kind := authority.TechGroup
	if agents {
		kind = authority.AgentGroup
	}
	return a.signed(ctx, fmt.Sprintf("delete group %q", a.Snapshot().GroupName(agents, id)), func(api *hubclient.Client) error {
		return api.DeleteGroup(ctx, agents, id)
	}, func(state *authority.State) ([]authority.Op, error) {
		ops := tripletsUsing(state, func(t authority.Triplet) bool {
			return !agents && t.TechGroup == id || agents && t.AgentGroup == id
		})
		groups := state.TechGroups
		if agents {
			groups = state.AgentGroups
		}
		if _, ok := groups[id]; ok {
			ops = append(ops, authority.RemoveGroup(kind, id))
		}
		return ops, nil
	})
}

// ParseTargets reads a right's target groups from lines such as "ad: Domain Admins, Backup Operators".
func ParseTargets(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		driver, groups, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("target line %q: write driver: group, group", line)
		}
		driver = strings.ToLower(strings.TrimSpace(driver))
		for _, g := range strings.Split(groups, ",") {
			if g = strings.TrimSpace(g); g != "" {
				out[driver] = append(out[driver], g)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("targets: name the groups for at least one driver kind")
	}
	return out, nil
}

// FormatTargets is the inverse of ParseTargets.
func FormatTargets(t map[string][]string) string {
	var lines []string
	for d, gs := range t {
		lines = append(lines, d+": "+strings.Join(gs, ", "))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// SaveRight creates a right (id 0) or updates it.
func (a *App) SaveRight(ctx context.Context, id int64, name, targets string) error {
	t, err := ParseTargets(targets)
	if err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	saved := id
	return a.signed(ctx, fmt.Sprintf("save right %q", name), func(api *hubclient.Client) error {
		if id == 0 {
			r, err := api.CreateRight(ctx, wire.RightRequest{Name: name, Targets: t})
			if err == nil {
				saved = r.ID
			}
			return err
		}
		_, err := api.UpdateRight(ctx, id, wire.RightRequest{Name: name, Targets: t})
		return err
	}, func(*authority.State) ([]authority.Op, error) {
		return []authority.Op{authority.SetRight(saved, name, t)}, nil
	})
}

// DeleteRight deletes a right and its triplets.
func (a *App) DeleteRight(ctx context.Context, id int64) error {
	return a.signed(ctx, fmt.Sprintf("delete right %q", a.Snapshot().RightName(id)), func(api *hubclient.Client) error { return api.DeleteRight(ctx, id) },
		func(state *authority.State) ([]authority.Op, error) {
			ops := tripletsUsing(state, func(t authority.Triplet) bool { return t.Right == id })
			if _, ok := state.Rights[id]; ok {
				ops = append(ops, authority.RemoveRight(id))
			}
			return ops, nil
		})
}

// AddTriplet grants a right to a TechGroup on an AgentGroup.
func (a *App) AddTriplet(ctx context.Context, techGroup, agentGroup, right int64) error {
	s := a.Snapshot()
	label := s.TripletLabel(wire.Triplet{TechGroupID: techGroup, AgentGroupID: agentGroup, RightID: right})
	return a.addTriplet(ctx, "add triplet "+label, wire.TripletRequest{TechGroupID: techGroup, AgentGroupID: agentGroup, RightID: right})
}

// addTriplet creates a triplet and signs it under the ID the hub gave it.
func (a *App) addTriplet(ctx context.Context, what string, req wire.TripletRequest) error {
	var id int64
	return a.signed(ctx, what, func(api *hubclient.Client) error {
		t, err := api.CreateTriplet(ctx, req)
		if err == nil {
			id = t.ID
		}
		return err
	}, func(*authority.State) ([]authority.Op, error) {
		return []authority.Op{authority.SetTriplet(id, req.TechGroupID, req.AgentGroupID, req.RightID)}, nil
	})
}

// DeleteTriplet deletes a triplet; TripletImpact says beforehand what access goes with it.
func (a *App) DeleteTriplet(ctx context.Context, id int64) error {
	s := a.Snapshot()
	label := fmt.Sprintf("triplet %d", id)
	if t := find(s.Triplets, func(t wire.Triplet) bool { return t.ID == id }); t != nil {
		label = s.TripletLabel(*t)
	}
	return a.signed(ctx, "delete triplet "+label, func(api *hubclient.Client) error { return api.DeleteTriplet(ctx, id) },
		func(state *authority.State) ([]authority.Op, error) {
			if _, ok := state.Triplets[id]; !ok {
				return nil, nil
			}
			return []authority.Op{authority.RemoveTriplet(id)}, nil
		})
}

// Enrollment is a new agent enrollment: the command to run on the agent's machine, which holds no secret, and the
// single-use token it asks for on standard input.
type Enrollment struct {
	Command      string
	Token        string
	ExpiresAt    time.Time
	ApproveOnUse bool // the agent is active at once; otherwise it waits for an admin's approval
}

// NewEnrollment creates a single-use enrollment token and the command that enrolls an agent with it. Unless
// approveOnUse, the agent it enrolls is pending until an admin approves it (ApproveAgent).
func (a *App) NewEnrollment(ctx context.Context, name, driver string, ttl time.Duration, approveOnUse bool) (*Enrollment, error) {
	return a.newEnrollment(ctx, name, driver, nil, ttl, approveOnUse)
}

// NewEntraEnrollment is NewEnrollment for an Entra ID agent: its command carries the tenant's settings, checked
// before any token is made.
func (a *App) NewEntraEnrollment(ctx context.Context, name string, s EntraSettings, ttl time.Duration, approveOnUse bool) (*Enrollment, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	return a.newEnrollment(ctx, name, wire.DriverEntra, &s, ttl, approveOnUse)
}

func (a *App) newEnrollment(ctx context.Context, name, driver string, entra *EntraSettings, ttl time.Duration, approveOnUse bool) (*Enrollment, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	tok, err := api.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{TTLSeconds: int64(ttl / time.Second), ApproveOnUse: approveOnUse})
	if err != nil {
		return nil, fmt.Errorf("create enrollment token: %w", err)
	}
	note := ", the agent waits for approval"
	if tok.ApproveOnUse {
		note = ", approved on use"
	}
	_ = a.Notice.Set("enrollment token created, expires " + tok.ExpiresAt.Local().Format("2006-01-02 15:04") + note)
	cmd := EnrollCommand(a.Invite(), name, driver)
	if entra != nil {
		cmd += entra.Flags()
	}
	if c := a.Chain(); c != nil {
		cmd += " --authority " + c.Anchor().Genesis.String()
	}
	return &Enrollment{Command: cmd, Token: tok.Token, ExpiresAt: tok.ExpiresAt,
		ApproveOnUse: tok.ApproveOnUse}, nil
}

// EnrollCommand is the command an MSP admin runs on the agent's machine. It carries no token, which would show in
// ps and the shell's history: the agent reads it from standard input (--token-file -).
func EnrollCommand(inv wire.Invite, name, driver string) string {
	if name == "" {
		name = "DOMAIN.LOCAL"
	}
	if driver == "" {
		driver = wire.DriverAD
	}
	return fmt.Sprintf("watchword-agent enroll --hub '%s' --token-file - --name %s --driver %s", inv, name, driver)
}

// RotateAgent asks for an immediate rotation of every account on an agent, or of one account when account != 0.
func (a *App) RotateAgent(ctx context.Context, agent, account int64) (int, error) {
	var n int
	what := fmt.Sprintf("rotate now on %s", a.Snapshot().agentName(agent))
	err := a.do(ctx, what, func(api *hubclient.Client) (err error) {
		n, err = api.RotateNow(ctx, wire.RotateRequest{AgentID: agent, AccountID: account})
		return err
	})
	if err == nil {
		_ = a.Notice.Set(fmt.Sprintf("%s: %d account(s) marked", what, n))
	}
	return n, err
}

// RotateTech asks for an immediate rotation of every account of a tech.
func (a *App) RotateTech(ctx context.Context, tech int64) (int, error) {
	var n int
	err := a.do(ctx, fmt.Sprintf("rotate now for tech %d", tech), func(api *hubclient.Client) (err error) {
		n, err = api.RotateNow(ctx, wire.RotateRequest{TechID: tech})
		return err
	})
	return n, err
}

func (s *Snapshot) agentName(id int64) string {
	if a := s.Agent(id); a != nil {
		return a.Name
	}
	return fmt.Sprintf("agent %d", id)
}

// ApproveMany approves several pending techs where the pending list places them, and signs all the approvals in
// one update: an admin approving a CSV import's two hundred techs signs once.
func (a *App) ApproveMany(ctx context.Context, ids []int64) error {
	s := a.Snapshot()
	var seen []wire.Tech
	var broad []string
	for _, id := range ids {
		t := s.Tech(id)
		if t == nil || t.Status != wire.TechPending {
			return fmt.Errorf("approve tech %d: not pending", id)
		}
		seen = append(seen, *t)
		if bt := s.BroadTriplets(id); t.CoManaged && len(bt) > 0 {
			broad = append(broad, fmt.Sprintf("%s (%s, through %s)", t.Username, t.Organization, s.TripletLabel(bt[0])))
		}
	}
	// Refused before the first request: the hub would approve the others and refuse these, half a batch unsigned.
	if len(broad) > 0 {
		return fmt.Errorf("approve %d techs: co-managed techs would reach every domain: %s; approve them through their "+
			"organization's co-managed onboarding, or one by one with the override", len(ids), strings.Join(broad, ", "))
	}
	return a.signed(ctx, fmt.Sprintf("approve %d techs", len(seen)), func(api *hubclient.Client) error {
		for _, t := range seen {
			var place wire.ApproveRequest
			if t.Organization == "" {
				place.Groups = s.mspGroupsToJoin(t.ID)
			}
			if err := approveAt(ctx, api, s, t.ID, place); err != nil {
				return fmt.Errorf("%q: %w", t.Username, err)
			}
		}
		return nil
	}, func(state *authority.State) ([]authority.Op, error) {
		var ops []authority.Op
		for _, t := range seen {
			more, err := approvalOps(state, s, t, wire.ApproveRequest{}, t.Organization == "")
			if err != nil {
				return nil, err
			}
			ops = append(ops, more...)
		}
		// One tech's group membership op would otherwise overwrite another's: keep the last of each group.
		return mergeGroupOps(ops), nil
	})
}

// mergeGroupOps folds several SetGroup operations of one group into one with every member they add.
func mergeGroupOps(ops []authority.Op) []authority.Op {
	type key struct {
		kind string
		id   int64
	}
	at := map[key]int{}
	var out []authority.Op
	for _, op := range ops {
		if op.Kind != authority.OpGroupSet {
			out = append(out, op)
			continue
		}
		k := key{op.Group, op.ID}
		if i, ok := at[k]; ok {
			out[i] = authority.SetGroup(op.Group, op.ID, op.Name, op.All, append(slices.Clone(out[i].Members), op.Members...))
			continue
		}
		at[k] = len(out)
		out = append(out, op)
	}
	return out
}
