package hub

// ---- what an approval may hand out ----
//
// The co-managed tech guide's order exists because of one mistake: approving a client's employee while a triplet
// gives AllTechs every domain hands them every other client's domains. The hub, not only the Console, refuses it:
// a co-managed tech is approved only once no triplet on AllDomains reaches them (the co-managed onboarding removes
// the All triplet and activates them last), unless the admin names each such triplet as an explicit override,
// which the audit log keeps. An approval may also place the tech in TechGroups in the same transaction (a new MSP
// tech joins the MSP techs' group), so no request ever sees it active without them.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// joinGroups adds t to the TechGroups an approval names. A Co-managed Manager approves into its organization only
// and changes no group.
func joinGroups(c *change, r *request, t *store.Tech, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if org, scoped := r.coManager(); scoped {
		return wire.Invalid("groups", "a Co-managed Manager approves techs into its own organization %q and changes no group", org)
	}
	for _, id := range ids {
		g, err := c.tx.Group(t.TenantID, id)
		if err != nil || g.Kind != store.KindTech {
			return wire.Invalid("groups", "TechGroup %d does not exist", id)
		}
		if g.Builtin {
			return wire.Invalid("groups", "%q is a built-in group", g.Name)
		}
		if slices.Contains(g.Members, t.ID) {
			continue
		}
		if err := c.tx.AddMembers(t.TenantID, g.ID, []int64{t.ID}); err != nil {
			return memberError("groups", err)
		}
		if err := c.audit("techgroup.members", fmt.Sprintf("group %d", g.ID),
			fmt.Sprintf("name=%q add=[%d] remove=[] approval=%q", g.Name, t.ID, t.Username)); err != nil {
			return err
		}
	}
	c.graph = true
	return nil
}

// broadTriplets lists the triplets that give tech t every domain: on AllDomains, through AllTechs or a TechGroup
// t is a member of (in the transaction, so groups joined by this approval count), standing or just-in-time.
func broadTriplets(tx store.Tx, t *store.Tech) ([]store.Triplet, map[int64]string, error) {
	triplets, err := tx.Triplets(t.TenantID)
	if err != nil {
		return nil, nil, err
	}
	techGroups, err := tx.Groups(t.TenantID, store.KindTech)
	if err != nil {
		return nil, nil, err
	}
	agentGroups, err := tx.Groups(t.TenantID, store.KindAgent)
	if err != nil {
		return nil, nil, err
	}
	rights, err := tx.Rights(t.TenantID)
	if err != nil {
		return nil, nil, err
	}
	name := map[int64]string{}
	reaches := map[int64]bool{} // TechGroups that hold t
	allDomains := map[int64]bool{}
	for _, g := range techGroups {
		name[g.ID] = g.Name
		reaches[g.ID] = g.Builtin && g.Name == wire.AllTechs || slices.Contains(g.Members, t.ID)
	}
	for _, g := range agentGroups {
		name[g.ID] = g.Name
		allDomains[g.ID] = g.Builtin && g.Name == wire.AllDomains
	}
	rightName := map[int64]string{}
	for _, r := range rights {
		rightName[r.ID] = r.Name
	}
	var out []store.Triplet
	labels := map[int64]string{}
	for _, tr := range triplets {
		if allDomains[tr.AgentGroupID] && reaches[tr.TechGroupID] {
			out = append(out, tr)
			labels[tr.ID] = fmt.Sprintf("triplet %d (%s × %s × %s)", tr.ID, name[tr.TechGroupID], name[tr.AgentGroupID], rightName[tr.RightID])
		}
	}
	return out, labels, nil
}

// checkCoManagedApproval refuses to activate the co-managed tech t while a triplet gives it every domain, unless
// override names every such triplet; an override is audited before the approval. Not a co-managed tech: nothing
// to check. A Co-managed Manager may not override: the access it would hand out is beyond its organization.
func checkCoManagedApproval(c *change, r *request, t *store.Tech, override []int64, how string) error {
	if !t.CoManaged {
		if len(override) > 0 {
			return wire.Invalid("overrideTriplets", "tech %q is MSP staff: there is nothing to override", t.Username)
		}
		return nil
	}
	broad, labels, err := broadTriplets(c.tx, t)
	if err != nil {
		return err
	}
	if len(broad) == 0 {
		if len(override) > 0 {
			return wire.Invalid("overrideTriplets", "no triplet gives %q every domain any more: approve without the override", t.Username)
		}
		return nil
	}
	var named, missing []string
	var ids []int64
	for _, tr := range broad {
		named = append(named, labels[tr.ID])
		ids = append(ids, tr.ID)
		if !slices.Contains(override, tr.ID) {
			missing = append(missing, labels[tr.ID])
		}
	}
	_, scoped := r.coManager()
	if len(missing) > 0 || scoped {
		way := "or confirm the override"
		if scoped {
			missing, way = named, "or ask an MSP admin"
		}
		return &wire.Error{Code: wire.CodeConflict, Field: "overrideTriplets", Message: fmt.Sprintf(
			"%s would give co-managed tech %q of %s every domain, every other client's included: run the co-managed "+
				"onboarding for %s first (it removes the All triplet and activates its techs last), narrow the triplet, %s",
			strings.Join(missing, " and "), t.Username, t.Organization, t.Organization, way)}
	}
	return c.audit("tech.approve-override", fmt.Sprintf("tech %d", t.ID),
		fmt.Sprintf("username=%q organization=%q triplets=%v via=%s reaches every domain through %s", t.Username, t.Organization, ids, how, strings.Join(named, ", ")))
}
