// Package notify tells the hub's long polls that a tenant changed: a revision per tenant that every mutation
// bumps, the narrower wake-ups of tech devices, and the log of which accounts changed at which revision that the
// delta credential list answers from.
//
// The hub holds one Notifier. A mutation brackets its write transaction with Begin (its end publishes in commit
// order) and then calls Publish with the revision it committed and whom it concerns (a Scope; nil concerns every
// tech). Handlers wait with Wait (agents, Consoles: any change) or TechWait (a tech device: changes that concern
// it), and the credential list asks ChangedSince for the accounts a device has not seen.
//
// # Reading guide
//
//   - notify.go: the Notifier, the tenant revision broadcaster, the mutation bracket (Begin), Publish and Wait.
//
//   - tech.go: per-tech revisions, the account log behind the delta list, Scope, and the wake-up signatures (Sigs)
//     with which an entitlement change wakes only the techs whose view of it changed.
//
//   - feed.go: replicas — several hub processes on one database, whose Notifiers exchange their changes over a Feed
//     (PostgreSQL's LISTEN/NOTIFY in package pgshare, Bus in one process) and apply them in revision order.
//
// Everything here is in memory and per process. Alone on its store, a Notifier catches up with a revision
// committed by another process (or before it first looked) when a tenant is next read, and since it cannot be
// attributed, it wakes every tech and restarts the account log. Sharing the store (Share), it learns the other
// processes' changes from the feed and falls back to that catch-up only for a change the feed lost.
package notify

import (
	"context"
	"sync"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
)

// Notifier is the hub's revision state of every tenant. Create it with New.
type Notifier struct {
	now func() time.Time

	mu   sync.Mutex
	revs map[int64]*revision // tenant ID → revision broadcaster
	// inflight counts each tenant's mutations between their start and their publish.
	inflight map[int64]int
	// tenantMu serializes each tenant's mutations from transaction to publish (see Begin).
	tenantMu map[int64]*sync.Mutex

	shared *Shared // nil: this process is alone on its store (feed.go)
	origin string  // this Notifier on the feed
}

// New returns a Notifier whose waits measure their deadlines on now.
func New(now func() time.Time) *Notifier {
	return &Notifier{now: now, revs: map[int64]*revision{}, inflight: map[int64]int{}, tenantMu: map[int64]*sync.Mutex{}}
}

// revision broadcasts a tenant's revision: waiters hold ch, which is closed and replaced on every change. Tech
// long polls wait on narrower channels (tech.go): a change wakes only the techs it concerns.
type revision struct {
	rev int64
	ch  chan struct{}
	techRevs
	sharedState
}

func newRevision(rev int64) *revision {
	return &revision{rev: rev, ch: make(chan struct{}), techRevs: newTechRevs(rev)}
}

// Current returns the tenant's revision and a channel closed at the next change.
func (n *Notifier) Current(tenant *store.Tenant) (int64, <-chan struct{}) {
	n.Await(context.Background(), tenant)
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.revisionLocked(tenant)
	return r.rev, r.ch
}

// revisionLocked returns the tenant's broadcaster, catching up with a revision committed elsewhere. n.mu is held.
func (n *Notifier) revisionLocked(tenant *store.Tenant) *revision {
	r, ok := n.revs[tenant.ID]
	if !ok {
		r = newRevision(tenant.Revision)
		n.revs[tenant.ID] = r
	}
	if n.shared != nil {
		return r // revisions are applied in order (feed.go): never jumped to
	}
	// A change committed by another hub process or before we first looked: we cannot know whom it concerned. One
	// of our own mutations between its commit and its publish looks the same, and must not be taken for one: it
	// would wake every tech and forget the delta log.
	if tenant.Revision > r.rev && n.inflight[tenant.ID] == 0 {
		r.rev = tenant.Revision
		close(r.ch)
		r.ch = make(chan struct{})
		r.wideChange(r.rev, true) // we do not know whom it concerned
	}
	return r
}

// Begin marks a mutation of tenant in progress and takes the tenant's mutation lock; the mutation calls end once
// it has published (or failed). The lock keeps changes published in the order they commit: a device must never
// hold a list read after a later change was published but before an earlier one was (its since would then be past
// the earlier change's wake-up). The mark keeps the tenant's stored revision, read between the commit and the
// publish, from being taken for a change of another process.
func (n *Notifier) Begin(tenant int64) (end func()) {
	n.mu.Lock()
	n.inflight[tenant]++
	m := n.tenantMu[tenant]
	if m == nil {
		m = &sync.Mutex{}
		n.tenantMu[tenant] = m
	}
	n.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		n.mu.Lock()
		if n.inflight[tenant]--; n.inflight[tenant] <= 0 {
			delete(n.inflight, tenant)
		}
		n.mu.Unlock()
	}
}

// Publish records revision rev of tenant and wakes the polls it concerns. sc says which techs and accounts the
// change concerns; nil means every tech. graph marks an entitlement change; sigs, for one, is every tech's
// signature in the view the change left (nil when unknown), and the techs whose signature differs from the last
// published one are woken too.
func (n *Notifier) Publish(tenant, rev int64, graph bool, sc *Scope, sigs Sigs) {
	if n.shared != nil {
		n.publishShared(tenant, rev, graph, sc, sigs)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.revs[tenant]
	if !ok {
		r = newRevision(rev)
		n.revs[tenant] = r
		r.sigs = sigs
		return
	}
	if rev > r.rev {
		r.rev = rev
		close(r.ch)
		r.ch = make(chan struct{})
	}
	r.publish(rev, sc, graph, sigs)
}

// Wait blocks until the tenant's revision passes since, the deadline passes or ctx ends, and reports whether it
// changed.
func (n *Notifier) Wait(ctx context.Context, tenant *store.Tenant, since int64, until time.Time) (int64, bool) {
	n.Await(ctx, tenant)
	return n.wait(ctx, since, until, func() (int64, int64, <-chan struct{}, <-chan struct{}) {
		rev, ch := n.Current(tenant)
		return rev, rev, ch, nil
	})
}

// wait is the loop of Wait and TechWait. read returns the tenant's revision, the newest revision the waiter is
// to see, and the channels (nil: none) closed by the next change that may concern it; wait returns the tenant's
// revision and whether the seen one passed since, once it did, at the deadline or when ctx ends.
func (n *Notifier) wait(ctx context.Context, since int64, until time.Time, read func() (rev, seen int64, a, b <-chan struct{})) (int64, bool) {
	for {
		rev, seen, a, b := read()
		if seen > since {
			return rev, true
		}
		d := until.Sub(n.now())
		if d <= 0 {
			return rev, false
		}
		timer := time.NewTimer(d)
		select {
		case <-a:
			timer.Stop()
		case <-b:
			timer.Stop()
		case <-timer.C:
			rev, seen, _, _ := read()
			return rev, seen > since
		case <-ctx.Done():
			timer.Stop()
			return rev, false
		}
	}
}
