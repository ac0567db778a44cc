package vm

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
	for _, ag := range s.Agents {
		// A domain named after the organization is a good first guess.
		if first, _, _ := strings.Cut(strings.ToLower(org), " "); first != "" && strings.HasPrefix(strings.ToLower(ag.Name), first) {
			o.Domains = append(o.Domains, ag.ID)
		}
	}
	return o
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
	if find(s.TechGroups, func(g wire.Group) bool { return g.Name == o.CoManagedGroup }) != nil {
		p.Problems = append(p.Problems, fmt.Sprintf("A TechGroup named %q exists already.", o.CoManagedGroup))
	}
	if find(s.AgentGroups, func(g wire.Group) bool { return g.Name == o.DomainGroup }) != nil {
		p.Problems = append(p.Problems, fmt.Sprintf("An AgentGroup named %q exists already.", o.DomainGroup))
	}

	after := s.clone()
	const cmID, mspNewID, dgID = -1, -2, -3
	after.TechGroups = append(after.TechGroups, wire.Group{ID: cmID, Name: o.CoManagedGroup, Members: o.CoManagedTechs})
	p.Steps = append(p.Steps, fmt.Sprintf("Create TechGroup %q with the co-managed techs: %s", o.CoManagedGroup, names(o.CoManagedTechs, techName)))
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
	after.AgentGroups = append(after.AgentGroups, wire.Group{ID: dgID, Name: o.DomainGroup, Members: o.Domains})
	p.Steps = append(p.Steps, fmt.Sprintf("Create AgentGroup %q with the client's domains: %s", o.DomainGroup, names(o.Domains, s.agentName)))
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
	}
	p.Changes = DiffAccess(s, after)
	return p
}

// ApplyOnboarding sends the onboarding to the hub, which applies all of it or none of it.
func (a *App) ApplyOnboarding(ctx context.Context, o Onboarding) (*wire.OnboardResponse, error) {
	var out *wire.OnboardResponse
	err := a.do(ctx, fmt.Sprintf("onboard %q", o.Organization), func(api *hubclient.Client) (err error) {
		out, err = api.Onboard(ctx, o.Request())
		return err
	})
	return out, err
}
