package notify

// Replicas: several hub processes on one database behave as one hub.
//
// Each process keeps its own Notifier, and every change committed through any of them must wake the long polls of
// all of them, with the same narrow scope. A Notifier that Shares a Feed publishes each of its changes on the feed
// (Change: the tenant, the revision and the techs and accounts it concerned) and applies the changes of the other
// processes as they come.
//
// A feed is a hint only (PostgreSQL's NOTIFY is not queued for a listener that is away, and is lost at a
// failover), so the Notifier trusts the revisions, which are the store's: every mutation bumps its tenant's
// revision by one, so the revisions it has not seen are known. It applies changes in revision order — a change that
// comes before its predecessor waits for it, since a device must never hold a list read at a revision whose
// earlier changes it was not told about — and it reads the stored revision when a revision has not come within
// GapWait, when a request reads a tenant whose stored revision is ahead of it for as long, every CheckEvery, and
// whenever the feed (re)connects. A revision that never came is a change it cannot attribute: every tech is woken,
// the account log restarts and the hub drops its entitlement view (Shared.Graph).
//
// The wake-up signatures stay per process. A process's published signatures are its own, and an entitlement change
// of another process carries the techs it woke: those lose their signature here, so the next entitlement change
// of this process wakes them whatever it computes (a signature missing on one side counts as changed).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
)

// Change is one committed change as a feed carries it between hub processes.
type Change struct {
	Origin string `json:"o,omitempty"` // the Notifier that published it, which ignores its own
	Tenant int64  `json:"t"`
	// Rev is the tenant revision the change committed; 0 for accounts changed without one (Notifier.Pending).
	Rev   int64 `json:"r,omitempty"`
	Graph bool  `json:"g,omitempty"` // an entitlement change: the hubs' entitlement views are stale
	// All: the change concerns every tech. Techs and Accounts are empty then; with Rev 0 it says that unknown
	// accounts changed.
	All      bool       `json:"a,omitempty"`
	Techs    []int64    `json:"k,omitempty"` // the techs it concerns
	Accounts [][2]int64 `json:"c,omitempty"` // account and its tech: entries of credential lists it changed
}

// Widen makes c concern every tech, for a feed that cannot carry its lists (PostgreSQL's notifications hold
// under 8000 bytes).
func (c *Change) Widen() {
	c.All, c.Techs, c.Accounts = true, nil, nil
}

// Feed carries committed changes between the hub processes sharing one database. Delivery is a hint: a change may
// arrive late, out of order, twice or never, and the Notifier copes with each.
type Feed interface {
	// Publish sends c to every process that listens (this one's own listener may get it back).
	Publish(ctx context.Context, c Change) error
	// Listen hands every change published by any process to deliver until ctx ends. Each time it starts to listen,
	// again after a lost connection, it calls resync once listening: what was published while it was not is gone.
	Listen(ctx context.Context, deliver func(Change), resync func(context.Context))
}

// Shared is what a Notifier needs to be one of several hub processes on one database.
type Shared struct {
	Feed Feed
	// Stored reads a tenant's stored revision.
	Stored func(ctx context.Context, tenant int64) (int64, error)
	// Graph is told of every entitlement change, and every change that cannot be attributed, by its revision, before
	// anyone is woken by it: the hub drops its entitlement views older than that.
	Graph func(tenant, rev int64)
	// GapWait is how long a revision not yet seen is waited for before it is taken as lost (default 1 s).
	GapWait time.Duration
	// CheckEvery is how often every known tenant's stored revision is read, which finds a change whose notification
	// was lost with no later change behind it (default 5 s).
	CheckEvery time.Duration
	Logger     *slog.Logger
}

// sharedState is a tenant's share of the replica bookkeeping; it lives in revision under Notifier.mu.
type sharedState struct {
	buffer   map[int64]Change // changes that came before their predecessors, by revision
	gapSince time.Time        // when the first of them came; zero when none waits
	// behind is a stored revision seen ahead of rev (a request's tenant, a check); behindSince when first seen.
	behind      int64
	behindSince time.Time
}

