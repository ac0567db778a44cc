package hub

// Replicas: any number of identical hub processes on one database (PostgreSQL) behave as one hub.
//
// What a hub keeps in memory and where it stands with replicas:
//
//   - Revisions, the account log behind delta lists, the wake-ups of long polls: package notify, fed with every
//     replica's changes by Config.Feed and applied in revision order; a change the feed lost is found by the
//     stored revision and wakes every device of its tenant.
//   - The entitlement view cache: keyed by the store's revision of the tenant's latest entitlement change
//     (viewCache), so no replica serves a view older than a change committed before the request began.
//   - The signed authority cache: used only when it is at the stored head (sequence and hash), read in the
//     transaction that uses it.
//   - Per-tenant write ordering: notify.Notifier.Begin orders one process's mutations; across processes the
//     revision bump is a row update that serializes the tenant's transactions, the revision each publishes is the
//     one it committed, and the Notifiers apply them in that order whatever order they arrive in.
//   - TOTP failures, lockouts, sessions and the last accepted code: rows of the store (store.TechSecurity),
//     changed in the transaction that checks them. Enrolment and claim tokens are used in one conditional update;
//     the audit chain's head is read in the transaction that extends it.
//   - Per-address, per-network and per-tenant rate limits, the long-poll and in-flight gates and the count of
//     refused registrations stay per replica: they protect the replica's own CPU, memory and connections from a
//     flood, and counting them in the database would turn each flooded request into a write there. With N
//     replicas behind a load balancer a flood gets N times the rate; the bounds that matter for security — the
//     pending queue, TOTP lockouts, single-use tokens — are the store's.
//   - The plan problems already audited (accounts.go) stay per replica: an agent that moves to another replica
//     has its standing problems audited once more there, as after a restart.
//   - The audit stream to syslog collectors runs on one replica at a time (Config.AuditStreamLock); a collector's
//     connection state is that replica's.

import (
	"context"

	"github.com/watchword/watchword/console/server/hub/store"
)

// Exclusive is something one process at a time may hold among all that share the database: package pgshare's
// session advisory lock.
type Exclusive interface {
	// Run calls fn whenever this process holds it, with a context that ends when it stops holding it, until ctx
	// ends.
	Run(ctx context.Context, fn func(context.Context))
}

// FollowChanges applies the other replicas' changes (Config.Feed) until ctx ends; a hub alone on its store returns
// at once. The server that runs the hub runs it beside the API.
func (h *Hub) FollowChanges(ctx context.Context) { h.notify.Run(ctx) }

// storedRevision reads tenant's revision from the store.
func (h *Hub) storedRevision(ctx context.Context, tenant int64) (int64, error) {
	var rev int64
	err := h.st.Read(ctx, func(tx store.Tx) error {
		t, err := tx.TenantByID(tenant)
		if err == nil {
			rev = t.Revision
		}
		return err
	})
	return rev, err
}
