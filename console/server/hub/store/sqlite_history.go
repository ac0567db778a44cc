package store

import (
	"fmt"

	"github.com/watchword/watchword/shared/wire"
)

// Password history: the hub keeps the newest confirmed versions of each account, sealed as they were,
// and deletes the rest once a newer version is confirmed.
//
// "Confirmed" here means confirmed at some point (confirmed_at is set): the current version and the superseded
// ones the target held before it. A staged version is never deleted: until the agent resolves it (confirm or
// fail), the target may hold it and its envelope is the only copy of that password (no lockout, docs/agent.md).

// PruneVersions implements Tx.
func (x *tx) PruneVersions(tenant, account int64, keep int) (int, error) {
	if keep < 1 {
		return 0, fmt.Errorf("prune versions of account %d: keep must be at least 1, not %d", account, keep)
	}
	if _, err := x.Account(tenant, account); err != nil {
		return 0, err
	}
	// Older than the keep-th newest confirmed version and not staged. Fewer confirmed versions than keep: only
	// what precedes the oldest of them (failed attempts before the first confirmation) goes.
	res, err := x.exec("prune versions", `DELETE FROM versions WHERE account_id = ? AND state != ? AND version < (
		SELECT MIN(version) FROM (SELECT version FROM versions WHERE account_id = ? AND confirmed_at != 0
			ORDER BY version DESC LIMIT ?))`, account, wire.VersionStaged, account, keep)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), wrap("prune versions", err)
}

// History implements Tx.
func (x *tx) History(tenant, account int64, n int) ([]Version, error) {
	if _, err := x.Account(tenant, account); err != nil {
		return nil, err
	}
	rows, err := x.t.QueryContext(x.ctx, `SELECT id, account_id, version, envelope, state, reason, staged_at, confirmed_at
		FROM versions WHERE account_id = ? AND confirmed_at != 0 AND recovery_only = 0 ORDER BY version DESC LIMIT ?`, account, n)
	if err != nil {
		return nil, wrap("history", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		var staged, confirmed int64
		if err := rows.Scan(&v.ID, &v.AccountID, &v.Version, &v.Envelope, &v.State, &v.Reason, &staged, &confirmed); err != nil {
			return nil, wrap("history", err)
		}
		v.StagedAt, v.ConfirmedAt = tm(staged), tm(confirmed)
		out = append(out, v)
	}
	return out, wrap("history", rows.Err())
}
