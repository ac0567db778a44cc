package hub

// Console roles, and which admin may manage which tech (mayManage) or still may answer a held request (reauthorize).
//
// Every admin route names an access class; the class lists the roles that may call it. The Owner is the tenant's
// first admin and may do everything, including managing admins; an Administrator may do everything else; an
// Auditor reads (audit log, effective access, every list) and changes nothing; a Co-managed Manager sees only its
// organization's techs and domains and approves, rejects and deactivates only its organization's techs. Scoping
// a Co-managed Manager to its organization happens in the handlers (visibleTechs, visibleAgents, techScope): a
// tech of another organization answers not found, so the manager cannot even learn it exists.
//
// Admins other than the first are invited with a single-use token (POST /v1/admin/invites, owner only), claim it
// by registering their key like a tech, and stay pending until an owner approves them after comparing
// fingerprints. The last owner can be neither removed nor demoted.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Access classes of the console roles, beside adminAny (owner and administrator) and ownerOnly.
const (
	adminRead access = iota + 100 // owner, administrator, auditor: reads
	orgManage                     // owner, administrator, co-managed manager (own organization's techs)
	orgRead                       // every role; a co-managed manager sees its organization only
)

// roleAccess names the permission (wire's role table) each admin access class needs.
var roleAccess = map[access]wire.Permission{
	adminAny:  wire.PermChange,
	ownerOnly: wire.PermManageAdmins,
	adminRead: wire.PermReadAll,
	orgManage: wire.PermManageTechs,
	orgRead:   wire.PermSignIn,
}

func isAdminAccess(a access) bool { _, ok := roleAccess[a]; return ok }

// checkRole admits an active admin whose role the class lists.
func checkRole(a access, ad *store.Admin) error {
	if ad.Status != wire.AdminActive {
		return &wire.Error{Code: wire.CodePending, Message: fmt.Sprintf("admin is %s: an owner must approve this key", ad.Status)}
	}
	if ad.Role.Can(roleAccess[a]) {
		return nil
	}
	if a == ownerOnly {
		return &wire.Error{Code: wire.CodeForbidden, Message: "only the tenant's owner may do this"}
	}
	return &wire.Error{Code: wire.CodeForbidden, Message: fmt.Sprintf("the %s role may not do this", ad.Role.Title())}
}

// coManager returns the organization a co-managed manager is scoped to, or "" for the other roles.
func (r *request) coManager() (string, bool) {
	if a := r.who.admin; a != nil && a.Role == wire.RoleCoManager {
		return a.Organization, true
	}
	return "", false
}

// visibleTechs drops, for a co-managed manager, the techs of other organizations.
func (r *request) visibleTechs(ts []store.Tech) []store.Tech {
	org, ok := r.coManager()
	if !ok {
		return ts
	}
	return slices.DeleteFunc(ts, func(t store.Tech) bool { return !t.CoManaged || !strings.EqualFold(t.Organization, org) })
}

// visibleAgents drops, for a co-managed manager, the agents outside its organization's domains: the agents its
// organization's co-managed groups are granted on.
func (r *request) visibleAgents(tx store.Tx, as []store.Agent) ([]store.Agent, error) {
	org, ok := r.coManager()
	if !ok {
		return as, nil
	}
	domains, err := orgDomains(tx, r.tenant.ID, org)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(as, func(a store.Agent) bool { return !domains[a.ID] }), nil
}

// coManagerActions are the tech actions a co-managed manager may take on its organization's techs.
var coManagerActions = []string{wire.ActionApprove, wire.ActionReject, wire.ActionDisable, "unlock"}

