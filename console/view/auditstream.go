package view

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// auditStreamScreen lists the syslog collectors the audit log streams to with the state of each stream, warns
// when a backlog grew, and lets the owner add and delete collectors.
func auditStreamScreen(e env) screen {
	var state vm.Collectors
	sel := -1
	alert := widget.NewLabel("")
	alert.TextStyle = fyne.TextStyle{Bold: true}
	alert.Wrapping = fyne.TextWrapWord
	alert.Hide()
	table := newTable([]column{{"Name", 140}, {"Address", 170}, {"Format", 70}, {"State", 260}, {"Last event sent", 170}, {"Backlog", 110}},
		func() int { return len(state.List) },
		func(r, c int) string {
			co := state.List[r]
			return [...]string{co.Name, co.Address, strings.ToUpper(co.Format), vm.CollectorState(co), vm.CollectorSent(co, state.At), vm.CollectorBacklog(co)}[c]
		}, func(r int) { sel = r })
	refresh := func() {
		if !e.a.Connected() {
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), Timeout)
			defer cancel()
			cs, err := e.a.LoadCollectors(ctx)
			if err != nil {
				return // the status line already says why the hub does not answer
			}
			fyne.Do(func() {
				state = *cs
				if len(state.Alerts) > 0 {
					alert.SetText("⚠ " + strings.Join(state.Alerts, "; ") + ": is the collector down, or its certificate changed?")
					alert.Show()
				} else {
					alert.Hide()
				}
				table.Refresh()
			})
		}()
	}

	name, address := widget.NewEntry(), widget.NewEntry()
	name.SetPlaceHolder("siem")
	address.SetPlaceHolder("siem.example.net:6514")
	format := widget.NewSelect([]string{"JSON", "CEF"}, nil)
	format.SetSelected("JSON")
	ca := widget.NewMultiLineEntry()
	ca.SetPlaceHolder("-----BEGIN CERTIFICATE-----\n(the CA certificate the collector's TLS certificate chains to)")
	ca.SetMinRowsVisible(4)
	add := widget.NewButton("Add collector", func() {
		f := wire.CollectorJSON
		if format.Selected == "CEF" {
			f = wire.CollectorCEF
		}
		e.run(func(ctx context.Context) error { return e.a.AddCollector(ctx, name.Text, address.Text, ca.Text, f) }, func() {
			name.SetText("")
			address.SetText("")
			ca.SetText("")
			refresh()
		})
	})
	del := widget.NewButton("Delete collector…", func() {
		if sel < 0 || sel >= len(state.List) {
			dialog.ShowInformation("Delete collector", "Select a collector first.", e.win)
			return
		}
		co := state.List[sel]
		dialog.ShowConfirm("Delete collector "+co.Name+"?", fmt.Sprintf("The hub stops streaming the audit log to %s. Its %d events not yet sent stay in the hub's log.", co.Address, co.Backlog), func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.DeleteCollector(ctx, co) }, refresh)
			}
		}, e.win)
	})
	form := widget.NewForm(widget.NewFormItem("Name", name), widget.NewFormItem("Address", address),
		widget.NewFormItem("Format", format), widget.NewFormItem("CA certificate", ca))
	owner := container.NewVBox(widget.NewLabel("Add a collector: syslog over TLS (RFC 5425), every event with its chain hashes."),
		form, container.NewHBox(add, del))
	e.only(vm.Me.IsOwner, owner)
	return screen{obj: container.NewBorder(alert, owner, nil, nil, table), refresh: refresh}
}
