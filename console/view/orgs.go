package view

// Organizations and co-management, console admins and roles, seats. These screens
// load their own state (vm.Orgs) off the UI goroutine whenever the view-model changes.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// orgsLoader loads vm.Orgs in the background and calls draw on the UI goroutine with the latest.
func orgsLoader(e env, draw func(*vm.Orgs)) func() {
	return func() {
		if !e.a.Connected() {
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), Timeout)
			defer cancel()
			o, err := e.a.LoadOrgs(ctx)
			if err != nil {
				return // the status line already says the hub is unreachable; the screen keeps what it had
			}
			fyne.Do(func() { draw(o) })
		}()
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// orgsScreen lists client organizations with their co-management switch. Switching it off shows the hub's plan —
// exactly which techs are deactivated and which associations removed — and applies it only once confirmed.
func orgsScreen(e env) screen {
	var state vm.Orgs
	var sel = -1
	table := newTable([]column{{"Organization", 200}, {"Co-management", 140}, {"Techs", 70}, {"Active", 70}, {"Recorded", 140}},
		func() int { return len(state.Orgs) },
		func(r, c int) string {
			o := state.Orgs[r]
			return [...]string{o.Name, onOff(o.CoManaged), strconv.Itoa(o.Techs), strconv.Itoa(o.Active), when(o.CreatedAt)}[c]
		}, nil)
	detail := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	showSel := func() {
		if sel < 0 || sel >= len(state.Orgs) {
			detail.SetText("Select an organization.")
			return
		}
		o := state.Orgs[sel]
		detail.SetText(fmt.Sprintf("%s: co-management %s, %d co-managed techs (%d active)", o.Name, onOff(o.CoManaged), o.Techs, o.Active))
	}
	table.OnSelected = func(id widget.TableCellID) { sel = id.Row; showSel() }
	tenant := widget.NewLabel("")
	confirmOff := func(org int64, name string) {
		var plan *wire.CoManagementPlan
		e.run(func(ctx context.Context) (err error) {
			plan, err = e.a.PreviewCoManagementOff(ctx, org)
			return err
		}, func() {
			text := widget.NewLabel(plan.Summary)
			text.Wrapping = fyne.TextWrapWord
			d := dialog.NewCustomConfirm("Disable co-management for "+name+"?", "Disable co-management", "Cancel",
				container.NewVScroll(text), func(ok bool) {
					if ok {
						e.run(func(ctx context.Context) error { _, err := e.a.ConfirmCoManagementOff(ctx, org, plan); return err }, nil)
					}
				}, e.win)
			d.Resize(fyne.NewSize(640, 360))
			d.Show()
		})
	}
	toggle := widget.NewButtonWithIcon("Switch co-management…", theme.SettingsIcon(), func() {
		if sel < 0 || sel >= len(state.Orgs) {
			dialog.ShowInformation("Co-management", "Select an organization first.", e.win)
			return
		}
		o := state.Orgs[sel]
		if o.CoManaged {
			confirmOff(o.ID, o.Name)
			return
		}
		e.run(func(ctx context.Context) error { return e.a.EnableCoManagement(ctx, o.ID) }, nil)
	})
	tenantToggle := widget.NewButton("Switch for the whole tenant…", func() {
		if state.CoManagement {
			confirmOff(0, "the whole tenant")
			return
		}
		e.run(func(ctx context.Context) error { return e.a.EnableCoManagement(ctx, 0) }, nil)
	})
	name := widget.NewEntry()
	name.SetPlaceHolder("Client organization, e.g. Litware Inc")
	add := widget.NewButtonWithIcon("Add organization", theme.ContentAddIcon(), func() {
		n := strings.TrimSpace(name.Text)
		e.run(func(ctx context.Context) error { return e.a.CreateOrg(ctx, n) }, func() { name.SetText("") })
	})
	e.only(vm.Me.CanChange, toggle, tenantToggle, add, name)
	help := widget.NewLabel("A tech who registers with an organization is co-managed; the organization is recorded then. " +
		"Switching co-management off deactivates the organization's co-managed techs and removes its co-managed groups' triplets, " +
		"after showing exactly what changes. The audit log and credential history are kept.")
	help.Wrapping = fyne.TextWrapWord
	refresh := orgsLoader(e, func(o *vm.Orgs) {
		state = *o
		tenant.SetText("Co-management for the tenant: " + onOff(state.CoManagement))
		table.Refresh()
		if (sel < 0 || sel >= len(state.Orgs)) && len(state.Orgs) > 0 {
			sel = 0 // the first organization, as the other screens do
		}
		showSel()
	})
	top := container.NewVBox(help, container.NewHBox(tenant, tenantToggle))
	bottom := container.NewVBox(widget.NewSeparator(), detail, container.NewHBox(toggle), container.NewBorder(nil, nil, nil, add, name))
	return screen{obj: container.NewBorder(top, bottom, nil, nil, table), refresh: refresh}
}

