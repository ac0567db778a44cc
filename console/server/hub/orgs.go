package hub

// Client organizations and the co-management switch, and seats.
//
// A tech that registers with an organization is co-managed. Organizations become records by an admin's act only:
// creating one, onboarding it, or approving a tech who typed its name (a registration keeps an unknown name as the
// pending tech's text and records nothing). Co-management is switched per tenant and per organization: while
// it is off, a co-managed tech of that organization can neither register nor be approved or enabled.
//
// Switching it off is a plan, then a confirmation. The plan names exactly what changes: the organization's
// co-managed techs that are active or pending become disabled, and the triplets of its co-managed groups (the
// tech groups whose members are all co-managed techs of the organization) are deleted; the groups, their members,
// the audit log and every credential version stay. The confirmation code is a digest of the plan, so a plan that
// changed between preview and confirmation (a new tech, a new triplet) is refused rather than applied unseen.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

func orgWire(o *store.Org, techs []store.Tech) wire.Org {
	out := wire.Org{ID: o.ID, Name: o.Name, CoManaged: o.CoManaged, CreatedAt: o.CreatedAt}
	for _, t := range techs {
		if t.CoManaged && strings.EqualFold(t.Organization, o.Name) {
			out.Techs++
			if t.Status == wire.TechActive {
				out.Active++
			}
		}
	}
	return out
}

// coManagementOn refuses when co-management is off for the tenant or the organization.
func coManagementOn(tx store.Tx, tenant int64, org string) error {
	on, err := tx.CoManagement(tenant)
	if err != nil {
		return err
	}
	if !on {
		return &wire.Error{Code: wire.CodeConflict, Field: "organization", Message: "co-management is disabled for this tenant"}
	}
	o, err := tx.OrgByName(tenant, org)
	if errors.Is(err, store.ErrNotFound) {
		return &wire.Error{Code: wire.CodeConflict, Field: "organization", Message: fmt.Sprintf("organization %q is not recorded", org)}
	}
	if err != nil {
		return err
	}
	if !o.CoManaged {
		return &wire.Error{Code: wire.CodeConflict, Field: "organization", Message: fmt.Sprintf("co-management is disabled for organization %q", o.Name)}
	}
	return nil
}

// registerOrg runs inside a tech's registration: a co-managed tech's organization must allow co-management. A
// recorded organization gives the tech its spelling; a name no organization has is kept as the pending tech's
// text, and only an admin's act records it (recordOrg): registrations, which anyone with the invite can make,
// create nothing but the pending tech.
func registerOrg(c *change, t *store.Tech) error {
	if !t.CoManaged {
		return nil
	}
	on, err := c.tx.CoManagement(t.TenantID)
	if err != nil {
		return err
	}
	if !on {
		return &wire.Error{Code: wire.CodeForbidden, Field: "organization", Message: "co-management is disabled for this tenant"}
	}
	o, err := c.tx.OrgByName(t.TenantID, t.Organization)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !o.CoManaged {
		return &wire.Error{Code: wire.CodeForbidden, Field: "organization", Message: fmt.Sprintf("co-management is disabled for organization %q", o.Name)}
	}
	t.Organization = o.Name
	return nil
}

// recordOrg records organization name, if no organization has it yet, as part of an admin's act (approving a
// tech who typed it, onboarding it); why names the act in the audit event. It records nothing while the tenant's
// co-management is off (the act is refused then). It returns the organization, nil when none is recorded.
func recordOrg(c *change, name, why string) (*store.Org, error) {
	o, err := c.tx.OrgByName(c.tenant.ID, name)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return o, err
	}
	on, err := c.tx.CoManagement(c.tenant.ID)
	if err != nil || !on {
		return nil, err
	}
	o = &store.Org{TenantID: c.tenant.ID, Name: name, CoManaged: true, CreatedAt: c.at, UpdatedAt: c.at}
	if err := c.tx.CreateOrg(o); err != nil {
		return nil, err
	}
	return o, c.audit("org.create", fmt.Sprintf("organization %d", o.ID), fmt.Sprintf("name=%q coManaged=true by=%s", o.Name, why))
}

