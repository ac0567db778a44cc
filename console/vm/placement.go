package vm

// Where an approved tech belongs, on the Console side (the hub side is console/server/hub/placement.go).
//
// The organization a registrant typed is only a suggestion: approving decides whether the tech is co-managed,
// and with it whether 2FA is required. The approve dialog offers the suggestion first, then every recorded
// organization and MSP staff; a Co-managed Manager may place its organization's techs in that organization only.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/shared/wire"
)

// Placement is one place the approve dialog offers for a pending tech.
type Placement struct {
	Label string
	Req   wire.ApproveRequest
}

// CoManaged reports whether approving with p makes the tech co-managed.
func (p Placement) CoManaged() bool { return p.Req.Organization != "" }

// MSPStaffLabel is the label of the MSP staff placement.
const MSPStaffLabel = "MSP staff (no organization)"

// Placements lists where tech id may be approved, the pending list's suggestion first: the organization the tech
// typed (or its reservation named), then the other recorded organizations (RecordedOrganizations), then MSP staff.
// A Co-managed Manager gets its own organization only.
func (a *App) Placements(id int64, recorded []string) []Placement {
	s := a.Snapshot()
	t := s.Tech(id)
	if t == nil {
		return nil
	}
	typed := t.Organization
	if s.Me.Role == wire.RoleCoManager {
		org := s.Me.Organization
		if org == "" {
			org = typed // a manager sees only its organization's techs
		}
		return []Placement{{Label: org, Req: wire.ApproveRequest{Organization: org}}}
	}
	names := slices.Clone(recorded)
	slices.SortFunc(names, func(x, y string) int { return strings.Compare(strings.ToLower(x), strings.ToLower(y)) })
	msp := Placement{Label: MSPStaffLabel, Req: wire.ApproveRequest{MSPStaff: true}}
	var out []Placement
	if typed == "" {
		out = append(out, msp)
	} else {
		out = append(out, Placement{Label: typed + " (as registered)", Req: wire.ApproveRequest{Organization: typed}})
	}
	for _, n := range names {
		if !strings.EqualFold(n, typed) {
			out = append(out, Placement{Label: n, Req: wire.ApproveRequest{Organization: n}})
		}
	}
	if typed != "" {
		out = append(out, msp)
	}
	return out
}

// RecordedOrganizations lists the tenant's recorded organizations, for Placements; nothing when the role may not
// read them (a Co-managed Manager places in its own organization only).
func (a *App) RecordedOrganizations(ctx context.Context) ([]string, error) {
	if !a.Snapshot().Me.CanReadAll() {
		return nil, nil
	}
	api, err := a.client()
	if err != nil {
		return nil, nil // a hub connection without organizations: the suggestion and MSP staff remain
	}
	resp, err := api.Orgs(ctx)
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	var out []string
	for _, o := range resp.Orgs {
		out = append(out, o.Name)
	}
	return out, nil
}

// PlacementNote says what approving with p means for the tech, for the approve dialog.
func (a *App) PlacementNote(p Placement) string {
	if p.CoManaged() {
		note := fmt.Sprintf("Co-managed by %s: they must enrol an authenticator (2FA) before they get any password.", p.Req.Organization)
		if cm, _ := a.Snapshot().OnboardedGroups(p.Req.Organization); cm != nil {
			return note + fmt.Sprintf(" %s is onboarded: run its onboarding again to add this tech to %s, which approves them "+
				"too; approved here, they reach nothing until they join a group.", p.Req.Organization, cm.Name)
		}
		return note + fmt.Sprintf(" Approve them through the co-managed onboarding of %s, so they only ever reach its domains.", p.Req.Organization)
	}
	note := "MSP staff: no client organization; 2FA only if the security policy asks it of MSP techs."
	if gs := a.Snapshot().MSPGroups(); len(gs) > 0 {
		note += " They also join the TechGroup " + gs[0].Name + "."
	}
	return note
}

// BroadTriplets lists the triplets that give tech id every domain: on AllDomains, through AllTechs or a TechGroup
// holding the tech or among joining. The hub refuses to approve a co-managed tech while one exists, unless the
// approval names each of them as an override (wire.ApproveRequest.OverrideTriplets).
func (s *Snapshot) BroadTriplets(id int64, joining ...int64) []wire.Triplet {
	var out []wire.Triplet
	for _, t := range s.Triplets {
		ag, tg := s.Group(true, t.AgentGroupID), s.Group(false, t.TechGroupID)
		if ag != nil && tg != nil && isAllDomains(*ag) && (isAllTechs(*tg) || slices.Contains(tg.Members, id) || slices.Contains(joining, tg.ID)) {
			out = append(out, t)
		}
	}
	return out
}

// Override is what approving tech id with p needs the admin to confirm: the triplets that would give the
// co-managed tech every domain, and the warning the confirmation shows. Nothing for MSP staff, or once the
// onboarding has left no such triplet.
func (a *App) Override(id int64, p Placement) (ids []int64, warning string) {
	if !p.CoManaged() {
		return nil, ""
	}
	s := a.Snapshot()
	var labels []string
	for _, t := range s.BroadTriplets(id, p.Req.Groups...) {
		ids = append(ids, t.ID)
		labels = append(labels, s.TripletLabel(t))
	}
	if len(ids) == 0 {
		return nil, ""
	}
	name := fmt.Sprintf("tech %d", id)
	if t := s.Tech(id); t != nil {
		name = t.Username
	}
	return ids, fmt.Sprintf("The triplet %s gives %s every domain and host of every client, not only %s's. The hub refuses this "+
		"approval: run the co-managed onboarding of %s instead, which removes the All triplet and activates %s last.\n\n"+
		"Approve anyway only if %s may reach every client: the override is written to the audit log.",
		strings.Join(labels, " and "), name, p.Req.Organization, p.Req.Organization, name, name)
}
