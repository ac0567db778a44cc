package view

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
	detail := heading("")
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
			text := paragraph(plan.Summary)
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
	help := paragraph("A tech who registers with an organization is co-managed; the organization is recorded then. " +
		"Switching co-management off deactivates the organization's co-managed techs and removes its co-managed groups' triplets, " +
		"after showing exactly what changes. The audit log and credential history are kept.")
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
