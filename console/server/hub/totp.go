package hub

// Two-factor authentication and lockout of techs, and the TOTP secrets sealed at rest (package totpseal).
//
// A co-managed tech must enrol TOTP (RFC 6238, github.com/pquerna/otp) at first approval and open a session with a
// code before the credential list hands out envelopes; MSP techs too when the tenant's SecurityPolicy says so.
// The session is bound to the device key that opened it and lasts SecurityPolicy.SessionHours. A code is accepted
// once (the last accepted time step is kept), one step of clock skew either way.
//
// Wrong codes and failed passphrase unlocks the TechClient reports count in a row; at LockoutAttempts the tech is
// locked: no session, no credentials, until an admin (or the Co-managed Manager of the tech's organization) unlocks.
// A failure is committed with its audit event even though the request is refused: the transaction returns nil and
// the handler answers the refusal afterwards.

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/console/server/hub/totpseal"
	"github.com/watchword/watchword/shared/wire"
)

const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpRequired says whether tech must present a TOTP code before fetching envelopes.
func totpRequired(t *store.Tech, p wire.SecurityPolicy) bool {
	return t.CoManaged || p.TOTPForMSPTechs
}

// totpStep checks code against secret at now, one step either way, and returns the matching time step. A step at or
// below last (already used) does not match.
func totpStep(secret, code string, now time.Time, last int64) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 || secret == "" {
		return 0, false
	}
	base := now.Unix() / totpPeriod
	for _, d := range []int64{0, -1, 1} {
		step := base + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > last {
			return step, true
		}
	}
	return 0, false
}

var (
	errLocked = &wire.Error{Code: wire.CodeForbidden, Field: wire.FieldLocked,
		Message: "this tech is locked out after repeated failed attempts; ask an admin to unlock"}
	errNeedSession = &wire.Error{Code: wire.CodeForbidden, Field: wire.FieldTOTP,
		Message: "two-factor authentication is required: open a session with a code from your authenticator"}
	errNeedEnrol = &wire.Error{Code: wire.CodeForbidden, Field: wire.FieldTOTP,
		Message: "two-factor authentication is required: enrol an authenticator first"}
)

// sessionGate refuses the credential list to a locked tech and to one who needs a TOTP session and has none.
func (h *Hub) sessionGate(r *request) error {
	return h.st.Read(r.Context(), func(tx store.Tx) error {
		s, err := tx.TechSecurity(r.tenant.ID, r.who.tech.ID)
		if err != nil {
			return err
		}
		if !s.LockedAt.IsZero() {
			return errLocked
		}
		p, err := tx.SecurityPolicy(r.tenant.ID)
		if err != nil {
			return err
		}
		now := h.now()
		switch {
		case !h.enforceTOTP, !totpRequired(r.who.tech, p), now.Before(s.PauseUntil):
			return nil
		case s.SessionKey == r.keyID && now.Before(s.SessionUntil):
			return nil
		case s.TOTPEnrolledAt.IsZero() && !s.PauseNextLogin:
			return errNeedEnrol
		}
		return errNeedSession
	})
}

// failure counts one failed attempt and locks the tech at the policy's limit. It runs inside the change.
func failure(c *change, s *store.TechSecurity, p wire.SecurityPolicy, what string) error {
	s.Failures++
	if err := c.audit("tech.auth-failed", fmt.Sprintf("tech %d", s.TechID), fmt.Sprintf("what=%s failures=%d of=%d", what, s.Failures, p.LockoutAttempts)); err != nil {
		return err
	}
	if s.LockedAt.IsZero() && s.Failures >= p.LockoutAttempts {
		s.LockedAt, s.LockReason = c.at, fmt.Sprintf("%d failed attempts in a row (last: %s)", s.Failures, what)
		if err := c.audit("tech.lock", fmt.Sprintf("tech %d", s.TechID), "reason="+s.LockReason); err != nil {
			return err
		}
	}
	return c.tx.PutTechSecurity(s)
}

func wrongCode(s *store.TechSecurity, p wire.SecurityPolicy) error {
	if !s.LockedAt.IsZero() {
		return errLocked
	}
	return &wire.Error{Code: wire.CodeForbidden, Field: wire.FieldCode,
		Message: fmt.Sprintf("wrong or reused code; %d attempts left before lockout", max(p.LockoutAttempts-s.Failures, 0))}
}

