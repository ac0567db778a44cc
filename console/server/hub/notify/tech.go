package notify

import (
	"context"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
)

// Per-tech revisions: which changes concern which tech.
//
// Every mutation bumps the tenant's revision, and agents wake on any of them. Tech devices do not need to: with
// thousands of TechClients in long polls, waking all of them for a rotation that concerns one tech would make
// every device fetch its list again. A mutation that knows whom it concerns says so (a Scope); its revision then
// wakes only those techs' polls. A mutation that says nothing concerns every tech, so a new kind of change is never
// silently missed.
//
// The same bookkeeping serves the delta credential list: the Notifier remembers, per tech, the revision at which
// each of its accounts last changed, so `GET /v1/tech/credentials?since=REV` can answer with those accounts alone.
// The memory is complete only from floor on (the revision this process first saw, or the last change it could not
// attribute); an older since gets the full list.
//
// Wake-ups of an entitlement change (a group, a triplet, an agent, a tech's status, the policy): the hub reads the
// new entitlement view inside the change's own write transaction and computes for every tech a signature of
// everything such a change can alter for its device (Sigs); only the techs whose signature differs from the one
// last published are woken, so a new, empty tech group wakes nobody. The published signatures are known only
// after a first entitlement change of this process; until then, and after any change the Notifier cannot
// attribute, the next entitlement change wakes every tech.

// Scope is the techs (and their accounts) one change concerns. The zero value is not usable: create it with
// NewScope. A nil *Scope given to Publish concerns every tech.
type Scope struct {
	techs    map[int64]bool
	accounts map[int64]int64 // account ID → its tech
}

// NewScope returns a scope that concerns no tech yet.
func NewScope() *Scope {
	return &Scope{techs: map[int64]bool{}, accounts: map[int64]int64{}}
}

// Concern adds techs to the scope.
func (s *Scope) Concern(techs ...int64) {
	for _, t := range techs {
		s.techs[t] = true
	}
}

// Touch records that account's entry in tech's credential list changed; it concerns tech.
func (s *Scope) Touch(account, tech int64) {
	s.techs[tech] = true
	s.accounts[account] = tech
}

// Sigs is each tech's signature at one revision: whatever an entitlement change can alter for its device, as one
// string (the hub computes it from its entitlement view).
type Sigs map[int64]string

