package hub

// The entitlement graph an admin edits: tech and agent groups, rights and the triplets that join them. Every change
// here is an entitlement change (change.graph): the hub reads the view it leaves in the same transaction and wakes
// the techs whose signature it changed (view.go).

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/wire"
)

// ---- groups ----

type groupFunc func(h *Hub, r *request, kind string) (any, error)

func groupHandler(kind string, fn groupFunc) handler {
	return func(h *Hub, r *request) (any, error) { return fn(h, r, kind) }
}

func checkName(field, s string) (string, error) {
	name, err := text(field, s, true, 64)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(name, "\"\\/") {
		return "", wire.Invalid(field, "must not contain quotes, slashes or backslashes")
	}
	return name, nil
}

func (h *Hub) adminGroups(r *request, kind string) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.GroupsResponse, error) {
		gs, err := tx.Groups(r.tenant.ID, kind)
		out := &wire.GroupsResponse{Groups: []wire.Group{}}
		for i := range gs {
			out.Groups = append(out.Groups, groupWire(&gs[i]))
		}
		return out, err
	})
}

func isBuiltinName(name string) bool {
	return name == wire.AllTechs || name == wire.AllDomains || name == wire.AllRights
}

func (h *Hub) decodeGroup(r *request, kind string) (wire.GroupRequest, error) {
	var req wire.GroupRequest
	if err := r.decode(&req); err != nil {
		return req, err
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return req, err
	}
	req.Name = name
	if isBuiltinName(name) {
		return req, wire.Invalid("name", "%q is a built-in name", name)
	}
	if kind == store.KindTech && req.IntervalSeconds != 0 {
		return req, wire.Invalid("intervalSeconds", "only agent groups override the rotation interval")
	}
	if req.IntervalSeconds != 0 && (req.IntervalSeconds < 60 || req.IntervalSeconds > 366*24*3600) {
		return req, wire.Invalid("intervalSeconds", "must be from 60 seconds to a year")
	}
	if s := req.RotateAfterUseSeconds; s != nil {
		if kind == store.KindTech {
			return req, wire.Invalid("rotateAfterUseSeconds", "only agent groups override the rotate-after-use grace")
		}
		if *s < 0 || *s > int64(wire.MaxRotateAfterUse/time.Second) {
			return req, wire.Invalid("rotateAfterUseSeconds", "must be from 0 (off) to 30 days")
		}
	}
	return req, nil
}

// memberError turns a store error about members into a field error.
func memberError(field string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return wire.Invalid(field, "names a %s that does not exist", "member")
	}
	return err
}

func (h *Hub) adminGroupCreate(r *request, kind string) (any, error) {
	req, err := h.decodeGroup(r, kind)
	if err != nil {
		return nil, err
	}
	g := &store.Group{TenantID: r.tenant.ID, Kind: kind, Name: req.Name, IntervalSeconds: req.IntervalSeconds,
		RotateAfterUseSeconds: req.RotateAfterUseSeconds}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		if err := c.tx.CreateGroup(g); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "name", Message: "a group of that name exists"}
			}
			return err
		}
		if err := c.tx.SetMembers(r.tenant.ID, g.ID, req.Members); err != nil {
			return memberError("members", err)
		}
		g.Members = req.Members
		c.graph = true
		c.groupsOnly = true
		return c.audit(kind+"group.create", fmt.Sprintf("group %d", g.ID), fmt.Sprintf("name=%q members=%v interval=%d%s", g.Name, g.Members, g.IntervalSeconds, afterUseDetail(g)))
	})
	if err != nil {
		return nil, err
	}
	return groupWire(g), nil
}

// group loads a group of the right kind; a group of the other kind does not exist for this path.
func (c *change) group(r *request, kind string) (*store.Group, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	g, err := c.tx.Group(r.tenant.ID, id)
	if err == nil && g.Kind != kind {
		err = fmt.Errorf("group %d: %w", id, store.ErrNotFound)
	}
	return g, err
}

