package vm

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// Onboarding is the co-managed onboarding of one client organization being prepared.
type Onboarding struct {
	Organization   string
	CoManagedGroup string
	CoManagedTechs []int64 // the organization's techs, pending or active
	MSPGroup       string
	MSPTechs       []int64 // the MSP's own techs
	DomainGroup    string
	Domains        []int64 // the organization's agents
}

// NewOnboarding proposes an onboarding for org: every pending or active tech of org as co-managed, every active
// or pending MSP tech (and the members of an existing MSP group) in the MSP group, descriptive group names, and
// no domains yet — the admin picks those, since the hub cannot know which domains belong to whom.
func (a *App) NewOnboarding(org string) Onboarding {
	s := a.Snapshot()
	o := Onboarding{Organization: org, CoManagedGroup: org + " co-managed techs", MSPGroup: "MSP techs", DomainGroup: org + " domains"}
	if gs := s.MSPGroups(); len(gs) > 0 {
		o.MSPGroup = gs[0].Name
	}
	for _, t := range s.Techs {
		switch {
		case t.Status != wire.TechPending && t.Status != wire.TechActive:
		case t.Organization == "":
			o.MSPTechs = append(o.MSPTechs, t.ID)
		case strings.EqualFold(t.Organization, org):
			o.CoManagedTechs = append(o.CoManagedTechs, t.ID)
		}
	}
	if cm, dg := s.OnboardedGroups(org); cm != nil {
		// Onboarded before: extend its groups, keeping the domains it has.
		o.CoManagedGroup, o.DomainGroup, o.Domains = cm.Name, dg.Name, slices.Clone(dg.Members)
		return o
	}
	for _, ag := range s.Agents {
		// A domain named after the organization is a good first guess.
		if first, _, _ := strings.Cut(strings.ToLower(org), " "); first != "" && strings.HasPrefix(strings.ToLower(ag.Name), first) {
			o.Domains = append(o.Domains, ag.ID)
		}
	}
	return o
}

// OnboardedGroups finds what an earlier onboarding of org made: a TechGroup holding only org's co-managed techs,
// granted on an AgentGroup other than AllDomains, and that AgentGroup. Nil when org was not onboarded; onboarding
// it again extends these two groups (the hub checks the same).
func (s *Snapshot) OnboardedGroups(org string) (coManaged, domains *wire.Group) {
	for i := range s.TechGroups {
		g := &s.TechGroups[i]
		if g.Builtin || len(g.Members) == 0 || slices.ContainsFunc(g.Members, func(id int64) bool {
			t := s.Tech(id)
			return t == nil || !t.CoManaged || !strings.EqualFold(t.Organization, org)
		}) {
			continue
		}
		var dg *wire.Group
		for _, t := range s.Triplets {
			if t.TechGroupID != g.ID {
				continue
			}
			ag := s.Group(true, t.AgentGroupID)
			if ag == nil || isAllDomains(*ag) {
				dg = nil
				break
			}
			if dg == nil {
				dg = ag
			}
		}
		if dg != nil {
			return g, dg
		}
	}
	return nil, nil
}

// Request is the onboarding as the hub endpoint takes it.
func (o Onboarding) Request() wire.OnboardRequest {
	return wire.OnboardRequest{Organization: o.Organization, CoManagedGroup: o.CoManagedGroup, CoManagedTechs: o.CoManagedTechs,
		MSPGroup: o.MSPGroup, MSPTechs: o.MSPTechs, DomainGroup: o.DomainGroup, Domains: o.Domains}
}

// Preview is what an onboarding will do, step by step, and the access it changes.
type Preview struct {
	Steps   []string
	Changes []Change
	// Problems block the onboarding (nothing picked, a name in use); the hub would refuse it too.
	Problems []string
}

// newMembers adds ids to g and returns the ones it did not hold.
func newMembers(g *wire.Group, ids []int64) []int64 {
	var added []int64
	for _, id := range ids {
		if !slices.Contains(g.Members, id) {
			g.Members = append(g.Members, id)
			added = append(added, id)
		}
	}
	return added
}

