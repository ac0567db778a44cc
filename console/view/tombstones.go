package view

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
)

// deletedTechs is the Techs screen's list of deleted techs, shown by its "Show deleted" check (vm/tombstones.go):
// each tombstone with how far the deletion of its accounts has come, and the selected one's accounts as their
// agents last reported them. load reads the list from the hub with the screen's filters, off the UI goroutine; the
// screen calls it on every refresh, so the progress follows the agents' reports.
func deletedTechs(e env) (obj fyne.CanvasObject, load func(vm.TechFilter)) {
	var rows []vm.DeletedTech
	var accounts []vm.TechAccount
	var sel int64
	failed := notice(widget.DangerImportance)
	failed.Hide()
	who := paragraph("")
	accTable := techAccountsTable(&accounts) // techs.go
	show := func() {
		accounts = nil
		who.SetText("Select a deleted tech to follow the deletion of their accounts.")
		for _, d := range rows {
			if d.ID == sel {
				accounts = d.Accounts
				who.SetText(fmt.Sprintf("%s (%s), deleted %s with their %s: %s.", d.DisplayName, d.Username, when(d.DeletedAt), d.Fate(), d.Progress()))
			}
		}
		accTable.Refresh()
	}
	table := newTable([]column{{"Username", 100}, {"Name", 130}, {"Organization", 110}, {"Deleted", 140}, {"Accounts", 420}},
		func() int { return len(rows) },
		func(r, c int) string {
			d := rows[r]
			return [...]string{d.Username, d.DisplayName, orDash(d.Organization), when(d.DeletedAt), d.Progress()}[c]
		}, func(r int) { sel = rows[r].ID; show() })
	gen := 0 // the newest load: an older answer arriving late is dropped
	load = func(f vm.TechFilter) {
		gen++
		mine := gen
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), Timeout)
			defer cancel()
			got, err := e.a.DeletedTechs(ctx, f)
			fyne.Do(func() {
				if mine != gen {
					return
				}
				if err != nil {
					failed.SetText(err.Error())
					failed.Show()
					return
				}
				failed.Hide()
				rows = got
				table.Refresh()
				show()
			})
		}()
	}
	detail := container.NewBorder(container.NewVBox(failed, who, heading("Accounts")), nil, nil, nil, accTable)
	split := container.NewVSplit(table, detail)
	split.Offset = 0.5
	return split, load
}
