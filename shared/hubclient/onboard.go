package hubclient

import (
	"context"

	"github.com/watchword/watchword/shared/wire"
)

// Onboard runs the co-managed onboarding of one client organization at the hub, atomically: on any error nothing
// changed.
func (c *Client) Onboard(ctx context.Context, req wire.OnboardRequest) (*wire.OnboardResponse, error) {
	var out wire.OnboardResponse
	return &out, c.post(ctx, wire.PathAdminOnboard, req, &out)
}
