package hub_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// coManagedTech registers and approves a tech of organization org.
func coManagedTech(t *testing.T, h *hubtest.Harness, username, org string) *hubtest.Tech {
	t.Helper()
	ctx := testCtx(t)
	id := h.NewIdentity()
	c := h.Client(id)
	st, err := c.Register(ctx, wire.RegisterRequest{Username: username, Email: username + "@client.example", Organization: org})
	noErr(t, err)
	_, err = h.ApproveCoManaged(ctx, st.TechID) // under the All triplet: the explicit override (approve.go)
	noErr(t, err)
	return &hubtest.Tech{Client: c, ID: st.TechID, Identity: id}
}

// enforceTOTP is the hub's default (hub.Config.DisableTOTP unset), spelled out for the tests that depend on it.
var enforceTOTP = hubtest.WithConfig(func(c *hub.Config) { c.DisableTOTP = false })

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	noErr(t, err)
	return c
}

func auditHas(t *testing.T, h *hubtest.Harness, action, contains string) bool {
	t.Helper()
	ev, err := h.Owner.Audit(testCtx(t), wire.AuditQuery{Action: action})
	noErr(t, err)
	for _, e := range ev {
		if strings.Contains(e.Target+" "+e.Detail, contains) {
			return true
		}
	}
	return false
}

// TestTOTPForCoManagedTechs: a co-managed tech needs an enrolled authenticator and a session
// opened with a code before the credential list answers; MSP techs only by tenant policy; an admin's pause works
// for the next login or 24 hours and is audited; a code is good once; a session is bound to its device and ends.
func TestTOTPForCoManagedTechs(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, enforceTOTP)
	co := coManagedTech(t, h, "carol", "Client Ltd")
	msp := h.ActiveTech("mike")

	if _, err := msp.Credentials(ctx); err != nil {
		t.Fatalf("MSP tech without TOTP policy: %v", err)
	}
	if _, err := co.Credentials(ctx); !hubclient.IsTOTPRequired(err) {
		t.Fatalf("co-managed tech before enrolment: %v, want totp required", err)
	}
	if _, err := co.OpenSession(ctx, "123456"); !hubclient.IsTOTPRequired(err) {
		t.Fatalf("session before enrolment: %v", err)
	}
	en, err := co.EnrollTOTP(ctx)
	noErr(t, err)
	if len(en.Secret) < 16 || !strings.HasPrefix(en.URI, "otpauth://totp/") || !strings.Contains(en.URI, "secret="+en.Secret) {
		t.Fatalf("enrolment: %+v", en)
	}
	if strings.Contains(string(h.Logs.Bytes()), en.Secret) {
		t.Fatal("TOTP secret in the hub's logs")
	}
	if _, err := co.ConfirmTOTP(ctx, "000000"); !hubclient.IsWrongCode(err) {
		t.Fatalf("confirm with a wrong code: %v", err)
	}
	if _, err := co.Credentials(ctx); !hubclient.IsTOTPRequired(err) {
		t.Fatalf("credentials after a failed confirmation: %v", err)
	}
	good := code(t, en.Secret, h.Clock.Now())
	sec, err := co.ConfirmTOTP(ctx, good)
	if err != nil || !sec.Enrolled || sec.SessionUntil.IsZero() || !sec.Required || sec.Failures != 0 {
		t.Fatalf("confirm: %+v, %v", sec, err)
	}
	if _, err := co.Credentials(ctx); err != nil {
		t.Fatalf("credentials in a session: %v", err)
	}
	if _, err := co.OpenSession(ctx, good); !hubclient.IsWrongCode(err) {
		t.Fatalf("a reused code: %v, want refused", err)
	}
	if _, err := co.EnrollTOTP(ctx); !isCode(err, wire.CodeConflict) {
		t.Fatalf("second enrolment: %v", err)
	}

	// The session ends after SessionHours (12 by default); a fresh code opens another.
	h.Clock.Advance(13 * time.Hour)
	if _, err := co.Credentials(ctx); !hubclient.IsTOTPRequired(err) {
		t.Fatalf("credentials after the session ended: %v", err)
	}
	if _, err := co.OpenSession(ctx, code(t, en.Secret, h.Clock.Now())); err != nil {
		t.Fatalf("session with a fresh code: %v", err)
	}
	if _, err := co.Credentials(ctx); err != nil {
		t.Fatal(err)
	}

	// Pause for the next login: one session without a code, then codes again. Audited.
	h.Clock.Advance(13 * time.Hour)
	_, err = h.Owner.PauseTOTP(ctx, co.ID, wire.PauseNextLogin)
	noErr(t, err)
	if _, err := co.OpenSession(ctx, ""); err != nil {
		t.Fatalf("paused next login: %v", err)
	}
	if _, err := co.Credentials(ctx); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(13 * time.Hour)
	if _, err := co.OpenSession(ctx, ""); !isField(err, wire.CodeInvalid, "code") {
		t.Fatalf("second login without a code: %v", err)
	}
	// Pause for 24 hours: no session needed until it passes.
	_, err = h.Owner.PauseTOTP(ctx, co.ID, wire.Pause24h)
	noErr(t, err)
	if _, err := co.Credentials(ctx); err != nil {
		t.Fatalf("credentials while paused 24h: %v", err)
	}
	h.Clock.Advance(25 * time.Hour)
	if _, err := co.Credentials(ctx); !hubclient.IsTOTPRequired(err) {
		t.Fatalf("credentials after the pause: %v", err)
	}
	if !auditHas(t, h, "tech.totp-pause", "for=next-login") || !auditHas(t, h, "tech.totp-pause", "for=24h") {
		t.Fatal("pauses not audited")
	}
	if _, err := h.Owner.PauseTOTP(ctx, co.ID, "forever"); !isField(err, wire.CodeInvalid, "for") {
		t.Fatalf("pause forever: %v", err)
	}

	// The tenant policy extends TOTP to MSP techs.
	pol := wire.DefaultSecurityPolicy()
	pol.TOTPForMSPTechs = true
	_, err = h.Owner.SetSecurityPolicy(ctx, pol)
	noErr(t, err)
	if _, err := msp.Credentials(ctx); !hubclient.IsTOTPRequired(err) {
		t.Fatalf("MSP tech under the TOTP policy: %v", err)
	}
	pol.LockoutAttempts = 1
	if _, err := h.Owner.SetSecurityPolicy(ctx, pol); !isField(err, wire.CodeInvalid, "lockoutAttempts") {
		t.Fatalf("lockout of 1: %v", err)
	}

	// A session belongs to the device that opened it: a re-keyed device opens its own (see TestRekey).
	list, err := h.Owner.TechSecurities(ctx)
	noErr(t, err)
	if len(list) != 2 || !list[0].Required || !list[0].Enrolled || !list[1].Required || list[1].Enrolled {
		t.Fatalf("admin list: %+v", list)
	}
}

