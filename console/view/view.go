// Package view draws the Console's screens as functions of the view-model in package vm.
//
// Root lays out the navigation and a content area; each section is a screen built once, the first time it is
// shown, with a refresh function that redraws it from the view-model's latest snapshot. Calls to the hub run off
// the UI goroutine (run) and come back through fyne.Do; the view-model's change listener redraws every built
// screen, so what one screen changes shows on the others.
package view

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/console/vm"
)

// Title is the Console's window title.
const Title = "Watchword Console"

// screen is one section on screen: its content and how to redraw it from the view-model.
type screen struct {
	obj     fyne.CanvasObject
	refresh func()
}

// env is what every screen builder gets.
type env struct {
	a   *vm.App
	win fyne.Window
}

var builders = map[string]func(env) screen{
	"pending":     pendingScreen,
	"techs":       techsScreen,
	"techgroups":  func(e env) screen { return groupsScreen(e, false) },
	"agentgroups": func(e env) screen { return groupsScreen(e, true) },
	"rights":      rightsScreen,
	"triplets":    tripletsScreen,
	"access":      accessScreen,
	"agents":      agentsScreen,
	"onboarding":  onboardingScreen,
	"orgs":        orgsScreen,
	"admins":      adminsScreen,
	"seats":       seatsScreen,
	"policy":      policyScreen,
	"audit":       auditScreen,
	"invite":      inviteScreen,
}

// Timeout bounds every call the Console makes to its hub.
var Timeout = 30 * time.Second

// run calls fn off the UI goroutine; an error shows in a dialog, then done (if any) runs on the UI goroutine.
func (e env) run(fn func(ctx context.Context) error, done func()) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		err := fn(ctx)
		fyne.Do(func() {
			if err != nil {
				dialog.ShowError(err, e.win)
				return
			}
			if done != nil {
				done()
			}
		})
	}()
}

// Root returns the content of the Console's main window: navigation on the left, the selected section on the
// right, the hub connection and the last outcome at the bottom.
func Root(a *vm.App, win fyne.Window) fyne.CanvasObject {
	e := env{a: a, win: win}
	built := map[string]screen{}

	nav := widget.NewList(
		func() int { return len(vm.Sections) },
		func() fyne.CanvasObject { return widget.NewLabel("Co-managed onboarding (99)") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(a.NavTitle(vm.Sections[i])) },
	)
	nav.OnSelected = func(i widget.ListItemID) { a.Select(vm.Sections[i].ID) }

	title := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	about := widget.NewLabel("")
	about.Wrapping = fyne.TextWrapWord
	body := container.NewStack()
	show := func() {
		id, _ := a.Selected.Get()
		s, _ := a.Section(id)
		title.SetText(s.Title)
		about.SetText(s.About)
		sc, ok := built[id]
		if !ok {
			sc = builders[id](e)
			built[id] = sc
		}
		sc.refresh()
		body.Objects = []fyne.CanvasObject{sc.obj}
		body.Refresh()
	}
	a.Selected.AddListener(binding.NewDataListener(func() {
		show()
		id, _ := a.Selected.Get()
		for i, s := range vm.Sections {
			if s.ID == id {
				nav.Select(i)
			}
		}
	}))
	a.OnChange(func() {
		fyne.Do(func() {
			nav.Refresh()
			for _, sc := range built {
				sc.refresh()
			}
		})
	})
	logo := canvas.NewImageFromResource(assets.ConsoleIcon)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(32))
	header := container.NewHBox(logo, widget.NewLabelWithStyle("Watchword Console", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	reload := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), func() {
		e.run(func(ctx context.Context) error { return a.Refresh(ctx) }, nil)
	})
	status := container.NewBorder(nil, nil, widget.NewLabelWithData(a.Hub), reload, widget.NewLabelWithData(a.Notice))

	content := container.NewBorder(container.NewVBox(title, about, widget.NewSeparator()), nil, nil, nil, body)
	split := container.NewHSplit(container.NewBorder(header, nil, nil, nil, nav), container.NewPadded(content))
	split.Offset = 0.2
	return container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), status), nil, nil, split)
}
