package vm

// Organizations and co-management, console admins and roles, seats.
//
// These screens read their own state (Orgs) rather than the main Snapshot: an Auditor or a Co-managed Manager
// may read only part of it, and none of it feeds the entitlement views. Switching co-management off is two calls:
// PreviewCoManagementOff returns the hub's plan (its Summary is the confirmation text the admin reads), and
// ConfirmCoManagementOff applies exactly that plan, or fails if it changed in between.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// Orgs is what the Organizations, Admins and Seats screens show. A part the admin's role may not read is empty
// and its error is in Errs.
type Orgs struct {
	CoManagement bool
	Orgs         []wire.Org
	Admins       []wire.Admin
	Seats        wire.SeatsResponse
	Errs         []error
	At           time.Time
}

// LoadOrgs reads organizations, admins and seats.
func (a *App) LoadOrgs(ctx context.Context) (*Orgs, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	out := &Orgs{At: time.Now()}
	if resp, err := api.Orgs(ctx); err != nil {
		out.Errs = append(out.Errs, fmt.Errorf("organizations: %w", err))
	} else {
		out.CoManagement, out.Orgs = resp.CoManagement, resp.Orgs
	}
	if as, err := api.Admins(ctx); err != nil {
		out.Errs = append(out.Errs, fmt.Errorf("admins: %w", err))
	} else {
		out.Admins = as
	}
	if s, err := api.Seats(ctx); err != nil {
		out.Errs = append(out.Errs, fmt.Errorf("seats: %w", err))
	} else {
		out.Seats = *s
	}
	if len(out.Errs) == 3 {
		return nil, errors.Join(out.Errs...)
	}
	return out, nil
}

// CreateOrg records a client organization.
func (a *App) CreateOrg(ctx context.Context, name string) error {
	return a.do(ctx, fmt.Sprintf("create organization %q", name), func(api *hubclient.Client) error {
		_, err := api.CreateOrg(ctx, name)
		return err
	})
}

// PreviewCoManagementOff asks the hub what switching co-management off would do, for the organization org or,
// with org 0, for the whole tenant. Nothing changes.
func (a *App) PreviewCoManagementOff(ctx context.Context, org int64) (*wire.CoManagementPlan, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	if org == 0 {
		return api.SetCoManagement(ctx, false, "")
	}
	return api.SetOrgCoManagement(ctx, org, false, "")
}

// ConfirmCoManagementOff applies a previewed plan; the hub refuses it if the plan changed since the preview.
func (a *App) ConfirmCoManagementOff(ctx context.Context, org int64, plan *wire.CoManagementPlan) (*wire.CoManagementPlan, error) {
	var done *wire.CoManagementPlan
	err := a.do(ctx, "disable co-management", func(api *hubclient.Client) (err error) {
		if org == 0 {
			done, err = api.SetCoManagement(ctx, false, plan.Confirm)
		} else {
			done, err = api.SetOrgCoManagement(ctx, org, false, plan.Confirm)
		}
		return err
	})
	return done, err
}

// EnableCoManagement switches co-management on for org, or for the tenant with org 0.
func (a *App) EnableCoManagement(ctx context.Context, org int64) error {
	return a.do(ctx, "enable co-management", func(api *hubclient.Client) (err error) {
		if org == 0 {
			_, err = api.SetCoManagement(ctx, true, "")
		} else {
			_, err = api.SetOrgCoManagement(ctx, org, true, "")
		}
		return err
	})
}

// InviteAdmin creates a single-use invite for an admin of role (owner only); it is valid a week.
func (a *App) InviteAdmin(ctx context.Context, role wire.Role, org string) (*wire.TokenResponse, error) {
	var tok *wire.TokenResponse
	err := a.do(ctx, "invite "+RoleTitle(role), func(api *hubclient.Client) (err error) {
		tok, err = api.InviteAdmin(ctx, role, org, 7*24*time.Hour)
		return err
	})
	return tok, err
}

// ApproveAdmin activates an invited admin whose fingerprint matched and, with the signed authority on, signs the
// admin's key into it: the key whose fingerprint the owner compared, read before the change.
func (a *App) ApproveAdmin(ctx context.Context, id int64) error {
	var ad *wire.Admin
	return a.signed(ctx, fmt.Sprintf("approve admin %d", id), func(api *hubclient.Client) (err error) {
		if a.Chain() != nil {
			as, err := api.Admins(ctx)
			if err != nil {
				return err
			}
			if ad = find(as, func(x wire.Admin) bool { return x.ID == id }); ad == nil {
				return fmt.Errorf("admin %d not found", id)
			}
		}
		_, err = api.ApproveAdmin(ctx, id)
		return err
	}, func(state *authority.State) ([]authority.Op, error) {
		if ad == nil {
			return nil, nil
		}
		op, err := adminOp(*ad)
		if err != nil {
			return nil, err
		}
		return []authority.Op{op}, nil
	})
}