func (h *Hub) techSecurityWire(t *store.Tech, s *store.TechSecurity, p wire.SecurityPolicy, keyID string) wire.TechSecurity {
	out := wire.TechSecurity{TechID: t.ID, Username: t.Username, Organization: t.Organization, CoManaged: t.CoManaged,
		Required: totpRequired(t, p), Enrolled: !s.TOTPEnrolledAt.IsZero(), EnrolledAt: s.TOTPEnrolledAt,
		PauseNextLogin: s.PauseNextLogin, Failures: s.Failures, Locked: !s.LockedAt.IsZero(), LockedAt: s.LockedAt,
		LockReason: s.LockReason}
	now := h.now()
	if now.Before(s.PauseUntil) {
		out.PausedUntil = s.PauseUntil
	}
	if now.Before(s.SessionUntil) && (keyID == "" || keyID == s.SessionKey) {
		out.SessionUntil = s.SessionUntil
	}
	return out
}

// techSecurity answers the calling tech's own state.
func (h *Hub) techSecurity(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (wire.TechSecurity, error) {
		s, err := tx.TechSecurity(r.tenant.ID, r.who.tech.ID)
		if err != nil {
			return wire.TechSecurity{}, err
		}
		p, err := tx.SecurityPolicy(r.tenant.ID)
		return h.techSecurityWire(r.who.tech, s, p, r.keyID), err
	})
}

// techTOTPEnroll starts (or restarts, while unconfirmed) an enrolment: a fresh secret for the authenticator app.
func (h *Hub) techTOTPEnroll(r *request) (any, error) {
	var none struct{}
	if err := r.decode(&none); err != nil {
		return nil, err
	}
	var out *wire.TOTPEnrollment
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		s, err := c.tx.TechSecurity(r.tenant.ID, r.who.id)
		if err != nil {
			return err
		}
		switch {
		case !s.LockedAt.IsZero():
			return errLocked
		case !s.TOTPEnrolledAt.IsZero():
			return &wire.Error{Code: wire.CodeConflict, Message: "an authenticator is already enrolled"}
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "Watchword " + r.tenant.Name, AccountName: r.who.tech.Username,
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return fmt.Errorf("totp secret for tech %d: %w", r.who.id, err)
		}
		if s.TOTPSecret, err = h.totp.Seal(r.tenant.ID, r.who.id, key.Secret()); err != nil {
			return err
		}
		s.TOTPLastStep = 0
		out = &wire.TOTPEnrollment{Secret: key.Secret(), URI: key.URL(), Digits: 6, Period: totpPeriod}
		if err := c.tx.PutTechSecurity(s); err != nil {
			return err
		}
		return c.audit("tech.totp-enrol-start", fmt.Sprintf("tech %d", r.who.id), "")
	})
	return out, err
}

// techTOTPConfirm checks the first code of an enrolment; a right one enrols and opens a session.
func (h *Hub) techTOTPConfirm(r *request) (any, error) {
	return h.openSession(r, true)
}

// techSession opens a session with a code (or without one when an admin paused the requirement for the next login).
func (h *Hub) techSession(r *request) (any, error) {
	return h.openSession(r, false)
}

func (h *Hub) openSession(r *request, enrol bool) (any, error) {
	var req wire.CodeRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var refusal error
	var out wire.TechSecurity
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		s, err := c.tx.TechSecurity(r.tenant.ID, r.who.id)
		if err != nil {
			return err
		}
		p, err := c.tx.SecurityPolicy(r.tenant.ID)
		if err != nil {
			return err
		}
		if !s.LockedAt.IsZero() {
			return errLocked
		}
		target := fmt.Sprintf("tech %d", r.who.id)
		open := func(action, detail string) error {
			s.Failures, s.SessionKey, s.SessionUntil = 0, r.keyID, c.at.Add(time.Duration(p.SessionHours)*time.Hour)
			if err := c.tx.PutTechSecurity(s); err != nil {
				return err
			}
			out = h.techSecurityWire(r.who.tech, s, p, r.keyID)
			return c.audit(action, target, detail)
		}
		switch {
		case enrol && s.TOTPSecret == "":
			return &wire.Error{Code: wire.CodeConflict, Message: "start an enrolment first"}
		case enrol && !s.TOTPEnrolledAt.IsZero():
			return &wire.Error{Code: wire.CodeConflict, Message: "an authenticator is already enrolled"}
		case !enrol && s.PauseNextLogin && strings.TrimSpace(req.Code) == "":
			s.PauseNextLogin = false
			return open("tech.session", "totp=paused-next-login")
		case strings.TrimSpace(req.Code) == "":
			return wire.Invalid("code", "is required")
		case !enrol && s.TOTPEnrolledAt.IsZero():
			return errNeedEnrol
		}
		secret, err := h.totp.Open(s.TenantID, s.TechID, s.TOTPSecret)
		if err != nil {
			h.log.Error("open totp secret", "tech", r.who.id, "err", err)
			return err
		}
		step, good := totpStep(secret, req.Code, c.at, s.TOTPLastStep)
		if !good {
			if err := failure(c, s, p, "totp"); err != nil {
				return err
			}
			refusal = wrongCode(s, p)
			return nil
		}
		s.TOTPLastStep = step
		if enrol {
			s.TOTPEnrolledAt = c.at
			return open("tech.totp-enrol", "")
		}
		return open("tech.session", "totp=ok")
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal
	}
	return out, nil
}

