package hubclient

import (
	"context"
	"net/http"

	"github.com/watchword/watchword/shared/wire"
)

// EditTech changes a tech's display name and email, and its organization (a move, for an approved tech, with the
// TechGroups it leaves and joins): wire.TechEditRequest.
func (c *Client) EditTech(ctx context.Context, id int64, req wire.TechEditRequest) (*wire.Tech, error) {
	var out wire.Tech
	return &out, c.do(ctx, http.MethodPut, idPath(wire.PathAdminTechs, id), nil, req, &out, 0)
}

// DeleteTech deletes a deactivated tech; with deleteAccounts the agents delete its accounts from their targets,
// without they stay there disabled.
func (c *Client) DeleteTech(ctx context.Context, id int64, deleteAccounts bool) (*wire.Tech, error) {
	var out wire.Tech
	return &out, c.do(ctx, http.MethodDelete, idPath(wire.PathAdminTechs, id), nil, wire.TechDeleteRequest{DeleteAccounts: deleteAccounts}, &out, 0)
}

// DeletedTechs lists the deleted techs' tombstones.
func (c *Client) DeletedTechs(ctx context.Context) ([]wire.Tech, error) {
	return c.Techs(ctx, wire.TechsDeleted)
}

// TechDevice reads a tech's device: registration, last sighting, release and replacements.
func (c *Client) TechDevice(ctx context.Context, id int64) (*wire.TechDevice, error) {
	var out wire.TechDevice
	return &out, c.get(ctx, idPath(wire.PathAdminTechs, id)+wire.PathAdminTechDevice, nil, &out)
}
