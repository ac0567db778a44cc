package view

import (
	"context"
	"fmt"
	"strconv"
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

// groupsScreen edits TechGroups (agents false) or AgentGroups: a list on the left, the selected group's name and
// members (multi-select with search) on the right.
func groupsScreen(e env, agents bool) screen {
	kind := "TechGroup"
	if agents {
		kind = "AgentGroup"
	}
	groups := func() []wire.Group {
		if agents {
			return e.a.Snapshot().AgentGroups
		}
		return e.a.Snapshot().TechGroups
	}
	var sel int64 // 0: a new group
	list := widget.NewList(
		func() int { return len(groups()) },
		func() fyne.CanvasObject { return widget.NewLabel("Contoso Ltd co-managed techs (12)") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			g := groups()[i]
			n := fmt.Sprintf("%d members", len(g.Members))
			if g.Builtin && g.Name == wire.AllTechs {
				n = "every active tech"
			}
			label := fmt.Sprintf("%s  (%s)", g.Name, n)
			if g.Builtin {
				label += "  · built-in"
			}
			o.(*widget.Label).SetText(label)
		})
	name := widget.NewEntry()
	name.SetPlaceHolder(kind + " name")
	members := newChecklist("Search members")
	note := widget.NewLabel("")
	note.Wrapping = fyne.TextWrapWord
	// AgentGroups only: the rotate-after-use override (empty inherits the tenant's policy, 0 turns it off).
	afterUse := widget.NewEntry()
	afterUse.SetPlaceHolder("tenant policy")
	afterUseNote := widget.NewLabel("")
	afterUseNote.Wrapping = fyne.TextWrapWord
	afterUseBox := container.NewVBox(
		container.NewBorder(nil, nil, widget.NewLabel("Rotate after use (hours; empty: tenant policy, 0: off)"), nil, afterUse),
		afterUseNote)
	if !agents {
		afterUseBox.Hide()
	}
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), nil)
	save.Importance = widget.HighImportance
	del := widget.NewButtonWithIcon("Delete…", theme.DeleteIcon(), nil)
	newBtn := widget.NewButtonWithIcon("New "+kind, theme.ContentAddIcon(), nil)
	e.only(vm.Me.CanChange, save, del, newBtn)

	items := func() []item {
		s := e.a.Snapshot()
		var out []item
		if agents {
			for _, a := range s.Agents {
				out = append(out, item{a.ID, fmt.Sprintf("%s  (%s)", a.Name, a.Driver)})
			}
		} else {
			for _, t := range s.Techs {
				org := "MSP"
				if t.Organization != "" {
					org = t.Organization
				}
				out = append(out, item{t.ID, fmt.Sprintf("%s — %s, %s, %s", t.Username, t.DisplayName, org, t.Status)})
			}
		}
		return out
	}
	show := func() {
		g := e.a.Snapshot().Group(agents, sel)
		afterUse.SetText(vm.AfterUseOverride(g))
		afterUseNote.SetText(vm.DescribeAfterUse(g, e.a.Snapshot().Tenant.Policy))
		if g == nil {
			sel = 0
			name.SetText("")
			name.Enable()
			members.set(items(), nil)
			note.SetText("A new " + kind + ": name it, tick its members, save.")
			del.Disable()
			return
		}
		name.SetText(g.Name)
		members.set(items(), g.Members)
		setEnabled(del, !g.Builtin)
		note.SetText("")
		if g.Builtin {
			name.Disable()
			switch g.Name {
			case wire.AllTechs:
				note.SetText("Built-in: AllTechs holds every active tech implicitly; its members cannot be edited.")
			case wire.AllDomains:
				note.SetText("Built-in: every newly enrolled agent joins AllDomains. It cannot be renamed or deleted.")
			}
		} else {
			name.Enable()
		}
	}
	list.OnSelected = func(i widget.ListItemID) { sel = groups()[i].ID; show() }
	newBtn.OnTapped = func() { sel = 0; list.UnselectAll(); show() }
	save.OnTapped = func() {
		id, n, m := sel, name.Text, members.ids()
		if !agents {
			e.run(func(ctx context.Context) error { return e.a.SaveGroup(ctx, agents, id, n, m) }, nil)
			return
		}
		over, err := vm.ParseAfterUseOverride(afterUse.Text)
		if err != nil {
			dialog.ShowError(err, e.win)
			return
		}
		e.run(func(ctx context.Context) error { return e.a.SaveAgentGroup(ctx, id, n, m, over) }, nil)
	}
	del.OnTapped = func() {
		id := sel
		g := e.a.Snapshot().Group(agents, id)
		dialog.ShowConfirm("Delete "+kind, fmt.Sprintf("Delete %s %q and every triplet that uses it? Access granted only through them ends at the agents' next sync.", kind, g.Name), func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.DeleteGroup(ctx, agents, id) }, func() { sel = 0; list.UnselectAll(); show() })
			}
		}, e.win)
	}
	right := container.NewBorder(container.NewVBox(name, note), container.NewVBox(afterUseBox, container.NewHBox(save, del)), nil, nil, members.obj)
	split := container.NewHSplit(container.NewBorder(nil, newBtn, nil, nil, list), right)
	split.Offset = 0.4
	first := true
	return screen{obj: split, refresh: func() {
		list.Refresh()
		if first && len(groups()) > 0 {
			first = false
			list.Select(len(groups()) - 1) // the newest group, usually the one being worked on
			return
		}
		show()
	}}
}

