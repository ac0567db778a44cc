package hub

// A tech's life after registration, as an admin handles it: editing a tech (and moving it between organizations,
// its TechGroups with it), deleting a disabled tech with or without its accounts on the targets, and its device
// (when the hub last saw it, which TechClient release, its replacements).
//
// A deleted tech stays as a tombstone (store.Tech.DeletedAt): the audit log, its accounts and their versions keep
// naming it, the tech list leaves it out (status TechsDeleted lists the tombstones), and nothing brings it back.
// Its accounts either stay on the targets disabled, as deactivation left them, or are marked AccountDeleting: the
// plan lists them in Delete, the agent deletes each (driver.Delete: only what Watchword created) and reports it
// AccountDeleted, which is final. An agent's error leaves the account AccountDeleting with the error, asked again;
// its refusal (an adopted or foreign account) leaves it failed, on the target and disabled.

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// touchTech records the calling device's sighting and release at most once a minute: bookkeeping, not a change
// worth an audit event or a revision.
func (h *Hub) touchTech(r *request) {
	t := r.who.tech
	now := h.now().UTC()
	version := clientRelease(r)
	if now.Sub(t.LastSeen) < time.Minute && version == t.ClientVersion {
		return
	}
	if err := h.st.Write(r.Context(), func(tx store.Tx) error { return tx.TouchTech(r.tenant.ID, t.ID, now, version) }); err != nil {
		h.log.Warn("record tech last seen", "tech", t.ID, "err", err)
		return
	}
	t.LastSeen, t.ClientVersion = now, version
}

// clientRelease is the TechClient release a request names ("watchword/0.4.1" as its User-Agent), or else the
// capability it speaks; at most 40 printable characters.
func clientRelease(r *request) string {
	if v, ok := strings.CutPrefix(r.Header.Get("User-Agent"), "watchword/"); ok && v != "" {
		if s, err := text("version", v, false, 40); err == nil {
			return s
		}
	}
	if n, err := strconv.Atoi(r.Header.Get(wire.HeaderCapability)); err == nil {
		return fmt.Sprintf("capability %d", n)
	}
	return ""
}

// tombstones keeps the deleted techs when deleted is set, the others when not.
func tombstones(ts []store.Tech, deleted bool) []store.Tech {
	return slices.DeleteFunc(ts, func(t store.Tech) bool { return t.DeletedAt.IsZero() == deleted })
}

// deletionReport says whether an agent's report may change acc, and as what: a deleted account stays deleted, and
// one being deleted takes only the deletion or an error about it. An error is for now (the target did not answer):
// the account stays being deleted, with the error, so that the plan asks again rather than leave it on the target;
// a refusal (failed: adopted, foreign, protected) ends the deletion and waits for an admin.
func deletionReport(acc *store.Account, rep wire.AccountReport) (wire.AccountReport, bool) {
	switch acc.State {
	case wire.AccountDeleted:
		return rep, false
	case wire.AccountDeleting:
		if rep.State == wire.AccountError {
			rep.State = wire.AccountDeleting
		}
		return rep, rep.State == wire.AccountDeleted || rep.State == wire.AccountDeleting || rep.State == wire.AccountFailed
	}
	return rep, rep.State != wire.AccountDeleted // only an account the hub asked to delete is ever deleted
}

