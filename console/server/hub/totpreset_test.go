package hub_test

import (
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// TestTOTPReset: a tech who lost their phone is paused for 24 hours, then the organization's Co-managed Manager
// resets the authenticator. The old authenticator no longer opens a session, the session and the pause end at once,
// the tech must enrol a new one before anything is handed out, and the audit log names who reset it. A manager of
// another organization cannot see the tech, an Auditor may not reset, and a tech with no authenticator has
// nothing to reset.
func TestTOTPReset(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, enforceTOTP)
	carol := coManagedTech(t, h, "carol", "Client Ltd")
	coManagedTech(t, h, "dave", "Other Co")
	msp := h.ActiveTech("mike")
	old, err := carol.EnrollTOTP(ctx)
	noErr(t, err)
	_, err = carol.ConfirmTOTP(ctx, code(t, old.Secret, h.Clock.Now()))
	noErr(t, err)
	_, err = h.Owner.PauseTOTP(ctx, carol.ID, wire.Pause24h) // the lost phone, before the reset existed
	noErr(t, err)

	mine := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Client Ltd", true))
	theirs := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Other Co", true))
	auditor := h.Client(invitedAdmin(t, h, wire.RoleAuditor, "", true))
	if _, err := theirs.ResetTOTP(ctx, carol.ID); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("another organization's manager resets: %v, want not found", err)
	}
	if _, err := auditor.ResetTOTP(ctx, carol.ID); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("auditor resets: %v, want forbidden", err)
	}
	if _, err := h.Owner.ResetTOTP(ctx, msp.ID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("reset of a tech who never enrolled: %v, want conflict", err)
	}
	if _, err := carol.Credentials(ctx); err != nil {
		t.Fatalf("credentials while paused, before the reset: %v", err)
	}

	sec, err := mine.ResetTOTP(ctx, carol.ID)
	if err != nil || sec.Enrolled || !sec.EnrolledAt.IsZero() || !sec.PausedUntil.IsZero() || sec.PauseNextLogin || !sec.Required {
		t.Fatalf("reset by the organization's manager: %+v, %v", sec, err)
	}
	if _, err := mine.ResetTOTP(ctx, carol.ID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("second reset: %v, want conflict", err)
	}

	// The pause and the session are gone: nothing is handed out until a new authenticator is enrolled.
	if _, err := carol.Credentials(ctx); !hubclient.IsTOTPRequired(err) || !strings.Contains(err.Error(), "enrol") {
		t.Fatalf("credentials after the reset: %v, want enrol first", err)
	}
	own, err := carol.Security(ctx)
	if err != nil || own.Enrolled || !own.SessionUntil.IsZero() {
		t.Fatalf("the tech's own state after the reset: %+v, %v", own, err)
	}
	h.Clock.Advance(31 * time.Second)
	if _, err := carol.OpenSession(ctx, code(t, old.Secret, h.Clock.Now())); !hubclient.IsTOTPRequired(err) {
		t.Fatalf("the old authenticator after the reset: %v, want enrol first", err)
	}
	fresh, err := carol.EnrollTOTP(ctx)
	noErr(t, err)
	if fresh.Secret == old.Secret {
		t.Fatal("the new enrolment reuses the old secret")
	}
	if _, err := carol.ConfirmTOTP(ctx, code(t, old.Secret, h.Clock.Now())); !hubclient.IsWrongCode(err) {
		t.Fatalf("confirming with the old authenticator: %v, want wrong code", err)
	}
	if _, err := carol.ConfirmTOTP(ctx, code(t, fresh.Secret, h.Clock.Now())); err != nil {
		t.Fatalf("confirming the new authenticator: %v", err)
	}
	if _, err := carol.Credentials(ctx); err != nil {
		t.Fatalf("credentials with the new authenticator: %v", err)
	}

	// Audited with who did it: the manager is the event's actor and is named in it.
	admins, err := h.Owner.Admins(ctx)
	noErr(t, err)
	var by *wire.Admin
	for i := range admins {
		if admins[i].Role == wire.RoleCoManager && admins[i].Organization == "Client Ltd" {
			by = &admins[i]
		}
	}
	if by == nil {
		t.Fatalf("the manager is not among the admins: %+v", admins)
	}
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "tech.totp-reset"})
	noErr(t, err)
	if len(ev) != 1 || ev[0].ActorKind != "admin" || ev[0].ActorID != by.ID ||
		!strings.Contains(ev[0].Detail, `username="carol"`) || !strings.Contains(ev[0].Detail, "role=Co-managed Manager") ||
		!strings.Contains(ev[0].Detail, "by="+`"`+by.Name+`"`) {
		t.Fatalf("reset audit: %+v (manager %+v)", ev, by)
	}
	if strings.Contains(string(h.Logs.Bytes()), fresh.Secret) || strings.Contains(ev[0].Detail, old.Secret) {
		t.Fatal("a TOTP secret in the logs or the audit")
	}
}