// techScope checks an admin's tech action against its role and the co-management switches: a co-managed
// manager acts only on its organization's techs, and no one activates a co-managed tech whose organization has
// co-management off.
func techScope(c *change, r *request, t *store.Tech, action string) error {
	if org, ok := r.coManager(); ok {
		if !t.CoManaged || !strings.EqualFold(t.Organization, org) {
			return &wire.Error{Code: wire.CodeNotFound, Message: fmt.Sprintf("tech %d: not found in organization %q", t.ID, org)}
		}
		if !slices.Contains(coManagerActions, action) {
			return &wire.Error{Code: wire.CodeInvalid, Field: "action", Message: "a Co-managed Manager may approve, reject, deactivate or unlock"}
		}
	}
	if t.CoManaged && action == wire.ActionApprove {
		// Approving a tech who typed an organization no one recorded records it (orgs.go); the tech takes its
		// recorded spelling either way.
		o, err := recordOrg(c, t.Organization, fmt.Sprintf("approval username=%q", t.Username))
		if err != nil {
			return err
		}
		if o != nil {
			t.Organization = o.Name
		}
	}
	if t.CoManaged && (action == wire.ActionApprove || action == wire.ActionEnable) {
		return coManagementOn(c.tx, r.tenant.ID, t.Organization)
	}
	return nil
}

// ---- admin management (owner only) ----

func (h *Hub) adminInvite(r *request) (any, error) {
	var req wire.InviteRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	ttl := 24 * time.Hour
	if req.TTLSeconds != 0 {
		if req.TTLSeconds < 60 || req.TTLSeconds > 30*24*3600 {
			return nil, wire.Invalid("ttlSeconds", "must be from 60 seconds to 30 days")
		}
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	token := newToken()
	var exp time.Time
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		org, err := roleOrg(c.tx, r.tenant.ID, req.Role, req.Organization)
		if err != nil {
			return err
		}
		c.bump = false
		exp = c.at.Add(ttl)
		t := &store.Token{TenantID: r.tenant.ID, Kind: store.TokenClaim, Role: req.Role, Organization: org, Hash: hashToken(token), ExpiresAt: exp, CreatedAt: c.at}
		if err := c.tx.CreateToken(t); err != nil {
			return err
		}
		return c.audit("admin.invite", fmt.Sprintf("token %d", t.ID), fmt.Sprintf("role=%s organization=%q expires=%s", req.Role, org, exp.Format(time.RFC3339)))
	})
	if err != nil {
		return nil, err
	}
	return &wire.TokenResponse{Token: token, ExpiresAt: exp}, nil
}

// roleOrg checks a role and its organization: a co-managed manager needs an existing organization, the other
// roles none. It returns the organization's recorded name.
func roleOrg(tx store.Tx, tenant int64, role wire.Role, org string) (string, error) {
	switch role {
	case wire.RoleOwner, wire.RoleAdmin, wire.RoleAuditor:
		if strings.TrimSpace(org) != "" {
			return "", wire.Invalid("organization", "only a Co-managed Manager belongs to an organization")
		}
		return "", nil
	case wire.RoleCoManager:
		o, err := tx.OrgByName(tenant, strings.TrimSpace(org))
		if errors.Is(err, store.ErrNotFound) {
			return "", wire.Invalid("organization", "no organization %q", org)
		}
		if err != nil {
			return "", err
		}
		return o.Name, nil
	}
	return "", wire.Invalid("role", "must be owner, admin, auditor or comanager")
}

// claimStatus is the status of an admin claiming a token: the tenant's first admin (the owner token printed by
// init) is active at once; every later one waits for an owner's approval.
func claimStatus(tx store.Tx, tenant int64) (wire.AdminStatus, error) {
	as, err := tx.Admins(tenant)
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(as, func(a store.Admin) bool { return a.Status == wire.AdminActive }) {
		return wire.AdminPending, nil
	}
	return wire.AdminActive, nil
}

// lastOwner reports whether a is the tenant's only active owner.
func lastOwner(tx store.Tx, a *store.Admin) (bool, error) {
	if a.Role != wire.RoleOwner || a.Status != wire.AdminActive {
		return false, nil
	}
	as, err := tx.Admins(a.TenantID)
	if err != nil {
		return false, err
	}
	n := 0
	for _, x := range as {
		if x.Role == wire.RoleOwner && x.Status == wire.AdminActive {
			n++
		}
	}
	return n == 1, nil
}

