package view

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// jitScreen is the approval queue of just-in-time requests (tech, account, host, duration, reason; Approve and
// Refuse, each confirmed) and the open windows with their time left, ticking, each of which an approver can end
// early (End now…, confirmed).
func jitScreen(e env) screen {
	var pending, open []wire.JITGrant
	sel, openSel := -1, -1
	detail := paragraph("") // the selected request in full: the table cuts long reasons
	pendingTable := newTable([]column{{"Tech", 110}, {"Organization", 110}, {"Account", 120}, {"Host", 130}, {"For", 70}, {"Asked", 80}, {"Reason", 330}},
		func() int { return len(pending) },
		func(r, c int) string {
			g := pending[r]
			return [...]string{g.Username, orDash(g.Organization), g.AccountName, g.AgentName, vm.FormatDuration(g.DurationSeconds), ago(time.Now(), g.RequestedAt), g.Reason}[c]
		}, func(r int) {
			sel = r
			if r < len(pending) {
				detail.SetText(vm.DescribeJIT(pending[r]))
			}
		})
	openTable := newTable([]column{{"Tech", 110}, {"Account", 120}, {"Host", 130}, {"Status", 150}, {"Until", 70}, {"Time left", 90}, {"Reason", 280}},
		func() int { return len(open) },
		func(r, c int) string {
			g := open[r]
			status := "active"
			if g.Status == wire.JITApproved {
				status = "approved, enabling…"
			}
			return [...]string{g.Username, g.AccountName, g.AgentName, status, g.ExpiresAt.Local().Format("15:04"), timeLeft(g.ExpiresAt), g.Reason}[c]
		}, func(r int) { openSel = r })
	selected := func() (wire.JITGrant, bool) {
		if sel < 0 || sel >= len(pending) {
			dialog.ShowInformation("JIT requests", "Select a pending request first.", e.win)
			return wire.JITGrant{}, false
		}
		return pending[sel], true
	}
	approve := widget.NewButtonWithIcon("Approve…", theme.ConfirmIcon(), func() {
		g, ok := selected()
		if !ok {
			return
		}
		dialog.ShowConfirm("Approve access", vm.ApproveJITText(g), func(yes bool) {
			if yes {
				e.run(func(ctx context.Context) error { return e.a.ApproveJIT(ctx, g.ID) }, nil)
			}
		}, e.win)
	})
	approve.Importance = widget.HighImportance
	refuse := widget.NewButtonWithIcon("Refuse…", theme.CancelIcon(), func() {
		g, ok := selected()
		if !ok {
			return
		}
		confirmWithNote(e, "Refuse access", "Refuse", fmt.Sprintf("Refuse %s's request for %s on %s?\nThe account stays disabled.",
			g.Username, g.AccountName, g.AgentName), func(ctx context.Context, note string) error { return e.a.RefuseJIT(ctx, g.ID, note) })
	})
	refuse.Importance = widget.DangerImportance
	endNow := widget.NewButtonWithIcon("End now…", theme.MediaStopIcon(), func() {
		if openSel < 0 || openSel >= len(open) {
			dialog.ShowInformation("JIT requests", "Select an open window first.", e.win)
			return
		}
		g := open[openSel]
		confirmWithNote(e, "End access now", "End now", fmt.Sprintf("End %s's access to %s on %s now, %s before it expires?\n"+
			"The agent removes the rights, disables the account and rotates its password away.", g.Username, g.AccountName, g.AgentName, timeLeft(g.ExpiresAt)),
			func(ctx context.Context, note string) error { return e.a.EndJITNow(ctx, g.ID, note) })
	})
	endNow.Importance = widget.DangerImportance
	e.only(vm.Me.CanManageTechs, approve, refuse, endNow)
	pendingTitle := heading("")
	openTitle := heading("")
	top := container.NewBorder(container.NewBorder(nil, nil, pendingTitle, container.NewHBox(approve, refuse)), detail, nil, nil, pendingTable)
	bottom := container.NewBorder(container.NewBorder(nil, nil, openTitle, endNow), nil, nil, nil, openTable)
	split := container.NewVSplit(top, bottom)
	split.Offset = 0.55
	refresh := func() {
		pending, open = e.a.PendingJIT(), e.a.OpenJIT(time.Now())
		if sel >= len(pending) {
			sel = -1
		}
		if openSel >= len(open) {
			openSel = -1
		}
		if len(pending) == 0 {
			detail.SetText("No request waits for approval.")
		} else if sel >= 0 {
			detail.SetText(vm.DescribeJIT(pending[sel]))
		}
		if sel < 0 && len(pending) > 0 {
			pendingTable.Select(widget.TableCellID{Row: 0, Col: 0}) // the oldest request, ready to decide
		}
		pendingTitle.SetText(fmt.Sprintf("Waiting for approval (%d)", len(pending)))
		openTitle.SetText(fmt.Sprintf("Open windows (%d)", len(open)))
		pendingTable.Refresh()
		openTable.Refresh()
	}
	// The time left ticks while the screen is on: an endless animation (the driver's own frame clock, which stops
	// with the app) redraws the open windows once a second.
	last := time.Now().Unix()
	tick := fyne.NewAnimation(time.Second, func(float32) {
		if now := time.Now(); now.Unix() != last && split.Visible() && len(open) > 0 {
			last = now.Unix()
			open = e.a.OpenJIT(now)
			openTitle.SetText(fmt.Sprintf("Open windows (%d)", len(open)))
			openTable.Refresh()
		}
	})
	tick.RepeatCount = fyne.AnimationRepeatForever
	tick.Curve = fyne.AnimationLinear
	tick.Start()
	return screen{obj: split, refresh: refresh}
}

// confirmWithNote asks to confirm text with an optional note to the tech, then runs act with the note.
func confirmWithNote(e env, title, confirm, text string, act func(ctx context.Context, note string) error) {
	note := widget.NewEntry()
	note.SetPlaceHolder("Note to the tech (optional)")
	dialog.ShowCustomConfirm(title, confirm, "Cancel", container.NewVBox(widget.NewLabel(text), note), func(yes bool) {
		if yes {
			n := note.Text
			e.run(func(ctx context.Context) error { return act(ctx, n) }, nil)
		}
	}, e.win)
}

// timeLeft is a countdown to t: "01:59:07", "expired".
func timeLeft(t time.Time) string {
	d := time.Until(t).Round(time.Second)
	if d <= 0 {
		return "expired"
	}
	s := int(d / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s%3600/60, s%60)
}