// adminTechDelete deletes a disabled tech: a tombstone, out of every TechGroup, and its accounts deleted from the
// targets or left disabled there, as the admin chose.
func (h *Hub) adminTechDelete(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	var req wire.TechDeleteRequest
	if err := r.decodeOptional(&req); err != nil {
		return nil, err
	}
	var t *store.Tech
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if t, err = c.tx.Tech(r.tenant.ID, id); err != nil {
			return err
		}
		if !mayManage(r, t) {
			return &wire.Error{Code: wire.CodeNotFound, Message: fmt.Sprintf("tech %d: not found", id)}
		}
		if _, scoped := r.coManager(); scoped {
			return &wire.Error{Code: wire.CodeForbidden, Message: "a Co-managed Manager does not delete techs: ask the MSP"}
		}
		if err := c.tx.DeleteTech(r.tenant.ID, id, req.DeleteAccounts, c.at); errors.Is(err, store.ErrConflict) {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("tech %q is %s: only a deactivated tech can be deleted", t.Username, t.Status)}
		} else if err != nil {
			return err
		}
		groups, err := c.tx.Groups(r.tenant.ID, store.KindTech)
		if err != nil {
			return err
		}
		var left []string
		for _, g := range groups {
			if slices.Contains(g.Members, id) {
				if err := c.tx.RemoveMembers(r.tenant.ID, g.ID, []int64{id}); err != nil {
					return err
				}
				left = append(left, g.Name)
			}
		}
		accounts, err := c.tx.AccountsByTech(r.tenant.ID, id)
		if err != nil {
			return err
		}
		for i := range accounts {
			acc := &accounts[i]
			if !req.DeleteAccounts || acc.State == wire.AccountDeleted {
				continue
			}
			acc.State, acc.LastError = wire.AccountDeleting, ""
			if err := c.tx.UpdateAccount(acc); err != nil {
				return err
			}
			c.touched(acc)
		}
		c.graph = true
		fate := "disabled on the targets"
		if req.DeleteAccounts {
			fate = "deleted from the targets"
		}
		return c.audit("tech.delete", fmt.Sprintf("tech %d", id), fmt.Sprintf("username=%q organization=%q fingerprint=%q accounts=%d %s groups=%q",
			t.Username, t.Organization, t.Fingerprint, len(accounts), strings.ReplaceAll(fate, " ", "-"), left))
	})
	if err != nil {
		return nil, err
	}
	if t, err = read(h, r, func(tx store.Tx) (*store.Tech, error) { return tx.Tech(r.tenant.ID, id) }); err != nil {
		return nil, err
	}
	out := techWire(t)
	return out, nil
}

// adminTechDevice is a tech's device: its key, last sighting, release and replacements.
func (h *Hub) adminTechDevice(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	return read(h, r, func(tx store.Tx) (*wire.TechDevice, error) {
		t, err := tx.Tech(r.tenant.ID, id)
		if err != nil {
			return nil, err
		}
		if !mayManage(r, t) {
			return nil, &wire.Error{Code: wire.CodeNotFound, Message: fmt.Sprintf("tech %d: not found", id)}
		}
		ks, err := tx.Rekeys(r.tenant.ID, "")
		if err != nil {
			return nil, err
		}
		out := &wire.TechDevice{TechID: t.ID, Registered: t.CreatedAt, LastSeen: t.LastSeen, Version: t.ClientVersion,
			Fingerprint: t.Fingerprint, Replacements: []wire.Rekey{}}
		for i := range ks {
			if ks[i].TechID == id {
				out.Replacements = append(out.Replacements, rekeyWire(&ks[i], t))
			}
		}
		return out, nil
	})
}

// adminTechEdit changes a tech's display name and email and, for a pending or rejected tech, the organization it
// suggests. An approved tech's organization changes only by a move (TechEditRequest.Move): an admin's decision,
// not a Co-managed Manager's, that takes the tech out of the TechGroups it leaves and into those it joins in the
// same transaction, audited as tech.move.
func (h *Hub) adminTechEdit(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	var req wire.TechEditRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	display, err := text("displayName", req.DisplayName, true, 100)
	if err != nil {
		return nil, err
	}
	email, err := text("email", req.Email, true, 254)
	if err != nil {
		return nil, err
	}
	if a, perr := mail.ParseAddress(email); perr != nil || a.Address != email || a.Name != "" {
		return nil, wire.Invalid("email", "must be a plain address such as name@example.com")
	}
	var t *store.Tech
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		if t, err = c.tx.Tech(r.tenant.ID, id); err != nil {
			return err
		}
		if !mayManage(r, t) {
			return &wire.Error{Code: wire.CodeNotFound, Message: fmt.Sprintf("tech %d: not found", id)}
		}
		if !t.DeletedAt.IsZero() {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("tech %d was deleted", id)}
		}
		before := *t
		t.DisplayName, t.Email, t.UpdatedAt = display, email, c.at
		moved, err := editOrg(c, r, t, req)
		if err != nil {
			return err
		}
		if err := c.tx.UpdateTech(t); err != nil {
			return err
		}
		if moved != "" {
			c.graph = true
			if err := c.audit("tech.move", fmt.Sprintf("tech %d", id), fmt.Sprintf("username=%q from=%q to=%q %s",
				t.Username, before.Organization, t.Organization, moved)); err != nil {
				return err
			}
		}
		if before.DisplayName == t.DisplayName && before.Email == t.Email && (moved != "" || before.Organization == t.Organization) {
			return nil
		}
		c.concerns() // the Consoles' lists; no entitlement changes
		return c.audit("tech.edit", fmt.Sprintf("tech %d", id), fmt.Sprintf("username=%q displayName=%q email=%q organization=%q",
			t.Username, t.DisplayName, t.Email, t.Organization))
	})
	if err != nil {
		return nil, err
	}
	return techWire(t), nil
}

