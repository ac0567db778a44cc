package hubclient

import (
	"context"

	"github.com/watchword/watchword/shared/wire"
)

// CSV import of techs: see wire/techimport.go.

// ImportTemplate returns the CSV template to fill in.
func (c *Client) ImportTemplate(ctx context.Context) (*wire.ImportTemplate, error) {
	var out wire.ImportTemplate
	return &out, c.get(ctx, wire.PathAdminTechImportTemplate, nil, &out)
}

// ImportTechs imports a CSV file of techs in mode wire.ImportAtomic or wire.ImportPerRow. Rows that were not
// imported come back in the answer's Exceptions.
func (c *Client) ImportTechs(ctx context.Context, csv, mode string) (*wire.Import, error) {
	var out wire.Import
	return &out, c.post(ctx, wire.PathAdminTechImports, wire.ImportRequest{CSV: csv, Mode: mode}, &out)
}

// Imports is the import history, newest first.
func (c *Client) Imports(ctx context.Context) ([]wire.Import, error) {
	var out wire.ImportsResponse
	return out.Imports, c.get(ctx, wire.PathAdminTechImports, nil, &out)
}

// Reservations lists the techs imports pre-created, pending-match or matched.
func (c *Client) Reservations(ctx context.Context) ([]wire.Reservation, error) {
	var out wire.ReservationsResponse
	return out.Reservations, c.get(ctx, wire.PathAdminTechReservations, nil, &out)
}
