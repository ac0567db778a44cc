package vm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Password history: a technician may need a previous password back, for a service or a restored
// backup that still holds it. History asks the hub for an account's last versions (the hub audits the read);
// their envelopes stay sealed in memory, and OpenVersion opens one when the technician clicks it, with the device
// key and the same context as the current password. Locking, losing access or closing forgets them.

// ErrNoHistory: the hub is older than password histories (wire.CapHistory).
var ErrNoHistory = errors.New("this hub does not keep password histories")

// HistoryEntry is one version of an account's password history, without its (sealed) envelope.
type HistoryEntry struct {
	AccountID   int64
	Version     int64
	Current     bool      // the version the account's row shows: the password on the target now
	ConfirmedAt time.Time // when the target took it; zero for a version still staged
	StagedAt    time.Time
	// Alert is UnsignedAlert when the device pins the signed authority and no enrolled agent signed the version:
	// OpenVersion refuses it.
	Alert string
}

// When is the date a version was set (confirmed, or staged when it never was).
func (e HistoryEntry) When() time.Time {
	if e.ConfirmedAt.IsZero() {
		return e.StagedAt
	}
	return e.ConfirmedAt
}

// History fetches the password history of one of the technician's accounts, newest first. The hub records the
// read in the audit log. Nothing is opened: OpenVersion opens one version.
func (a *App) History(ctx context.Context, accountID int64) ([]HistoryEntry, error) {
	a.Touch()
	a.mu.Lock()
	r, h, id := a.byID[accountID], a.hub, a.id
	a.mu.Unlock()
	if r == nil {
		return nil, fmt.Errorf("account %d: %w", accountID, ErrNoRow)
	}
	if id == nil {
		return nil, fmt.Errorf("history of %q: %w", r.Account, ErrLocked)
	}
	if h == nil {
		return nil, fmt.Errorf("history of %q: %w", r.Account, ErrUnreachable)
	}
	if lacks(h, wire.CapHistory) {
		return nil, fmt.Errorf("history of %q: %w", r.Account, ErrNoHistory)
	}
	resp, err := h.History(ctx, accountID)
	if err != nil {
		err = fmt.Errorf("history of %q on %q: %w", r.Account, r.Host, err)
		a.setError(err)
		return nil, err
	}
	a.mu.Lock()
	if a.history == nil {
		a.history = map[int64]*wire.HistoryResponse{}
	}
	a.history[accountID] = resp
	a.mu.Unlock()
	out := make([]HistoryEntry, 0, len(resp.Versions))
	t := a.trusted()
	for i, v := range resp.Versions {
		e := HistoryEntry{AccountID: accountID, Version: v.Version, Current: v.Version == r.Version,
			ConfirmedAt: v.ConfirmedAt, StagedAt: v.StagedAt}
		if t != nil && t.verify(resp.ClientGUID, resp.AgentID, resp.AccountID, resp.AccountName, &resp.Versions[i]) != nil {
			e.Alert = UnsignedAlert
		}
		out = append(out, e)
	}
	return out, nil
}

// OpenVersion opens one version of a history that History fetched, for the view to show; the caller drops the
// text when the technician hides it. The hub audited the fetch of the history, which names every version.
func (a *App) OpenVersion(accountID, version int64) (string, error) {
	a.Touch()
	a.mu.Lock()
	resp, id := a.history[accountID], a.id
	a.mu.Unlock()
	if id == nil {
		return "", fmt.Errorf("open version %d: %w", version, ErrLocked)
	}
	if resp == nil {
		return "", fmt.Errorf("account %d: no history fetched: %w", accountID, ErrNoRow)
	}
	for _, v := range resp.Versions {
		if v.Version != version {
			continue
		}
		if t := a.trusted(); t != nil {
			if err := t.verify(resp.ClientGUID, resp.AgentID, resp.AccountID, resp.AccountName, &v); err != nil {
				err = fmt.Errorf("open version %d of %q: %w", version, resp.AccountName, err)
				a.setError(err)
				return "", err
			}
		}
		pw, err := seal.Open(v.Envelope, hubclient.SealContext(resp.ClientGUID, resp.AgentID, resp.AccountName, v.Version), id)
		if err != nil {
			err = fmt.Errorf("open version %d of %q: %w", version, resp.AccountName, err)
			a.setError(err)
			return "", err
		}
		text := string(pw)
		wipe(pw)
		return text, nil
	}
	return "", fmt.Errorf("version %d of %q is not in the history", version, resp.AccountName)
}

// ForgetHistory drops the fetched histories (the dialog showing them closed).
func (a *App) ForgetHistory() {
	a.mu.Lock()
	a.history = nil
	a.mu.Unlock()
}
