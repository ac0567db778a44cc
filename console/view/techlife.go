package view

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// techLife is the Techs screen's Edit…, Delete… and Device… buttons for the selected tech (vm/techlife.go);
// sel reads the selected tech's ID, 0 for none. show sets the buttons for a tech (nil: none selected).
func techLife(e env, sel func() int64) (buttons []fyne.CanvasObject, show func(t *wire.Tech)) {
	edit := widget.NewButtonWithIcon("Edit…", theme.DocumentCreateIcon(), nil)
	del := widget.NewButtonWithIcon("Delete…", theme.DeleteIcon(), nil)
	del.Importance = widget.DangerImportance
	device := widget.NewButtonWithIcon("Device…", theme.ComputerIcon(), nil)
	e.only(vm.Me.CanManageTechs, edit, del)
	show = func(t *wire.Tech) {
		setEnabled(edit, t != nil)
		setEnabled(del, t != nil && t.Status == wire.TechDisabled)
		setEnabled(device, t != nil)
	}
	edit.OnTapped = func() {
		id := sel()
		t := e.a.Snapshot().Tech(id)
		if t == nil {
			return
		}
		name, email, org := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
		name.SetText(t.DisplayName)
		email.SetText(t.Email)
		org.SetText(t.Organization)
		org.SetPlaceHolder("empty: MSP staff")
		note := paragraph("")
		say := func() {
			if !e.a.Snapshot().NeedsMove(id, org.Text) {
				note.SetText("")
				return
			}
			if m, err := e.a.PreviewMove(id, org.Text); err == nil {
				note.SetText("The organization of an approved tech changes only by a move:\n\n" + m.Text(t.Username))
			}
		}
		org.OnChanged = func(string) { say() }
		form := widget.NewForm(widget.NewFormItem("Display name", name), widget.NewFormItem("Email", email), widget.NewFormItem("Organization", org))
		d := dialog.NewCustomConfirm("Edit "+t.Username, "Save", "Cancel", container.NewVBox(form, note), func(ok bool) {
			if ok {
				n, m, o := name.Text, email.Text, org.Text
				e.run(func(ctx context.Context) error { return e.a.EditTech(ctx, id, n, m, o) }, nil)
			}
		}, e.win)
		d.Resize(fyne.NewSize(640, 460))
		d.Show()
	}
	del.OnTapped = func() {
		id := sel()
		choice := widget.NewRadioGroup([]string{deleteAccounts, keepAccounts}, nil)
		choice.SetSelected(keepAccounts)
		d := dialog.NewCustomConfirm("Delete tech", "Delete", "Cancel", container.NewVBox(paragraph(e.a.DeleteWarning(id)), choice), func(ok bool) {
			if ok {
				withAccounts := choice.Selected == deleteAccounts
				e.run(func(ctx context.Context) error { return e.a.DeleteTech(ctx, id, withAccounts) }, nil)
			}
		}, e.win)
		d.Resize(fyne.NewSize(600, 340))
		d.Show()
	}
	device.OnTapped = func() {
		id := sel()
		t := e.a.Snapshot().Tech(id)
		if t == nil {
			return
		}
		e.run(func(ctx context.Context) error {
			dev, err := e.a.TechDevice(ctx, id)
			if err != nil {
				return err
			}
			fyne.Do(func() {
				d := dialog.NewCustom("Device of "+t.Username, "Close", container.NewVScroll(paragraph(vm.DeviceText(dev))), e.win)
				d.Resize(fyne.NewSize(640, 360))
				d.Show()
			})
			return nil
		}, nil)
	}
	return []fyne.CanvasObject{edit, del, device}, show
}

const (
	deleteAccounts = "Delete their accounts from the domains and hosts"
	keepAccounts   = "Keep their accounts there, disabled"
)
