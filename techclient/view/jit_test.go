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

// TestJITPanelAgainstHub: a just-in-time account's detail pane asks for a duration (up to the maximum) and a
// reason, shows Pending approval, then Active with a live countdown and the password revealable, and Done closes
// it; outside a window Reveal and Copy are disabled.
func TestJITPanelAgainstHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hub := hubtest.New(t)
	trips, err := hub.Owner.Triplets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Owner.UpdateTriplet(ctx, trips[0].ID, wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: 4 * 3600, ApprovalRequired: true}); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, vm.Options{Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Tick: 50 * time.Millisecond})
	registerOnHub(t, ctx, h, hub)
	agent := hub.NewAgent("contoso.local", wire.DriverAD)
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "recovery-only!" })
	eventually(t, 5*time.Second, "the JIT row", func() bool { return h.u.list != nil && len(h.u.list.rows) == 1 && h.u.list.rows[0].JIT })
	fyne.DoAndWait(func() { h.u.list.list.Select(0) })
	eventually(t, time.Second, "detail", func() bool { return h.u.list.detail.row != nil })
	d := h.u.list.detail
	p := d.jit
	eventually(t, time.Second, "the JIT panel, Reveal and Copy disabled", func() bool {
		return p.box.Visible() && p.form.Visible() && !p.done.Visible() && d.reveal.Disabled() && d.copyPass.Disabled() &&
			strings.HasPrefix(p.status.Text, "Just-in-time access: this account is disabled until you enable it, for up to 4 h.")
	})
	fyne.DoAndWait(func() {
		if got := strings.Join(p.duration.Options, ","); got != "15 min,30 min,1 h,2 h,4 h" || p.duration.Selected != "1 h" {
			t.Errorf("durations %q, selected %q", got, p.duration.Selected)
		}
	})
	eventually(t, time.Second, "the row's badge", func() bool { return strings.Contains(test.RenderToMarkup(h.w.Canvas()), "JIT · disabled") })

	// No reason: nothing is sent.
	fyne.DoAndWait(func() { test.Tap(p.enable) })
	if gs, _ := hub.Owner.ListJITRequests(ctx, ""); len(gs) != 0 {
		t.Fatalf("a request without a reason reached the hub: %+v", gs)
	}
	if top := topOverlayOf(h.w); top == nil || !strings.Contains(test.RenderToMarkup(h.w.Canvas()), "Give a reason") {
		t.Fatal("no word on the missing reason")
	} else {
		fyne.DoAndWait(func() { h.w.Canvas().Overlays().Remove(top) })
	}
	// Ctrl+E puts the cursor in the reason box; Enter there sends the request.
	fyne.DoAndWait(func() {
		h.w.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyE, Modifier: fyne.KeyModifierShortcutDefault})
	})
	fyne.DoAndWait(func() {
		if h.w.Canvas().Focused() != p.reason {
			t.Error("Ctrl+E did not focus the reason")
		}
		p.duration.SetSelected("2 h")
		test.Type(p.reason, "ticket 4711: printer GPO")
		p.reason.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	})
	eventually(t, 5*time.Second, "pending approval", func() bool {
		return strings.HasPrefix(p.status.Text, "Pending approval by your MSP since ") && !p.form.Visible() && p.done.Visible() &&
			p.done.Text == "Cancel request" && !p.enable.Disabled() // the request's goroutine is over
	})
	pending, err := hub.Owner.ListJITRequests(ctx, wire.JITPending)
	if err != nil || len(pending) != 1 || pending[0].DurationSeconds != 7200 || pending[0].Reason != "ticket 4711: printer GPO" {
		t.Fatalf("pending at the hub: %+v %v", pending, err)
	}
	if _, err := hub.Owner.ApproveJIT(ctx, pending[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "JIT-Pa55word!" })
	eventually(t, 5*time.Second, "active with a countdown", func() bool {
		return strings.HasPrefix(p.status.Text, "Active until ") && strings.HasSuffix(p.status.Text, " left.") && p.done.Text == "Done" &&
			!d.reveal.Disabled() && !d.copyPass.Disabled()
	})
	first := p.status.Text
	eventually(t, 3*time.Second, "the countdown ticking", func() bool { return p.status.Text != first })
	eventually(t, time.Second, "the row's countdown", func() bool {
		m := test.RenderToMarkup(h.w.Canvas())
		return strings.Contains(m, "JIT · 01:59:") || strings.Contains(m, "JIT · 02:00:00 left")
	})
	fyne.DoAndWait(func() { test.Tap(d.reveal) })
	if d.password.Text != "JIT-Pa55word!" {
		t.Fatalf("revealed %q", d.password.Text)
	}
	fyne.DoAndWait(func() { test.Tap(p.done) })
	eventually(t, 5*time.Second, "ended", func() bool {
		return strings.HasPrefix(p.status.Text, "Access ended at ") && p.form.Visible() && d.reveal.Disabled() && d.password.Text == hidden &&
			!p.done.Disabled() // Done's goroutine is over: nothing of this test runs into the next one
	})
}

func topOverlayOf(w fyne.Window) (top fyne.CanvasObject) {
	fyne.DoAndWait(func() { top = w.Canvas().Overlays().Top() })
	return top
}
