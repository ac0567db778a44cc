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
// Admins and their invitations are handled in admins.go.

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/console/server/hub/store"
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
	if err := checkRole(a, r.who.admin); err != nil {
		return err
	}
	return checkAPI(r.who.admin, h.now(), clientAddr(r.Request))
}
