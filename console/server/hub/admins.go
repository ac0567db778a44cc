package hub

// Console admins: claims (the first owner claims the token init printed), invitations, approval, removal and role
// changes, and AddAdmin, through which an embedded hub makes the Console that runs it an admin. The roles
// themselves are in roles.go.
//
// Admins other than the first are invited with a single-use token (POST /v1/admin/invites, owner only), claim it
// by registering their key like a tech, and stay pending until an owner approves them after comparing
// fingerprints. The last owner can be neither removed nor demoted.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

func adminWire(a *store.Admin) *wire.Admin {
	return &wire.Admin{ID: a.ID, Name: a.Name, Role: a.Role, KeyID: a.KeyID, CreatedAt: a.CreatedAt, Organization: a.Organization,
		Status: a.Status, Fingerprint: adminFingerprint(a), PublicKey: a.PublicKey,
		API: a.API, ExpiresAt: a.APIExpiresAt, Sources: sourceList(a.APISources)}
}

func (h *Hub) adminClaim(r *request) (any, error) {
	var req wire.ClaimRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var errs []error
	pk, err := r.checkKey("publicKey", req.PublicKey)
	errs = append(errs, err)
	name, err := text("name", req.Name, true, 100)
	errs = append(errs, err)
	if req.Token == "" || len(req.Token) > 100 {
		errs = append(errs, wire.Invalid("token", "is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var a *store.Admin
	err = h.mutate(r.Context(), r.tenant, principal{kind: "admin"}, func(c *change) error {
		tok, err := c.tx.UseToken(r.tenant.ID, store.TokenClaim, hashToken(req.Token), c.at)
		if err != nil {
			return err
		}
		status, err := claimStatus(c.tx, r.tenant.ID)
		if err != nil {
			return err
		}
		if tok.API { // an API identity always waits for an owner's approval of its fingerprint
			status = wire.AdminPending
		}
		a = &store.Admin{TenantID: r.tenant.ID, Name: name, Role: tok.Role, PublicKey: pk.String(), KeyID: pk.ID(), CreatedAt: c.at,
			Organization: tok.Organization, Status: status, API: tok.API, APIExpiresAt: tok.APIExpiresAt, APISources: tok.APISources}
		if err := c.tx.CreateAdmin(a); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "publicKey", Message: "this key is already an admin"}
			}
			return err
		}
		c.actor.id = a.ID
		c.bump = false
		return c.audit("admin.claim", fmt.Sprintf("admin %d", a.ID), fmt.Sprintf("name=%q role=%s organization=%q status=%s key=%s%s", a.Name, a.Role, a.Organization, a.Status, a.KeyID, apiDetail(a.API, a.APIExpiresAt, a.APISources)))
	})
	if err != nil {
		return nil, err
	}
	return &wire.ClaimResponse{Admin: *adminWire(a), ClientGUID: r.tenant.GUID}, nil
}

func (h *Hub) adminAdmins(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.AdminsResponse, error) {
		as, err := tx.Admins(r.tenant.ID)
		out := &wire.AdminsResponse{Admins: []wire.Admin{}}
		for i := range as {
			out.Admins = append(out.Admins, *adminWire(&as[i]))
		}
		return out, err
	})
}

// AddAdmin makes pub an admin of tenant guid directly, as an embedded hub does for the Console that runs it.
func (h *Hub) AddAdmin(ctx context.Context, guid string, pub *seal.PublicKey, name string, role wire.Role) (*wire.Admin, error) {
	var out *wire.Admin
	err := h.st.Write(ctx, func(tx store.Tx) error {
		t, err := tx.Tenant(guid)
		if err != nil {
			return err
		}
		a := &store.Admin{TenantID: t.ID, Name: name, Role: role, PublicKey: pub.String(), KeyID: pub.ID(), CreatedAt: h.now().UTC()}
		if err := tx.CreateAdmin(a); err != nil {
			return err
		}
		out = adminWire(a)
		return tx.Audit(&store.AuditEvent{TenantID: t.ID, At: a.CreatedAt, ActorKind: "system", Action: "admin.add",
			Target: fmt.Sprintf("admin %d", a.ID), Detail: fmt.Sprintf("name=%q role=%s key=%s", name, role, a.KeyID)})
	})
	if err != nil {
		return nil, fmt.Errorf("add admin %q to tenant %s: %w", name, guid, err)
	}
	return out, nil
}

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
	sources, err := apiSources(req.APISources)
	if err != nil {
		return nil, err
	}
	if !req.API && (sources != "" || !req.APIExpiresAt.IsZero()) {
		return nil, wire.Invalid("api", "an expiry or source addresses are for an API identity")
	}
	token := newToken()
	var exp time.Time
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		org, err := roleOrg(c.tx, r.tenant.ID, req.Role, req.Organization)
		if err != nil {
			return err
		}
		if req.API && !req.APIExpiresAt.IsZero() && !req.APIExpiresAt.After(c.at) {
			return wire.Invalid("apiExpiresAt", "must be in the future")
		}
		c.bump = false
		exp = c.at.Add(ttl)
		t := &store.Token{TenantID: r.tenant.ID, Kind: store.TokenClaim, Role: req.Role, Organization: org, Hash: hashToken(token), ExpiresAt: exp, CreatedAt: c.at,
			API: req.API, APIExpiresAt: req.APIExpiresAt.UTC(), APISources: sources}
		if err := c.tx.CreateToken(t); err != nil {
			return err
		}
		return c.audit("admin.invite", fmt.Sprintf("token %d", t.ID), fmt.Sprintf("role=%s organization=%q expires=%s%s", req.Role, org, exp.Format(time.RFC3339), apiDetail(t.API, t.APIExpiresAt, t.APISources)))
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
	if a.Role != wire.RoleOwner || a.Status != wire.AdminActive || a.API {
		return false, nil
	}
	as, err := tx.Admins(a.TenantID)
	if err != nil {
		return false, err
	}
	n := 0
	for _, x := range as {
		if x.Role == wire.RoleOwner && x.Status == wire.AdminActive && !x.API {
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
			return c.audit("admin.approve", target, fmt.Sprintf("name=%q role=%s organization=%q key=%s fingerprint=%q%s", a.Name, a.Role, a.Organization, a.KeyID, adminFingerprint(a), apiDetail(a.API, a.APIExpiresAt, a.APISources)))
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