// rightsScreen edits rights: a name and, per driver kind, the target groups it stands for.
func rightsScreen(e env) screen {
	rights := func() []wire.Right { return e.a.Snapshot().Rights }
	var sel int64
	list := widget.NewList(
		func() int { return len(rights()) },
		func() fyne.CanvasObject { return widget.NewLabel("Backup operators · built-in") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			r := rights()[i]
			l := r.Name
			if r.Builtin {
				l += "  · built-in"
			}
			o.(*widget.Label).SetText(l)
		})
	name := widget.NewEntry()
	name.SetPlaceHolder("Right name")
	targets := widget.NewMultiLineEntry()
	targets.SetPlaceHolder("ad: Domain Admins\nlinux: sudo")
	targets.SetMinRowsVisible(5)
	help := widget.NewLabel("One line per kind of target (ad, linux, ldap): the groups the account joins there. A group missing on a target is skipped and reported, never created.")
	help.Wrapping = fyne.TextWrapWord
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), nil)
	save.Importance = widget.HighImportance
	del := widget.NewButtonWithIcon("Delete…", theme.DeleteIcon(), nil)
	newBtn := widget.NewButtonWithIcon("New right", theme.ContentAddIcon(), nil)
	e.only(vm.Me.CanChange, save, del, newBtn)
	show := func() {
		r := e.a.Snapshot().Right(sel)
		if r == nil {
			sel = 0
			name.SetText("")
			name.Enable()
			targets.SetText("")
			del.Disable()
			return
		}
		name.SetText(r.Name)
		targets.SetText(vm.FormatTargets(r.Targets))
		setEnabled(del, !r.Builtin)
		if r.Builtin {
			name.Disable()
		} else {
			name.Enable()
		}
	}
	list.OnSelected = func(i widget.ListItemID) { sel = rights()[i].ID; show() }
	newBtn.OnTapped = func() { sel = 0; list.UnselectAll(); show() }
	save.OnTapped = func() {
		id, n, t := sel, name.Text, targets.Text
		e.run(func(ctx context.Context) error { return e.a.SaveRight(ctx, id, n, t) }, nil)
	}
	del.OnTapped = func() {
		id := sel
		dialog.ShowConfirm("Delete right", fmt.Sprintf("Delete the right %q and every triplet granting it?", e.a.Snapshot().RightName(id)), func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.DeleteRight(ctx, id) }, func() { sel = 0; list.UnselectAll(); show() })
			}
		}, e.win)
	}
	form := container.NewVBox(widget.NewLabel("Name"), name, widget.NewLabel("Target groups"), targets, help, container.NewHBox(save, del))
	split := container.NewHSplit(container.NewBorder(nil, newBtn, nil, nil, list), form)
	split.Offset = 0.35
	return screen{obj: split, refresh: func() { list.Refresh(); show() }}
}

