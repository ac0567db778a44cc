package view

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
)

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