// coManagedGroups returns the IDs of the organizations' co-managed groups: non-built-in tech groups with members,
// every one of them a co-managed tech of one of the organizations.
func coManagedGroups(tx store.Tx, tenant int64, orgs []string, techs []store.Tech) (map[int64]store.Group, error) {
	in := map[int64]bool{}
	for _, t := range techs {
		if t.CoManaged && slices.ContainsFunc(orgs, func(o string) bool { return strings.EqualFold(o, t.Organization) }) {
			in[t.ID] = true
		}
	}
	groups, err := tx.Groups(tenant, store.KindTech)
	if err != nil {
		return nil, err
	}
	out := map[int64]store.Group{}
	for _, g := range groups {
		if !g.Builtin && len(g.Members) > 0 && !slices.ContainsFunc(g.Members, func(m int64) bool { return !in[m] }) {
			out[g.ID] = g
		}
	}
	return out, nil
}

// orgDomains returns the agents an organization's co-managed groups are granted on: its domains.
func orgDomains(tx store.Tx, tenant int64, org string) (map[int64]bool, error) {
	techs, err := tx.Techs(tenant, "")
	if err != nil {
		return nil, err
	}
	cm, err := coManagedGroups(tx, tenant, []string{org}, techs)
	if err != nil {
		return nil, err
	}
	trips, err := tx.Triplets(tenant)
	if err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	for _, t := range trips {
		if _, ok := cm[t.TechGroupID]; !ok {
			continue
		}
		g, err := tx.Group(tenant, t.AgentGroupID)
		if err != nil {
			return nil, err
		}
		for _, m := range g.Members {
			out[m] = true
		}
	}
	return out, nil
}

// coPlan is what switching co-management off for some organizations does.
type coPlan struct {
	orgs     []store.Org
	techs    []store.Tech
	triplets []store.Triplet
	wire     wire.CoManagementPlan
}

