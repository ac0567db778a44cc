package view

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// pendingScreen lists the techs waiting for approval; the selected one's fingerprint is shown large, to compare
// with what the tech reads out from their TechClient.
func pendingScreen(e env) screen {
	var rows []wire.Tech
	sel := -1
	table := newTable([]column{{"Name", 150}, {"Username", 110}, {"Email", 200}, {"Organization", 120}, {"Registered", 130}, {"Fingerprint", 200}},
		func() int { return len(rows) },
		func(r, c int) string {
			t := rows[r]
			return [...]string{t.DisplayName, t.Username, t.Email, orDash(t.Organization), when(t.CreatedAt), shortFingerprint(t.Fingerprint)}[c]
		}, nil)
	who := widget.NewLabelWithStyle("Select a pending tech.", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	fp := monospace("")
	approve := widget.NewButtonWithIcon("Approve…", theme.ConfirmIcon(), nil)
	reject := widget.NewButtonWithIcon("Reject…", theme.CancelIcon(), nil)
	approve.Importance = widget.HighImportance
	show := func() {
		if sel < 0 || sel >= len(rows) {
			who.SetText("Select a pending tech to compare their fingerprint.")
			fp.SetText("")
			approve.Disable()
			reject.Disable()
			return
		}
		t := rows[sel]
		org := "MSP staff"
		if t.Organization != "" {
			org = "co-managed, " + t.Organization
		}
		who.SetText(fmt.Sprintf("%s (%s, %s) — device fingerprint:", t.DisplayName, t.Username, org))
		fp.SetText(fingerprintLines(t.Fingerprint))
		approve.Enable()
		reject.Enable()
	}
	table.OnSelected = func(id widget.TableCellID) { sel = id.Row; show() }
	approve.OnTapped = func() {
		t := rows[sel]
		msg := widget.NewLabel(fmt.Sprintf("Ask %s to read out the fingerprint their TechClient shows.\nApprove only if every group matches:", t.DisplayName))
		extra := ""
		if t.Organization != "" {
			extra = "\n\n" + t.Organization + " is a client organization: consider the co-managed onboarding first, so this tech only reaches their own domains."
		} else if gs := e.a.Snapshot().MSPGroups(); len(gs) > 0 {
			extra = "\n\nAs MSP staff they also join the TechGroup " + gs[0].Name + "."
		}
		dialog.ShowCustomConfirm("Approve "+t.Username+"?", "Fingerprint matches: approve", "Cancel",
			container.NewVBox(msg, monospace(fingerprintLines(t.Fingerprint)), widget.NewLabel(strings.TrimSpace(extra))), func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.Approve(ctx, t.ID) }, nil)
				}
			}, e.win)
	}
	reject.OnTapped = func() {
		t := rows[sel]
		dialog.ShowConfirm("Reject "+t.Username+"?", "The registration is refused; the device gets nothing. You can approve it later if this was a mistake.", func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.Reject(ctx, t.ID) }, nil)
			}
		}, e.win)
	}
	detail := container.NewVBox(widget.NewSeparator(), who, fp, container.NewHBox(approve, reject))
	return screen{
		obj: container.NewBorder(nil, detail, nil, nil, table),
		refresh: func() {
			rows = e.a.Pending()
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

	table := newTable([]column{{"Username", 110}, {"Name", 140}, {"Organization", 120}, {"Status", 80}, {"TechGroups", 260}},
		func() int { return len(rows) },
		func(r, c int) string {
			t := rows[r]
			return [...]string{t.Username, t.DisplayName, orDash(t.Organization), string(t.Status), joinOrDash(e.a.Snapshot().GroupsOf(t.ID))}[c]
		}, nil)
	who := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	var access []vm.Grant
	accTable := newTable([]column{{"Domain or host", 150}, {"Account", 150}, {"Rights", 160}, {"Through triplet", 330}},
		func() int { return len(access) },
		func(r, c int) string {
			g := access[r]
			return [...]string{g.Agent.Name, accountName(e.a, g), strings.Join(g.Rights, ", "), strings.Join(g.Via, "; ")}[c]
		}, nil)
	deact := widget.NewButtonWithIcon("Deactivate…", theme.ContentRemoveIcon(), nil)
	react := widget.NewButtonWithIcon("Reactivate", theme.ContentAddIcon(), nil)
	rotate := widget.NewButtonWithIcon("Rotate now", theme.ViewRefreshIcon(), nil)
	deact.Importance = widget.DangerImportance

	show := func() {
		t := e.a.Snapshot().Tech(sel)
		if t == nil {
			who.SetText("Select a tech to see their groups and effective access.")
			access = nil
			accTable.Refresh()
			deact.Disable()
			react.Disable()
			rotate.Disable()
			return
		}
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
			sel = rows[id.Row].ID
			show()
		}
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
	filters := container.NewBorder(nil, nil, container.NewHBox(status, org), nil, search)
	detail := container.NewBorder(container.NewVBox(who, container.NewHBox(deact, react, rotate)), nil, nil, nil, accTable)
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
