package vm

// Two-factor sessions, lockout and device replacement (hub side in docs/tech-security.md).
//
// The hub refuses the credential list (403, field totp) to a tech who must use TOTP — every co-managed tech, MSP
// techs when the tenant's policy says so — until this device opens a session with a code. The follow loop then
// hands over to secondFactor, which asks the hub how the tech stands and shows one of:
//
//	enrol       not enrolled yet: the otpauth:// link (shown as a QR code) and its secret in text, and a code field
//	code        enrolled: a code field; the session the code opens lasts the policy's SessionHours
//	locked-out  too many wrong codes or failed passphrase unlocks: only the MSP can unlock
//
// SubmitCode sends the code and wakes the loop, which fetches the credentials as usual once the hub says the
// session is open. The TOTP secret lives only in the TOTPSecret and TOTPURI bindings while the enrol screen is up:
// never on disk, never in a log, and cleared as soon as the enrolment is confirmed or the screen is left.
//
// Passphrase unlocks that fail cannot be reported at once: the hub knows the device only by its key, which the
// wrong passphrase did not open. They are counted in the device file and reported on the next successful unlock,
// failures first, so that someone who guessed the passphrase after many tries finds the tech locked.
//
// A device registered under a username the hub already has may replace the tech's previous device (Replace): it
// waits in the replacing state, polling the hub, until the MSP compares both fingerprints and approves.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// States of the two-factor step and of a device replacement.
const (
	StateEnrol     = "enrol"
	StateCode      = "code"
	StateLockedOut = "locked-out"
	StateReplacing = "replacing"
)

func init() {
	headlines[StateEnrol] = "Set up two-factor authentication."
	headlines[StateCode] = "Enter the code from your authenticator app."
	headlines[StateLockedOut] = "Your account is locked after repeated failed attempts: ask your MSP to unlock it."
	headlines[StateReplacing] = "This replaces your previous device; your MSP compares both fingerprints."
}

// Sentinel errors of the two-factor step.
var (
	ErrWrongCode = errors.New("wrong or reused code")
	ErrLockedOut = errors.New("locked out after repeated failed attempts")
	ErrNoReplace = errors.New("this hub cannot replace a device")
)

// secondFactor runs, inside the follow loop, after the hub refused the credential list for want of a session or
// because the tech is locked. It returns (active, true) once the hub will hand out credentials again, and
// ("", false) when ctx ends or the hub cannot say why it refused.
func (a *App) secondFactor(ctx context.Context, h Hub, refused error) (wire.TechStatus, bool) {
	if lacks(h, wire.CapTwoFactor) {
		return "", false // a hub without sessions has no session to ask for: the refusal stands as it is
	}
	defer a.clearEnrolment()
	for ctx.Err() == nil {
		sec, err := h.Security(ctx)
		switch {
		case ctx.Err() != nil:
			return "", false
		case errors.Is(err, hubclient.ErrPending), errors.Is(err, hubclient.ErrUnauthenticated):
			return a.lostAccess(ctx, h, err)
		case err != nil:
			a.goOffline(err)
		case sec.Locked:
			a.clearEnrolment()
			a.SetState(StateLockedOut)
		case !sec.Required || !sec.SessionUntil.IsZero() || !sec.PausedUntil.IsZero():
			a.mu.Lock()
			dev := a.dev
			a.mu.Unlock()
			if dev != nil {
				a.showDevice(dev)
			}
			return wire.TechActive, true
		case sec.PauseNextLogin:
			// The MSP paused the requirement for this login: a session opens without a code.
			if _, err := h.OpenSession(ctx, ""); err != nil && ctx.Err() == nil {
				a.setError(a.codeError(err))
			}
			continue
		case !sec.Enrolled:
			if err := a.startEnrolment(ctx, h); err != nil && ctx.Err() == nil {
				a.setError(a.codeError(err))
			}
		default:
			a.clearEnrolment()
			a.SetState(StateCode)
		}
		if err == nil {
			a.clearBanner()
		}
		select {
		case <-ctx.Done():
		case <-a.wake:
		case <-time.After(a.o.Poll):
		}
	}
	return "", false
}