func (h *Hub) adminGroupUpdate(r *request, kind string) (any, error) {
	req, err := h.decodeGroup(r, kind)
	if err != nil {
		return nil, err
	}
	var g *store.Group
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if g, err = c.group(r, kind); err != nil {
			return err
		}
		if g.Builtin && req.Name != g.Name {
			return &wire.Error{Code: wire.CodeConflict, Field: "name", Message: "built-in groups cannot be renamed"}
		}
		old := g.Name
		g.Name, g.IntervalSeconds, g.RotateAfterUseSeconds = req.Name, req.IntervalSeconds, req.RotateAfterUseSeconds
		if err := c.tx.UpdateGroup(g); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "name", Message: "a group of that name exists"}
			}
			return err
		}
		if req.Members != nil {
			if g.Builtin && g.Name == wire.AllTechs {
				return &wire.Error{Code: wire.CodeConflict, Field: "members", Message: "AllTechs holds every active tech implicitly"}
			}
			if err := c.tx.SetMembers(r.tenant.ID, g.ID, req.Members); err != nil {
				return memberError("members", err)
			}
			g.Members = req.Members
		}
		c.graph = true
		c.groupsOnly = true
		return c.audit(kind+"group.update", fmt.Sprintf("group %d", g.ID), fmt.Sprintf("name=%q was=%q members=%v interval=%d%s", g.Name, old, req.Members, g.IntervalSeconds, afterUseDetail(g)))
	})
	if err != nil {
		return nil, err
	}
	return groupWire(g), nil
}

func (h *Hub) adminGroupDelete(r *request, kind string) (any, error) {
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		g, err := c.group(r, kind)
		if err != nil {
			return err
		}
		if g.Builtin {
			return &wire.Error{Code: wire.CodeConflict, Message: "built-in groups cannot be deleted"}
		}
		if err := c.tx.DeleteGroup(r.tenant.ID, g.ID); err != nil {
			return err
		}
		c.graph = true
		c.groupsOnly = true
		return c.audit(kind+"group.delete", fmt.Sprintf("group %d", g.ID), fmt.Sprintf("name=%q", g.Name))
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *Hub) adminGroupMembers(r *request, kind string) (any, error) {
	var req wire.MembersRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var g *store.Group
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if g, err = c.group(r, kind); err != nil {
			return err
		}
		if g.Builtin && g.Name == wire.AllTechs {
			return &wire.Error{Code: wire.CodeConflict, Field: "members", Message: "AllTechs holds every active tech implicitly"}
		}
		if err := c.tx.AddMembers(r.tenant.ID, g.ID, req.Add); err != nil {
			return memberError("add", err)
		}
		if err := c.tx.RemoveMembers(r.tenant.ID, g.ID, req.Remove); err != nil {
			return err
		}
		if g, err = c.tx.Group(r.tenant.ID, g.ID); err != nil {
			return err
		}
		c.graph = true
		c.groupsOnly = true
		return c.audit(kind+"group.members", fmt.Sprintf("group %d", g.ID), fmt.Sprintf("name=%q add=%v remove=%v", g.Name, req.Add, req.Remove))
	})
	if err != nil {
		return nil, err
	}
	return groupWire(g), nil
}

// ---- rights ----

func (h *Hub) adminRights(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.RightsResponse, error) {
		rs, err := tx.Rights(r.tenant.ID)
		out := &wire.RightsResponse{Rights: []wire.Right{}}
		for i := range rs {
			out.Rights = append(out.Rights, rightWire(&rs[i]))
		}
		return out, err
	})
}

