package view

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	who := widget.NewLabelWithStyle("Select a pending tech.", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	who.Wrapping = fyne.TextWrapWord
	fp := monospace("")
	oldFP, newFP := monospace(""), monospace("")
	sideBySide := container.NewGridWithColumns(2,
		container.NewVBox(widget.NewLabelWithStyle("Old device (revoked on approval)", fyne.TextAlignLeading, fyne.TextStyle{Italic: true}), oldFP),
		container.NewVBox(widget.NewLabelWithStyle("New device", fyne.TextAlignLeading, fyne.TextStyle{Italic: true}), newFP))
	warning := widget.NewLabel("")
	warning.Wrapping = fyne.TextWrapWord
	warning.Importance = widget.DangerImportance
	reserved := widget.NewLabel("") // a reserved username's registration: reserved vs typed
	reserved.Wrapping = fyne.TextWrapWord
	reserved.Importance = widget.WarningImportance
	approve := widget.NewButtonWithIcon("Approve…", theme.ConfirmIcon(), nil)
	reject := widget.NewButtonWithIcon("Reject…", theme.CancelIcon(), nil)
	approve.Importance = widget.HighImportance
	e.only(vm.Me.CanManageTechs, approve, reject)

	queue := widget.NewLabel("") // the registration queue full, or nearly
	queue.Wrapping = fyne.TextWrapWord
	queue.Importance = widget.DangerImportance
	queue.Hide()
	waiting := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
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
		text := widget.NewLabel(e.a.RekeyWarning(rk))
		text.Wrapping = fyne.TextWrapWord
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

// techsScreen lists every tech with filters; the selected one shows their groups and effective access, with
// deactivate, reactivate and rotate now.
func techsScreen(e env) screen {
	var rows []wire.Tech
	var sel int64
	f := vm.TechFilter{}
	status := widget.NewSelect([]string{"All states", "active", "pending", "disabled", "rejected"}, nil)
	status.SetSelected("All states")
	org := widget.NewSelect([]string{"All organizations"}, nil)
	org.SetSelected("All organizations")
	search := widget.NewEntry()
	search.SetPlaceHolder("Search name, username, email")

	table := newTable([]column{{"Username", 100}, {"Name", 130}, {"Organization", 110}, {"Status", 75}, {"2FA", 200}, {"Lockout", 150}, {"TechGroups", 200}},
		func() int { return len(rows) },
		func(r, c int) string {
			t := rows[r]
			twoFA, lock := "—", "—"
			if sec, ok := e.a.TechSecurity(t.ID); ok {
				twoFA, lock = vm.TwoFactorText(sec, time.Now()), vm.LockText(sec)
			}
			return [...]string{t.Username, t.DisplayName, orDash(t.Organization), string(t.Status), twoFA, lock, joinOrDash(e.a.Snapshot().GroupsOf(t.ID))}[c]
		}, nil)
	who := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	var access []vm.Grant
	accTable := newTable([]column{{"Domain or host", 150}, {"Account", 150}, {"Rights", 160}, {"Through triplet", 330}},
		func() int { return len(access) },
		func(r, c int) string {
			g := access[r]
			return [...]string{g.Agent.Name, accountName(e.a, g), strings.Join(g.Rights, ", "), strings.Join(g.Via, "; ")}[c]
		}, nil)
	// The tech's accounts as the agents report them, with what an admin can do about a failed one.
	var accounts []vm.TechAccount
	accSel := -1
	accountsTable := newTable([]column{{"Domain or host", 150}, {"Account", 150}, {"State and last error", 490}},
		func() int { return len(accounts) },
		func(r, c int) string {
			acc := accounts[r]
			return [...]string{acc.AgentName, acc.Name, vm.AccountStateText(acc.Account)}[c]
		}, nil)
	problems := widget.NewLabel("")
	problems.Wrapping = fyne.TextWrapWord
	problems.Importance = widget.DangerImportance
	retry := widget.NewButtonWithIcon("Retry", theme.ViewRefreshIcon(), nil)
	adopt := widget.NewButtonWithIcon("Adopt…", theme.ConfirmIcon(), nil)
	adopt.Importance = widget.WarningImportance
	e.only(vm.Me.CanChange, retry, adopt)
	showAccount := func() {
		if accSel < 0 || accSel >= len(accounts) {
			retry.Disable()
			adopt.Disable()
			return
		}
		setEnabled(retry, vm.CanRetry(accounts[accSel].Account))
		setEnabled(adopt, vm.CanAdopt(accounts[accSel].Account))
	}
	accountsTable.OnSelected = func(id widget.TableCellID) { accSel = id.Row; showAccount() }
	deact := widget.NewButtonWithIcon("Deactivate…", theme.ContentRemoveIcon(), nil)
	react := widget.NewButtonWithIcon("Reactivate", theme.ContentAddIcon(), nil)
	rotate := widget.NewButtonWithIcon("Rotate now", theme.ViewRefreshIcon(), nil)
	deact.Importance = widget.DangerImportance
	security := widget.NewLabel("")
	security.Wrapping = fyne.TextWrapWord
	unlock := widget.NewButtonWithIcon("Unlock", theme.LoginIcon(), nil)
	unlock.Importance = widget.WarningImportance
	pauseNext := widget.NewButton("Pause 2FA: next login…", nil)
	pause24 := widget.NewButton("Pause 2FA: 24 h…", nil)
	resetTOTP := widget.NewButton("Reset authenticator…", nil)
	e.only(vm.Me.CanManageTechs, deact, unlock, resetTOTP)
	e.only(vm.Me.CanChange, react, rotate, pauseNext, pause24)

	show := func() {
		t := e.a.Snapshot().Tech(sel)
		accounts = e.a.Snapshot().AccountsOfTech(sel)
		if accSel >= len(accounts) {
			accSel = -1
			accountsTable.UnselectAll()
		}
		accountsTable.Refresh()
		showAccount()
		problems.SetText(e.a.TechProblemsText(sel))
		if problems.Text == "" {
			problems.Hide()
		} else {
			problems.Show()
		}
		if t == nil {
			who.SetText("Select a tech to see their groups and effective access.")
			access = nil
			accTable.Refresh()
			deact.Disable()
			react.Disable()
			rotate.Disable()
			security.SetText("")
			unlock.Disable()
			pauseNext.Disable()
			pause24.Disable()
			resetTOTP.Disable()
			return
		}
		sec, known := e.a.TechSecurity(t.ID)
		security.SetText(securityText(sec, known))
		setEnabled(unlock, known && (sec.Locked || sec.Failures > 0))
		setEnabled(pauseNext, known && sec.Required && t.Status == wire.TechActive)
		setEnabled(pause24, known && sec.Required && t.Status == wire.TechActive)
		setEnabled(resetTOTP, known && sec.Enrolled)
		access = e.a.AccessForTech(t.ID)
		who.SetText(fmt.Sprintf("%s — %s, %s; reaches %d domains and hosts", t.DisplayName, t.Status, t.Email, len(access)))
		accTable.Refresh()
		setEnabled(deact, t.Status == wire.TechActive || t.Status == wire.TechPending)
		setEnabled(react, t.Status == wire.TechDisabled)
		setEnabled(rotate, t.Status == wire.TechActive)
	}
	reload := func() {
		rows = e.a.Techs(f)
		table.Refresh()
		show()
	}
	status.OnChanged = func(s string) {
		f.Status = ""
		if s != "All states" {
			f.Status = wire.TechStatus(s)
		}
		reload()
	}
	org.OnChanged = func(s string) {
		f.Organization = ""
		if s != "All organizations" {
			f.Organization = s
		}
		reload()
	}
	search.OnChanged = func(s string) { f.Query = s; reload() }
	table.OnSelected = func(id widget.TableCellID) {
		if id.Row < len(rows) {
			if sel != rows[id.Row].ID {
				accSel = -1
				accountsTable.UnselectAll()
			}
			sel = rows[id.Row].ID
			show()
		}
	}
	retry.OnTapped = func() {
		if accSel < 0 || accSel >= len(accounts) {
			return
		}
		acc := accounts[accSel]
		dialog.ShowConfirm("Retry "+acc.Name+"?", fmt.Sprintf("The agent of %s tries %s again at once, with a fresh password.\n\n"+
			"Last error: %s\n\nRetry only once its cause is fixed: the agent stops again after %d unresolved attempts.",
			acc.AgentName, acc.Name, orDash(acc.LastError), wire.MaxUnresolved), func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.RetryAccount(ctx, acc.ID) }, nil)
			}
		}, e.win)
	}
	adopt.OnTapped = func() {
		if accSel < 0 || accSel >= len(accounts) {
			return
		}
		acc := accounts[accSel]
		text := widget.NewLabel(vm.AdoptWarning(acc))
		text.Wrapping = fyne.TextWrapWord
		typed := widget.NewEntry()
		typed.SetPlaceHolder(acc.Name)
		d := dialog.NewCustomConfirm("Adopt an existing account", "Adopt", "Cancel", container.NewVBox(text, typed), func(ok bool) {
			if ok {
				name := typed.Text
				e.run(func(ctx context.Context) error { return e.a.AdoptAccount(ctx, acc.ID, name) }, nil)
			}
		}, e.win)
		d.Resize(fyne.NewSize(640, 340))
		d.Show()
	}
	deact.OnTapped = func() {
		id := sel
		dialog.ShowConfirm("Deactivate tech", e.a.DeactivateWarning(id), func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.Deactivate(ctx, id) }, nil)
			}
		}, e.win)
	}
	react.OnTapped = func() {
		id := sel
		e.run(func(ctx context.Context) error { return e.a.Reactivate(ctx, id) }, nil)
	}
	rotate.OnTapped = func() {
		id := sel
		e.run(func(ctx context.Context) error { _, err := e.a.RotateTech(ctx, id); return err }, nil)
	}
	unlock.OnTapped = func() {
		id := sel
		e.run(func(ctx context.Context) error { return e.a.UnlockTech(ctx, id) }, nil)
	}
	pause := func(kind string) {
		id := sel
		name := e.a.Snapshot().Tech(id).Username
		dialog.ShowConfirm("Pause 2FA of "+name+"?", vm.PauseWarning(name, kind), func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.PauseTOTP(ctx, id, kind) }, nil)
			}
		}, e.win)
	}
	pauseNext.OnTapped = func() { pause(wire.PauseNextLogin) }
	resetTOTP.OnTapped = func() {
		id := sel
		name := e.a.Snapshot().Tech(id).Username
		text := widget.NewLabel(vm.ResetTOTPWarning(name))
		text.Wrapping = fyne.TextWrapWord
		d := dialog.NewCustomConfirm("Reset the authenticator of "+name+"?", "Reset authenticator", "Cancel", text, func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.ResetTOTP(ctx, id) }, nil)
			}
		}, e.win)
		d.Resize(fyne.NewSize(560, 280))
		d.Show()
	}
	pause24.OnTapped = func() { pause(wire.Pause24h) }
	filters := container.NewBorder(nil, nil, container.NewHBox(status, org), nil, search)
	accountsBox := container.NewBorder(container.NewBorder(nil, nil, widget.NewLabelWithStyle("Accounts", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewHBox(retry, adopt)), nil, nil, nil, accountsTable)
	detail := container.NewBorder(container.NewVBox(who, container.NewHBox(deact, react, rotate),
		security, container.NewHBox(unlock, pauseNext, pause24, resetTOTP), problems), nil, nil, nil,
		container.NewGridWithRows(2, accTable, accountsBox))
	split := container.NewVSplit(table, detail)
	split.Offset = 0.5
	return screen{
		obj: container.NewBorder(filters, nil, nil, nil, split),
		refresh: func() {
			org.Options = append([]string{"All organizations", "MSP"}, e.a.Snapshot().Organizations()...)
			reload()
			if sel == 0 && len(rows) > 0 {
				table.Select(widget.TableCellID{Row: 0, Col: 0})
			}
		},
	}
}

