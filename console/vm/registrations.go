package vm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/reltime"
	"github.com/watchword/watchword/shared/wire"
)

// loadRegistrations fills the snapshot's registration queue when this Console manages techs.
func loadRegistrations(ctx context.Context, ra *hubclient.Client, s *Snapshot, load func(string, func() error)) {
	if !s.Me.CanManageTechs() {
		return
	}
	load("registration queue", func() (err error) {
		s.Registrations, err = ra.Registrations(ctx)
		return err
	})
}

// RegistrationNotice says what an admin must know about the registration queue: that it is full (new devices are
// refused until pending techs are approved or rejected) or nearly so; "" when there is room.
func (s *Snapshot) RegistrationNotice() string {
	r := s.Registrations
	if r == nil || r.PendingLimit <= 0 {
		return ""
	}
	refused := ""
	if r.Refused > 0 {
		refused = fmt.Sprintf(" %d registrations were refused since %s.", r.Refused, r.RefusedSince.Local().Format("Mon 2 Jan 15:04"))
	}
	switch {
	case r.Full:
		return fmt.Sprintf("The registration queue is full: %d pending of at most %d. New devices cannot register until you approve or reject pending techs.%s",
			r.Pending, r.PendingLimit, refused)
	case r.Refused > 0 || r.Pending*10 >= r.PendingLimit*8:
		return fmt.Sprintf("%d of at most %d pending registrations: at %d the hub refuses new devices.%s", r.Pending, r.PendingLimit,
			r.PendingLimit, refused)
	}
	return ""
}

// OnPendingRequest registers fn to run, with a desktop notification's title and text, for every tech registration
// and device replacement waiting for approval that a refresh finds and the previous refresh did not — not for those
// already waiting when the Console connected (the navigation's count shows them), and only on a Console that may
// approve them. How long ago each was made is read on the Console's clock (Now).
func (a *App) OnPendingRequest(fn func(title, text string)) {
	var mu sync.Mutex
	var seen map[string]bool // "tech 12", "rekey 3"; nil until the first refresh
	a.OnChange(func() {
		s := a.Snapshot()
		if s.At.IsZero() || !s.Me.CanManageTechs() {
			return // not connected yet, or nothing this Console may approve
		}
		now := a.Now()
		type note struct{ title, text string }
		var fresh []note
		mu.Lock()
		first := seen == nil
		if first {
			seen = map[string]bool{}
		}
		for _, t := range a.Pending() {
			k := fmt.Sprintf("tech %d", t.ID)
			if !seen[k] && !first {
				fresh = append(fresh, note{"New tech waiting for approval: " + t.Username, PendingTechText(t, now)})
			}
			seen[k] = true
		}
		for _, r := range a.PendingRekeys() {
			k := fmt.Sprintf("rekey %d", r.ID)
			if !seen[k] && !first {
				fresh = append(fresh, note{"Device replacement requested: " + r.Username, RekeyRequestText(r, now)})
			}
			seen[k] = true
		}
		mu.Unlock()
		for _, n := range fresh {
			fn(n.title, n.text)
		}
	})
}

// PendingTechText is a new registration in a sentence, for its notification.
func PendingTechText(t wire.Tech, now time.Time) string {
	org := "the MSP"
	if t.Organization != "" {
		org = t.Organization
	}
	return fmt.Sprintf("%s (%s, %s) registered %s. Compare their device's fingerprint before approving.",
		t.DisplayName, t.Username, org, reltime.Ago(now, t.CreatedAt))
}

// RekeyRequestText is a device replacement request in a sentence, for its notification.
func RekeyRequestText(r wire.Rekey, now time.Time) string {
	return fmt.Sprintf("%s asked %s to replace their device. Compare both fingerprints before approving: the old device is revoked.",
		r.Username, reltime.Ago(now, r.CreatedAt))
}