// techUnlockReport records the result of a passphrase unlock on the device: failures count towards lockout, a
// success clears the count.
func (h *Hub) techUnlockReport(r *request) (any, error) {
	var req wire.UnlockReport
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	if req.Result != wire.UnlockFailed && req.Result != wire.UnlockOK {
		return nil, wire.Invalid("result", "must be %q or %q", wire.UnlockFailed, wire.UnlockOK)
	}
	var out wire.TechSecurity
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		s, err := c.tx.TechSecurity(r.tenant.ID, r.who.id)
		if err != nil {
			return err
		}
		p, err := c.tx.SecurityPolicy(r.tenant.ID)
		if err != nil {
			return err
		}
		defer func() { out = h.techSecurityWire(r.who.tech, s, p, r.keyID) }()
		if req.Result == wire.UnlockFailed {
			return failure(c, s, p, "passphrase")
		}
		if s.Failures == 0 || !s.LockedAt.IsZero() {
			return errNoChange // a success does not unlock a locked tech
		}
		s.Failures = 0
		if err := c.tx.PutTechSecurity(s); err != nil {
			return err
		}
		return c.audit("tech.auth-ok", fmt.Sprintf("tech %d", r.who.id), "what=passphrase")
	})
	if err != nil && err != errNoChange {
		return nil, err
	}
	return out, nil
}

// ---- admin ----

func (h *Hub) adminSecurityPolicy(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (wire.SecurityPolicy, error) { return tx.SecurityPolicy(r.tenant.ID) })
}

func (h *Hub) adminSetSecurityPolicy(r *request) (any, error) {
	var p wire.SecurityPolicy
	if err := r.decode(&p); err != nil {
		return nil, err
	}
	var errs []error
	if p.LockoutAttempts < 3 || p.LockoutAttempts > 20 {
		errs = append(errs, wire.Invalid("lockoutAttempts", "must be from 3 to 20"))
	}
	if p.SessionHours < 1 || p.SessionHours > 24 {
		errs = append(errs, wire.Invalid("sessionHours", "must be from 1 to 24"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		if err := c.tx.SetSecurityPolicy(r.tenant.ID, p); err != nil {
			return err
		}
		return c.audit("security-policy.update", "tenant "+r.tenant.GUID,
			fmt.Sprintf("totpForMspTechs=%t lockoutAttempts=%d sessionHours=%d", p.TOTPForMSPTechs, p.LockoutAttempts, p.SessionHours))
	})
	return p, err
}

func (h *Hub) adminTechSecurity(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.TechSecurityResponse, error) {
		p, err := tx.SecurityPolicy(r.tenant.ID)
		if err != nil {
			return nil, err
		}
		techs, err := tx.Techs(r.tenant.ID, "")
		if err != nil {
			return nil, err
		}
		all, err := tx.TechSecurities(r.tenant.ID)
		if err != nil {
			return nil, err
		}
		byTech := map[int64]*store.TechSecurity{}
		for i := range all {
			byTech[all[i].TechID] = &all[i]
		}
		out := &wire.TechSecurityResponse{Techs: []wire.TechSecurity{}}
		for i := range techs {
			t := &techs[i]
			if !mayManage(r, t) {
				continue
			}
			s := byTech[t.ID]
			if s == nil {
				s = &store.TechSecurity{TechID: t.ID, TenantID: r.tenant.ID}
			}
			out.Techs = append(out.Techs, h.techSecurityWire(t, s, p, ""))
		}
		return out, nil
	})
}

