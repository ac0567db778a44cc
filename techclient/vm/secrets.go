package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// ErrNoClipboard: the view-model was built without a clipboard.
var ErrNoClipboard = errors.New("no clipboard")

// open opens the envelope of an account's shown version. The caller wipes the result when done.
func (a *App) open(accountID int64) ([]byte, *Row, error) {
	a.mu.Lock()
	r, id := a.byID[accountID], a.id
	a.mu.Unlock()
	if r == nil {
		return nil, nil, fmt.Errorf("account %d: %w", accountID, ErrNoRow)
	}
	if id == nil {
		return nil, r, fmt.Errorf("open %q: %w", r.Account, ErrLocked)
	}
	if !r.Usable(a.o.Now()) {
		if r.JIT {
			return nil, r, fmt.Errorf("open %q on %q: %w", r.Account, r.Host, ErrJITInactive)
		}
		return nil, r, fmt.Errorf("open %q on %q: no password yet", r.Account, r.Host)
	}
	if t := a.trusted(); t != nil {
		if err := r.verify(t); err != nil { // authority.go: checked again, against the newest verified state
			return nil, r, fmt.Errorf("open %q on %q: %w", r.Account, r.Host, err)
		}
	}
	pw, err := seal.Open(r.envelope, hubclient.SealContext(r.guid, r.AgentID, r.Account, r.Version), id)
	if err != nil {
		return nil, r, fmt.Errorf("open %q on %q: %w", r.Account, r.Host, err)
	}
	return pw, r, nil
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// Reveal opens an account's password for the view to show, reports the reveal to the hub, and hides it again
// (Revealed back to 0) after the RevealFor setting. The caller shows the text and drops it when Revealed moves
// off this account; the view-model keeps no copy.
func (a *App) Reveal(accountID int64) (string, error) {
	a.Touch()
	pw, r, err := a.open(accountID)
	if err != nil {
		a.setError(err)
		return "", err
	}
	text := string(pw)
	wipe(pw)
	a.report(wire.EventRequest{Kind: wire.EventReveal, AccountID: r.AccountID, Version: r.Version})
	a.mu.Lock()
	a.revealGen++
	gen := a.revealGen
	a.mu.Unlock()
	_ = a.Revealed.Set(int(accountID))
	if d := a.o.Settings().RevealFor; d > 0 {
		time.AfterFunc(d, func() {
			a.mu.Lock()
			current := gen == a.revealGen
			a.mu.Unlock()
			if current {
				_ = a.Revealed.Set(0)
			}
		})
	}
	return text, nil
}

// Hide hides a revealed password now.
func (a *App) Hide() {
	a.mu.Lock()
	a.revealGen++
	a.mu.Unlock()
	if v, _ := a.Revealed.Get(); v != 0 {
		_ = a.Revealed.Set(0)
	}
}

// CopyPassword puts an account's password on the clipboard and reports the copy. After the ClipboardClear
// setting the clipboard is emptied, but only if it still holds that password. Call it on the UI goroutine.
func (a *App) CopyPassword(accountID int64) error {
	a.Touch()
	if a.o.Clipboard == nil {
		return ErrNoClipboard
	}
	pw, r, err := a.open(accountID)
	if err != nil {
		a.setError(err)
		return err
	}
	a.clip.Copy(a.o.Clipboard, pw, a.o.Settings().ClipboardClear, a.o.Do)
	wipe(pw)
	a.report(wire.EventRequest{Kind: wire.EventCopy, AccountID: r.AccountID, Version: r.Version})
	return nil
}

// CopyUsername puts an account's name on the clipboard; a name is no secret, so it stays there.
func (a *App) CopyUsername(accountID int64) error {
	a.Touch()
	if a.o.Clipboard == nil {
		return ErrNoClipboard
	}
	r := a.Row(accountID)
	if r == nil {
		return fmt.Errorf("account %d: %w", accountID, ErrNoRow)
	}
	a.o.Clipboard.SetContent(r.Account)
	return nil
}

// ClearClipboard empties the clipboard now if it still holds the password last copied, and cancels the pending
// clear. The application calls it while it quits, before the toolkit lets go of the clipboard: the pending clear
// dies with the process (Close only cancels it), and the password would stay on the clipboard. Call it on the UI
// goroutine.
func (a *App) ClearClipboard() { a.clip.Clear() }

// report queues a reveal or copy for the hub's audit log and sends the queue now if the hub is reachable.
// Events made offline are kept (in the cache too) and sent after the next successful fetch. Each is signed when
// made, at the device's time, whenever it is sent.
func (a *App) report(ev wire.EventRequest) {
	ev.Signature, ev.SignedAt = a.signEvent(func(tenant string, tech int64, at time.Time) authority.TechEventStatement {
		ev.SignedAt = at
		return authority.TechEventOf(tenant, tech, ev)
	})
	a.mu.Lock()
	a.events = append(a.events, ev)
	h := a.hub
	a.mu.Unlock()
	if h == nil {
		a.saveEvents()
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		a.flushEvents(ctx, h)
	}()
}

// flushEvents sends queued events in order; it stops at the first failure and keeps the rest.
func (a *App) flushEvents(ctx context.Context, h Hub) {
	a.flushMu.Lock() // one sender at a time keeps the audit order and sends each event once
	defer a.flushMu.Unlock()
	for {
		a.mu.Lock()
		if len(a.events) == 0 {
			a.mu.Unlock()
			return
		}
		ev := a.events[0]
		a.mu.Unlock()
		err := h.ReportEvent(ctx, ev)
		var he *hubclient.Error
		if err != nil && !errors.As(err, &he) {
			a.saveEvents() // unreachable: keep it for later
			return
		}
		// Sent, or refused for good (a version the hub no longer knows): either way it leaves the queue.
		a.mu.Lock()
		if len(a.events) > 0 && sameEvent(a.events[0], ev) {
			a.events = a.events[1:]
		}
		a.mu.Unlock()
	}
}

// sameEvent reports whether x and y are the same queued event.
func sameEvent(x, y wire.EventRequest) bool {
	return x.Kind == y.Kind && x.AccountID == y.AccountID && x.Version == y.Version && x.SignedAt.Equal(y.SignedAt) &&
		bytes.Equal(x.Signature, y.Signature)
}

// signEvent signs what the tech did with this device's key (authority.SignTechEvent), at the device's time to
// the second: the hub keeps the signature in its audit log, where the admins' Console checks that this device,
// not whoever writes the hub's database, made the event. statement builds what is signed from the tenant, the
// tech and that time. Nothing is signed before the device has an identity and a registration.
func (a *App) signEvent(statement func(tenant string, tech int64, at time.Time) authority.TechEventStatement) ([]byte, time.Time) {
	a.mu.Lock()
	id, dev := a.id, a.dev
	a.mu.Unlock()
	if id == nil || dev == nil || dev.TechID == 0 {
		return nil, time.Time{}
	}
	at := a.o.Now().UTC().Truncate(time.Second)
	return authority.SignTechEvent(id.Signer(), statement(dev.Invite.ClientGUID, dev.TechID, at)), at
}

// saveEvents writes unsent events into the offline cache.
func (a *App) saveEvents() {
	a.mu.Lock()
	events := append([]wire.EventRequest(nil), a.events...)
	a.mu.Unlock()
	c, err := loadCache(a.o.Dir)
	if err != nil {
		return
	}
	c.Events = events
	_ = saveCache(a.o.Dir, c)
}

// PendingEvents is how many reveals and copies wait to be reported.
func (a *App) PendingEvents() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.events)
}