// Preview simulates the onboarding on the current snapshot.
func (a *App) Preview(o Onboarding) Preview {
	s := a.Snapshot()
	var p Preview
	names := func(ids []int64, name func(int64) string) string {
		var out []string
		for _, id := range ids {
			out = append(out, name(id))
		}
		if len(out) == 0 {
			return "nobody"
		}
		return strings.Join(out, ", ")
	}
	techName := func(id int64) string {
		if t := s.Tech(id); t != nil {
			return t.Username
		}
		return fmt.Sprint(id)
	}
	if strings.TrimSpace(o.Organization) == "" {
		p.Problems = append(p.Problems, "Pick the client organization.")
	}
	if len(o.CoManagedTechs) == 0 {
		p.Problems = append(p.Problems, "Pick at least one co-managed tech.")
	}
	if len(o.Domains) == 0 {
		p.Problems = append(p.Problems, "Pick at least one of the client's domains.")
	}
	// Onboarded before: the same names extend its two groups rather than clash with them.
	oldCM, oldDG := s.OnboardedGroups(o.Organization)
	extendCM := oldCM != nil && oldCM.Name == o.CoManagedGroup
	extendDG := extendCM && oldDG.Name == o.DomainGroup
	if !extendCM && find(s.TechGroups, func(g wire.Group) bool { return g.Name == o.CoManagedGroup }) != nil {
		p.Problems = append(p.Problems, fmt.Sprintf("A TechGroup named %q exists already.", o.CoManagedGroup))
	}
	if !extendDG && find(s.AgentGroups, func(g wire.Group) bool { return g.Name == o.DomainGroup }) != nil {
		p.Problems = append(p.Problems, fmt.Sprintf("An AgentGroup named %q exists already.", o.DomainGroup))
	}

	after := s.clone()
	const mspNewID = -2
	cmID, dgID := int64(-1), int64(-3)
	if extendCM {
		cmID = oldCM.ID
		g := after.Group(false, cmID)
		added := names(newMembers(g, o.CoManagedTechs), techName)
		if added == "nobody" {
			added = "none new"
		}
		p.Steps = append(p.Steps, fmt.Sprintf("%s is onboarded: add to its TechGroup %q the co-managed techs: %s", o.Organization, o.CoManagedGroup, added))
	} else {
		after.TechGroups = append(after.TechGroups, wire.Group{ID: cmID, Name: o.CoManagedGroup, Members: o.CoManagedTechs})
		p.Steps = append(p.Steps, fmt.Sprintf("Create TechGroup %q with the co-managed techs: %s", o.CoManagedGroup, names(o.CoManagedTechs, techName)))
	}
	mspID := int64(mspNewID)
	if g := find(after.TechGroups, func(g wire.Group) bool { return g.Name == o.MSPGroup && g.ID > 0 }); g != nil {
		mspID = g.ID
		for _, id := range o.MSPTechs {
			if !slices.Contains(g.Members, id) {
				g.Members = append(g.Members, id)
			}
		}
		p.Steps = append(p.Steps, fmt.Sprintf("Reuse TechGroup %q and add the MSP techs: %s", o.MSPGroup, names(o.MSPTechs, techName)))
	} else {
		after.TechGroups = append(after.TechGroups, wire.Group{ID: mspNewID, Name: o.MSPGroup, Members: o.MSPTechs})
		p.Steps = append(p.Steps, fmt.Sprintf("Create TechGroup %q with the MSP techs: %s", o.MSPGroup, names(o.MSPTechs, techName)))
	}
	if extendDG {
		dgID = oldDG.ID
		added := names(newMembers(after.Group(true, dgID), o.Domains), s.agentName)
		if added == "nobody" {
			added = "none new"
		}
		p.Steps = append(p.Steps, fmt.Sprintf("Add to its AgentGroup %q the client's domains: %s", o.DomainGroup, added))
	} else {
		after.AgentGroups = append(after.AgentGroups, wire.Group{ID: dgID, Name: o.DomainGroup, Members: o.Domains})
		p.Steps = append(p.Steps, fmt.Sprintf("Create AgentGroup %q with the client's domains: %s", o.DomainGroup, names(o.Domains, s.agentName)))
	}
	allRights := find(s.Rights, func(r wire.Right) bool { return r.Builtin && r.Name == wire.AllRights })
	allDomains := find(s.AgentGroups, func(g wire.Group) bool { return isAllDomains(g) })
	if allRights != nil && allDomains != nil {
		add := func(t wire.Triplet) {
			if !slices.ContainsFunc(after.Triplets, func(x wire.Triplet) bool {
				return x.TechGroupID == t.TechGroupID && x.AgentGroupID == t.AgentGroupID && x.RightID == t.RightID
			}) {
				after.Triplets = append(after.Triplets, t)
				p.Steps = append(p.Steps, "Create triplet "+after.TripletLabel(t))
			}
		}
		add(wire.Triplet{ID: -1, TechGroupID: cmID, AgentGroupID: dgID, RightID: allRights.ID})
		add(wire.Triplet{ID: -2, TechGroupID: mspID, AgentGroupID: allDomains.ID, RightID: allRights.ID})
	}
	if all := find(after.Triplets, func(t wire.Triplet) bool { return t.Builtin }); all != nil {
		p.Steps = append(p.Steps, "Delete the All triplet "+after.TripletLabel(*all))
		after.Triplets = slices.DeleteFunc(after.Triplets, func(t wire.Triplet) bool { return t.Builtin })
	}
	var activate []int64
	for i := range after.Techs {
		if t := &after.Techs[i]; slices.Contains(o.CoManagedTechs, t.ID) && t.Status == wire.TechPending {
			t.Status = wire.TechActive
			activate = append(activate, t.ID)
		}
	}
	if len(activate) > 0 {
		p.Steps = append(p.Steps, "Last, activate the pending co-managed techs: "+names(activate, techName))
		// The hub refuses to activate them while another triplet still gives them every domain (approve.go there).
		for _, t := range after.BroadTriplets(activate[0]) {
			p.Problems = append(p.Problems, fmt.Sprintf("Triplet %s would still give the co-managed techs every domain: delete or narrow it under Triplets first.", after.TripletLabel(t)))
		}
	}
	p.Changes = DiffAccess(s, after)
	return p
}