// AdminNotSigned is what the admins screen says while the signed authority is on: who it trusts to sign.
const AdminNotSigned = "The signed authority trusts the admins the owner approved (and those active when it was turned on): " +
	"approving, removing an admin or changing their role is signed by the owner's Console."

// adminKeyID finds an admin's key ID in the hub's admin list, read before the change.
func adminKeyID(ctx context.Context, api *hubclient.Client, id int64) (string, error) {
	as, err := api.Admins(ctx)
	if err != nil {
		return "", err
	}
	if ad := find(as, func(x wire.Admin) bool { return x.ID == id }); ad != nil {
		return ad.KeyID, nil
	}
	return "", fmt.Errorf("admin %d not found", id)
}

// RemoveAdmin deletes an admin; the signed authority no longer trusts their key.
func (a *App) RemoveAdmin(ctx context.Context, id int64) error {
	var keyID string
	return a.signed(ctx, fmt.Sprintf("remove admin %d", id), func(api *hubclient.Client) (err error) {
		if a.Chain() != nil {
			if keyID, err = adminKeyID(ctx, api, id); err != nil {
				return err
			}
		}
		_, err = api.RemoveAdmin(ctx, id)
		return err
	}, func(state *authority.State) ([]authority.Op, error) {
		if _, ok := state.Admins[keyID]; !ok {
			return nil, nil
		}
		return []authority.Op{authority.RemoveAdmin(keyID)}, nil
	})
}

// SetAdminRole changes an admin's role, signed for an admin the signed authority trusts.
func (a *App) SetAdminRole(ctx context.Context, id int64, role wire.Role, org string) error {
	var keyID string
	return a.signed(ctx, fmt.Sprintf("make admin %d %s", id, RoleTitle(role)), func(api *hubclient.Client) (err error) {
		if a.Chain() != nil {
			if keyID, err = adminKeyID(ctx, api, id); err != nil {
				return err
			}
		}
		_, err = api.SetAdminRole(ctx, id, role, org)
		return err
	}, func(state *authority.State) ([]authority.Op, error) {
		ad, ok := state.Admins[keyID]
		if !ok {
			return nil, nil
		}
		if role != wire.RoleCoManager {
			org = ""
		}
		return []authority.Op{authority.SetAdmin(ad.Key, role, ad.Name, org)}, nil
	})
}

// Roles lists the console roles in the order the Console offers them.
var Roles = wire.Roles

// RoleTitle is a role's name on screen.
func RoleTitle(r wire.Role) string { return r.Title() }

// RoleByTitle is the inverse of RoleTitle.
func RoleByTitle(title string) wire.Role {
	for _, r := range Roles {
		if RoleTitle(r) == title {
			return r
		}
	}
	return ""
}

// SeatKind is one line of the seat summary.
type SeatKind struct {
	Kind   string
	Title  string
	Count  int
	Oldest time.Time // when the longest-running seat of the kind started
}

// SeatSummary counts the active seats per kind, billable co-managed licences apart from the MSP's own techs.
func (o *Orgs) SeatSummary() []SeatKind {
	out := []SeatKind{{Kind: wire.SeatMSPTech, Title: "MSP techs"}, {Kind: wire.SeatCoManagedTech, Title: "Co-managed techs"}, {Kind: wire.SeatAgent, Title: "Agents"}}
	for _, s := range o.Seats.Seats {
		i := slices.IndexFunc(out, func(k SeatKind) bool { return k.Kind == s.Kind })
		if i < 0 {
			continue
		}
		out[i].Count++
		if out[i].Oldest.IsZero() || s.Since.Before(out[i].Oldest) {
			out[i].Oldest = s.Since
		}
	}
	return out
}

// SeatTitle is a seat kind's name on screen.
func SeatTitle(kind string) string {
	switch kind {
	case wire.SeatMSPTech:
		return "MSP tech"
	case wire.SeatCoManagedTech:
		return "Co-managed tech"
	case wire.SeatAgent:
		return "Agent"
	}
	return kind
}

// AdminActions says which of the admins screen's actions apply to admin id of admins, as the hub decides them:
// approve only a pending admin; the tenant's last active owner can be neither removed nor demoted (setRole is then
// false: a change of role would demote them), with why in a sentence ("" when every action applies).
func AdminActions(admins []wire.Admin, id int64) (approve, setRole, remove bool, why string) {
	ad := find(admins, func(x wire.Admin) bool { return x.ID == id })
	if ad == nil {
		return false, false, false, ""
	}
	owners := 0
	for _, x := range admins {
		if x.Role == wire.RoleOwner && x.Status == wire.AdminActive {
			owners++
		}
	}
	if ad.Role == wire.RoleOwner && ad.Status == wire.AdminActive && owners == 1 {
		return false, false, false, ad.Name + " is the tenant's only owner: make another owner before changing their role or removing them."
	}
	return ad.Status == wire.AdminPending, true, true, ""
}
