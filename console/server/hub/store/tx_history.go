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
			ORDER BY version DESC LIMIT ?) AS kept)`, account, wire.VersionStaged, account, keep)
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
	return queryAll(x, "history", scanVersion, "SELECT "+versionCols+`
		FROM versions v WHERE v.account_id = ? AND v.confirmed_at != 0 AND v.recovery_only = 0 ORDER BY v.version DESC LIMIT ?`, account, n)
}