// planOff builds the plan of switching co-management off for orgs, with its summary and confirmation code.
func planOff(tx store.Tx, tenant int64, orgs []store.Org, tenantToo bool) (*coPlan, error) {
	p := &coPlan{orgs: orgs}
	names := make([]string, len(orgs))
	for i, o := range orgs {
		names[i] = o.Name
	}
	techs, err := tx.Techs(tenant, "")
	if err != nil {
		return nil, err
	}
	for _, t := range techs {
		if t.CoManaged && (t.Status == wire.TechActive || t.Status == wire.TechPending) &&
			slices.ContainsFunc(names, func(o string) bool { return strings.EqualFold(o, t.Organization) }) {
			p.techs = append(p.techs, t)
		}
	}
	cm, err := coManagedGroups(tx, tenant, names, techs)
	if err != nil {
		return nil, err
	}
	trips, err := tx.Triplets(tenant)
	if err != nil {
		return nil, err
	}
	for _, t := range trips {
		if _, ok := cm[t.TechGroupID]; ok {
			p.triplets = append(p.triplets, t)
		}
	}
	agentGroups, err := tx.Groups(tenant, store.KindAgent)
	if err != nil {
		return nil, err
	}
	rights, err := tx.Rights(tenant)
	if err != nil {
		return nil, err
	}
	// The summary is what the admin confirms: every tech and association by name.
	var b strings.Builder
	subject := "organization " + strings.Join(quoteAll(names), ", ")
	if tenantToo {
		subject = "the whole tenant (organizations: " + strings.Join(quoteAll(names), ", ") + ")"
		if len(names) == 0 {
			subject = "the whole tenant (no organization has it on)"
		}
	}
	fmt.Fprintf(&b, "Disabling co-management for %s will:\n", subject)
	usernames := make([]string, len(p.techs))
	for i, t := range p.techs {
		usernames[i] = fmt.Sprintf("%s (%s, %s)", t.Username, t.Organization, t.Status)
	}
	fmt.Fprintf(&b, "- deactivate %d co-managed tech(s)%s\n", len(p.techs), listSuffix(usernames))
	assoc := make([]string, len(p.triplets))
	for i, t := range p.triplets {
		ag := groupNameOf(agentGroups, t.AgentGroupID)
		rn := ""
		if j := slices.IndexFunc(rights, func(r store.Right) bool { return r.ID == t.RightID }); j >= 0 {
			rn = rights[j].Name
		}
		assoc[i] = fmt.Sprintf("%q on %q with %q", cm[t.TechGroupID].Name, ag, rn)
	}
	fmt.Fprintf(&b, "- remove %d association(s) of the co-managed groups%s\n", len(p.triplets), listSuffix(assoc))
	b.WriteString("- keep the groups and their members, the audit log and all credential history: nothing of them is deleted")
	p.wire = wire.CoManagementPlan{Enabled: false, Organizations: names, Deactivate: []wire.Tech{}, RemoveAssociations: []wire.Triplet{}, Summary: b.String()}
	for i := range p.techs {
		p.wire.Deactivate = append(p.wire.Deactivate, techWire(&p.techs[i]))
	}
	for i := range p.triplets {
		p.wire.RemoveAssociations = append(p.wire.RemoveAssociations, tripletWire(&p.triplets[i]))
	}
	sum := sha256.Sum256([]byte(p.wire.Summary + fmt.Sprint(tenant, tenantToo, p.techs, p.triplets)))
	p.wire.Confirm = hex.EncodeToString(sum[:6])
	return p, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func listSuffix(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return ": " + strings.Join(items, "; ")
}

func groupNameOf(gs []store.Group, id int64) string {
	if i := slices.IndexFunc(gs, func(g store.Group) bool { return g.ID == id }); i >= 0 {
		return gs[i].Name
	}
	return fmt.Sprint("group ", id)
}

// apply carries out a confirmed plan, auditing each change.
func (p *coPlan) apply(c *change, why string) error {
	for i := range p.techs {
		t := &p.techs[i]
		from := t.Status
		t.Status, t.UpdatedAt = wire.TechDisabled, c.at
		if err := c.tx.UpdateTech(t); err != nil {
			return err
		}
		if err := c.audit("tech.disable", fmt.Sprintf("tech %d", t.ID), fmt.Sprintf("username=%q from=%s to=disabled fingerprint=%q %s", t.Username, from, t.Fingerprint, why)); err != nil {
			return err
		}
	}
	for _, t := range p.triplets {
		if err := c.tx.DeleteTriplet(c.tenant.ID, t.ID); err != nil {
			return err
		}
		if err := c.audit("triplet.delete", fmt.Sprintf("triplet %d", t.ID), fmt.Sprintf("techGroup=%d agentGroup=%d right=%d %s", t.TechGroupID, t.AgentGroupID, t.RightID, why)); err != nil {
			return err
		}
	}
	for i := range p.orgs {
		o := &p.orgs[i]
		o.CoManaged, o.UpdatedAt = false, c.at
		if err := c.tx.UpdateOrg(o); err != nil {
			return err
		}
		if err := c.audit("org.comanagement", fmt.Sprintf("organization %d", o.ID), fmt.Sprintf("name=%q enabled=false", o.Name)); err != nil {
			return err
		}
	}
	c.graph = true
	p.wire.Applied = true
	p.wire.Deactivate = p.wire.Deactivate[:0]
	for i := range p.techs {
		p.wire.Deactivate = append(p.wire.Deactivate, techWire(&p.techs[i]))
	}
	return nil
}

var errConfirm = &wire.Error{Code: wire.CodeConflict, Field: "confirm", Message: "the plan changed since it was shown; review it again"}

func (h *Hub) adminOrgs(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.OrgsResponse, error) {
		on, err := tx.CoManagement(r.tenant.ID)
		if err != nil {
			return nil, err
		}
		orgs, err := tx.Orgs(r.tenant.ID)
		if err != nil {
			return nil, err
		}
		techs, err := tx.Techs(r.tenant.ID, "")
		if err != nil {
			return nil, err
		}
		out := &wire.OrgsResponse{CoManagement: on, Orgs: []wire.Org{}}
		for i := range orgs {
			out.Orgs = append(out.Orgs, orgWire(&orgs[i], techs))
		}
		return out, nil
	})
}

func (h *Hub) adminOrgCreate(r *request) (any, error) {
	var req wire.OrgRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	name, err := text("name", req.Name, true, 100)
	if err != nil {
		return nil, err
	}
	var o *store.Org
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		on, err := c.tx.CoManagement(r.tenant.ID)
		if err != nil {
			return err
		}
		o = &store.Org{TenantID: r.tenant.ID, Name: name, CoManaged: on, CreatedAt: c.at, UpdatedAt: c.at}
		if err := c.tx.CreateOrg(o); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "name", Message: "an organization of that name exists"}
			}
			return err
		}
		return c.audit("org.create", fmt.Sprintf("organization %d", o.ID), fmt.Sprintf("name=%q coManaged=%t", o.Name, o.CoManaged))
	})
	if err != nil {
		return nil, err
	}
	return orgWire(o, nil), nil
}

