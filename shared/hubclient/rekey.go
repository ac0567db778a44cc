package hubclient

import (
	"context"
	"net/url"

	"github.com/watchword/watchword/shared/wire"
)

// Device replacement: see wire/rekey.go.

// Rekey asks to make this device the replacement of the tech's lost one; PublicKey is filled in when empty.
func (c *Client) Rekey(ctx context.Context, req wire.RekeyRequest) (*wire.Rekey, error) {
	req.PublicKey = c.keyOr(req.PublicKey)
	var out wire.Rekey
	return &out, c.post(ctx, wire.PathTechRekey, req, &out)
}

// RekeyStatus tells how this device's replacement request stands.
func (c *Client) RekeyStatus(ctx context.Context) (*wire.Rekey, error) {
	var out wire.Rekey
	return &out, c.get(ctx, wire.PathTechRekey, nil, &out)
}

// Rekeys lists device replacement requests; status "" lists all.
func (c *Client) Rekeys(ctx context.Context, status string) ([]wire.Rekey, error) {
	var q url.Values
	if status != "" {
		q = url.Values{"status": {status}}
	}
	var out wire.RekeysResponse
	return out.Rekeys, c.get(ctx, wire.PathAdminRekeys, q, &out)
}

// ApproveRekey makes the new device's key the tech's, retires every envelope of the old key and rotates every
// account of the tech. Compare both fingerprints with the tech first.
func (c *Client) ApproveRekey(ctx context.Context, id int64) (*wire.Rekey, error) {
	return act[wire.Rekey](ctx, c, wire.PathAdminRekeys, id, wire.ActionApprove)
}

// RejectRekey refuses a device replacement.
func (c *Client) RejectRekey(ctx context.Context, id int64) (*wire.Rekey, error) {
	return act[wire.Rekey](ctx, c, wire.PathAdminRekeys, id, wire.ActionReject)
}
