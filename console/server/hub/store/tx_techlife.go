package store

import (
	"fmt"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// A tech's device as last seen, and a deleted tech's tombstone (migration 0014).

// TouchTech implements Tx.
func (x *tx) TouchTech(tenant, tech int64, at time.Time, version string) error {
	return x.one(fmt.Sprintf("touch tech %d", tech), "UPDATE techs SET last_seen_at = ?, client_version = ? WHERE tenant_id = ? AND id = ?",
		ns(at), version, tenant, tech)
}

// DeleteTech implements Tx.
func (x *tx) DeleteTech(tenant, tech int64, deleteAccounts bool, at time.Time) error {
	t, err := x.Tech(tenant, tech)
	if err != nil {
		return err
	}
	switch {
	case !t.DeletedAt.IsZero():
		return fmt.Errorf("delete tech %d: %w: already deleted", tech, ErrConflict)
	case t.Status != wire.TechDisabled:
		return fmt.Errorf("delete tech %d: %w: it is %s, not disabled", tech, ErrConflict, t.Status)
	}
	return x.one(fmt.Sprintf("delete tech %d", tech), "UPDATE techs SET deleted_at = ?, delete_accounts = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
		ns(at), b2i(deleteAccounts), ns(at), tenant, tech)
}
