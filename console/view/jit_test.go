package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// tables lists the visible tables under root, in layout order.
func tables(root fyne.CanvasObject) []*widget.Table {
	var out []*widget.Table
	find(root, func(o fyne.CanvasObject) {
		if t, ok := o.(*widget.Table); ok {
			out = append(out, t)
		}
	})
	return out
}

// TestJITScreenApprovesAndRefuses: the navigation counts the pending requests; the screen lists them with tech,
// account, host, duration and reason, and the open window with its time left; Approve and Refuse ask first.
func TestJITScreenApprovesAndRefuses(t *testing.T) {
	a, w, h := connectedHub(t)
	root := w.Canvas().Content()
	if !shows(root, "JIT requests (3)") {
		t.Fatal("no count of pending JIT requests in the navigation")
	}
	a.Select("jit")
	for _, s := range []string{"Waiting for approval (3)", "Open windows (1)", "amoreau", "contoso.local", "2 h",
		"ticket 4711: printer GPO for the new Contoso office", "dvolkov", "active"} {
		if !shows(w.Canvas().Content(), s) {
			t.Fatalf("the JIT screen does not show %q", s)
		}
	}
	if !shows(w.Canvas().Content(), "amoreau: amoreau-tm on contoso.local for 2 h — ticket 4711: printer GPO for the new Contoso office") {
		t.Fatal("the oldest request is not selected and shown in full")
	}
	if !match(w.Canvas().Content(), func(s string) bool { return strings.HasPrefix(s, "01:29:") || s == "01:30:00" }) {
		t.Fatal("no time left on the open window")
	}
	ts := tables(w.Canvas().Content())
	if len(ts) != 2 {
		t.Fatalf("%d tables", len(ts))
	}
	fyne.DoAndWait(func() { ts[0].Select(widget.TableCellID{Row: 0, Col: 0}) })
	tapButton(t, w, "Approve…")
	if !containsText(topOverlay(w), "Approve amoreau's request?") {
		t.Fatal("no confirmation before approving")
	}
	tapButton(t, w, "Yes")
	eventually(t, "the approval", func() bool { return len(a.PendingJIT()) == 2 && len(a.OpenJIT(a.Snapshot().At)) == 2 })
	eventually(t, "the screen redrawn", func() bool { return shows(w.Canvas().Content(), "Waiting for approval (2)") })

	fyne.DoAndWait(func() { ts[0].Select(widget.TableCellID{Row: 0, Col: 0}) })
	tapButton(t, w, "Refuse…")
	note := overlayEntry(w)
	if note == nil || !containsText(topOverlay(w), "Refuse bokafor's request for bokafor-tm on fabrikam.local?") {
		t.Fatal("no refusal dialog with a note")
	}
	fyne.DoAndWait(func() { test.Type(note, "not during business hours") })
	tapButton(t, w, "Refuse")
	eventually(t, "the refusal", func() bool { return len(a.PendingJIT()) == 1 })
	refused, err := h.Owner.ListJITRequests(context.Background(), wire.JITRefused)
	if err != nil || len(refused) != 1 || refused[0].Username != "bokafor" || refused[0].Note != "not during business hours" {
		t.Fatalf("refused %+v %v", refused, err)
	}

	// End now: an approver closes an open window early, confirmed, with a note.
	fyne.DoAndWait(func() { ts[1].Select(widget.TableCellID{Row: 0, Col: 0}) })
	tapButton(t, w, "End now…")
	endNote := overlayEntry(w)
	if endNote == nil || !containsText(topOverlay(w), "before it expires?") || !containsText(topOverlay(w), "disables the account") {
		t.Fatal("no confirmation with a note before ending a window")
	}
	fyne.DoAndWait(func() { test.Type(endNote, "incident closed") })
	tapButton(t, w, "End now")
	eventually(t, "the window ended", func() bool { return len(a.OpenJIT(a.Snapshot().At)) == 1 })
	ended, err := h.Owner.ListJITRequests(context.Background(), wire.JITEnded)
	if err != nil || len(ended) != 1 || ended[0].Note != "incident closed" {
		t.Fatalf("ended %+v %v", ended, err)
	}
	eventually(t, "the screen redrawn", func() bool { return shows(w.Canvas().Content(), "Open windows (1)") })
}