// startEnrolment asks the hub for a secret unless the enrol screen already shows one: asking again would replace
// the secret the technician may be scanning.
func (a *App) startEnrolment(ctx context.Context, h Hub) error {
	if a.Current() == StateEnrol {
		if s, _ := a.TOTPSecret.Get(); s != "" {
			return nil
		}
	}
	e, err := h.EnrollTOTP(ctx)
	if err != nil {
		return err
	}
	_ = a.TOTPSecret.Set(e.Secret)
	_ = a.TOTPURI.Set(e.URI)
	a.SetState(StateEnrol)
	return nil
}

// clearEnrolment forgets the TOTP secret the enrol screen showed.
func (a *App) clearEnrolment() {
	_ = a.TOTPSecret.Set("")
	_ = a.TOTPURI.Set("")
}

// poke wakes a waiting secondFactor or replacement loop.
func (a *App) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

var codeRE = regexp.MustCompile(`^[0-9]{6}$`)

// SubmitCode sends a code from the authenticator app: it confirms the enrolment on the enrol screen and opens a
// session on the code screen. Errors are also shown in Error.
func (a *App) SubmitCode(ctx context.Context, code string) error {
	return a.act(func() error { return a.submitCode(ctx, code) })
}

func (a *App) submitCode(ctx context.Context, code string) error {
	code = strings.Join(strings.Fields(code), "")
	if !codeRE.MatchString(code) {
		return &FieldError{"code", "enter the 6 digits your authenticator app shows"}
	}
	a.mu.Lock()
	h := a.hub
	a.mu.Unlock()
	if h == nil {
		return fmt.Errorf("%w: not connected", ErrUnreachable)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var err error
	if a.Current() == StateEnrol {
		_, err = h.ConfirmTOTP(ctx, code)
	} else {
		_, err = h.OpenSession(ctx, code)
	}
	if err != nil {
		return a.codeError(err)
	}
	a.clearEnrolment()
	a.poke()
	return nil
}

// codeError turns the hub's refusal of a code (or of an enrolment) into the sentinels, moving to the lockout
// screen when the hub locked the tech.
func (a *App) codeError(err error) error {
	var he *hubclient.Error
	switch {
	case hubclient.IsLocked(err):
		a.clearEnrolment()
		a.SetState(StateLockedOut)
		return ErrLockedOut
	case hubclient.IsWrongCode(err) && errors.As(err, &he):
		// The hub says how many attempts are left: "wrong or reused code; 4 attempts left before lockout".
		if _, left, ok := strings.Cut(he.Wire.Message, "; "); ok {
			return fmt.Errorf("%w: %s", ErrWrongCode, left)
		}
		return ErrWrongCode
	case errors.As(err, &he):
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnreachable, rootCause(err))
}

// noteUnlockFailure counts a failed passphrase unlock in the device file, to report once the key opens.
func (a *App) noteUnlockFailure() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dev == nil {
		return
	}
	d := *a.dev
	d.UnlockFailures++
	a.dev = &d
	if err := saveDevice(a.o.Dir, &d); err != nil {
		_ = a.Error.Set(Explain(fmt.Errorf("save device file: %w", err)))
	}
}

