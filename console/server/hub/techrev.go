package hub

import (
	"context"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
)

// Per-tech revisions: which changes concern which tech.
//
// Every mutation bumps the tenant's revision, and agents wake on any of them. Tech devices do not need to: with
// thousands of TechClients in long polls, waking all of them for a rotation that concerns one tech made every
// device fetch its list again. A mutation that knows whom it concerns says so (change.concerns, change.touched);
// its revision then wakes only those techs' polls. A mutation that says nothing concerns every tech, so a new kind
// of change is never silently missed.
//
// The same bookkeeping serves the delta credential list: the hub remembers, per tech, the revision at which each
// of its accounts last changed, so `GET /v1/tech/credentials?since=REV` can answer with those accounts alone. The
// memory is complete only from floor on (the revision this process first saw, or the last change it could not
// attribute); an older since gets the full list.

// scope is the techs (and their accounts) one change concerns.
type scope struct {
	techs    map[int64]bool
	accounts map[int64]int64 // account ID → its tech
}

// concerns narrows the change's wake-ups to these techs (none: the change concerns no tech, e.g. a rotation
// request that only the agent acts on). Without a call, a change concerns every tech.
func (c *change) concerns(techs ...int64) {
	if c.scope == nil {
		c.scope = &scope{techs: map[int64]bool{}, accounts: map[int64]int64{}}
	}
	for _, t := range techs {
		c.scope.techs[t] = true
	}
}

// touched records that an account's entry in its tech's credential list changed.
func (c *change) touched(acc *store.Account) {
	c.concerns(acc.TechID)
	c.scope.accounts[acc.ID] = acc.TechID
}

// techRev is one tech's last concerning revision and the channel its polls wait on.
type techRev struct {
	rev int64
	ch  chan struct{} // nil until someone waits
}

// techRevs is a tenant's per-tech state; it lives in revision under Hub.mu.
type techRevs struct {
	wide   int64         // last revision that concerned every tech
	wideCh chan struct{} // closed at the next such change
	techs  map[int64]*techRev
	floor  int64                     // the account log is complete for changes after this revision
	log    map[int64]map[int64]int64 // tech → account → revision of its last change
	later  map[int64]map[int64]bool  // tech → accounts changed without a revision: logged at the next one
	// sigs is every tech's signature as last published (techwake.go); nil when unknown, and the next
	// entitlement change then wakes every tech.
	sigs techSigs
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
func (t *techRevs) publish(rev int64, sc *scope, graph bool, sigs techSigs) {
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
			return
		}
		for _, tech := range changedTechs(old, sigs) {
			t.wakeTech(tech, rev)
		}
		if sc != nil {
			for tech := range sc.techs {
				t.wakeTech(tech, rev)
			}
		}
		return
	}
	if sc == nil {
		t.wideChange(rev, true)
		return
	}
	for acc, tech := range sc.accounts {
		t.logAccount(tech, acc, rev)
	}
	for tech := range sc.techs {
		t.wakeTech(tech, rev)
	}
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

// pending logs accounts changed by a mutation that did not bump the revision (an account created by a plan).
func (h *Hub) pending(tenant int64, sc *scope) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.revs[tenant]
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

// techWait blocks until a change concerning tech passes since, the deadline passes or ctx ends. It returns the
// tenant's revision (the next since) and whether such a change happened.
func (h *Hub) techWait(ctx context.Context, tenant *store.Tenant, tech, since int64, until time.Time) (int64, bool) {
	for {
		h.mu.Lock()
		r := h.revisionLocked(tenant)
		rev, seen := r.rev, r.visible(tech)
		wideCh := r.wideCh
		tr := r.techs[tech]
		if tr == nil {
			tr = &techRev{}
			r.techs[tech] = tr
		}
		if tr.ch == nil {
			tr.ch = make(chan struct{})
		}
		techCh := tr.ch
		h.mu.Unlock()
		if seen > since {
			return rev, true
		}
		d := until.Sub(h.now())
		if d <= 0 {
			return rev, false
		}
		timer := time.NewTimer(d)
		select {
		case <-wideCh:
			timer.Stop()
		case <-techCh:
			timer.Stop()
		case <-timer.C:
			h.mu.Lock()
			r := h.revisionLocked(tenant)
			rev, seen = r.rev, r.visible(tech)
			h.mu.Unlock()
			return rev, seen > since
		case <-ctx.Done():
			timer.Stop()
			return rev, false
		}
	}
}

// changedSince lists the accounts of tech changed after revision since, and whether the log covers since.
func (h *Hub) changedSince(tenant *store.Tenant, tech, since int64) ([]int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.revisionLocked(tenant)
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
