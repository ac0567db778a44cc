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
	targets.SetPlaceHolder("ad: Domain Admins\nlinux: sudo\nentra: User Administrator, Exchange Administrator")
	targets.SetMinRowsVisible(5)
	help := paragraph("One line per kind of target (ad, linux, ldap, entra): the groups the account joins there; on entra (Microsoft Entra ID), the directory roles it is assigned by display name, or role-assignable groups. A group or role missing on a target is skipped and reported, never created.")
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
	form := container.NewVBox(widget.NewLabel("Name"), name, widget.NewLabel("Target groups (AD, Linux, LDAP) and Entra roles"), targets, help, container.NewHBox(save, del))
	split := container.NewHSplit(container.NewBorder(nil, newBtn, nil, nil, list), form)
	split.Offset = 0.35
	return screen{obj: split, refresh: func() { list.Refresh(); show() }}
}
