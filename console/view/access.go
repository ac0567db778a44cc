package view

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
)

// accessScreen is the auditor's view: pick a tech to see every domain they reach, the target groups behind each
// right, whether it is standing or just-in-time, through which triplet, and the account as its agent last
// reported it (or the naming problem that keeps it from being made, with the short name that fixes it); or a
// domain to see every tech who can reach it.
func accessScreen(e env) screen {
	var grants []vm.Grant
	var shown int64 // the tech whose short name the entry holds
	byTech := true
	mode := widget.NewRadioGroup([]string{"By tech", "By domain"}, nil)
	mode.Horizontal = true
	pick := widget.NewSelect(nil, nil)
	pick.PlaceHolder = "Pick a tech"
	summary := widget.NewLabel("")
	table := newTable([]column{{"Tech", 120}, {"Domain or host", 130}, {"Account as the agent reported it", 260}, {"Target groups or Entra roles", 170},
		{"Mode", 150}, {"Rights", 100}, {"Through triplet", 300}},
		func() int { return len(grants) },
		func(r, c int) string {
			g := grants[r]
			return [...]string{vm.TechRowName(g.Tech), g.Agent.Name, g.AccountText(e.a.Now()), g.GroupsText(), g.ModeText(),
				strings.Join(g.Rights, ", "), strings.Join(g.Via, "; ")}[c]
		}, nil)
	// The selected tech's naming problems, and the short name that fixes them (signed: pinned agents check it).
	problems := notice(widget.DangerImportance)
	naming := widget.NewLabel("")
	short := widget.NewEntry()
	short.SetPlaceHolder("Short name, e.g. maxo")
	setShort := widget.NewButton("Set short name", nil)
	e.only(vm.Me.CanChange, setShort, short)
	shortRow := container.NewBorder(nil, nil, nil, setShort, container.NewBorder(nil, nil, naming, nil, short))
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
		problems.SetText("")
		shortRow.Hide()
		i := pick.SelectedIndex()
		switch {
		case i < 0:
			summary.SetText("Pick a tech or a domain.")
		case byTech && i < len(s.Techs):
			t := s.Techs[i]
			grants = e.a.AccessForTech(t.ID)
			summary.SetText(fmt.Sprintf("%s (%s) reaches %d of %d domains and hosts.", t.DisplayName, t.Status, len(grants), len(s.Agents)))
			problems.SetText(e.a.TechProblemsText(t.ID))
			naming.SetText(s.ShortNameText(t))
			if shown != t.ID {
				shown = t.ID
				short.SetText(t.ShortName)
			}
			shortRow.Show()
		case !byTech && i < len(s.Agents):
			a := s.Agents[i]
			grants = e.a.AccessForAgent(a.ID)
			summary.SetText(fmt.Sprintf("%d techs can reach %s (%s).", len(grants), a.Name, a.Driver))
		}
		if problems.Text == "" {
			problems.Hide()
		} else {
			problems.Show()
		}
		table.Refresh()
	}
	setShort.OnTapped = func() {
		s := e.a.Snapshot()
		if i := pick.SelectedIndex(); byTech && i >= 0 && i < len(s.Techs) {
			id, name := s.Techs[i].ID, short.Text
			e.run(func(ctx context.Context) error { return e.a.SetShortName(ctx, id, name) }, compute)
		}
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
	top := container.NewVBox(container.NewBorder(nil, nil, mode, nil, pick), summary, problems, shortRow)
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