// TestJITNotification: a new pending request found by a refresh sends one desktop notification.
func TestJITNotification(t *testing.T) {
	notifications := captureNotifications(t)
	a, win, h := connectedHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	count := func() int { return len(notifications()) }
	if count() != 0 {
		t.Fatalf("notifications for the requests already waiting: %v", notifications())
	}
	if _, err := h.Owner.SetSecurityPolicy(ctx, wire.DefaultSecurityPolicy()); err != nil { // MSP techs without 2FA
		t.Fatal(err)
	}
	zed := h.ActiveTech("zed")
	agent := h.NewAgent("zed.local", wire.DriverAD)
	if _, err := agent.Plan(ctx, 0); err != nil {
		t.Fatal(err)
	}
	accs, err := h.Owner.Accounts(ctx, 0, agent.ID)
	if err != nil || len(accs) == 0 {
		t.Fatalf("accounts %v %v", accs, err)
	}
	var acc int64
	for _, ac := range accs {
		if ac.TechID == zed.ID {
			acc = ac.ID
		}
	}
	if _, err := zed.RequestJIT(ctx, wire.JITRequest{AccountID: acc, DurationSeconds: 900, Reason: "ticket 4800"}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // twice: one notification per request, not per refresh
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the notification", func() bool { return count() > 0 })
	sent := notifications()
	if len(sent) != 1 || sent[0] != "Just-in-time access requested: zed: zed-tm on zed.local for 15 min — ticket 4800" {
		t.Fatalf("notifications %q", sent)
	}
	if !shows(win.Canvas().Content(), "JIT requests (4)") {
		t.Fatal("the navigation's count did not follow")
	}
}

// TestTripletsScreenMode: the triplets table says each triplet's mode; the selected one's mode changes after a
// confirmation that says what just-in-time does.
func TestTripletsScreenMode(t *testing.T) {
	a, w, _ := connected(t)
	a.Select("triplets")
	if !shows(w.Canvas().Content(), "just-in-time ≤ 4 h, approval") || !shows(w.Canvas().Content(), "standing") {
		t.Fatal("the triplets table does not show the modes")
	}
	var all int
	for i, tr := range a.Snapshot().Triplets {
		if tr.Builtin {
			all = i
		}
	}
	fyne.DoAndWait(func() { tables(w.Canvas().Content())[0].Select(widget.TableCellID{Row: all, Col: 0}) })
	var radio *widget.RadioGroup
	var max *widget.Entry
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if r, ok := o.(*widget.RadioGroup); ok {
			radio = r
		}
		if e, ok := o.(*widget.Entry); ok && strings.HasPrefix(e.PlaceHolder, "max hours") {
			max = e
		}
	})
	fyne.DoAndWait(func() {
		if radio.Selected != "Just-in-time" || max.Text != "4" {
			t.Errorf("the selected All triplet's mode in the editor: %q, max %q", radio.Selected, max.Text)
		}
		max.SetText("8")
	})
	tapButton(t, w, "Set mode of selected…")
	if !containsText(topOverlay(w), "are disabled at each agent's next sync") {
		t.Fatal("no confirmation saying what just-in-time does")
	}
	tapButton(t, w, "Yes")
	eventually(t, "the new maximum", func() bool {
		for _, tr := range a.Snapshot().Triplets {
			if tr.Builtin {
				return tr.MaxDurationSeconds == 8*3600 && tr.ApprovalRequired
			}
		}
		return false
	})
	fyne.DoAndWait(func() { radio.SetSelected("Standing") })
	tapButton(t, w, "Set mode of selected…")
	tapButton(t, w, "Yes")
	eventually(t, "standing", func() bool {
		for _, tr := range a.Snapshot().Triplets {
			if tr.Builtin {
				return vm.ModeOf(tr).String() == "standing"
			}
		}
		return false
	})
}

// connectedHub is connected with the hub harness too.
func connectedHub(t *testing.T) (*vm.App, fyne.Window, *hubtest.Harness) {
	a, w, h, _ := demoConsole(t)
	return a, w, h
}

// overlayEntry is the last entry of the dialog on top of w, or nil.
func overlayEntry(w fyne.Window) *widget.Entry {
	var entry *widget.Entry
	find(topOverlay(w), func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok {
			entry = e
		}
	})
	return entry
}