func (h *Hub) adminOrgCoManagement(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	var req wire.CoManagementRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var out *wire.CoManagementPlan
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		o, err := c.tx.Org(r.tenant.ID, id)
		if err != nil {
			return err
		}
		if req.Enabled {
			if o.CoManaged {
				return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("co-management is already on for %q", o.Name)}
			}
			if on, err := c.tx.CoManagement(r.tenant.ID); err != nil {
				return err
			} else if !on {
				return &wire.Error{Code: wire.CodeConflict, Field: "enabled", Message: "enable co-management for the tenant first"}
			}
			o.CoManaged, o.UpdatedAt = true, c.at
			if err := c.tx.UpdateOrg(o); err != nil {
				return err
			}
			out = &wire.CoManagementPlan{Applied: true, Enabled: true, Organizations: []string{o.Name}, Deactivate: []wire.Tech{}, RemoveAssociations: []wire.Triplet{},
				Summary: fmt.Sprintf("Co-management is on for %q. Its deactivated techs stay deactivated until an admin enables them.", o.Name)}
			return c.audit("org.comanagement", fmt.Sprintf("organization %d", o.ID), fmt.Sprintf("name=%q enabled=true", o.Name))
		}
		if !o.CoManaged {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("co-management is already off for %q", o.Name)}
		}
		p, err := planOff(c.tx, r.tenant.ID, []store.Org{*o}, false)
		if err != nil {
			return err
		}
		out = &p.wire
		if req.Confirm == "" {
			return errNoChange // a preview: nothing is written or audited
		}
		if req.Confirm != p.wire.Confirm {
			return errConfirm
		}
		if err := p.apply(c, fmt.Sprintf("comanagement=off organization=%q", o.Name)); err != nil {
			return err
		}
		return c.audit("comanagement.disable", fmt.Sprintf("organization %d", o.ID), p.wire.Summary)
	})
	if errors.Is(err, errNoChange) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (h *Hub) adminTenantCoManagement(r *request) (any, error) {
	var req wire.CoManagementRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var out *wire.CoManagementPlan
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		on, err := c.tx.CoManagement(r.tenant.ID)
		if err != nil {
			return err
		}
		if on == req.Enabled {
			return &wire.Error{Code: wire.CodeConflict, Field: "enabled", Message: fmt.Sprintf("co-management is already %s for the tenant", onOff(on))}
		}
		if req.Enabled {
			if err := c.tx.SetCoManagement(r.tenant.ID, true); err != nil {
				return err
			}
			out = &wire.CoManagementPlan{Applied: true, Enabled: true, Organizations: []string{}, Deactivate: []wire.Tech{}, RemoveAssociations: []wire.Triplet{},
				Summary: "Co-management is on for the tenant. Switch it on for each organization that should have it."}
			return c.audit("comanagement.enable", "tenant "+r.tenant.GUID, "")
		}
		orgs, err := c.tx.Orgs(r.tenant.ID)
		if err != nil {
			return err
		}
		orgs = slices.DeleteFunc(orgs, func(o store.Org) bool { return !o.CoManaged })
		p, err := planOff(c.tx, r.tenant.ID, orgs, true)
		if err != nil {
			return err
		}
		out = &p.wire
		if req.Confirm == "" {
			return errNoChange
		}
		if req.Confirm != p.wire.Confirm {
			return errConfirm
		}
		if err := p.apply(c, "comanagement=off tenant"); err != nil {
			return err
		}
		if err := c.tx.SetCoManagement(r.tenant.ID, false); err != nil {
			return err
		}
		return c.audit("comanagement.disable", "tenant "+r.tenant.GUID, p.wire.Summary)
	})
	if errors.Is(err, errNoChange) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (h *Hub) adminSeats(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.SeatsResponse, error) {
		seats, err := tx.Seats(r.tenant.ID)
		if err != nil {
			return nil, err
		}
		out := &wire.SeatsResponse{Counts: map[string]int{wire.SeatMSPTech: 0, wire.SeatCoManagedTech: 0, wire.SeatAgent: 0}, Seats: []wire.Seat{}}
		for _, s := range seats {
			out.Counts[s.Kind]++
			out.Seats = append(out.Seats, wire.Seat{Kind: s.Kind, ID: s.ID, Name: s.Name, Organization: s.Organization, Since: s.Since})
		}
		return out, nil
	})
}
