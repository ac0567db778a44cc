package vm

import (
	"context"
	"fmt"

	"github.com/watchword/watchword/shared/hubclient"
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