// ChangedTechs lists the techs whose signature differs between old and new (present in one of them only counts).
func ChangedTechs(old, new Sigs) []int64 {
	var out []int64
	for id, s := range new {
		if o, ok := old[id]; !ok || o != s {
			out = append(out, id)
		}
	}
	for id := range old {
		if _, ok := new[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// techRev is one tech's last concerning revision and the channel its polls wait on.
type techRev struct {
	rev int64
	ch  chan struct{} // nil until someone waits
}

// techRevs is a tenant's per-tech state; it lives in revision under Notifier.mu.
type techRevs struct {
	wide   int64         // last revision that concerned every tech
	wideCh chan struct{} // closed at the next such change
	techs  map[int64]*techRev
	floor  int64                     // the account log is complete for changes after this revision
	log    map[int64]map[int64]int64 // tech → account → revision of its last change
	later  map[int64]map[int64]bool  // tech → accounts changed without a revision: logged at the next one
	// sigs is every tech's signature as last published; nil when unknown, and the next entitlement change then
	// wakes every tech.
	sigs Sigs
}

func newTechRevs(rev int64) techRevs {
	return techRevs{wide: rev, wideCh: make(chan struct{}), techs: map[int64]*techRev{}, floor: rev,
		log: map[int64]map[int64]int64{}, later: map[int64]map[int64]bool{}}
}

// wideChange wakes every tech; forget, when what changed is unknown, drops the account log.
func (t *techRevs) wideChange(rev int64, forget bool) {
	t.wide = max(t.wide, rev)
	close(t.wideCh)
	t.wideCh = make(chan struct{})
	if forget {
		t.floor = rev
		clear(t.log)
		clear(t.later)
		t.sigs = nil // what changed is unknown: the signatures may no longer be what the devices hold
	}
}

func (t *techRevs) logAccount(tech, account, rev int64) {
	m := t.log[tech]
	if m == nil {
		m = map[int64]int64{}
		t.log[tech] = m
	}
	m[account] = rev
}

// publish records revision rev of a change concerning sc. A change that does not say whom it concerns (sc nil)
// wakes every tech and, as it may have changed any list in a way the log cannot tell, restarts the log. An
// entitlement change (graph) keeps the log: the grants fingerprint, not the log, tells a device whether its list
// is still the right shape. It wakes the techs of sc and those whose signature in sigs (the view the change left)
// differs from the last published one; every tech when either is unknown.
//
// It reports whom it woke, as the feed tells the other hub processes (Change): every tech (all), or techs.
func (t *techRevs) publish(rev int64, sc *Scope, graph bool, sigs Sigs) (all bool, techs []int64) {
	// Accounts changed without a revision of their own become visible with this one: a list read at an earlier
	// revision may have missed them, a list read at this one did not.
	for tech, accs := range t.later {
		for acc := range accs {
			t.logAccount(tech, acc, rev)
		}
	}
	clear(t.later)
	if graph {
		if sc != nil {
			for acc, tech := range sc.accounts {
				t.logAccount(tech, acc, rev)
			}
		}
		old := t.sigs
		t.sigs = sigs
		if old == nil || sigs == nil {
			t.wideChange(rev, false)
			return true, nil
		}
		techs = ChangedTechs(old, sigs)
		if sc != nil {
			for tech := range sc.techs {
				techs = append(techs, tech)
			}
		}
		for _, tech := range techs {
			t.wakeTech(tech, rev)
		}
		return false, techs
	}
	if sc == nil {
		t.wideChange(rev, true)
		return true, nil
	}
	for acc, tech := range sc.accounts {
		t.logAccount(tech, acc, rev)
	}
	for tech := range sc.techs {
		t.wakeTech(tech, rev)
		techs = append(techs, tech)
	}
	return false, techs
}

// wakeTech records that revision rev concerns tech and wakes its polls.
func (t *techRevs) wakeTech(tech, rev int64) {
	tr := t.techs[tech]
	if tr == nil {
		tr = &techRev{}
		t.techs[tech] = tr
	}
	tr.rev = max(tr.rev, rev)
	if tr.ch != nil {
		close(tr.ch)
		tr.ch = nil
	}
}

// visible is the last revision that concerned tech.
func (t *techRevs) visible(tech int64) int64 {
	v := t.wide
	if tr := t.techs[tech]; tr != nil && tr.rev > v {
		v = tr.rev
	}
	return v
}

// Pending logs the accounts of sc, changed by a mutation that did not bump the revision (an account created by a
// plan): they are logged with the tenant's next revision, and ChangedSince hands them out until then.
func (n *Notifier) Pending(tenant int64, sc *Scope) {
	if sc == nil || len(sc.accounts) == 0 {
		return
	}
	if n.shared != nil {
		n.send(Change{Origin: n.origin, Tenant: tenant, Accounts: sc.accountList()})
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.revs[tenant]
	if !ok {
		return // no revision known yet: the log starts after it anyway
	}
	for acc, tech := range sc.accounts {
		m := r.later[tech]
		if m == nil {
			m = map[int64]bool{}
			r.later[tech] = m
		}
		m[acc] = true
	}
}

// TechWait blocks until a change concerning tech passes since, the deadline passes or ctx ends. It returns the
// tenant's revision (the next since) and whether such a change happened.
func (n *Notifier) TechWait(ctx context.Context, tenant *store.Tenant, tech, since int64, until time.Time) (int64, bool) {
	n.Await(ctx, tenant)
	return n.wait(ctx, since, until, func() (int64, int64, <-chan struct{}, <-chan struct{}) {
		n.mu.Lock()
		defer n.mu.Unlock()
		r := n.revisionLocked(tenant)
		tr := r.techs[tech]
		if tr == nil {
			tr = &techRev{}
			r.techs[tech] = tr
		}
		if tr.ch == nil {
			tr.ch = make(chan struct{})
		}
		return r.rev, r.visible(tech), r.wideCh, tr.ch
	})
}

// ChangedSince lists the accounts of tech changed after revision since, and whether the log covers since.
func (n *Notifier) ChangedSince(tenant *store.Tenant, tech, since int64) ([]int64, bool) {
	n.Await(context.Background(), tenant)
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.revisionLocked(tenant)
	if since < r.floor || since > r.rev {
		return nil, false
	}
	var out []int64
	for acc, rev := range r.log[tech] {
		if rev > since {
			out = append(out, acc)
		}
	}
	// A change without a revision yet may already be in the store: hand it out now, and again with its revision.
	for acc := range r.later[tech] {
		out = append(out, acc)
	}
	return out, true
}
