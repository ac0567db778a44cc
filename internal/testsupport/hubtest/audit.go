package hubtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// RewriteAudit is the attack on the audit log that only the admins' signed checkpoints catch: with write access
// to the database at path (st is a store open on it), it deletes the events drop of tenant guid's chain and appends
// every later event again, renumbered, through the store's own Audit, so that each hash and the chain's head are
// computed exactly as the hub computes them. The hub's walk of the chain holds afterwards.
func RewriteAudit(ctx context.Context, st store.Store, path, guid string, drop ...int64) error {
	if len(drop) == 0 {
		return errors.New("rewrite audit: no event to drop")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("rewrite audit: %w", err)
	}
	defer db.Close()
	var tenant int64
	if err := db.QueryRowContext(ctx, "SELECT id FROM tenants WHERE guid = ?", guid).Scan(&tenant); err != nil {
		return fmt.Errorf("rewrite audit: tenant %s: %w", guid, err)
	}
	from := slices.Min(drop)
	var kept []store.AuditEvent
	err = st.Read(ctx, func(tx store.Tx) error {
		for after := from - 1; ; {
			page, err := tx.AuditEvents(tenant, wire.AuditQuery{AfterSeq: after, Limit: 1000})
			if err != nil {
				return err
			}
			for _, e := range page {
				if !slices.Contains(drop, e.Seq) {
					kept = append(kept, e)
				}
				after = e.Seq
			}
			if len(page) < 1000 {
				return nil
			}
		}
	})
	if err != nil {
		return fmt.Errorf("rewrite audit: read: %w", err)
	}
	prev := ""
	if from > 1 {
		if err := db.QueryRowContext(ctx, "SELECT hash FROM audit WHERE tenant_id = ? AND seq = ?", tenant, from-1).Scan(&prev); err != nil {
			return fmt.Errorf("rewrite audit: event %d: %w", from-1, err)
		}
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM audit WHERE tenant_id = ? AND seq >= ?", tenant, from); err != nil {
		return fmt.Errorf("rewrite audit: %w", err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE audit_head SET seq = ?, hash = ? WHERE tenant_id = ?", from-1, prev, tenant); err != nil {
		return fmt.Errorf("rewrite audit: %w", err)
	}
	return st.Write(ctx, func(tx store.Tx) error {
		for _, e := range kept {
			e.Seq, e.PrevHash, e.Hash = 0, "", ""
			if err := tx.Audit(&e); err != nil {
				return err
			}
		}
		return nil
	})
}

// RewriteAudit deletes the events drop of the harness's tenant and computes the rest of its chain again
// (RewriteAudit).
func (h *Harness) RewriteAudit(drop ...int64) {
	h.T.Helper()
	h.RequireSQLite("rewrites the audit log in the SQLite file behind the hub's back")
	if err := RewriteAudit(h.ctx, h.Store, h.DBPath, h.GUID, drop...); err != nil {
		h.T.Fatal(err)
	}
}