// ApplyOnboarding sends the onboarding to the hub, which applies all of it or none of it, and signs the whole
// onboarding in one update.
func (a *App) ApplyOnboarding(ctx context.Context, o Onboarding) (*wire.OnboardResponse, error) {
	var out *wire.OnboardResponse
	s := a.Snapshot()
	err := a.signed(ctx, fmt.Sprintf("onboard %q", o.Organization), func(api *hubclient.Client) (err error) {
		out, err = api.Onboard(ctx, o.Request())
		return err
	}, func(state *authority.State) ([]authority.Op, error) { return onboardOps(state, s, o, out) })
	return out, err
}

// onboardOps are the signed operations of an onboarding: the three groups with the members the admin picked (the
// MSP group's signed members kept), the two triplets the onboarding makes, the All triplet's removal and the
// approval of the pending co-managed techs with the keys shown when the admin applied it. The hub's answer gives
// only the IDs; a triplet of another shape than the onboarding's is refused, not signed.
func onboardOps(state *authority.State, s *Snapshot, o Onboarding, out *wire.OnboardResponse) ([]authority.Op, error) {
	var ops []authority.Op
	for _, id := range out.Activated {
		t := s.Tech(id.ID)
		if t == nil || t.Status != wire.TechPending || !slices.Contains(o.CoManagedTechs, id.ID) {
			return nil, fmt.Errorf("the hub activated tech %d, which the onboarding did not pick as a pending co-managed tech", id.ID)
		}
		op, err := approveOp(*t, o.Organization, t.PublicKey)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	// A group an earlier onboarding made (the MSP one, and both of an extended organization) keeps its signed members.
	withSigned := func(groups map[int64]authority.Group, id int64, picked []int64) []int64 {
		out := slices.Clone(picked)
		if g, ok := groups[id]; ok {
			for m := range g.Members {
				if !slices.Contains(out, m) {
					out = append(out, m)
				}
			}
		}
		return out
	}
	ops = append(ops, authority.SetGroup(authority.TechGroup, out.CoManagedGroup.ID, o.CoManagedGroup, false, withSigned(state.TechGroups, out.CoManagedGroup.ID, o.CoManagedTechs)),
		authority.SetGroup(authority.TechGroup, out.MSPGroup.ID, o.MSPGroup, false, withSigned(state.TechGroups, out.MSPGroup.ID, o.MSPTechs)),
		authority.SetGroup(authority.AgentGroup, out.DomainGroup.ID, o.DomainGroup, false, withSigned(state.AgentGroups, out.DomainGroup.ID, o.Domains)))
	var allRights, allDomains int64
	for id, r := range state.Rights {
		if r.Name == wire.AllRights {
			allRights = id
		}
	}
	for id, g := range state.AgentGroups {
		if g.All && g.Name == wire.AllDomains {
			allDomains = id
		}
	}
	for _, t := range out.Triplets {
		coManaged := t.TechGroupID == out.CoManagedGroup.ID && t.AgentGroupID == out.DomainGroup.ID
		mspAll := t.TechGroupID == out.MSPGroup.ID && t.AgentGroupID == allDomains
		if t.RightID != allRights || !coManaged && !mspAll {
			return nil, fmt.Errorf("the hub made triplet %d, not one of the onboarding's", t.ID)
		}
		ops = append(ops, authority.SetTriplet(t.ID, t.TechGroupID, t.AgentGroupID, t.RightID))
	}
	if out.DeletedAllTriplet {
		if all := find(s.Triplets, func(t wire.Triplet) bool { return t.Builtin }); all != nil {
			if _, ok := state.Triplets[all.ID]; ok {
				ops = append(ops, authority.RemoveTriplet(all.ID))
			}
		}
	}
	return ops, nil
}
