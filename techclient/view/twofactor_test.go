package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"github.com/pquerna/otp/totp"

	"github.com/watchword/watchword/console/hub"
	"github.com/watchword/watchword/console/hub/hubtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// enforcingHub requires TOTP sessions of co-managed techs.
func enforcingHub(t *testing.T) *hubtest.Harness {
	return hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.EnforceTOTP = true }))
}

// TestEnrolScreenAgainstHub drives the enrol screen: the QR code and the key after approval, a wrong code's
// error, the right code opening the list, and nothing of the key left on screen afterwards.
func TestEnrolScreenAgainstHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hb := enforcingHub(t)
	h := newHarness(t, vm.Options{Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Poll: 100 * time.Millisecond})
	h.a.Start()
	eventually(t, 5*time.Second, "first run", func() bool { return h.u.form != nil })
	f := h.u.form
	test.Type(f.invite, hb.Invite.String())
	test.Type(f.username, "alice")
	test.Type(f.email, "alice@example.com")
	test.Type(f.org, "Contoso Ltd")
	test.Tap(f.register)
	eventually(t, 5*time.Second, "pending screen", func() bool { return h.u.current == vm.StatePending })
	techs, err := hb.Owner.Techs(ctx, wire.TechPending)
	if err != nil || len(techs) != 1 {
		t.Fatalf("pending: %+v %v", techs, err)
	}
	if _, err := hb.Owner.ApproveTech(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	vmtest.Rotate(t, ctx, hb.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return "Enrol-Pa55word!" })
	eventually(t, 5*time.Second, "enrol screen", func() bool { return h.u.current == vm.StateEnrol && h.u.enrolCode != nil })
	secret, _ := h.a.TOTPSecret.Get()
	markup := test.RenderToMarkup(h.w.Canvas())
	if secret == "" || !strings.Contains(markup, groups(secret, 4)) {
		t.Fatal("the enrol screen does not show the key in groups")
	}
	if !strings.Contains(markup, "Set up two-factor authentication") {
		t.Fatal("no heading on the enrol screen")
	}
	qr := findImage(h.w.Canvas().Content())
	if qr == nil || qr.Image == nil || qr.Image.Bounds().Dx() < 200 {
		t.Fatal("the enrol screen shows no QR code")
	}
	eventually(t, time.Second, "focus on the code entry", func() bool { return h.w.Canvas().Focused() == h.u.enrolCode.entry })

	// A wrong code: the error shows under the field.
	test.Type(h.u.enrolCode.entry, "12345")
	test.Tap(h.u.enrolCode.submit)
	eventually(t, 5*time.Second, "error for a short code", func() bool {
		msg, _ := h.a.Error.Get()
		return strings.Contains(msg, "6 digits") && strings.Contains(test.RenderToMarkup(h.w.Canvas()), "6 digits")
	})

	code, err := totp.GenerateCode(secret, hb.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "button enabled again", func() bool { return !h.u.enrolCode.submit.Disabled() })
	test.Type(h.u.enrolCode.entry, code)
	test.Tap(h.u.enrolCode.submit)
	eventually(t, 5*time.Second, "list after enrolment", func() bool {
		return h.u.current == vm.StateActive && h.u.list != nil && len(h.u.list.rows) == 1
	})
	if qr.Image != nil {
		t.Fatal("the QR code is still drawn after enrolment")
	}
	if strings.Contains(test.RenderToMarkup(h.w.Canvas()), groups(secret, 4)) {
		t.Fatal("the key is still on screen")
	}
}

// TestReplaceFromFirstRun: a taken username offers the replacement, which leads to the screen with both
// fingerprints.
func TestReplaceFromFirstRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hb := enforcingHub(t)
	prev := hb.ActiveTech("bob")
	h := newHarness(t, vm.Options{Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Poll: 100 * time.Millisecond})
	h.a.Start()
	eventually(t, 5*time.Second, "first run", func() bool { return h.u.form != nil })
	f := h.u.form
	test.Type(f.invite, hb.Invite.String())
	test.Type(f.username, "bob")
	test.Type(f.email, "bob@example.com")
	if f.replace.Visible() {
		t.Fatal("the replace button shows before the username was found taken")
	}
	test.Tap(f.register)
	eventually(t, 5*time.Second, "replace offered", func() bool { return f.replace.Visible() })
	if !strings.Contains(test.RenderToMarkup(h.w.Canvas()), "this replaces your previous device; your MSP compares both fingerprints") {
		t.Fatal("the form does not explain the replacement")
	}
	test.Tap(f.replace)
	eventually(t, 5*time.Second, "replacing screen", func() bool { return h.u.current == vm.StateReplacing })
	st, err := prev.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldGroups := strings.Fields(st.Fingerprint)
	eventually(t, time.Second, "notice and previous fingerprint on the replacing screen", func() bool {
		markup := test.RenderToMarkup(h.w.Canvas())
		return strings.Contains(markup, "This replaces your previous device; your MSP compares both fingerprints.") &&
			strings.Contains(markup, strings.Join(oldGroups[12:16], "  "))
	})
}

// findImage returns the first image under o drawn from an image rather than a resource (the QR code).
func findImage(o fyne.CanvasObject) *canvas.Image {
	for _, c := range test.LaidOutObjects(o) {
		if img, ok := c.(*canvas.Image); ok && img.Resource == nil && img.Image != nil {
			return img
		}
	}
	return nil
}