// editOrg applies a TechEditRequest's organization to t: freely for a pending or rejected tech (a suggestion),
// by a move for an approved one. It returns the move's group changes for the audit, "" when there was none.
func editOrg(c *change, r *request, t *store.Tech, req wire.TechEditRequest) (string, error) {
	if req.Organization == nil {
		if req.Move || len(req.Leave)+len(req.Join) > 0 {
			return "", wire.Invalid("organization", "a move names the organization the tech moves to (empty for MSP staff)")
		}
		return "", nil
	}
	name, err := text("organization", *req.Organization, false, 100)
	if err != nil {
		return "", err
	}
	if name != "" {
		if o, err := c.tx.OrgByName(t.TenantID, name); err == nil {
			name = o.Name
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		} else if t.Status == wire.TechActive || t.Status == wire.TechDisabled {
			return "", wire.Invalid("organization", "no organization %q: a tech moves to a recorded organization or to MSP staff", name)
		}
	}
	if strings.EqualFold(name, t.Organization) && !req.Move {
		return "", nil
	}
	if _, scoped := r.coManager(); scoped {
		return "", &wire.Error{Code: wire.CodeForbidden, Field: "organization", Message: "a Co-managed Manager does not change a tech's organization: ask the MSP"}
	}
	t.Organization, t.CoManaged = name, name != ""
	if err := registerOrg(c, t); err != nil { // the co-management switch (orgs.go)
		return "", err
	}
	if t.Status != wire.TechActive && t.Status != wire.TechDisabled {
		if req.Move || len(req.Leave)+len(req.Join) > 0 {
			return "", wire.Invalid("move", "a %s tech's organization is a suggestion: edit it, there is nothing to move", t.Status)
		}
		return "", nil
	}
	if !req.Move {
		return "", &wire.Error{Code: wire.CodeConflict, Field: "organization", Message: fmt.Sprintf(
			"tech %q is approved: its organization is read-only; move it (its TechGroups change with it)", t.Username)}
	}
	leave, err := techGroupsByID(c, "leave", req.Leave)
	if err != nil {
		return "", err
	}
	join, err := techGroupsByID(c, "join", req.Join)
	if err != nil {
		return "", err
	}
	var left, joined []string
	for _, g := range leave {
		if slices.Contains(g.Members, t.ID) {
			if err := c.tx.RemoveMembers(t.TenantID, g.ID, []int64{t.ID}); err != nil {
				return "", err
			}
			left = append(left, g.Name)
		}
	}
	for _, g := range join {
		if !slices.Contains(g.Members, t.ID) {
			if err := c.tx.AddMembers(t.TenantID, g.ID, []int64{t.ID}); err != nil {
				return "", memberError("join", err)
			}
			joined = append(joined, g.Name)
		}
	}
	return fmt.Sprintf("left=%q joined=%q", left, joined), nil
}

// techGroupsByID reads the TechGroups a move names; a built-in one (AllTechs) has no members to change.
func techGroupsByID(c *change, field string, ids []int64) ([]store.Group, error) {
	var out []store.Group
	for _, id := range ids {
		g, err := c.tx.Group(c.tenant.ID, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && g.Kind != store.KindTech {
			return nil, wire.Invalid(field, "no TechGroup %d", id)
		}
		if err != nil {
			return nil, err
		}
		if g.Builtin {
			return nil, wire.Invalid(field, "%q is built in: its members are implicit", g.Name)
		}
		out = append(out, *g)
	}
	return out, nil
}
