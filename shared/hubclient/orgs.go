package hubclient

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// Orgs lists the client organizations and whether co-management is on for the tenant.
func (c *Client) Orgs(ctx context.Context) (*wire.OrgsResponse, error) {
	var out wire.OrgsResponse
	return &out, c.get(ctx, wire.PathAdminOrgs, nil, &out)
}

// ApproveTechAs activates a pending (or rejected) tech and decides where it belongs: in a client organization
// (co-managed, two-factor required) or MSP staff (wire.ApproveRequest). Compare fingerprints first.
func (c *Client) ApproveTechAs(ctx context.Context, id int64, place wire.ApproveRequest) (*wire.Tech, error) {
	var out wire.Tech
	return &out, c.post(ctx, idPath(wire.PathAdminTechs, id)+"/"+wire.ActionApprove, place, &out)
}

// CreateOrg records a client organization.
func (c *Client) CreateOrg(ctx context.Context, name string) (*wire.Org, error) {
	var out wire.Org
	return &out, c.post(ctx, wire.PathAdminOrgs, wire.OrgRequest{Name: name}, &out)
}

// SetOrgCoManagement switches co-management for one organization. Switching it off with an empty confirm only
// previews the plan; send the plan's Confirm back to apply it.
func (c *Client) SetOrgCoManagement(ctx context.Context, id int64, enabled bool, confirm string) (*wire.CoManagementPlan, error) {
	var out wire.CoManagementPlan
	return &out, c.do(ctx, http.MethodPut, wire.PathAdminOrgs+"/"+strconv.FormatInt(id, 10)+"/comanagement", nil,
		wire.CoManagementRequest{Enabled: enabled, Confirm: confirm}, &out, 0)
}

// SetCoManagement switches co-management for the whole tenant, previewing first as SetOrgCoManagement does.
func (c *Client) SetCoManagement(ctx context.Context, enabled bool, confirm string) (*wire.CoManagementPlan, error) {
	var out wire.CoManagementPlan
	return &out, c.do(ctx, http.MethodPut, wire.PathAdminCoManagement, nil, wire.CoManagementRequest{Enabled: enabled, Confirm: confirm}, &out, 0)
}

// Seats lists the active seats by kind with the date each started.
func (c *Client) Seats(ctx context.Context) (*wire.SeatsResponse, error) {
	var out wire.SeatsResponse
	return &out, c.get(ctx, wire.PathAdminSeats, nil, &out)
}

// InviteAdmin creates a single-use invite for a console admin of role (owner only); a Co-managed Manager's invite
// names its organization. The invited admin claims it with Claim and waits for ApproveAdmin.
func (c *Client) InviteAdmin(ctx context.Context, role wire.Role, org string, ttl time.Duration) (*wire.TokenResponse, error) {
	var out wire.TokenResponse
	return &out, c.post(ctx, wire.PathAdminInvites, wire.InviteRequest{Role: role, Organization: org, TTLSeconds: int64(ttl / time.Second)}, &out)
}

// Invite creates a single-use invite as InviteAdmin does, from a whole request: an API identity's invite
// (CapAPIIdentity) carries its expiry and source addresses.
func (c *Client) Invite(ctx context.Context, req wire.InviteRequest) (*wire.TokenResponse, error) {
	var out wire.TokenResponse
	return &out, c.post(ctx, wire.PathAdminInvites, req, &out)
}

// ApproveAdmin activates an invited admin after its fingerprint was compared (owner only).
func (c *Client) ApproveAdmin(ctx context.Context, id int64) (*wire.Admin, error) {
	return act[wire.Admin](ctx, c, wire.PathAdminAdmins, id, wire.ActionApprove)
}

// RemoveAdmin deletes an admin (owner only); the last owner cannot be removed.
func (c *Client) RemoveAdmin(ctx context.Context, id int64) (*wire.Admin, error) {
	return act[wire.Admin](ctx, c, wire.PathAdminAdmins, id, wire.ActionRemove)
}

// SetAdminRole changes an admin's role (owner only); the last owner cannot be demoted.
func (c *Client) SetAdminRole(ctx context.Context, id int64, role wire.Role, org string) (*wire.Admin, error) {
	var out wire.Admin
	return &out, c.do(ctx, http.MethodPut, wire.PathAdminAdmins+"/"+strconv.FormatInt(id, 10)+"/role", nil,
		wire.AdminRoleRequest{Role: role, Organization: org}, &out, 0)
}
