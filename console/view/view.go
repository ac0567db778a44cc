// Package view draws the Console's screens as functions of the view-model in package vm.
package view

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/console/vm"
)

// Title is the Console's window title.
const Title = "Watchword Console"

// Root returns the content of the Console's main window: navigation on the left, the selected section on the
// right, the hub connection at the bottom.
func Root(a *vm.App) fyne.CanvasObject {
	nav := widget.NewList(
		func() int { return len(vm.Sections) },
		func() fyne.CanvasObject { return widget.NewLabel("Effective access") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(vm.Sections[i].Title) },
	)
	nav.OnSelected = func(i widget.ListItemID) { a.Select(vm.Sections[i].ID) }
	nav.Select(0)

	title := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	about := widget.NewLabel("")
	about.Wrapping = fyne.TextWrapWord
	a.Selected.AddListener(binding.NewDataListener(func() {
		id, _ := a.Selected.Get()
		s, _ := a.Section(id)
		title.SetText(s.Title)
		about.SetText(s.About)
	}))

	logo := canvas.NewImageFromResource(assets.ConsoleIcon)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(32))
	header := container.NewHBox(logo, widget.NewLabelWithStyle("Watchword Console", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	status := widget.NewLabelWithData(a.Hub)

	content := container.NewBorder(title, nil, nil, nil, container.NewVBox(about))
	split := container.NewHSplit(container.NewBorder(header, nil, nil, nil, nav), container.NewPadded(content))
	split.Offset = 0.28
	return container.NewBorder(nil, status, nil, nil, split)
}
