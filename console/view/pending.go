package view

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// pendingRow is a tech waiting for approval or a device replacement waiting for a decision.
type pendingRow struct {
	tech  *wire.Tech
	rekey *wire.Rekey
}

// pendingScreen lists the device replacements and the techs waiting for approval; the selected one's fingerprint
// is shown large, to compare with what the tech reads out from their TechClient. A device replacement shows the
// old and the new fingerprint side by side. A Console whose own key waits for the owner's approval shows that
// here, with its fingerprint, instead of the hub's refusal.
func pendingScreen(e env) screen {
	var rows []pendingRow
	sel := -1
	table := newTable([]column{{"Request", 140}, {"Name", 140}, {"Username", 100}, {"Organization", 110}, {"Registered", 130}, {"Fingerprint", 190}},
		func() int { return len(rows) },
		func(r, c int) string {
			if rk := rows[r].rekey; rk != nil {
				name := rk.Username
				if t := e.a.Snapshot().Tech(rk.TechID); t != nil {
					name = t.DisplayName
				}
				return [...]string{"Device replacement", name, rk.Username, orDash(rk.Organization), when(rk.CreatedAt), shortFingerprint(rk.Fingerprint)}[c]
			}
			t := rows[r].tech
			kind := "New tech"
			if t.Reservation != nil {
				kind = "Reserved (CSV)"
			}
			return [...]string{kind, t.DisplayName, t.Username, orDash(t.Organization), when(t.CreatedAt), shortFingerprint(t.Fingerprint)}[c]
		}, nil)
	who := heading("Select a pending tech.")
	who.Wrapping = fyne.TextWrapWord
	fp := monospace("")
	oldFP, newFP := monospace(""), monospace("")
	sideBySide := container.NewGridWithColumns(2,
		container.NewVBox(widget.NewLabelWithStyle("Old device (revoked on approval)", fyne.TextAlignLeading, fyne.TextStyle{Italic: true}), oldFP),
		container.NewVBox(widget.NewLabelWithStyle("New device", fyne.TextAlignLeading, fyne.TextStyle{Italic: true}), newFP))
	warning := notice(widget.DangerImportance)
	reserved := notice(widget.WarningImportance) // a reserved username's registration: reserved vs typed
	approve := widget.NewButtonWithIcon("Approve…", theme.ConfirmIcon(), nil)
	reject := widget.NewButtonWithIcon("Reject…", theme.CancelIcon(), nil)
	approve.Importance = widget.HighImportance
	e.only(vm.Me.CanManageTechs, approve, reject)

	queue := notice(widget.DangerImportance) // the registration queue full, or nearly
	queue.Hide()
	waiting := heading("")
	waiting.Wrapping = fyne.TextWrapWord
	ownFP := monospace("")
	waitingBox := container.NewVBox(waiting, ownFP, widget.NewSeparator())
	waitingBox.Hide()

	show := func() {
		fp.Hide()
		sideBySide.Hide()
		warning.Hide()
		reserved.Hide()
		if sel < 0 || sel >= len(rows) {
			who.SetText("Select a pending tech or device replacement to compare fingerprints.")
			approve.Disable()
			reject.Disable()
			return
		}
		approve.Enable()
		reject.Enable()
		if rk := rows[sel].rekey; rk != nil {
			who.SetText(fmt.Sprintf("%s asks to replace their device. Ask them to read out the new device's fingerprint; compare both:", rk.Username))
			oldFP.SetText(fingerprintLines(rk.OldFingerprint))
			newFP.SetText(fingerprintLines(rk.Fingerprint))
			warning.SetText(e.a.RekeyWarning(*rk))
			sideBySide.Show()
			warning.Show()
			return
		}
		t := rows[sel].tech
		org := "typed no organization"
		switch {
		case t.Reservation != nil && t.Organization != "":
			org = "reserved in organization " + t.Organization
		case t.Reservation != nil:
			org = "reserved with no organization"
		case t.Organization != "":
			org = "typed organization " + t.Organization
		}
		who.SetText(fmt.Sprintf("%s (%s, %s; approving decides where they belong) — device fingerprint:", t.DisplayName, t.Username, org))
		fp.SetText(fingerprintLines(t.Fingerprint))
		fp.Show()
		if text := vm.ReservationText(*t); text != "" {
			reserved.SetText(text)
			reserved.Show()
		}
	}
	table.OnSelected = func(id widget.TableCellID) { sel = id.Row; show() }
	approveTech := func(t wire.Tech) { approveDialog(e, t) } // with where the tech belongs (placement.go)
	approveRekey := func(rk wire.Rekey) {
		text := paragraph(e.a.RekeyWarning(rk))
		d := dialog.NewCustomConfirm("Replace "+rk.Username+"'s device?", "Both match: revoke the old device", "Cancel",
			container.NewVBox(text, container.NewGridWithColumns(2,
				container.NewVBox(widget.NewLabel("Old device"), monospace(fingerprintLines(rk.OldFingerprint))),
				container.NewVBox(widget.NewLabel("New device"), monospace(fingerprintLines(rk.Fingerprint))))),
			func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.ApproveRekey(ctx, rk.ID) }, nil)
				}
			}, e.win)
		d.Resize(fyne.NewSize(700, 380))
		d.Show()
	}
	approve.OnTapped = func() {
		if sel < 0 || sel >= len(rows) {
			return
		}
		if rk := rows[sel].rekey; rk != nil {
			approveRekey(*rk)
			return
		}
		approveTech(*rows[sel].tech)
	}
	reject.OnTapped = func() {
		if sel < 0 || sel >= len(rows) {
			return
		}
		if rk := rows[sel].rekey; rk != nil {
			r := *rk
			dialog.ShowConfirm("Reject "+r.Username+"'s device replacement?", "The new device gets nothing; the tech keeps the old one.", func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.RejectRekey(ctx, r.ID) }, nil)
				}
			}, e.win)
			return
		}
		t := *rows[sel].tech
		dialog.ShowConfirm("Reject "+t.Username+"?", "The registration is refused; the device gets nothing. You can approve it later if this was a mistake.", func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.Reject(ctx, t.ID) }, nil)
			}
		}, e.win)
	}
	detail := container.NewVBox(widget.NewSeparator(), who, fp, sideBySide, warning, reserved, container.NewHBox(approve, reject))
	return screen{
		obj: container.NewBorder(container.NewVBox(waitingBox, queue), detail, nil, nil, table),
		refresh: func() {
			if n := e.a.Snapshot().RegistrationNotice(); n != "" {
				queue.SetText(n)
				queue.Show()
			} else {
				queue.Hide()
			}
			if me := e.a.Snapshot().Me; me.Pending {
				waiting.SetText(me.PendingText())
				ownFP.SetText(fingerprintLines(me.Fingerprint))
				waitingBox.Show()
			} else {
				waitingBox.Hide()
			}
			rows = rows[:0]
			for _, rk := range e.a.PendingRekeys() { // first: a tech without a device waits for this
				rows = append(rows, pendingRow{rekey: &rk})
			}
			for _, t := range e.a.Pending() {
				rows = append(rows, pendingRow{tech: &t})
			}
			if sel >= len(rows) {
				sel = -1
				table.UnselectAll()
			}
			table.Refresh()
			if sel < 0 && len(rows) > 0 {
				table.Select(widget.TableCellID{Row: 0, Col: 0})
			}
			show()
		},
	}
}