var errLastOwner = &wire.Error{Code: wire.CodeConflict, Message: "the tenant's last owner cannot be removed or demoted; make another owner first"}

func (h *Hub) adminAdminAction(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	action := r.PathValue("action")
	if action != wire.ActionApprove && action != wire.ActionRemove {
		return nil, wire.Invalid("action", "must be approve or remove")
	}
	var a *store.Admin
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if a, err = c.tx.Admin(r.tenant.ID, id); err != nil {
			return err
		}
		c.bump = false
		target := fmt.Sprintf("admin %d", a.ID)
		if action == wire.ActionApprove {
			if a.Status != wire.AdminPending {
				return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("admin %d is %s", a.ID, a.Status)}
			}
			a.Status = wire.AdminActive
			if err := c.tx.UpdateAdmin(a); err != nil {
				return err
			}
			return c.audit("admin.approve", target, fmt.Sprintf("name=%q role=%s organization=%q key=%s fingerprint=%q", a.Name, a.Role, a.Organization, a.KeyID, adminFingerprint(a)))
		}
		if last, err := lastOwner(c.tx, a); err != nil {
			return err
		} else if last {
			return errLastOwner
		}
		if err := c.tx.DeleteAdmin(r.tenant.ID, a.ID); err != nil {
			return err
		}
		return c.audit("admin.remove", target, fmt.Sprintf("name=%q role=%s organization=%q key=%s", a.Name, a.Role, a.Organization, a.KeyID))
	})
	if err != nil {
		return nil, err
	}
	return adminWire(a), nil
}

func (h *Hub) adminAdminRole(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	var req wire.AdminRoleRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var a *store.Admin
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		org, err := roleOrg(c.tx, r.tenant.ID, req.Role, req.Organization)
		if err != nil {
			return err
		}
		if a, err = c.tx.Admin(r.tenant.ID, id); err != nil {
			return err
		}
		if a.Role == req.Role && a.Organization == org {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("admin %d is already %s", a.ID, a.Role.Title())}
		}
		if req.Role != wire.RoleOwner {
			if last, err := lastOwner(c.tx, a); err != nil {
				return err
			} else if last {
				return errLastOwner
			}
		}
		from := a.Role
		a.Role, a.Organization = req.Role, org
		if err := c.tx.UpdateAdmin(a); err != nil {
			return err
		}
		c.bump = false
		return c.audit("admin.role", fmt.Sprintf("admin %d", a.ID), fmt.Sprintf("name=%q from=%s to=%s organization=%q", a.Name, from, a.Role, org))
	})
	if err != nil {
		return nil, err
	}
	return adminWire(a), nil
}

// adminFingerprint is the fingerprint an owner compares before approving an invited admin, as for techs.
func adminFingerprint(a *store.Admin) string {
	pk, err := seal.ParsePublicKey(a.PublicKey)
	if err != nil {
		return ""
	}
	return pk.Fingerprint().String()
}

// mayManage says whether the calling admin may act on tech t's two-factor state, lockout or device replacement:
// every admin may; a Co-managed Manager only on the co-managed techs of its own organization (roles.go).
func mayManage(r *request, t *store.Tech) bool {
	if r.who.admin == nil {
		return false
	}
	if org, ok := r.coManager(); ok {
		return t.CoManaged && strings.EqualFold(t.Organization, org)
	}
	return true
}

// reauthorize reads the calling admin again and checks it against the access class a once more. A request held
// open (a long poll) was authorized when it arrived; it answers with the access the admin has when it answers: an
// admin removed meanwhile is a stranger, one whose role or organization changed gets what the new one allows.
func (h *Hub) reauthorize(r *request, a access) error {
	err := h.st.Read(r.Context(), func(tx store.Tx) error {
		ad, err := tx.AdminByKey(r.tenant.ID, r.keyID)
		if err == nil {
			r.who.admin = ad
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return errUnknown
	}
	if err != nil {
		return err
	}
	return checkRole(a, r.who.admin)
}
