package hub

import (
	"fmt"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// adminTOTPReset forgets a tech's authenticator, for a lost or replaced phone: a pause only postpones the need for
// the old one. The secret, the enrolment, any pause and the open session go, so the tech's next request for
// envelopes answers "enrol first" and the TechClient shows its enrolment screen; until the tech enrols, nothing is
// handed out. A lockout is left as it is: unlocking is its own decision. The admin who did it is the audit event's
// actor and is named in its detail.
func (h *Hub) adminTOTPReset(r *request) (any, error) {
	var none struct{}
	if err := r.decode(&none); err != nil {
		return nil, err
	}
	return h.techSecurityAction(r, func(c *change, t *store.Tech, s *store.TechSecurity) error {
		if s.TOTPSecret == "" && s.TOTPEnrolledAt.IsZero() {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("tech %q has no authenticator to reset", t.Username)}
		}
		enrolled := "never (an enrolment was started)"
		if !s.TOTPEnrolledAt.IsZero() {
			enrolled = s.TOTPEnrolledAt.UTC().Format(time.RFC3339)
		}
		s.TOTPSecret, s.TOTPEnrolledAt, s.TOTPLastStep = "", time.Time{}, 0
		s.PauseNextLogin, s.PauseUntil = false, time.Time{}
		s.SessionKey, s.SessionUntil = "", time.Time{}
		by := r.who.admin
		return c.audit("tech.totp-reset", fmt.Sprintf("tech %d", t.ID), fmt.Sprintf("username=%q enrolled=%s by=%q role=%s",
			t.Username, enrolled, by.Name, by.Role.Title()))
	})
}