// TestLockout: failed codes and failed passphrase unlocks lock the tech at the policy's number
// of attempts; a locked tech gets neither a session nor credentials, even with a right code; an admin unlocks;
// every step is audited; a success resets the count.
func TestLockout(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, enforceTOTP)
	pol := wire.DefaultSecurityPolicy()
	pol.LockoutAttempts = 3
	_, err := h.Owner.SetSecurityPolicy(ctx, pol)
	noErr(t, err)
	co := coManagedTech(t, h, "carol", "Client Ltd")
	en, err := co.EnrollTOTP(ctx)
	noErr(t, err)
	_, err = co.ConfirmTOTP(ctx, code(t, en.Secret, h.Clock.Now()))
	noErr(t, err)

	h.Clock.Advance(31 * time.Second)
	for i := range 2 {
		if _, err := co.OpenSession(ctx, "000000"); !hubclient.IsWrongCode(err) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	if _, err := co.ReportUnlock(ctx, wire.UnlockOK); err != nil {
		t.Fatal(err)
	}
	sec, err := co.Security(ctx)
	if err != nil || sec.Failures != 0 || sec.Locked {
		t.Fatalf("a passphrase success resets the count: %+v, %v", sec, err)
	}
	for i := range 2 {
		if _, err := co.OpenSession(ctx, "000000"); !hubclient.IsWrongCode(err) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	if _, err := co.ReportUnlock(ctx, wire.UnlockFailed); err != nil { // the third failure in a row
		t.Fatal(err)
	}
	if _, err := co.Credentials(ctx); !hubclient.IsLocked(err) {
		t.Fatalf("credentials when locked: %v", err)
	}
	if _, err := co.OpenSession(ctx, code(t, en.Secret, h.Clock.Now())); !hubclient.IsLocked(err) {
		t.Fatalf("a right code when locked: %v", err)
	}
	if !auditHas(t, h, "tech.lock", "3 failed attempts") {
		t.Fatal("lockout not audited")
	}
	list, err := h.Owner.TechSecurities(ctx)
	if err != nil || len(list) != 1 || !list[0].Locked || list[0].LockReason == "" {
		t.Fatalf("admin sees the lock: %+v, %v", list, err)
	}

	// An MSP tech is locked by passphrase failures alone (no TOTP needed).
	msp := h.ActiveTech("mike")
	for range 3 {
		_, err := msp.ReportUnlock(ctx, wire.UnlockFailed)
		noErr(t, err)
	}
	if _, err := msp.Credentials(ctx); !hubclient.IsLocked(err) {
		t.Fatalf("MSP tech after 3 passphrase failures: %v", err)
	}
	if _, err := msp.ReportUnlock(ctx, wire.UnlockOK); err != nil {
		t.Fatal(err)
	}
	if _, err := msp.Credentials(ctx); !hubclient.IsLocked(err) {
		t.Fatalf("a passphrase success must not unlock: %v", err)
	}

	// The admin unlocks; a fresh code opens a session again.
	if _, err := h.Owner.UnlockTech(ctx, co.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.UnlockTech(ctx, co.ID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("unlock twice: %v", err)
	}
	h.Clock.Advance(31 * time.Second)
	if _, err := co.OpenSession(ctx, code(t, en.Secret, h.Clock.Now())); err != nil {
		t.Fatalf("session after unlock: %v", err)
	}
	if _, err := co.Credentials(ctx); err != nil {
		t.Fatal(err)
	}
	if !auditHas(t, h, "tech.unlock", "carol") {
		t.Fatal("unlock not audited")
	}
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("audit chain: %+v, %v", v, err)
	}
	var we *hubclient.Error
	if _, err := h.Owner.UnlockTech(ctx, 9999); !errors.As(err, &we) || we.Wire.Code != wire.CodeNotFound {
		t.Fatalf("unlock unknown tech: %v", err)
	}
}

// TestCoManagedManagerUnlocks: the Co-managed Manager of the tech's organization unlocks it; one
// of another organization cannot even see it; an Auditor cannot unlock.
func TestCoManagedManagerUnlocks(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, enforceTOTP)
	pol := wire.DefaultSecurityPolicy()
	pol.LockoutAttempts = 3
	_, err := h.Owner.SetSecurityPolicy(ctx, pol)
	noErr(t, err)
	carol := coManagedTech(t, h, "carol", "Client Ltd")
	coManagedTech(t, h, "dave", "Other Co")
	for range 3 {
		_, err := carol.ReportUnlock(ctx, wire.UnlockFailed)
		noErr(t, err)
	}
	mine := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Client Ltd", true))
	theirs := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Other Co", true))
	auditor := h.Client(invitedAdmin(t, h, wire.RoleAuditor, "", true))

	if list, err := theirs.TechSecurities(ctx); err != nil || len(list) != 1 || list[0].Username != "dave" {
		t.Fatalf("other organization's manager sees: %+v, %v", list, err)
	}
	if _, err := theirs.UnlockTech(ctx, carol.ID); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("other organization's manager unlocks: %v", err)
	}
	if _, err := auditor.UnlockTech(ctx, carol.ID); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("auditor unlocks: %v", err)
	}
	if _, err := carol.Credentials(ctx); !hubclient.IsLocked(err) {
		t.Fatalf("still locked: %v", err)
	}
	if sec, err := mine.UnlockTech(ctx, carol.ID); err != nil || sec.Locked {
		t.Fatalf("own organization's manager unlocks: %+v, %v", sec, err)
	}
	if !auditHas(t, h, "tech.unlock", "carol") {
		t.Fatal("unlock not audited")
	}
}
