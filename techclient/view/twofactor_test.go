package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/pquerna/otp/totp"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// TestEnrolScreenAgainstHub drives the enrol screen: the QR code and the key after approval, a wrong code's
// error, the right code opening the list, and nothing of the key left on screen afterwards.
func TestEnrolScreenAgainstHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hb := vmtest.TwoFactorHub(t)
	h := newHarness(t, vm.Options{Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Poll: 100 * time.Millisecond})
	h.a.Start()
	eventually(t, 5*time.Second, "first run", func() bool { return h.u.form != nil })
	f := h.u.form
	fill(f, hb.Invite.String(), "alice", "Contoso Ltd")
	fyne.DoAndWait(func() { test.Tap(f.register) })
	eventually(t, 5*time.Second, "pending screen", func() bool { return h.u.current == vm.StatePending })
	techs, err := hb.Owner.Techs(ctx, wire.TechPending)
	if err != nil || len(techs) != 1 {
		t.Fatalf("pending: %+v %v", techs, err)
	}
	if _, err := hb.ApproveCoManaged(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	vmtest.Rotate(t, ctx, hb.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return "Enrol-Pa55word!" })
	eventually(t, 5*time.Second, "enrol screen", func() bool { return h.u.current == vm.StateEnrol && h.u.enrolCode != nil })
	secret, _ := h.a.TOTPSecret.Get()
	eventually(t, time.Second, "the key in groups and the heading on the enrol screen", func() bool {
		m := markupOf(h)
		return secret != "" && strings.Contains(m, groups(secret, 4)) && strings.Contains(m, "Set up two-factor authentication")
	})
	qr := h.u.enrolQR
	eventually(t, time.Second, "the QR code", func() bool {
		var ok bool
		fyne.DoAndWait(func() { ok = qr.Image != nil && qr.Image.Bounds().Dx() >= 200 })
		return ok
	})
	eventually(t, time.Second, "focus on the code entry", func() bool { return h.w.Canvas().Focused() == h.u.enrolCode.entry })

	// A wrong code: the error shows under the field.
	fyne.DoAndWait(func() { h.u.enrolCode.entry.SetText("12345") })
	fyne.DoAndWait(func() { test.Tap(h.u.enrolCode.submit) })
	eventually(t, 5*time.Second, "error for a short code", func() bool {
		msg, _ := h.a.Error.Get()
		return strings.Contains(msg, "6 digits") && strings.Contains(markupOf(h), "6 digits")
	})

	code, err := totp.GenerateCode(secret, hb.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "button enabled again", func() bool { return !h.u.enrolCode.submit.Disabled() })
	fyne.DoAndWait(func() { h.u.enrolCode.entry.SetText(code) })
	fyne.DoAndWait(func() { test.Tap(h.u.enrolCode.submit) })
	eventually(t, 5*time.Second, "list after enrolment", func() bool {
		return h.u.current == vm.StateActive && h.u.list != nil && len(h.u.list.rows) == 1
	})
	var drawn bool
	fyne.DoAndWait(func() { drawn = qr.Image != nil })
	if drawn {
		t.Fatal("the QR code is still drawn after enrolment")
	}
	if strings.Contains(markupOf(h), groups(secret, 4)) {
		t.Fatal("the key is still on screen")
	}
}

// TestReplaceFromFirstRun: a taken username offers the replacement, which leads to the screen with both
// fingerprints.
func TestReplaceFromFirstRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hb := vmtest.TwoFactorHub(t)
	prev := hb.ActiveTech("bob")
	h := newHarness(t, vm.Options{Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Poll: 100 * time.Millisecond})
	h.a.Start()
	eventually(t, 5*time.Second, "first run", func() bool { return h.u.form != nil })
	f := h.u.form
	fill(f, hb.Invite.String(), "bob", "")
	if f.replace.Visible() {
		t.Fatal("the replace button shows before the username was found taken")
	}
	fyne.DoAndWait(func() { test.Tap(f.register) })
	eventually(t, 5*time.Second, "replace offered", func() bool {
		return f.replace.Visible()
	})
	eventually(t, time.Second, "the form explains the replacement", func() bool {
		return strings.Contains(markupOf(h), "this replaces your previous device; your MSP compares both fingerprints")
	})
	fyne.DoAndWait(func() { test.Tap(f.replace) })
	eventually(t, 5*time.Second, "replacing screen", func() bool { return h.u.current == vm.StateReplacing })
	st, err := prev.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldGroups := strings.Fields(st.Fingerprint)
	eventually(t, time.Second, "notice and previous fingerprint on the replacing screen", func() bool {
		markup := markupOf(h)
		return strings.Contains(markup, "This replaces your previous device; your MSP compares both fingerprints.") &&
			strings.Contains(markup, strings.Join(oldGroups[12:16], "  "))
	})
}

// markupOf renders the window on the UI goroutine, which may be drawing it at the same time.
func markupOf(h *harness) string {
	var m string
	fyne.DoAndWait(func() { m = test.RenderToMarkup(h.w.Canvas()) })
	return m
}

// fill completes the first-run form on the UI goroutine (typing from the test's goroutine races with the focus
// the screen sets).
func fill(f *setupForm, invite, username, org string) {
	fyne.DoAndWait(func() {
		f.invite.SetText(invite)
		f.username.SetText(username)
		f.email.SetText(username + "@example.com")
		f.org.SetText(org)
	})
}

// enrolOnScreen types the authenticator's first code into the enrol screen, computed from the key it shows.
func enrolOnScreen(t *testing.T, h *harness, hb *hubtest.Harness) {
	t.Helper()
	eventually(t, 5*time.Second, "enrol screen", func() bool { return h.u.current == vm.StateEnrol && h.u.enrolCode != nil })
	var secret string
	eventually(t, 5*time.Second, "the key", func() bool { secret, _ = h.a.TOTPSecret.Get(); return secret != "" })
	code, err := totp.GenerateCode(secret, hb.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	fyne.DoAndWait(func() { h.u.enrolCode.entry.SetText(code) })
	fyne.DoAndWait(func() { test.Tap(h.u.enrolCode.submit) })
	eventually(t, 5*time.Second, "active after enrolment", func() bool { return h.a.Current() == vm.StateActive })
}