// Share makes n one of several hub processes on one database. Call it before n is used, then Run.
func (n *Notifier) Share(s Shared) {
	if s.GapWait <= 0 {
		s.GapWait = time.Second
	}
	if s.CheckEvery <= 0 {
		s.CheckEvery = 5 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Graph == nil {
		s.Graph = func(int64, int64) {}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	n.origin = hex.EncodeToString(b[:])
	n.shared = &s
}

// Run listens to the feed and looks for lost changes until ctx ends. Without Share it returns at once.
func (n *Notifier) Run(ctx context.Context) {
	if n.shared == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.shared.Feed.Listen(ctx, n.deliver, n.resyncAll)
	}()
	defer func() { <-done }()
	tick := time.NewTicker(n.shared.GapWait / 4)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		all := time.Since(last) >= n.shared.CheckEvery
		if all {
			last = time.Now()
		}
		n.check(ctx, all)
	}
}

// check reads the stored revision of the tenants whose missing revisions waited GapWait (and of every known tenant
// when all) and resyncs those.
func (n *Notifier) check(ctx context.Context, all bool) {
	n.mu.Lock()
	var due []int64
	for id, r := range n.revs {
		if all || n.overdue(r.gapSince) || n.overdue(r.behindSince) {
			due = append(due, id)
		}
	}
	n.mu.Unlock()
	for _, id := range due {
		stored, err := n.shared.Stored(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				n.shared.Logger.Warn("replica changes: read the stored revision", "tenant", id, "err", err)
			}
			continue
		}
		n.mu.Lock()
		r := n.revs[id]
		if !n.overdue(r.gapSince) && !n.overdue(r.behindSince) && len(r.buffer) == 0 {
			// Ahead only now: its notification may be on its way.
			if stored > r.rev && r.behindSince.IsZero() {
				r.behind, r.behindSince = stored, time.Now()
			}
		} else {
			n.resyncLocked(id, r, stored)
		}
		n.mu.Unlock()
	}
}

func (n *Notifier) overdue(since time.Time) bool {
	return !since.IsZero() && time.Since(since) >= n.shared.GapWait
}

// resyncAll catches up with every known tenant's stored revision: the feed has just (re)connected and what it
// missed meanwhile is gone.
func (n *Notifier) resyncAll(ctx context.Context) {
	n.mu.Lock()
	ids := make([]int64, 0, len(n.revs))
	for id := range n.revs {
		ids = append(ids, id)
	}
	n.mu.Unlock()
	for _, id := range ids {
		stored, err := n.shared.Stored(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				n.shared.Logger.Warn("replica changes: read the stored revision", "tenant", id, "err", err)
				n.mu.Lock()
				if r := n.revs[id]; r.behindSince.IsZero() {
					r.behindSince = time.Now() // read again at the next check
				}
				n.mu.Unlock()
			}
			continue
		}
		n.mu.Lock()
		n.resyncLocked(id, n.revs[id], stored)
		n.mu.Unlock()
	}
}

// resyncLocked moves r to the stored revision (or the newest one waiting, if later), as a change it cannot
// attribute when that is ahead of it. n.mu is held.
func (n *Notifier) resyncLocked(tenant int64, r *revision, stored int64) {
	target := stored
	for rev := range r.buffer {
		target = max(target, rev)
	}
	if target > r.rev {
		n.shared.Logger.Info("replica changes: revisions missed, every device of the tenant is woken", "tenant", tenant,
			"from", r.rev, "to", target)
		n.shared.Graph(tenant, target)
		r.wideChange(target, true)
		n.advance(r, target)
	}
	clear(r.buffer)
	r.gapSince, r.behind, r.behindSince = time.Time{}, 0, time.Time{}
}

