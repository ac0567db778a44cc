package view

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

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
