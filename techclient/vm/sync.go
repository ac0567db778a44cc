package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/watchword/watchword/shared/clock"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// follow starts (or restarts) the loop that keeps this device's state and credentials current.
func (a *App) follow() {
	a.mu.Lock()
	if a.closed || a.dev == nil || a.id == nil {
		a.mu.Unlock()
		return
	}
	a.stopLocked()
	h, err := a.o.Dial(a.dev.Invite, a.id)
	if err != nil {
		a.mu.Unlock()
		a.setError(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.hub, a.stop = h, cancel
	status := a.dev.Status
	a.wg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		a.run(ctx, h, status)
	}()
}

// run follows the hub until ctx ends: the device's own status while it is not active, the tenant's revision
// (and the credentials behind it) while it is.
func (a *App) run(ctx context.Context, h Hub, status wire.TechStatus) {
	retry := a.o.Retry
	fail := func(err error) {
		a.goOffline(err)
		clock.Sleep(ctx, retry)
		retry = min(retry*2, 30*time.Second)
	}
	needFetch := true
	// failed handles a request of an active device that failed: a device that lost its access (or must open a
	// two-factor session) goes on in its new status, any other failure waits and fetches again. It reports false
	// when ctx has ended.
	failed := func(err error) bool {
		if ctx.Err() != nil {
			return false
		}
		if next, ok := a.lostAccess(ctx, h, err); ok {
			status = next
			return true
		}
		fail(err)
		needFetch = true
		return true
	}
	if a.replacing() {
		status = a.waitReplaced(ctx, h) // twofactor.go
	}
	for ctx.Err() == nil {
		if status != wire.TechActive {
			st, err := h.WaitStatus(ctx, status, a.o.Wait)
			if err != nil {
				if ctx.Err() == nil {
					fail(err)
				}
				continue
			}
			retry = a.o.Retry
			a.goOnline()
			if st.Status != status {
				status = a.applyStatus(st)
				needFetch = true
			}
			continue
		}
		if needFetch {
			resp, err := a.fetch(ctx, h)
			if err != nil {
				if !failed(err) {
					return
				}
				continue
			}
			alert, err := a.syncAuthority(ctx, h) // authority.go
			if err != nil {
				if !failed(err) {
					return
				}
				continue
			}
			retry = a.o.Retry
			a.goOnline()
			a.apply(resp, a.o.Now(), true)
			if alert != nil {
				a.setError(alert)
			}
			a.flushEvents(ctx, h)
			needFetch = false
		}
		a.mu.Lock()
		rev := a.rev
		a.mu.Unlock()
		ch, err := h.WaitChanges(ctx, rev, a.o.Wait)
		if err != nil {
			if !failed(err) {
				return
			}
			continue
		}
		needFetch = ch.Changed
	}
}

// fetch gets the whole current list: after the first fetch (or from the offline cache) only what changed since
// the list the device holds, merged into it. A tech with 5,000 accounts otherwise downloads 17 MB on every
// rotation of any one of them. A hub older than deltas gets the plain request it knows.
func (a *App) fetch(ctx context.Context, h Hub) (*wire.CredentialsResponse, error) {
	if lacks(h, wire.CapDeltaChanges) {
		return h.Credentials(ctx)
	}
	a.mu.Lock()
	held := a.list
	a.mu.Unlock()
	if held == nil || held.Grants == "" {
		return h.CredentialsSince(ctx, 0, "")
	}
	resp, err := h.CredentialsSince(ctx, held.Revision, held.Grants)
	if err != nil || !resp.Delta {
		return resp, err
	}
	if resp.ClientGUID != held.ClientGUID {
		return h.CredentialsSince(ctx, 0, "") // not a delta of this list: start over
	}
	return mergeDelta(held, resp), nil
}

// mergeDelta applies a delta answer to the list it was asked against, without changing either: changed entries
// replace the held ones (or join the list), removed ones go.
func mergeDelta(held, d *wire.CredentialsResponse) *wire.CredentialsResponse {
	out := &wire.CredentialsResponse{ClientGUID: held.ClientGUID, Revision: d.Revision, Grants: d.Grants,
		Credentials: make([]wire.Credential, 0, len(held.Credentials)+len(d.Credentials))}
	gone := make(map[int64]bool, len(d.Removed)+len(d.Credentials))
	for _, id := range d.Removed {
		gone[id] = true
	}
	for _, c := range d.Credentials {
		gone[c.AccountID] = true
	}
	for _, c := range held.Credentials {
		if !gone[c.AccountID] {
			out.Credentials = append(out.Credentials, c)
		}
	}
	out.Credentials = append(out.Credentials, d.Credentials...)
	return out
}

// lostAccess checks, after the hub refused an active tech's request, whether the tech is still active.
func (a *App) lostAccess(ctx context.Context, h Hub, err error) (wire.TechStatus, bool) {
	switch {
	case errors.Is(err, hubclient.ErrPending):
		st, serr := h.Status(ctx)
		if serr != nil {
			return "", false
		}
		return a.applyStatus(st), true
	case errors.Is(err, hubclient.ErrUnauthenticated):
		// The hub no longer knows this device at all: as good as deactivated.
		return a.applyStatus(&wire.TechStatusResponse{Status: wire.TechDisabled}), true
	case hubclient.IsTOTPRequired(err), hubclient.IsLocked(err):
		return a.secondFactor(ctx, h, err) // twofactor.go
	}
	return "", false
}

// applyStatus records the hub's word on this device; leaving the active state removes every row and the cache.
func (a *App) applyStatus(st *wire.TechStatusResponse) wire.TechStatus {
	a.mu.Lock()
	dev := a.dev
	if dev == nil {
		a.mu.Unlock()
		return st.Status
	}
	d := *dev
	d.Status = st.Status
	if st.TenantName != "" {
		d.TenantName = st.TenantName
	}
	if st.Fingerprint != "" {
		d.Fingerprint = st.Fingerprint
	}
	a.dev = &d
	if st.Status != wire.TechActive {
		a.all, a.visible, a.byID, a.rev, a.list, a.history = nil, nil, map[int64]*Row{}, 0, nil, nil
		a.revealGen++
	}
	a.mu.Unlock()
	if err := saveDevice(a.o.Dir, &d); err != nil {
		a.setError(fmt.Errorf("save device file: %w", err))
	}
	if st.Status != wire.TechActive {
		_ = os.Remove(filepath.Join(a.o.Dir, cacheFile))
		_ = a.Revealed.Set(0)
		_ = a.Selected.Set(0)
		a.bumpRows()
	}
	a.showDevice(&d)
	return st.Status
}

// goOffline shows the "offline since…" banner; the cached envelopes stay on screen and still open.
func (a *App) goOffline(err error) {
	a.mu.Lock()
	if a.offline.IsZero() {
		a.offline = a.o.Now()
	}
	since, synced, n := a.offline, a.syncedAt, len(a.all)
	a.mu.Unlock()
	msg := fmt.Sprintf("Offline since %s: the hub does not answer (%v).", timeOfDay(since), rootCause(err))
	if n > 0 && !synced.IsZero() {
		msg += fmt.Sprintf(" Showing the passwords last synced at %s.", timeOfDay(synced))
	}
	_ = a.Banner.Set(msg)
}

// goOnline takes the "offline since…" banner down and the last failure with it.
func (a *App) goOnline() {
	a.clearBanner()
	_ = a.Error.Set("")
}

// clearBanner takes the "offline since…" banner down: the hub answered.
func (a *App) clearBanner() {
	a.mu.Lock()
	was := !a.offline.IsZero()
	a.offline = time.Time{}
	a.mu.Unlock()
	if was {
		_ = a.Banner.Set("")
	}
}

// Offline reports whether the hub is unreachable, and since when.
func (a *App) Offline() (bool, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.offline.IsZero(), a.offline
}

// apply replaces the rows with a credentials answer, notifies rotations, and caches the sealed envelopes.
func (a *App) apply(resp *wire.CredentialsResponse, at time.Time, live bool) {
	rows := make([]*Row, 0, len(resp.Credentials))
	byID := make(map[int64]*Row, len(resp.Credentials))
	for i := range resp.Credentials {
		r := newRow(resp.ClientGUID, &resp.Credentials[i])
		if r == nil {
			continue
		}
		rows = append(rows, r)
		byID[r.AccountID] = r
	}
	sortRows(rows)
	a.checkRows(rows) // authority.go
	a.mu.Lock()
	var rotated []*Row
	var jitNotes [][2]string
	if live {
		now := a.o.Now()
		for _, r := range rows {
			old := a.byID[r.AccountID]
			if old != nil && r.Version > old.Version && !r.JIT && r.Alert == "" {
				rotated = append(rotated, r)
			}
			if title, body := jitChanges(old, r, now); title != "" {
				jitNotes = append(jitNotes, [2]string{title, body})
			}
		}
	}
	a.all, a.byID, a.rev, a.list, a.syncedAt = rows, byID, resp.Revision, resp, at
	a.visible = filterRows(rows, a.filter)
	events := a.events
	if sel, _ := a.Selected.Get(); sel != 0 && byID[int64(sel)] == nil {
		defer a.Selected.Set(0)
	}
	if rev, _ := a.Revealed.Get(); rev != 0 {
		if r := byID[int64(rev)]; r == nil || len(rotated) > 0 && containsRow(rotated, r) || !r.Usable(a.o.Now()) {
			// The shown password is gone or stale: hide it rather than show the old one.
			a.revealGen++
			defer a.Revealed.Set(0)
		}
	}
	a.mu.Unlock()
	if live {
		a.reportRefused(rows) // authority.go
	}
	_ = a.Synced.Set(Plural(len(rows), "account") + " · synced " + timeOfDay(at))
	a.bumpRows()
	if live {
		if err := saveCache(a.o.Dir, &cache{SyncedAt: at, Credentials: *resp, Events: events}); err != nil {
			a.setError(fmt.Errorf("save offline cache: %w", err))
		}
	}
	if a.o.Notify != nil {
		for _, r := range rotated {
			title, body := "Password changed", fmt.Sprintf("%s on %s was rotated.", r.Account, r.Host)
			a.o.Do(func() { a.o.Notify(title, body) })
		}
		for _, n := range jitNotes {
			title, body := n[0], n[1]
			a.o.Do(func() { a.o.Notify(title, body) })
		}
	}
}

func containsRow(rows []*Row, r *Row) bool {
	for _, x := range rows {
		if x.AccountID == r.AccountID {
			return true
		}
	}
	return false
}

// timeOfDay renders a time of day in the local zone.
func timeOfDay(t time.Time) string { return t.Local().Format("15:04") }

// Preview shows a device and a credentials answer without a hub or a device key, as if they came from the
// hub at time at: for view tests and design previews. Nothing it shows can be revealed or copied.
func (a *App) Preview(dev Device, resp *wire.CredentialsResponse, at time.Time) {
	a.mu.Lock()
	a.dev = &dev
	a.mu.Unlock()
	a.showDevice(&dev)
	if resp != nil {
		a.apply(resp, at, false)
	}
}