func decodeRight(r *request) (wire.RightRequest, error) {
	var req wire.RightRequest
	if err := r.decode(&req); err != nil {
		return req, err
	}
	name, err := checkName("name", req.Name)
	if err != nil {
		return req, err
	}
	req.Name = name
	if len(req.Targets) == 0 {
		return req, wire.Invalid("targets", "name the target groups for at least one driver kind")
	}
	for d, groups := range req.Targets {
		if !drivers[d] {
			return req, wire.Invalid("targets", "unknown driver kind %q", d)
		}
		if len(groups) == 0 || len(groups) > 32 {
			return req, wire.Invalid("targets."+d, "needs 1 to 32 group names")
		}
		for _, g := range groups {
			if _, err := text("targets."+d, g, true, 256); err != nil {
				return req, err
			}
		}
	}
	return req, nil
}

func (h *Hub) adminRightCreate(r *request) (any, error) {
	req, err := decodeRight(r)
	if err != nil {
		return nil, err
	}
	if isBuiltinName(req.Name) {
		return nil, wire.Invalid("name", "%q is a built-in name", req.Name)
	}
	rt := &store.Right{TenantID: r.tenant.ID, Name: req.Name, Targets: req.Targets}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		if err := c.tx.CreateRight(rt); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "name", Message: "a right of that name exists"}
			}
			return err
		}
		c.graph = true
		c.groupsOnly = true
		targets, _ := json.Marshal(rt.Targets)
		return c.audit("right.create", fmt.Sprintf("right %d", rt.ID), fmt.Sprintf("name=%q targets=%s", rt.Name, targets))
	})
	if err != nil {
		return nil, err
	}
	return rightWire(rt), nil
}

func (h *Hub) adminRightUpdate(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	req, err := decodeRight(r)
	if err != nil {
		return nil, err
	}
	var rt *store.Right
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if rt, err = c.tx.Right(r.tenant.ID, id); err != nil {
			return err
		}
		if rt.Builtin && req.Name != rt.Name {
			return &wire.Error{Code: wire.CodeConflict, Field: "name", Message: "built-in rights cannot be renamed"}
		}
		if !rt.Builtin && isBuiltinName(req.Name) {
			return wire.Invalid("name", "%q is a built-in name", req.Name)
		}
		old := rt.Name
		rt.Name, rt.Targets = req.Name, req.Targets
		if err := c.tx.UpdateRight(rt); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "name", Message: "a right of that name exists"}
			}
			return err
		}
		c.graph = true
		c.groupsOnly = true
		targets, _ := json.Marshal(rt.Targets)
		return c.audit("right.update", fmt.Sprintf("right %d", rt.ID), fmt.Sprintf("name=%q was=%q targets=%s", rt.Name, old, targets))
	})
	if err != nil {
		return nil, err
	}
	return rightWire(rt), nil
}

func (h *Hub) adminRightDelete(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		rt, err := c.tx.Right(r.tenant.ID, id)
		if err != nil {
			return err
		}
		if rt.Builtin {
			return &wire.Error{Code: wire.CodeConflict, Message: "built-in rights cannot be deleted"}
		}
		if err := c.tx.DeleteRight(r.tenant.ID, id); err != nil {
			return err
		}
		c.graph = true
		c.groupsOnly = true
		return c.audit("right.delete", fmt.Sprintf("right %d", id), fmt.Sprintf("name=%q", rt.Name))
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// ---- triplets ----

func (h *Hub) adminTriplets(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.TripletsResponse, error) {
		ts, err := tx.Triplets(r.tenant.ID)
		out := &wire.TripletsResponse{Triplets: []wire.Triplet{}}
		for i := range ts {
			out.Triplets = append(out.Triplets, tripletWire(&ts[i]))
		}
		return out, err
	})
}