// approvalProblems says, right after an approval, what of the tech's access cannot become an account.
func approvalProblems(e env, id int64) {
	t := e.a.Snapshot().Tech(id)
	if t == nil || len(t.Problems) == 0 {
		return
	}
	msg := widget.NewLabel(fmt.Sprintf("%s is approved, but gets no account on some domains or hosts:\n\n%s\n\n"+
		"Fix it with a shorter username, another naming format or other rights; the Techs screen keeps showing it until then.",
		t.Username, "⚠ "+strings.Join(t.Problems, "\n⚠ ")))
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom("Approved "+t.Username+", with problems", "OK", msg, e.win)
	d.Resize(fyne.NewSize(640, 320))
	d.Show()
}

// notifyFailedAccounts shows a desktop notification for every account a refresh finds newly failed.
func notifyFailedAccounts(a *vm.App) {
	a.OnAccountFailed(func(acc vm.TechAccount) {
		n := fyne.NewNotification("Account failed: an admin must act", a.Snapshot().DescribeFailure(acc))
		fyne.Do(func() { sendNotification(n) })
	})
}

// securityText is a tech's 2FA and lockout state in a sentence.
func securityText(s wire.TechSecurity, known bool) string {
	if !known {
		return "2FA and lockout: the hub did not say."
	}
	out := "2FA: " + vm.TwoFactorText(s, time.Now())
	if s.SessionUntil.After(time.Now()) {
		out += "; session open until " + when(s.SessionUntil)
	}
	switch {
	case s.Locked:
		out += fmt.Sprintf(". Locked out since %s (%s): their device gets no passwords until unlocked.", when(s.LockedAt), orDash(s.LockReason))
	case s.Failures > 0:
		out += fmt.Sprintf(". %d failed attempt(s) in a row.", s.Failures)
	default:
		out += ". Not locked."
	}
	return out
}

func setEnabled(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// accountName is the tech's account name on the grant's agent, from the hub's accounts or the naming format.
func accountName(a *vm.App, g vm.Grant) string {
	s := a.Snapshot()
	for _, acc := range s.Accounts[g.Agent.ID] {
		if acc.TechID == g.Tech.ID {
			return acc.Name
		}
	}
	return "(not created yet)"
}
