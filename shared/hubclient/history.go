package hubclient

import (
	"context"

	"github.com/watchword/watchword/shared/wire"
)

// History fetches the password history of one of this tech's accounts: up to the tenant's history depth of
// versions confirmed at some point, newest first, each sealed to this device and the recovery recipient. The hub
// audits the read.
func (c *Client) History(ctx context.Context, account int64) (*wire.HistoryResponse, error) {
	var out wire.HistoryResponse
	return &out, c.get(ctx, wire.TechHistoryPath(account), nil, &out)
}
