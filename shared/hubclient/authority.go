package hubclient

import (
	"context"
	"net/url"
	"strconv"

	"github.com/watchword/watchword/shared/wire"
)

// Authority fetches the tenant's signed authority updates after since (-1: from the genesis) and the hub's head.
// Any principal may ask: agents, tech devices and admins verify what it returns (package authority).
func (c *Client) Authority(ctx context.Context, since int64) (*wire.AuthorityResponse, error) {
	var out wire.AuthorityResponse
	return &out, c.get(ctx, wire.PathAuthority, url.Values{"since": {strconv.FormatInt(since, 10)}}, &out)
}

// PublishAuthority hands the hub one signed update (its canonical encoding) to store and relay. A conflict
// (wire.CodeConflict) means another update extended the head first: fetch, re-apply and sign again.
func (c *Client) PublishAuthority(ctx context.Context, update []byte) (*wire.AuthorityHead, error) {
	var out wire.AuthorityHead
	return &out, c.post(ctx, wire.PathAdminAuthority, wire.AuthorityPublish{Update: update}, &out)
}

// ReportAuthority tells the hub which authority head this agent verified and, when it refuses the hub's plan, why.
func (c *Client) ReportAuthority(ctx context.Context, r wire.AgentAuthorityReport) error {
	return c.post(ctx, wire.PathAgentAuthority, r, nil)
}
