package vm

import (
	"errors"
	"fmt"
	"time"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// A just-in-time window on Entra ID may carry a Temporary Access Pass: the agent issued it for the window, sealed
// it to this device and signed its statement like a password version's (wire.JITTAP). It is opened under its own
// context (wire.TAPAccount of the account's name, the grant's ID as the version), so a pass can never pass for a
// password; on a device pinned to the signed authority its signature is checked first, as a version's is. A pass
// shows only while the window is open and until it expires. Its reveal and its copy are reported and signed like a
// password's (report), as wire.EventTAPReveal and wire.EventTAPCopy with the grant's ID as the version; a hub older
// than wire.CapTAPEvents refuses the kind, and the event leaves the queue as any event refused for good does.

// ErrNoTAP: the row has no Temporary Access Pass this device may use now.
var ErrNoTAP = errors.New("no temporary access pass for this window")

// HasTAP says whether the row carries a pass usable at now: its window open, the pass not yet expired.
func (r *Row) HasTAP(now time.Time) bool {
	return r.tap != nil && r.Usable(now) && now.Before(r.TAPExpires)
}

// TAPText is the row's pass for people: "Temporary Access Pass, valid until 15:04" (local time, with the day
// when it is not today); empty without a usable pass.
func (r *Row) TAPText(now time.Time) string {
	if !r.HasTAP(now) {
		return ""
	}
	lt := r.TAPExpires.Local()
	layout := "15:04"
	if lt.Format("2006-01-02") != now.Local().Format("2006-01-02") {
		layout = "Mon 2 Jan 15:04"
	}
	return "Temporary Access Pass, valid until " + lt.Format(layout)
}

// openTAP opens the row's pass. The caller wipes the result when done.
func (a *App) openTAP(accountID int64) ([]byte, *Row, error) {
	a.mu.Lock()
	r, id := a.byID[accountID], a.id
	a.mu.Unlock()
	switch {
	case r == nil:
		return nil, nil, fmt.Errorf("account %d: %w", accountID, ErrNoRow)
	case id == nil:
		return nil, r, fmt.Errorf("open the pass of %q: %w", r.Account, ErrLocked)
	case !r.HasTAP(a.o.Now()):
		return nil, r, fmt.Errorf("open the pass of %q on %q: %w", r.Account, r.Host, ErrNoTAP)
	}
	if t := a.trusted(); t != nil {
		v := &wire.CredentialVersion{Version: r.tapGrant, Envelope: r.tap.Envelope, Signature: r.tap.Signature}
		if err := t.verify(r.guid, r.AgentID, r.AccountID, wire.TAPAccount(r.Account), v); err != nil {
			return nil, r, fmt.Errorf("open the pass of %q on %q: %w", r.Account, r.Host, err)
		}
	}
	code, err := seal.Open(r.tap.Envelope, hubclient.SealContext(r.guid, r.AgentID, wire.TAPAccount(r.Account), r.tapGrant), id)
	if err != nil {
		return nil, r, fmt.Errorf("open the pass of %q on %q: %w", r.Account, r.Host, err)
	}
	return code, r, nil
}

// RevealTAP opens the row's pass for the view to show and reports the reveal; the view hides it again after the
// RevealFor setting and keeps no copy.
func (a *App) RevealTAP(accountID int64) (string, error) {
	a.Touch()
	code, r, err := a.openTAP(accountID)
	if err != nil {
		a.setError(err)
		return "", err
	}
	text := string(code)
	wipe(code)
	a.report(wire.EventRequest{Kind: wire.EventTAPReveal, AccountID: r.AccountID, Version: r.tapGrant})
	return text, nil
}

// CopyTAP puts the row's pass on the clipboard, cleared after the ClipboardClear setting if it still holds it,
// and reports the copy. Call it on the UI goroutine.
func (a *App) CopyTAP(accountID int64) error {
	a.Touch()
	if a.o.Clipboard == nil {
		return ErrNoClipboard
	}
	code, r, err := a.openTAP(accountID)
	if err != nil {
		a.setError(err)
		return err
	}
	a.clip.Copy(a.o.Clipboard, code, a.o.Settings().ClipboardClear, a.o.Do)
	wipe(code)
	a.report(wire.EventRequest{Kind: wire.EventTAPCopy, AccountID: r.AccountID, Version: r.tapGrant})
	return nil
}