// reportUnlocks tells the hub about the failed passphrase unlocks since the last report, then the success. A hub
// that does not answer hears about them next time. The hub locks the tech when the failures reach its policy.
func (a *App) reportUnlocks(ctx context.Context) {
	a.mu.Lock()
	dev, id := a.dev, a.id
	a.mu.Unlock()
	if dev == nil || id == nil || dev.UnlockFailures == 0 || dev.Status != wire.TechActive {
		return
	}
	h, err := a.o.Dial(dev.Invite, id)
	if err != nil {
		return
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	reported := 0
	for ; reported < dev.UnlockFailures; reported++ {
		sec, err := h.ReportUnlock(ctx, wire.UnlockFailed)
		if err != nil && !hubclient.IsLocked(err) {
			break
		}
		if err != nil || sec.Locked {
			reported = dev.UnlockFailures // locked: the rest changes nothing
			break
		}
	}
	if reported == dev.UnlockFailures {
		_, _ = h.ReportUnlock(ctx, wire.UnlockOK)
	}
	a.mu.Lock()
	if a.dev != nil {
		d := *a.dev
		d.UnlockFailures = max(d.UnlockFailures-reported, 0)
		a.dev = &d
		_ = saveDevice(a.o.Dir, &d)
	}
	a.mu.Unlock()
}

// Replace registers this device as the replacement of the tech's previous one, after Register answered that the
// username is taken: the username and the email must be the tech's. The device then waits in StateReplacing until
// the MSP, having compared both fingerprints, approves. Errors are also shown in Error.
func (a *App) Replace(ctx context.Context, r Registration) error {
	return a.act(func() error { return a.replace(ctx, r) })
}

func (a *App) replace(ctx context.Context, r Registration) error {
	return a.firstContact(ctx, r, func(ctx context.Context, h Hub, inv wire.Invite) (*Device, error) {
		k, err := h.Rekey(ctx, wire.RekeyRequest{Username: r.Username, Email: strings.TrimSpace(r.Email)})
		if err != nil {
			if lacks(h, wire.CapRekey) { // its refusal said how old it is
				return nil, fmt.Errorf("replace the device of %q: %w", r.Username, ErrNoReplace)
			}
			return nil, classify(err, inv)
		}
		return &Device{TechID: k.TechID, Username: r.Username, DisplayName: strings.TrimSpace(r.DisplayName),
			Email: strings.TrimSpace(r.Email), Organization: k.Organization, Fingerprint: k.Fingerprint,
			OldFingerprint: k.OldFingerprint, Status: wire.TechPending, Replacing: true}, nil
	})
}

// waitReplaced polls the hub until the MSP decides on this device's replacement request. It returns the
// device's status once approved; a rejected device stays on its screen until ctx ends.
func (a *App) waitReplaced(ctx context.Context, h Hub) wire.TechStatus {
	for ctx.Err() == nil {
		k, err := h.RekeyStatus(ctx)
		switch {
		case ctx.Err() != nil:
			return ""
		case err != nil:
			a.goOffline(err)
		case k.Status == wire.RekeyApproved:
			a.clearBanner()
			a.mu.Lock()
			if a.dev != nil {
				d := *a.dev
				d.Replacing, d.OldFingerprint = false, ""
				a.dev = &d
			}
			a.mu.Unlock()
			st, err := h.Status(ctx)
			if err != nil {
				a.goOffline(err)
				break
			}
			return a.applyStatus(st)
		case k.Status == wire.RekeyRejected:
			a.clearBanner()
			a.mu.Lock()
			if a.dev != nil {
				d := *a.dev
				d.Replacing = false
				a.dev = &d
			}
			a.mu.Unlock()
			a.applyStatus(&wire.TechStatusResponse{Status: wire.TechRejected})
			<-ctx.Done()
			return ""
		default:
			a.clearBanner()
		}
		select {
		case <-ctx.Done():
		case <-a.wake:
		case <-time.After(a.o.Poll):
		}
	}
	return ""
}

// replacing reports whether this device waits to replace the tech's previous one.
func (a *App) replacing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dev != nil && a.dev.Replacing
}

// OldFingerprint is the fingerprint of the device this one replaces, while the replacement waits for approval.
func (a *App) OldFingerprint() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dev == nil {
		return ""
	}
	return a.dev.OldFingerprint
}
