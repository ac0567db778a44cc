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

// techsScreen lists every tech with filters; the selected one shows their groups and effective access, with
// deactivate, reactivate and rotate now. "Show deleted" lists the deleted techs instead (tombstones.go).
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
	showDeleted := widget.NewCheck("Show deleted", nil)
	var loadDeleted func(vm.TechFilter) // while the deleted techs show

	table := newTable([]column{{"Username", 100}, {"Name", 130}, {"Organization", 110}, {"Status", 75}, {"2FA", 200}, {"Lockout", 150}, {"TechGroups", 200}},
		func() int { return len(rows) },
		func(r, c int) string {
			t := rows[r]
			twoFA, lock := "—", "—"
			if sec, ok := e.a.TechSecurity(t.ID); ok {
				twoFA, lock = vm.TwoFactorText(sec, time.Now()), vm.LockText(sec)
			}
			return [...]string{vm.TechRowName(t), t.DisplayName, orDash(t.Organization), string(t.Status), twoFA, lock, joinOrDash(e.a.Snapshot().GroupsOf(t.ID))}[c]
		}, nil)
	who := heading("")
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
	accountsTable := techAccountsTable(&accounts)
	problems := notice(widget.DangerImportance)
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
	security := paragraph("")
	unlock := widget.NewButtonWithIcon("Unlock", theme.LoginIcon(), nil)
	unlock.Importance = widget.WarningImportance
	pauseNext := widget.NewButton("Pause 2FA: next login…", nil)
	pause24 := widget.NewButton("Pause 2FA: 24 h…", nil)
	resetTOTP := widget.NewButton("Reset authenticator…", nil)
	e.only(vm.Me.CanManageTechs, deact, unlock, resetTOTP)
	life, showLife := techLife(e, func() int64 { return sel }) // edit, delete, device (techlife.go)
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
			showLife(nil)
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
		showLife(t)
		setEnabled(rotate, t.Status == wire.TechActive)
	}
	reload := func() {
		if loadDeleted != nil {
			loadDeleted(f)
			return
		}
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
		text := paragraph(vm.AdoptWarning(acc))
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
		text := paragraph(vm.ResetTOTPWarning(name))
		d := dialog.NewCustomConfirm("Reset the authenticator of "+name+"?", "Reset authenticator", "Cancel", text, func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.ResetTOTP(ctx, id) }, nil)
			}
		}, e.win)
		d.Resize(fyne.NewSize(560, 280))
		d.Show()
	}
	pause24.OnTapped = func() { pause(wire.Pause24h) }
	filters := container.NewBorder(nil, nil, container.NewHBox(status, org), showDeleted, search)
	accountsBox := container.NewBorder(container.NewBorder(nil, nil, heading("Accounts"),
		container.NewHBox(retry, adopt)), nil, nil, nil, accountsTable)
	detail := container.NewBorder(container.NewVBox(who, container.NewHBox(append([]fyne.CanvasObject{deact, react, rotate}, life...)...),
		security, container.NewHBox(unlock, pauseNext, pause24, resetTOTP), problems), nil, nil, nil,
		container.NewGridWithRows(2, accTable, accountsBox))
	split := container.NewVSplit(table, detail)
	split.Offset = 0.5
	body := container.NewStack(split)
	showDeleted.OnChanged = func(on bool) {
		// A deleted tech has no status to filter by: the list is the tombstones, filtered by organization and search.
		// Built each time it is shown, it is not there to read while the techs show.
		if on {
			var deleted fyne.CanvasObject
			deleted, loadDeleted = deletedTechs(e)
			body.Objects = []fyne.CanvasObject{deleted}
			status.Disable()
		} else {
			loadDeleted = nil
			body.Objects = []fyne.CanvasObject{split}
			status.Enable()
		}
		body.Refresh()
		reload()
	}
	return screen{
		obj: container.NewBorder(filters, nil, nil, nil, body),
		refresh: func() {
			org.Options = append([]string{"All organizations", "MSP"}, e.a.Snapshot().Organizations()...)
			reload()
			if sel == 0 && len(rows) > 0 {
				table.Select(widget.TableCellID{Row: 0, Col: 0})
			}
		},
	}
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

// techAccountsTable lists a tech's accounts as the agents report them; the caller sets *accounts and refreshes.
func techAccountsTable(accounts *[]vm.TechAccount) *widget.Table {
	return newTable([]column{{"Domain or host", 150}, {"Account", 150}, {"State and last error", 490}},
		func() int { return len(*accounts) },
		func(r, c int) string {
			acc := (*accounts)[r]
			return [...]string{acc.AgentName, acc.Name, vm.AccountStateText(acc.Account)}[c]
		}, nil)
}
