package hubclient

import (
	"context"
	"net/http"

	"github.com/watchword/watchword/shared/wire"
)

// RetryAccount brings a failed account (or one in error) back: the failure is cleared, the count of unresolved
// rotations starts again and the account rotates at once.
func (c *Client) RetryAccount(ctx context.Context, id int64) (*wire.Account, error) {
	var out wire.Account
	return &out, c.post(ctx, idPath(wire.PathAdminAccounts, id)+"/"+wire.AccountRetry, struct{}{}, &out)
}

// AdoptAccount lets the agent take over the existing account of the target that the Watchword account id
// collides with; name must repeat the account's name, as the admin's confirmation.
func (c *Client) AdoptAccount(ctx context.Context, id int64, name string) (*wire.Account, error) {
	var out wire.Account
	return &out, c.post(ctx, idPath(wire.PathAdminAccounts, id)+"/"+wire.AccountAdopt, wire.AdoptRequest{AccountName: name}, &out)
}

// SetPolicyRequest replaces the tenant's policy with the confirmations it needs (a naming format without a fixed
// part); SetPolicy is the same without any.
func (c *Client) SetPolicyRequest(ctx context.Context, req wire.PolicyRequest) (*wire.Tenant, error) {
	var out wire.Tenant
	return &out, c.do(ctx, http.MethodPut, wire.PathAdminPolicy, nil, req, &out, 0)
}
