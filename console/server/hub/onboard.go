package hub

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// adminOnboard is the co-managed onboarding (its steps 4–11) as one transaction. Doing the steps one request
// at a time leaves windows in which access is wrong: after the new triplets but before the All triplet goes,
// co-managed techs activated early would reach every domain. Here every step lands or none does, and the
// co-managed techs are activated last, after the All triplet is gone, as the seed insists.
func (h *Hub) adminOnboard(r *request) (any, error) {
	var req wire.OnboardRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	if err := checkOnboard(&req); err != nil {
		return nil, err
	}
	out := &wire.OnboardResponse{Triplets: []wire.Triplet{}, Activated: []wire.Tech{}}
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		tenant := r.tenant.ID
		rec, err := recordOrg(c, req.Organization, "onboarding") // an organization techs typed (orgs.go)
		if err != nil {
			return err
		}
		if err := coManagementOn(c.tx, tenant, req.Organization); err != nil { // the switch of orgs.go
			return err
		}
		cm, err := onboardTechs(c.tx, tenant, "coManagedTechs", req.CoManagedTechs, func(t *store.Tech) error {
			if !strings.EqualFold(t.Organization, req.Organization) {
				return fmt.Errorf("tech %q belongs to organization %q", t.Username, t.Organization)
			}
			if t.Status != wire.TechPending && t.Status != wire.TechActive {
				return fmt.Errorf("tech %q is %s", t.Username, t.Status)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := onboardTechs(c.tx, tenant, "mspTechs", req.MSPTechs, func(t *store.Tech) error {
			if t.Organization != "" {
				return fmt.Errorf("tech %q belongs to client organization %q", t.Username, t.Organization)
			}
			if t.Status == wire.TechRejected {
				return fmt.Errorf("tech %q is rejected", t.Username)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, id := range req.Domains {
			if _, err := c.tx.Agent(tenant, id); err != nil {
				return wire.Invalid("domains", "agent %d does not exist", id)
			}
		}
		techGroups, err := c.tx.Groups(tenant, store.KindTech)
		if err != nil {
			return err
		}
		agentGroups, err := c.tx.Groups(tenant, store.KindAgent)
		if err != nil {
			return err
		}
		allDomains := slices.IndexFunc(agentGroups, func(g store.Group) bool { return g.Builtin && g.Name == wire.AllDomains })
		if allDomains < 0 {
			return errors.New("tenant has no AllDomains group")
		}
		right, err := onboardRight(c.tx, tenant, req.RightID)
		if err != nil {
			return err
		}

		triplets, err := c.tx.Triplets(tenant)
		if err != nil {
			return err
		}
		// Step 4: the co-managed techs' TechGroup, or the one an earlier onboarding of the organization made.
		cmg := &store.Group{TenantID: tenant, Kind: store.KindTech, Name: req.CoManagedGroup, Members: req.CoManagedTechs}
		if i := slices.IndexFunc(techGroups, func(g store.Group) bool { return g.Name == req.CoManagedGroup }); i >= 0 {
			if cmg, err = extendable(c.tx, &techGroups[i], req.Organization, triplets, agentGroups[allDomains].ID); err != nil {
				return err
			}
			out.Extended = true
			if cmg, err = addMembers(c, cmg, req.CoManagedTechs, "coManagedTechs", req.Organization); err != nil {
				return err
			}
		} else if err := createGroup(c, cmg, "coManagedGroup"); err != nil {
			return err
		}
		// Step 5: the MSP techs' TechGroup, made by the first onboarding and reused by the next ones.
		var mspg *store.Group
		if i := slices.IndexFunc(techGroups, func(g store.Group) bool { return g.Name == req.MSPGroup }); i >= 0 {
			mspg = &techGroups[i]
			if mspg.Builtin {
				return wire.Invalid("mspGroup", "%q is a built-in group", req.MSPGroup)
			}
			if mspg, err = addMembers(c, mspg, req.MSPTechs, "mspTechs", req.Organization); err != nil {
				return err
			}
		} else {
			mspg = &store.Group{TenantID: tenant, Kind: store.KindTech, Name: req.MSPGroup, Members: req.MSPTechs}
			if err := createGroup(c, mspg, "mspGroup"); err != nil {
				return err
			}
		}
		// Steps 6 and 7: the client's domains' AgentGroup; extending, the one the co-managed group is granted.
		dg := &store.Group{TenantID: tenant, Kind: store.KindAgent, Name: req.DomainGroup, Members: req.Domains}
		i := slices.IndexFunc(agentGroups, func(g store.Group) bool { return g.Name == req.DomainGroup })
		if i >= 0 && out.Extended && slices.ContainsFunc(triplets, func(t store.Triplet) bool {
			return t.TechGroupID == cmg.ID && t.AgentGroupID == agentGroups[i].ID
		}) {
			if dg, err = addMembers(c, &agentGroups[i], req.Domains, "domains", req.Organization); err != nil {
				return err
			}
		} else if err := createGroup(c, dg, "domainGroup"); err != nil {
			return err
		}
		// Steps 8 and 9: the two triplets; the MSP one may exist from an earlier onboarding, both when extending.
		for _, t := range []store.Triplet{
			{TenantID: tenant, TechGroupID: cmg.ID, AgentGroupID: dg.ID, RightID: right.ID},
			{TenantID: tenant, TechGroupID: mspg.ID, AgentGroupID: agentGroups[allDomains].ID, RightID: right.ID},
		} {
			if slices.ContainsFunc(triplets, func(x store.Triplet) bool {
				return x.TechGroupID == t.TechGroupID && x.AgentGroupID == t.AgentGroupID && x.RightID == t.RightID
			}) {
				continue
			}
			if err := c.tx.CreateTriplet(&t); err != nil {
				return err
			}
			out.Triplets = append(out.Triplets, tripletWire(&t))
			if err := c.audit("triplet.create", fmt.Sprintf("triplet %d", t.ID), fmt.Sprintf("techGroup=%d agentGroup=%d right=%d onboarding=%q", t.TechGroupID, t.AgentGroupID, t.RightID, req.Organization)); err != nil {
				return err
			}
		}
		// Step 10: the All triplet goes.
		for _, t := range triplets {
			if !t.Builtin {
				continue
			}
			if err := c.tx.DeleteTriplet(tenant, t.ID); err != nil {
				return err
			}
			out.DeletedAllTriplet = true
			if err := c.audit("triplet.delete", fmt.Sprintf("triplet %d", t.ID), fmt.Sprintf("all triplet onboarding=%q", req.Organization)); err != nil {
				return err
			}
		}
		// Step 11, last: activate the co-managed techs still pending.
		for i := range cm {
			t := &cm[i]
			if t.Status != wire.TechPending {
				continue
			}
			// A triplet like the All one, kept beside it, would still hand them every domain (approve.go).
			if err := checkCoManagedApproval(c, r, t, nil, "onboarding"); err != nil {
				return err
			}
			t.Status, t.UpdatedAt = wire.TechActive, c.at
			if rec != nil {
				t.Organization = rec.Name // the recorded spelling, as an approval gives it
			}
			if err := c.tx.UpdateTech(t); err != nil {
				return err
			}
			if err := applyReservation(c, t); err != nil { // an approval: the reservation's groups (csvimport.go)
				return err
			}
			out.Activated = append(out.Activated, techWire(t))
			if err := c.audit("tech.approve", fmt.Sprintf("tech %d", t.ID), fmt.Sprintf("username=%q from=pending to=active fingerprint=%q onboarding=%q", t.Username, t.Fingerprint, req.Organization)); err != nil {
				return err
			}
		}
		out.CoManagedGroup, out.MSPGroup, out.DomainGroup = groupWire(cmg), groupWire(mspg), groupWire(dg)
		c.graph = true
		return c.audit("onboard.comanaged", "organization "+req.Organization, fmt.Sprintf("coManagedGroup=%d mspGroup=%d domainGroup=%d right=%d techs=%v domains=%v activated=%d extended=%t",
			cmg.ID, mspg.ID, dg.ID, right.ID, req.CoManagedTechs, req.Domains, len(out.Activated), out.Extended))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkOnboard validates what needs no transaction, reporting every field at fault.
func checkOnboard(req *wire.OnboardRequest) error {
	var errs []error
	org, err := text("organization", req.Organization, true, 100)
	errs = append(errs, err)
	req.Organization = org
	names := map[string]*string{"coManagedGroup": &req.CoManagedGroup, "mspGroup": &req.MSPGroup, "domainGroup": &req.DomainGroup}
	for _, field := range []string{"coManagedGroup", "mspGroup", "domainGroup"} {
		name, err := checkName(field, *names[field])
		if err == nil && isBuiltinName(name) {
			err = wire.Invalid(field, "%q is a built-in name", name)
		}
		errs = append(errs, err)
		*names[field] = name
	}
	if req.CoManagedGroup != "" && req.CoManagedGroup == req.MSPGroup {
		errs = append(errs, wire.Invalid("mspGroup", "must differ from the co-managed group"))
	}
	if len(req.CoManagedTechs) == 0 {
		errs = append(errs, wire.Invalid("coManagedTechs", "pick at least one co-managed tech"))
	}
	if len(req.Domains) == 0 {
		errs = append(errs, wire.Invalid("domains", "pick at least one of the client's domains"))
	}
	for _, id := range req.CoManagedTechs {
		if slices.Contains(req.MSPTechs, id) {
			errs = append(errs, wire.Invalid("mspTechs", "tech %d is also picked as co-managed", id))
			break
		}
	}
	if req.RightID < 0 {
		errs = append(errs, wire.Invalid("rightId", "must be positive, or 0 for AllRights"))
	}
	return errors.Join(errs...)
}

// onboardTechs loads techs by ID and checks each with ok.
func onboardTechs(tx store.Tx, tenant int64, field string, ids []int64, ok func(*store.Tech) error) ([]store.Tech, error) {
	out := make([]store.Tech, 0, len(ids))
	for _, id := range ids {
		t, err := tx.Tech(tenant, id)
		if err != nil {
			return nil, wire.Invalid(field, "tech %d does not exist", id)
		}
		if err := ok(t); err != nil {
			return nil, wire.Invalid(field, "%v", err)
		}
		out = append(out, *t)
	}
	return out, nil
}

func onboardRight(tx store.Tx, tenant, id int64) (*store.Right, error) {
	if id != 0 {
		r, err := tx.Right(tenant, id)
		if err != nil {
			return nil, wire.Invalid("rightId", "no such right")
		}
		return r, nil
	}
	rights, err := tx.Rights(tenant)
	if err != nil {
		return nil, err
	}
	for i := range rights {
		if rights[i].Builtin && rights[i].Name == wire.AllRights {
			return &rights[i], nil
		}
	}
	return nil, errors.New("tenant has no AllRights right")
}

// createGroup creates g with its members and audits it as the group endpoints do.
func createGroup(c *change, g *store.Group, field string) error {
	if err := c.tx.CreateGroup(g); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return &wire.Error{Code: wire.CodeConflict, Field: field, Message: fmt.Sprintf("a group named %q exists", g.Name)}
		}
		return memberError(field, err)
	}
	return c.audit(g.Kind+"group.create", fmt.Sprintf("group %d", g.ID), fmt.Sprintf("name=%q members=%v interval=0", g.Name, g.Members))
}

// extendable checks that g, the TechGroup a new onboarding of org names, is that organization's co-managed group
// from an earlier onboarding, so that extending it hands nobody else anything: not built in, holding only org's
// co-managed techs, and granted nothing on AllDomains.
func extendable(tx store.Tx, g *store.Group, org string, triplets []store.Triplet, allDomains int64) (*store.Group, error) {
	if g.Builtin {
		return nil, wire.Invalid("coManagedGroup", "%q is a built-in group", g.Name)
	}
	for _, id := range g.Members {
		t, err := tx.Tech(g.TenantID, id)
		if err != nil {
			return nil, err
		}
		if !t.CoManaged || !strings.EqualFold(t.Organization, org) {
			return nil, &wire.Error{Code: wire.CodeConflict, Field: "coManagedGroup", Message: fmt.Sprintf(
				"a group named %q exists and holds %q, who is not a co-managed tech of %s: it is not %s's to extend", g.Name, t.Username, org, org)}
		}
	}
	if slices.ContainsFunc(triplets, func(t store.Triplet) bool { return t.TechGroupID == g.ID && t.AgentGroupID == allDomains }) {
		return nil, &wire.Error{Code: wire.CodeConflict, Field: "coManagedGroup", Message: fmt.Sprintf(
			"the group %q is granted rights on %s: co-managed techs added to it would reach every domain", g.Name, wire.AllDomains)}
	}
	return g, nil
}

// addMembers adds members to g, audited as the group endpoints do, and returns the group as it now is.
func addMembers(c *change, g *store.Group, members []int64, field, org string) (*store.Group, error) {
	if err := c.tx.AddMembers(g.TenantID, g.ID, members); err != nil {
		return nil, memberError(field, err)
	}
	out, err := c.tx.Group(g.TenantID, g.ID)
	if err != nil {
		return nil, err
	}
	return out, c.audit(g.Kind+"group.members", fmt.Sprintf("group %d", g.ID), fmt.Sprintf("name=%q add=%v remove=[] onboarding=%q", g.Name, members, org))
}
