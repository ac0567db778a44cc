package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// activeOnHub registers the harness's device with hub as an MSP tech, approves it and rotates one account on
// contoso.local through passwords, one version each; it returns with that account selected.
func activeOnHub(t *testing.T, ctx context.Context, h *harness, hub *hubtest.Harness, passwords ...string) {
	t.Helper()
	registerOnHub(t, ctx, h, hub)
	agent := hub.NewAgent("contoso.local", wire.DriverAD)
	for i, pw := range passwords {
		vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return pw })
		eventually(t, 5*time.Second, "the new version listed", func() bool {
			return h.u.list != nil && len(h.u.list.rows) == 1 && h.u.list.rows[0].Version == int64(i+1)
		})
	}
	fyne.DoAndWait(func() { h.u.list.list.Select(0) })
	eventually(t, time.Second, "detail", func() bool { return h.u.list.detail.row != nil })
}

// registerOnHub registers the harness's device with hub as an MSP tech and approves it.
func registerOnHub(t *testing.T, ctx context.Context, h *harness, hub *hubtest.Harness) {
	t.Helper()
	h.a.Start()
	eventually(t, 5*time.Second, "first run", func() bool { return h.a.Current() == vm.StateUnregistered })
	if err := h.a.Register(ctx, vm.Registration{Invite: hub.Invite.String(), Username: "alice", DisplayName: "Alice",
		Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	techs, err := hub.Owner.Techs(ctx, wire.TechPending)
	if err != nil || len(techs) != 1 {
		t.Fatalf("pending: %v %v", techs, err)
	}
	if _, err := hub.ApproveCoManaged(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "approved", func() bool { c := h.a.Current(); return c == vm.StateActive || c == vm.StateEnrol })
	if h.a.Current() == vm.StateEnrol {
		enrolOnScreen(t, h, hub)
	}
}

// TestAfterUseShownLive: a reveal makes the hub schedule a rotation after use; the detail pane and the row say
// when, without any action of the technician.
func TestAfterUseShownLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hub := hubtest.New(t)
	// The device's clock stands still, so the pane's text and the one this test expects are worked out from the
	// same now, even when the test runs across midnight.
	now := time.Now()
	h := newHarness(t, vm.Options{Now: func() time.Time { return now }, Wait: 2 * time.Second,
		Retry: 50 * time.Millisecond, Tick: 50 * time.Millisecond})
	activeOnHub(t, ctx, h, hub, "View-Pa55word!")
	d := h.u.list.detail
	var visible bool
	fyne.DoAndWait(func() { visible = d.afterUse.Visible() })
	if visible {
		t.Fatal("rotate-after-use shown before any use")
	}
	fyne.DoAndWait(func() { test.Tap(d.reveal) })
	eventually(t, 5*time.Second, "rotates at … after use in the detail pane", func() bool {
		return d.afterUse.Visible() && strings.HasPrefix(d.afterUse.Text, "rotates at ") && strings.Contains(d.afterUse.Text, " after use (0")
	})
	eventually(t, 5*time.Second, "… and in the row", func() bool {
		return strings.Contains(test.RenderToMarkup(h.w.Canvas()), "after use</text>")
	})
	at := h.a.Row(d.row.AccountID).RotatesAfterUse
	// "rotates at 01:41 after use (08:00:00)", with the day when that is not today
	want := vm.AfterUse(now, at) + " (" + vm.Countdown(now, at) + ")"
	if d.afterUse.Text != want {
		t.Fatalf("detail says %q, want %q", d.afterUse.Text, want)
	}
}

// TestPreviousPasswords: "Previous passwords…" lists the versions with dates, shows each only on request,
// hides it again, and forgets them when the dialog closes or the app locks.
func TestPreviousPasswords(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hub := hubtest.New(t)
	set := vm.DefaultSettings()
	set.RevealFor = 400 * time.Millisecond
	h := newHarness(t, vm.Options{Settings: func() vm.Settings { return set }, Wait: 2 * time.Second, Retry: 50 * time.Millisecond})
	activeOnHub(t, ctx, h, hub, "first-Pa55word!", "second-Pa55word!", "third-Pa55word!")
	d := h.u.list.detail
	fyne.DoAndWait(func() { test.Tap(d.history) })
	eventually(t, 5*time.Second, "the history dialog", func() bool { return h.u.history != nil })
	hv := h.u.history
	var markup string
	fyne.DoAndWait(func() { markup = test.RenderToMarkup(h.w.Canvas()) })
	for _, s := range []string{"Previous passwords of alice-tm", "Version 3 · current", "Version 2", "Version 1", "The last 3 passwords of alice-tm on contoso.local"} {
		if !strings.Contains(markup, s) {
			t.Fatalf("the dialog does not show %q", s)
		}
	}
	for _, pw := range []string{"first-Pa55word!", "second-Pa55word!", "third-Pa55word!"} {
		if strings.Contains(markup, pw) {
			t.Fatalf("%s shown before it was asked for", pw)
		}
	}
	if !hasAudit(ctx, hub, "credential.history") {
		t.Fatal("the history read is not audited")
	}
	// Show the oldest: only it opens.
	oldest := hv.rows[2]
	fyne.DoAndWait(func() { test.Tap(oldest.show) })
	fyne.DoAndWait(func() { markup = test.RenderToMarkup(h.w.Canvas()) })
	if oldest.password.Text != "first-Pa55word!" || strings.Contains(markup, "second-Pa55word!") || strings.Contains(markup, "third-Pa55word!") {
		t.Fatalf("after Show on version 1: %q", oldest.password.Text)
	}
	eventually(t, 3*time.Second, "hidden again after the reveal delay", func() bool { return oldest.password.Text == hidden })
	// Hide by hand.
	fyne.DoAndWait(func() { test.Tap(hv.rows[1].show) })
	fyne.DoAndWait(func() {
		if hv.rows[1].password.Text != "second-Pa55word!" {
			t.Errorf("version 2 shows %q", hv.rows[1].password.Text)
		}
		test.Tap(hv.rows[1].show)
		if hv.rows[1].password.Text != hidden {
			t.Errorf("version 2 not hidden by Hide: %q", hv.rows[1].password.Text)
		}
	})
	// Ctrl+F goes back to the search and closes it; Ctrl+H opens it again; locking closes it and forgets the
	// envelopes.
	fyne.DoAndWait(func() { h.w.Canvas().(fyne.Shortcutable).TypedShortcut(&shortcutF) })
	eventually(t, time.Second, "closed by Ctrl+F", func() bool { return h.u.history == nil && h.w.Canvas().Focused() == h.u.list.search })
	fyne.DoAndWait(func() {
		h.w.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyH, Modifier: fyne.KeyModifierShortcutDefault})
	})
	eventually(t, 5*time.Second, "the dialog again after Ctrl+H", func() bool { return h.u.history != nil })
	hv = h.u.history
	fyne.DoAndWait(func() { test.Tap(hv.rows[0].show) })
	h.a.Lock()
	eventually(t, time.Second, "dialog closed by the lock", func() bool { return h.u.history == nil && hv.rows[0].password.Text == hidden })
	if _, err := h.a.OpenVersion(d.row.AccountID, 1); err == nil {
		t.Fatal("a version opens after the lock")
	}
}

func hasAudit(ctx context.Context, h *hubtest.Harness, action string) bool {
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: action})
	return err == nil && len(ev) > 0
}