// adminsScreen lists console admins with their role; the owner invites, approves after comparing fingerprints,
// changes roles and removes.
func adminsScreen(e env) screen {
	var state vm.Orgs
	sel := -1
	table := newTable([]column{{"Name", 160}, {"Role", 150}, {"Organization", 130}, {"Status", 80}, {"Since", 130}, {"Fingerprint", 200}},
		func() int { return len(state.Admins) },
		func(r, c int) string {
			a := state.Admins[r]
			return [...]string{a.Name, vm.RoleTitle(a.Role), orDash(a.Organization), string(a.Status), when(a.CreatedAt), shortFingerprint(a.Fingerprint)}[c]
		}, nil)
	detail := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	showSel := func() {
		if sel < 0 || sel >= len(state.Admins) {
			detail.SetText("Select an admin.")
			return
		}
		a := state.Admins[sel]
		detail.SetText(fmt.Sprintf("%s: %s, %s", a.Name, vm.RoleTitle(a.Role), a.Status))
	}
	table.OnSelected = func(id widget.TableCellID) { sel = id.Row; showSel() }
	var titles []string
	for _, r := range vm.Roles {
		titles = append(titles, vm.RoleTitle(r))
	}
	role := widget.NewSelect(titles, nil)
	role.SetSelected(vm.RoleTitle(wire.RoleAdmin))
	org := widget.NewSelect(nil, nil)
	org.PlaceHolder = "Organization (Co-managed Manager)"
	token := widget.NewEntry()
	token.SetPlaceHolder("The single-use invite appears here: the new admin claims it from their Console, then you approve them.")
	selected := func() *wire.Admin {
		if sel < 0 || sel >= len(state.Admins) {
			dialog.ShowInformation("Admins", "Select an admin first.", e.win)
			return nil
		}
		return &state.Admins[sel]
	}
	invite := widget.NewButtonWithIcon("Invite", theme.MailSendIcon(), func() {
		r := vm.RoleByTitle(role.Selected)
		o := ""
		if r == wire.RoleCoManager {
			o = org.Selected
		}
		var tok *wire.TokenResponse
		e.run(func(ctx context.Context) (err error) { tok, err = e.a.InviteAdmin(ctx, r, o); return err }, func() { token.SetText(tok.Token) })
	})
	approve := widget.NewButtonWithIcon("Approve…", theme.ConfirmIcon(), func() {
		a := selected()
		if a == nil {
			return
		}
		dialog.ShowCustomConfirm("Approve "+a.Name+" as "+vm.RoleTitle(a.Role)+"?", "Fingerprint matches: approve", "Cancel",
			container.NewVBox(widget.NewLabel("Approve only if every group matches the fingerprint their Console shows:"), monospace(fingerprintLines(a.Fingerprint))),
			func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.ApproveAdmin(ctx, a.ID) }, nil)
				}
			}, e.win)
	})
	setRole := widget.NewButton("Set role", func() {
		a := selected()
		if a == nil {
			return
		}
		r := vm.RoleByTitle(role.Selected)
		o := ""
		if r == wire.RoleCoManager {
			o = org.Selected
		}
		e.run(func(ctx context.Context) error { return e.a.SetAdminRole(ctx, a.ID, r, o) }, nil)
	})
	remove := widget.NewButtonWithIcon("Remove…", theme.DeleteIcon(), func() {
		a := selected()
		if a == nil {
			return
		}
		dialog.ShowConfirm("Remove "+a.Name+"?", "Their key stops working at once. The last owner cannot be removed.", func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.RemoveAdmin(ctx, a.ID) }, nil)
			}
		}, e.win)
	})
	e.only(vm.Me.IsOwner, invite, approve, setRole, remove, role, org, token)
	help := widget.NewLabel("Owner: everything, including admins. Administrator: everything else. Auditor: reads the audit log and effective access, changes nothing. " +
		"Co-managed Manager: approves, deactivates and unlocks only their organization's techs and sees only its domains.")
	help.Wrapping = fyne.TextWrapWord
	refresh := orgsLoader(e, func(o *vm.Orgs) {
		state = *o
		org.Options = nil
		for _, x := range state.Orgs {
			org.Options = append(org.Options, x.Name)
		}
		org.Refresh()
		table.Refresh()
		if (sel < 0 || sel >= len(state.Admins)) && len(state.Admins) > 0 {
			sel = 0
		}
		showSel()
	})
	bottom := container.NewVBox(widget.NewSeparator(), detail, container.NewHBox(approve, setRole, remove),
		container.NewHBox(widget.NewLabel("Role"), container.NewGridWrap(fyne.NewSize(200, role.MinSize().Height), role), org, invite), token)
	return screen{obj: container.NewBorder(help, bottom, nil, nil, table), refresh: refresh}
}

// seatsScreen shows the active seats by kind and the date each started: co-managed licences are billable.
func seatsScreen(e env) screen {
	var state vm.Orgs
	summary := widget.NewLabel("")
	summary.TextStyle = fyne.TextStyle{Bold: true}
	table := newTable([]column{{"Kind", 140}, {"Name", 180}, {"Organization", 150}, {"Seat since", 160}},
		func() int { return len(state.Seats.Seats) },
		func(r, c int) string {
			s := state.Seats.Seats[r]
			return [...]string{vm.SeatTitle(s.Kind), s.Name, orDash(s.Organization), when(s.Since)}[c]
		}, nil)
	refresh := orgsLoader(e, func(o *vm.Orgs) {
		state = *o
		var parts []string
		for _, k := range state.SeatSummary() {
			since := ""
			if k.Count > 0 {
				since = ", oldest since " + when(k.Oldest)
			}
			parts = append(parts, fmt.Sprintf("%s: %d%s", k.Title, k.Count, since))
		}
		summary.SetText(strings.Join(parts, "    "))
		table.Refresh()
	})
	return screen{obj: container.NewBorder(summary, nil, nil, nil, table), refresh: refresh}
}
