package hub

import (
	"errors"
	"fmt"
	"strings"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/wire"
)

// adminTechShortName sets or takes away a tech's short name (PUT PathAdminTechs/{id}/short-name): the text that
// stands for the username in the naming format, for a username whose account name a target refuses (too long) or
// another tech's would share. It is the admin's fix for a tech's naming problems (accounts.go), so the answer
// carries the problems that remain. Accounts already created keep their names: the agents never rename one.
//
// No two techs' names render from the same text: a short name that is another tech's username or short name is
// refused (409), as the signed authority refuses it, or the two techs could share an account on a target.
func (h *Hub) adminTechShortName(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	var req wire.TechShortNameRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	short := strings.TrimSpace(req.ShortName)
	if short != "" {
		if err := entitle.CheckShortName(short); err != nil {
			return nil, wire.Invalid("shortName", "%v", err)
		}
	}
	var t *store.Tech
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if t, err = c.tx.Tech(r.tenant.ID, id); err != nil {
			return err
		}
		if t.ShortName == short {
			return errNoChange
		}
		if short != "" {
			techs, err := c.tx.Techs(r.tenant.ID, "")
			if err != nil {
				return err
			}
			for _, o := range techs {
				if o.ID != t.ID && (o.Username == short || o.ShortName == short) {
					return &wire.Error{Code: wire.CodeConflict, Field: "shortName",
						Message: fmt.Sprintf("%q is the username or short name of %s: two techs never share an account", short, o.Username)}
				}
			}
		}
		was := t.ShortName
		t.ShortName, t.UpdatedAt = short, c.at
		if err := c.tx.SetTechShortName(r.tenant.ID, t.ID, short, c.at); err != nil {
			return err
		}
		c.graph = true
		c.concerns(t.ID)
		return c.audit("tech.short-name", fmt.Sprintf("tech %d", t.ID),
			fmt.Sprintf("username=%q shortName=%q was=%q", t.Username, short, was))
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return nil, err
	}
	return h.techWithProblems(r, t)
}

// techWithProblems is t as the wire says it, with, when it is active, the naming problems that keep its
// entitlements from all becoming accounts (accounts.go), as the caller may see them.
func (h *Hub) techWithProblems(r *request, t *store.Tech) (*wire.Tech, error) {
	out := techWire(t)
	if t.Status != wire.TechActive {
		return &out, nil
	}
	v, err := h.view(r.Context(), r.tenant)
	if err != nil {
		return nil, err
	}
	scope, err := read(h, r, func(tx store.Tx) (*problemScope, error) { return problemScopeOf(r, tx) })
	if err != nil {
		return nil, err
	}
	out.Problems = techProblems(v, r.tenant, []int64{t.ID}, scope)[t.ID]
	return &out, nil
}
