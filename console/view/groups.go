package view

import (
	"context"
	"fmt"

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
	note := paragraph("")
	// AgentGroups only: the rotate-after-use override (empty inherits the tenant's policy, 0 turns it off).
	afterUse := widget.NewEntry()
	afterUse.SetPlaceHolder("tenant policy")
	afterUseNote := paragraph("")
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