// advance makes rev the tenant's revision and wakes its Wait and Current callers. n.mu is held.
func (n *Notifier) advance(r *revision, rev int64) {
	r.rev = rev
	close(r.ch)
	r.ch = make(chan struct{})
	if r.behind <= rev {
		r.behind, r.behindSince = 0, time.Time{}
	}
}

// deliver takes a change from the feed.
func (n *Notifier) deliver(c Change) {
	if c.Origin == n.origin {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.revs[c.Tenant]
	if c.Rev == 0 {
		if r != nil {
			r.pending(c)
		}
		return
	}
	if r == nil {
		// Nobody here waits on the tenant yet: it starts from this revision.
		if c.Graph || c.All {
			n.shared.Graph(c.Tenant, c.Rev)
		}
		n.revs[c.Tenant] = newRevision(c.Rev)
		return
	}
	n.offer(c.Tenant, r, c)
}

// pending logs the accounts of a change without a revision (Notifier.Pending) at the next revision; a change too
// large to name them makes every list older than the next revision a full one.
func (r *revision) pending(c Change) {
	if c.All {
		r.floor = r.rev + 1
		clear(r.log)
		clear(r.later)
		return
	}
	for _, a := range c.Accounts {
		m := r.later[a[1]]
		if m == nil {
			m = map[int64]bool{}
			r.later[a[1]] = m
		}
		m[a[0]] = true
	}
}

// offer applies c if it is the tenant's next revision, with the changes that waited for it, and keeps it until
// its predecessors come if it is later. n.mu is held.
func (n *Notifier) offer(tenant int64, r *revision, c Change) {
	if c.Rev <= r.rev {
		return // seen, or passed by a resync
	}
	if c.Rev > r.rev+1 {
		if r.buffer == nil {
			r.buffer = map[int64]Change{}
		}
		if _, ok := r.buffer[c.Rev]; !ok {
			r.buffer[c.Rev] = c
		}
		if r.gapSince.IsZero() {
			r.gapSince = time.Now()
		}
		return
	}
	n.apply(tenant, r, c)
	n.drain(tenant, r)
}

// drain applies the changes that waited for the tenant's revision. n.mu is held.
func (n *Notifier) drain(tenant int64, r *revision) {
	for {
		next, ok := r.buffer[r.rev+1]
		if !ok {
			break
		}
		delete(r.buffer, next.Rev)
		n.apply(tenant, r, next)
	}
	for rev := range r.buffer {
		if rev <= r.rev {
			delete(r.buffer, rev)
		}
	}
	if len(r.buffer) == 0 {
		r.gapSince = time.Time{}
	}
}

// apply records the tenant's next revision, a change of another process (or one of ours that came before its
// predecessor), and wakes whom it concerns. n.mu is held.
func (n *Notifier) apply(tenant int64, r *revision, c Change) {
	for tech, accs := range r.later {
		for acc := range accs {
			r.logAccount(tech, acc, c.Rev)
		}
	}
	clear(r.later)
	for _, a := range c.Accounts {
		r.logAccount(a[1], a[0], c.Rev)
	}
	if c.Graph {
		n.shared.Graph(tenant, c.Rev)
	}
	switch {
	case c.All && c.Graph:
		r.wideChange(c.Rev, false)
		r.sigs = nil // what the devices hold is no longer what this process last published
	case c.All:
		r.wideChange(c.Rev, true)
	default:
		for _, tech := range c.Techs {
			r.wakeTech(tech, c.Rev)
			if c.Graph {
				delete(r.sigs, tech)
			}
		}
	}
	n.advance(r, c.Rev)
}

// publishShared is Publish for a Notifier that shares its store: applied here in revision order, then sent to the
// other processes.
func (n *Notifier) publishShared(tenant, rev int64, graph bool, sc *Scope, sigs Sigs) {
	c := Change{Origin: n.origin, Tenant: tenant, Rev: rev, Graph: graph}
	n.mu.Lock()
	r := n.revs[tenant]
	switch {
	case r == nil:
		r = newRevision(rev)
		r.sigs = sigs
		n.revs[tenant] = r
		c.scoped(sc, graph)
	case rev == r.rev+1:
		all, techs := r.publish(rev, sc, graph, sigs)
		if graph {
			n.shared.Graph(tenant, rev)
		}
		c.All, c.Techs = all, techs
		if sc != nil && (graph || !all) {
			c.Accounts = sc.accountList()
		}
		n.advance(r, rev)
		n.drain(tenant, r)
	default:
		// A revision of another process before this one has not come yet (or a resync passed this one): the
		// signatures cannot be compared, so an entitlement change concerns every tech.
		c.scoped(sc, graph)
		n.offer(tenant, r, c)
	}
	n.mu.Unlock()
	n.send(c)
}

// scoped fills c's concern from sc: every tech when sc is nil, and for an entitlement change, whose signatures
// cannot be compared.
func (c *Change) scoped(sc *Scope, graph bool) {
	if sc == nil || graph {
		c.All = true
		return
	}
	for tech := range sc.techs {
		c.Techs = append(c.Techs, tech)
	}
	c.Accounts = sc.accountList()
}

func (s *Scope) accountList() [][2]int64 {
	var out [][2]int64
	for acc, tech := range s.accounts {
		out = append(out, [2]int64{acc, tech})
	}
	return out
}

// send publishes c on the feed. A change that does not get through is found by the other processes' checks.
func (n *Notifier) send(c Change) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.shared.Feed.Publish(ctx, c); err != nil {
		n.shared.Logger.Warn("replica changes: publish", "tenant", c.Tenant, "revision", c.Rev, "err", err)
	}
}