func (h *Hub) adminTripletCreate(r *request) (any, error) {
	var req wire.TripletRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	mode, max, approval, err := tripletMode(req) // jit.go
	if err != nil {
		return nil, err
	}
	t := &store.Triplet{TenantID: r.tenant.ID, TechGroupID: req.TechGroupID, AgentGroupID: req.AgentGroupID, RightID: req.RightID,
		Mode: mode, MaxDurationSeconds: max, ApprovalRequired: approval}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		if g, err := c.tx.Group(r.tenant.ID, req.TechGroupID); err != nil || g.Kind != store.KindTech {
			return wire.Invalid("techGroupId", "no such tech group")
		}
		if g, err := c.tx.Group(r.tenant.ID, req.AgentGroupID); err != nil || g.Kind != store.KindAgent {
			return wire.Invalid("agentGroupId", "no such agent group")
		}
		if _, err := c.tx.Right(r.tenant.ID, req.RightID); err != nil {
			return wire.Invalid("rightId", "no such right")
		}
		if err := c.tx.CreateTriplet(t); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Message: "that triplet exists"}
			}
			return err
		}
		c.graph = true
		c.groupsOnly = true
		return c.audit("triplet.create", fmt.Sprintf("triplet %d", t.ID), fmt.Sprintf("techGroup=%d agentGroup=%d right=%d", t.TechGroupID, t.AgentGroupID, t.RightID)+tripletModeDetail(t))
	})
	if err != nil {
		return nil, err
	}
	return tripletWire(t), nil
}

func (h *Hub) adminTripletDelete(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		// The All triplet may go too: co-managed onboarding deletes it.
		if err := c.tx.DeleteTriplet(r.tenant.ID, id); err != nil {
			return err
		}
		c.graph = true
		c.groupsOnly = true
		return c.audit("triplet.delete", fmt.Sprintf("triplet %d", id), "")
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// ---- wire forms ----

func groupWire(g *store.Group) wire.Group {
	m := g.Members
	if m == nil {
		m = []int64{}
	}
	return wire.Group{ID: g.ID, Name: g.Name, Builtin: g.Builtin, Members: m, IntervalSeconds: g.IntervalSeconds,
		RotateAfterUseSeconds: g.RotateAfterUseSeconds}
}

func rightWire(r *store.Right) wire.Right {
	return wire.Right{ID: r.ID, Name: r.Name, Builtin: r.Builtin, Targets: r.Targets}
}

func tripletWire(t *store.Triplet) wire.Triplet {
	return wire.Triplet{ID: t.ID, TechGroupID: t.TechGroupID, AgentGroupID: t.AgentGroupID, RightID: t.RightID, Builtin: t.Builtin,
		Mode: cmp.Or(t.Mode, wire.TripletStanding), MaxDurationSeconds: t.MaxDurationSeconds, ApprovalRequired: t.ApprovalRequired}
}

// ---- effective access ----

func (h *Hub) adminAccess(r *request) (any, error) {
	tech, err := r.queryInt("tech")
	if err != nil {
		return nil, err
	}
	agent, err := r.queryInt("agent")
	if err != nil {
		return nil, err
	}
	if (tech == 0) == (agent == 0) {
		return nil, wire.Invalid("tech", "give exactly one of tech or agent")
	}
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	var grants []entitle.Grant
	if tech != 0 {
		if v.techs[tech] == nil {
			// A registration does not rebuild the view (flood.go): a tech it lacks may be pending, with no access.
			if err := h.st.Read(r.Context(), func(tx store.Tx) error { _, err := tx.Tech(r.tenant.ID, tech); return err }); err != nil {
				return nil, wire.Invalid("tech", "no such tech")
			}
		}
		grants = v.idx.ForTech(tech)
	} else {
		if v.agents[agent] == nil {
			return nil, wire.Invalid("agent", "no such agent")
		}
		grants = v.idx.ForAgent(agent)
	}
	naming := entitle.Naming{Format: r.tenant.Policy.NamingFormat, Abbrev: r.tenant.Abbrev}
	out := &wire.AccessResponse{Access: []wire.Access{}}
	for _, g := range grants {
		a := v.agents[g.Agent.ID]
		names, _ := v.rightNames(g.Rights, a.Driver)
		out.Access = append(out.Access, wire.Access{TechID: g.Tech.ID, Username: g.Tech.Username, AgentID: a.ID, AgentName: a.Name,
			AccountName: naming.Name(entitle.Base(g.Tech.Username, g.Tech.ShortName)), Rights: names})
	}
	return out, nil
}
