package view

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
)

// accessScreen is the auditor's view: pick a tech to see every domain and right they get and through which
// triplet, or a domain to see every tech who can reach it.
func accessScreen(e env) screen {
	var grants []vm.Grant
	byTech := true
	mode := widget.NewRadioGroup([]string{"By tech", "By domain"}, nil)
	mode.Horizontal = true
	pick := widget.NewSelect(nil, nil)
	pick.PlaceHolder = "Pick a tech"
	summary := widget.NewLabel("")
	table := newTable([]column{{"Tech", 120}, {"Domain or host", 150}, {"Account", 140}, {"Rights", 160}, {"Through triplet", 340}},
		func() int { return len(grants) },
		func(r, c int) string {
			g := grants[r]
			return [...]string{g.Tech.Username, g.Agent.Name, accountName(e.a, g), strings.Join(g.Rights, ", "), strings.Join(g.Via, "; ")}[c]
		}, nil)
	options := func() {
		s := e.a.Snapshot()
		pick.Options = nil
		if byTech {
			for _, t := range s.Techs {
				pick.Options = append(pick.Options, fmt.Sprintf("%s (%s)", t.Username, t.Status))
			}
		} else {
			for _, a := range s.Agents {
				pick.Options = append(pick.Options, a.Name)
			}
		}
		pick.Refresh()
	}
	compute := func() {
		s := e.a.Snapshot()
		grants = nil
		i := pick.SelectedIndex()
		switch {
		case i < 0:
			summary.SetText("Pick a tech or a domain.")
		case byTech && i < len(s.Techs):
			t := s.Techs[i]
			grants = e.a.AccessForTech(t.ID)
			summary.SetText(fmt.Sprintf("%s (%s) reaches %d of %d domains and hosts.", t.DisplayName, t.Status, len(grants), len(s.Agents)))
		case !byTech && i < len(s.Agents):
			a := s.Agents[i]
			grants = e.a.AccessForAgent(a.ID)
			summary.SetText(fmt.Sprintf("%d techs can reach %s (%s).", len(grants), a.Name, a.Driver))
		}
		table.Refresh()
	}
	mode.OnChanged = func(s string) {
		byTech = s != "By domain"
		pick.ClearSelected()
		pick.PlaceHolder = map[bool]string{true: "Pick a tech", false: "Pick a domain or host"}[byTech]
		options()
		compute()
	}
	pick.OnChanged = func(string) { compute() }
	mode.SetSelected("By tech")
	top := container.NewVBox(container.NewBorder(nil, nil, mode, nil, pick), summary)
	return screen{
		obj: container.NewBorder(top, nil, nil, nil, table),
		refresh: func() {
			i := pick.SelectedIndex()
			options()
			if i < 0 && len(pick.Options) > 0 {
				i = 0
			}
			if i >= 0 && i < len(pick.Options) {
				pick.SetSelectedIndex(i)
			}
			compute()
		},
	}
}