// Await returns once n has applied every revision up to tenant's (as a request read it), or GapWait after, when
// it takes the missing ones as lost; or when ctx ends. A Notifier that does not share its store returns at once.
// What the request then reads of n, and the hub of its views, is never older than its tenant row.
func (n *Notifier) Await(ctx context.Context, tenant *store.Tenant) {
	if n.shared == nil {
		return
	}
	var timer *time.Timer
	for {
		n.mu.Lock()
		r := n.revisionLocked(tenant)
		if tenant.Revision <= r.rev {
			n.mu.Unlock()
			break
		}
		if r.behindSince.IsZero() {
			r.behindSince = time.Now()
		}
		r.behind = max(r.behind, tenant.Revision)
		ch := r.ch
		n.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(n.shared.GapWait)
		}
		select {
		case <-ch:
			continue
		case <-timer.C:
			n.mu.Lock()
			n.resyncLocked(tenant.ID, r, tenant.Revision)
			n.mu.Unlock()
		case <-ctx.Done():
		}
		break
	}
	if timer != nil {
		timer.Stop()
	}
}

// Applied is the newest revision of tenant this Notifier has applied (every one before it too), or -1 before it
// knows the tenant.
func (n *Notifier) Applied(tenant int64) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r := n.revs[tenant]; r != nil {
		return r.rev
	}
	return -1
}

// Bus is an in-process Feed: the Notifiers of several hubs in one process, e.g. replicas on one SQLite file in a
// test. It delivers each change at once to every listener; a process that runs alone needs no feed at all.
type Bus struct {
	mu   sync.Mutex
	next int
	subs map[int]func(Change)
}

// Publish hands c to every listener.
func (b *Bus) Publish(_ context.Context, c Change) error {
	b.mu.Lock()
	subs := make([]func(Change), 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s(c)
	}
	return nil
}

// Listeners counts the listeners: a test waits for its replicas to listen.
func (b *Bus) Listeners() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Listen delivers changes until ctx ends.
func (b *Bus) Listen(ctx context.Context, deliver func(Change), resync func(context.Context)) {
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[int]func(Change){}
	}
	id := b.next
	b.next++
	b.subs[id] = deliver
	b.mu.Unlock()
	resync(ctx)
	<-ctx.Done()
	b.mu.Lock()
	delete(b.subs, id)
	b.mu.Unlock()
}