// techSecurityAction runs fn on one tech's security state as an admin allowed to manage that tech.
func (h *Hub) techSecurityAction(r *request, fn func(c *change, t *store.Tech, s *store.TechSecurity) error) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	var out wire.TechSecurity
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		t, err := c.tx.Tech(r.tenant.ID, id)
		if err != nil {
			return err
		}
		if !mayManage(r, t) {
			return &wire.Error{Code: wire.CodeNotFound, Message: fmt.Sprintf("tech %d: not found", id)}
		}
		s, err := c.tx.TechSecurity(r.tenant.ID, id)
		if err != nil {
			return err
		}
		if err := fn(c, t, s); err != nil {
			return err
		}
		if err := c.tx.PutTechSecurity(s); err != nil {
			return err
		}
		p, err := c.tx.SecurityPolicy(r.tenant.ID)
		out = h.techSecurityWire(t, s, p, "")
		return err
	})
	return out, err
}

// adminTOTPPause pauses a tech's TOTP requirement for the next login or for 24 hours. It never switches it off.
func (h *Hub) adminTOTPPause(r *request) (any, error) {
	var req wire.TOTPPauseRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	if req.For != wire.PauseNextLogin && req.For != wire.Pause24h {
		return nil, wire.Invalid("for", "must be %q or %q", wire.PauseNextLogin, wire.Pause24h)
	}
	return h.techSecurityAction(r, func(c *change, t *store.Tech, s *store.TechSecurity) error {
		if req.For == wire.PauseNextLogin {
			s.PauseNextLogin = true
		} else {
			s.PauseUntil = c.at.Add(24 * time.Hour)
		}
		return c.audit("tech.totp-pause", fmt.Sprintf("tech %d", t.ID), fmt.Sprintf("username=%q for=%s", t.Username, req.For))
	})
}

// adminTechUnlock lifts a lockout and clears the failure count.
func (h *Hub) adminTechUnlock(r *request) (any, error) {
	var none struct{}
	if err := r.decode(&none); err != nil {
		return nil, err
	}
	return h.techSecurityAction(r, func(c *change, t *store.Tech, s *store.TechSecurity) error {
		if s.LockedAt.IsZero() && s.Failures == 0 {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("tech %q is not locked", t.Username)}
		}
		was := s.LockReason
		s.Failures, s.LockedAt, s.LockReason = 0, time.Time{}, ""
		return c.audit("tech.unlock", fmt.Sprintf("tech %d", t.ID), fmt.Sprintf("username=%q was=%q", t.Username, was))
	})
}

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

// SealTOTPSecrets re-seals every TOTP secret still stored in clear (written by an older hub) and returns how many
// it sealed. It is idempotent: sealed values are left as they are.
func (h *Hub) SealTOTPSecrets(ctx context.Context) (int, error) {
	n := 0
	err := h.st.Write(ctx, func(tx store.Tx) error {
		n = 0
		tenants, err := tx.Tenants()
		if err != nil {
			return err
		}
		for _, t := range tenants {
			all, err := tx.TechSecurities(t.ID)
			if err != nil {
				return err
			}
			for i := range all {
				s := &all[i]
				if totpseal.Sealed(s.TOTPSecret) {
					continue
				}
				if s.TOTPSecret, err = h.totp.Seal(s.TenantID, s.TechID, s.TOTPSecret); err != nil {
					return err
				}
				if err := tx.PutTechSecurity(s); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seal stored totp secrets: %w", err)
	}
	// The clear values stay in old WAL frames until a checkpoint: take one now.
	if cp, ok := h.st.(interface{ Checkpoint(context.Context) error }); ok && n > 0 {
		if err := cp.Checkpoint(ctx); err != nil {
			h.log.Warn("checkpoint after sealing totp secrets", "err", err)
		}
	}
	return n, nil
}

// TOTPSecret opens the stored TOTP secret of a tech, for the operator's tooling and the tests that act as the
// tech's phone; "" when none is enrolled. The hub itself never hands it out after enrolment.
func (h *Hub) TOTPSecret(s *store.TechSecurity) (string, error) {
	return h.totp.Open(s.TenantID, s.TechID, s.TOTPSecret)
}