// tripletsScreen lists triplets with their mode, adds one from three pickers (standing or just-in-time, with a
// maximum window and an approval switch), changes the mode of the selected one, and deletes one after saying what
// access goes.
func tripletsScreen(e env) screen {
	var rows []wire.Triplet
	sel := -1
	mode := widget.NewRadioGroup([]string{"Standing", "Just-in-time"}, nil)
	mode.Horizontal = true
	maxHours := widget.NewEntry()
	maxHours.SetPlaceHolder("max hours (default " + vm.FormatDuration(int64(wire.DefaultJITDuration/time.Second)) + ")")
	approval := widget.NewCheck("Approval required", nil)
	jitOnly := func() {
		if mode.Selected == "Just-in-time" {
			maxHours.Enable()
			approval.Enable()
		} else {
			maxHours.Disable()
			approval.Disable()
		}
	}
	mode.OnChanged = func(string) { jitOnly() }
	mode.SetSelected("Standing")
	readMode := func() (vm.TripletMode, bool) {
		m, err := vm.ParseMode(mode.Selected == "Just-in-time", maxHours.Text, approval.Checked)
		if err != nil {
			dialog.ShowError(err, e.win)
			return m, false
		}
		return m, true
	}
	table := newTable([]column{{"TechGroup", 200}, {"AgentGroup", 170}, {"Right", 130}, {"Mode", 210}, {"", 220}},
		func() int { return len(rows) },
		func(r, c int) string {
			s := e.a.Snapshot()
			t := rows[r]
			note := ""
			if t.Builtin {
				note = "built-in All triplet: everyone, everywhere"
			}
			return [...]string{s.GroupName(false, t.TechGroupID), s.GroupName(true, t.AgentGroupID), s.RightName(t.RightID), vm.ModeOf(t).String(), note}[c]
		}, func(r int) {
			sel = r
			m := vm.ModeOf(rows[r])
			if m.JIT {
				mode.SetSelected("Just-in-time")
				maxHours.SetText(strconv.FormatFloat(m.Max.Hours(), 'f', -1, 64))
			} else {
				mode.SetSelected("Standing")
				maxHours.SetText("")
			}
			approval.SetChecked(m.Approval)
		})
	tg, ag, rt := widget.NewSelect(nil, nil), widget.NewSelect(nil, nil), widget.NewSelect(nil, nil)
	tg.PlaceHolder, ag.PlaceHolder, rt.PlaceHolder = "TechGroup", "AgentGroup", "Right"
	add := widget.NewButtonWithIcon("Add triplet", theme.ContentAddIcon(), func() {
		s := e.a.Snapshot()
		t, a, r := byName(s.TechGroups, tg.Selected), byName(s.AgentGroups, ag.Selected), rightByName(s.Rights, rt.Selected)
		if t == 0 || a == 0 || r == 0 {
			dialog.ShowInformation("Add triplet", "Pick a TechGroup, an AgentGroup and a Right.", e.win)
			return
		}
		m, ok := readMode()
		if !ok {
			return
		}
		e.run(func(ctx context.Context) error { return e.a.AddTripletMode(ctx, t, a, r, m) }, nil)
	})
	setMode := widget.NewButtonWithIcon("Set mode of selected…", theme.DocumentSaveIcon(), func() {
		if sel < 0 || sel >= len(rows) {
			dialog.ShowInformation("Triplet mode", "Select a triplet first.", e.win)
			return
		}
		m, ok := readMode()
		if !ok {
			return
		}
		t := rows[sel]
		msg := fmt.Sprintf("Make %s %s?", e.a.Snapshot().TripletLabel(t), m)
		if m.JIT {
			msg += "\n\nAccounts that no standing triplet grants are disabled at each agent's next sync, and their passwords sealed away from the techs; techs then enable them for a window from their TechClient."
		}
		dialog.ShowConfirm("Triplet mode", msg, func(yes bool) {
			if yes {
				e.run(func(ctx context.Context) error { return e.a.SetTripletMode(ctx, t.ID, m) }, nil)
			}
		}, e.win)
	})
	del := widget.NewButtonWithIcon("Delete selected…", theme.DeleteIcon(), func() {
		if sel < 0 || sel >= len(rows) {
			dialog.ShowInformation("Delete triplet", "Select a triplet first.", e.win)
			return
		}
		id := rows[sel].ID
		warning, changes := e.a.TripletImpact(id)
		var lines []string
		for i, c := range changes {
			if i == 12 {
				lines = append(lines, fmt.Sprintf("… and %d more", len(changes)-12))
				break
			}
			lines = append(lines, c.String())
		}
		if len(lines) == 0 {
			lines = []string{"No effective access changes: other triplets grant the same."}
		}
		body := container.NewVBox(widget.NewLabel(warning), monospace(strings.Join(lines, "\n")))
		dialog.ShowCustomConfirm("Delete triplet", "Delete", "Cancel", body, func(ok bool) {
			if ok {
				e.run(func(ctx context.Context) error { return e.a.DeleteTriplet(ctx, id) }, func() { sel = -1; table.UnselectAll() })
			}
		}, e.win)
	})
	e.only(vm.Me.CanChange, add, del, setMode)
	del.Importance = widget.DangerImportance
	bar := container.NewVBox(
		container.NewHBox(tg, widget.NewLabel("×"), ag, widget.NewLabel("×"), rt, add, del),
		container.NewBorder(nil, nil, container.NewHBox(widget.NewLabel("Mode"), mode), container.NewHBox(approval, setMode), maxHours))
	return screen{
		obj: container.NewBorder(bar, nil, nil, nil, table),
		refresh: func() {
			s := e.a.Snapshot()
			rows = s.Triplets
			tg.Options, ag.Options, rt.Options = names(s.TechGroups), names(s.AgentGroups), nil
			for _, r := range s.Rights {
				rt.Options = append(rt.Options, r.Name)
			}
			table.Refresh()
		},
	}
}

func names(gs []wire.Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func byName(gs []wire.Group, name string) int64 {
	for _, g := range gs {
		if g.Name == name {
			return g.ID
		}
	}
	return 0
}

func rightByName(rs []wire.Right, name string) int64 {
	for _, r := range rs {
		if r.Name == name {
			return r.ID
		}
	}
	return 0
}

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
