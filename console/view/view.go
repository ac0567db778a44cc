// Package view draws the Console's screens as functions of the view-model in package vm.
//
// Root lays out the navigation and a content area. The sections are a table (sections.go), as Fyne's demo keeps
// its tutorials: each section's title and intro, from vm.Sections, and the View that builds its screen once, the
// first time it is shown, with a refresh function that redraws it from the view-model's latest snapshot. Calls to
// the hub run off the UI goroutine (env.run) and come back through fyne.Do; the view-model's change listener
// redraws every built screen, so what one screen changes shows on the others. Start opens the window's session
// (package session), which connects the view-model and keeps it fresh until the window closes.
//
// # Reading guide
//
//   - view.go: Root, the environment every screen gets (env: run, only), the role guards.
//   - sections.go: the table of sections.
//   - One file per section, named after it: pending.go, jit.go, techs.go, import.go, groups.go (TechGroups and
//     AgentGroups), rights.go, triplets.go, access.go, agents.go, onboarding.go, orgs.go, admins.go, seats.go,
//     policy.go, authority.go (the signed authority), audit.go, auditstream.go (the audit log's syslog collectors),
//     invite.go (with qr.go, the invite's QR code).
//   - placement.go: the approve dialog of a pending tech (where the tech belongs) and what the approval could not
//     grant.
//   - alltriplet.go: the banner while the built-in All triplet is in force.
//   - techlife.go: the Techs screen's Edit… (a move previewed), Delete… (accounts deleted or kept disabled) and
//     Device… dialogs.
//   - tombstones.go: the Techs screen's "Show deleted" list, each deleted tech with how far the deletion of its
//     accounts has come.
//   - notify.go: desktop notifications of new JIT requests, newly failed accounts, agents gone offline, new pending
//     techs and device replacements.
//   - start.go: Start (the session, the passphrase dialog); setup.go: the first start's dialog, a local hub or one
//     elsewhere; recovery.go: the recovery identity shown once, saved or copied and cleared from the clipboard.
//   - widgets.go: the shared builders — tables with headers whose cut cells show their whole text in a tooltip
//     (internal/readable; Root's content is its tooltip layer), the searchable checklist, paragraphs and headings —
//     and how times and fingerprints read. readable_test.go checks every screen's tables with the demo data.
//   - uitest/: a Fyne test app that serializes UI work as the real one does.
package view

import (
	"context"
	"slices"
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
	"github.com/watchword/watchword/internal/readable"
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
	a      *vm.App
	win    fyne.Window
	guards *[]guard
}

// guard shows an action only to the roles that may take it (vm.Me's Can… methods).
type guard struct {
	obj  fyne.CanvasObject
	need func(vm.Me) bool
}

// only hides objs (actions) from a Console whose role may not take them; Root re-checks after every refresh.
func (e env) only(need func(vm.Me) bool, objs ...fyne.CanvasObject) {
	if e.guards == nil {
		return
	}
	for _, o := range objs {
		*e.guards = append(*e.guards, guard{o, need})
	}
}

func applyGuards(me vm.Me, gs []guard) {
	for _, g := range gs {
		if g.need(me) {
			g.obj.Show()
		} else {
			g.obj.Hide()
		}
	}
}

// prefSection is the preference that holds the ID of the section last on screen.
const prefSection = "console.section"

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
	e := env{a: a, win: win, guards: &[]guard{}}
	built := map[string]screen{}
	notifyJIT(a)
	notifyFailedAccounts(a)
	notifyAgentOffline(a)
	notifyPending(a)

	// The navigation lists the sections this Console's role may use (vm.VisibleSections).
	visible := a.VisibleSections()
	nav := widget.NewList(
		func() int { return len(visible) },
		func() fyne.CanvasObject { return widget.NewLabel("Co-managed onboarding (99)") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(visible) {
				o.(*widget.Label).SetText(a.NavTitle(visible[i]))
			}
		},
	)
	nav.OnSelected = func(i widget.ListItemID) {
		if i < len(visible) {
			a.Select(visible[i].ID)
		}
	}
	selectNav := func() {
		id, _ := a.Selected.Get()
		for i, s := range visible {
			if s.ID == id {
				nav.Select(i)
			}
		}
	}

	title := heading("")
	about := paragraph("")
	body := container.NewStack()
	warning, updateWarning := allTripletWarning(a)
	show := func() {
		id, _ := a.Selected.Get()
		sec := sections[id]
		title.SetText(sec.Title)
		about.SetText(sec.Intro)
		updateWarning(id)
		sc, ok := built[id]
		if !ok {
			sc = sec.View(e)
			built[id] = sc
		}
		sc.refresh()
		applyGuards(a.Snapshot().Me, *e.guards)
		body.Objects = []fyne.CanvasObject{sc.obj}
		body.Refresh()
	}
	// The section on screen is remembered in the app's preferences (UI state, no secret) and reopened at the next
	// start, unless the command line names one (Start).
	prefs := fyne.CurrentApp().Preferences()
	a.Select(prefs.String(prefSection))
	a.Selected.AddListener(binding.NewDataListener(func() {
		show()
		selectNav()
		id, _ := a.Selected.Get()
		prefs.SetString(prefSection, id)
	}))
	role := heading("")
	authority := widget.NewLabel("")
	a.OnChange(func() {
		fyne.Do(func() {
			me := a.Snapshot().Me
			role.SetText(me.Describe())
			line, alert := a.Snapshot().AuthorityLine()
			authority.Importance = widget.MediumImportance
			if alert {
				authority.Importance = widget.DangerImportance
			}
			authority.SetText(line)
			visible = a.VisibleSections()
			id, _ := a.Selected.Get()
			if !slices.ContainsFunc(visible, func(s vm.Section) bool { return s.ID == id }) {
				a.Select(visible[0].ID) // the role may not use the section on screen
			}
			nav.Refresh()
			selectNav()
			for _, sc := range built {
				sc.refresh()
			}
			id, _ = a.Selected.Get()
			updateWarning(id)
			applyGuards(me, *e.guards)
		})
	})
	logo := canvas.NewImageFromResource(assets.ConsoleIcon)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(32))
	header := container.NewHBox(logo, heading("Watchword Console"))
	reload := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), func() {
		e.run(func(ctx context.Context) error { return a.Refresh(ctx) }, nil)
	})
	// The last outcome takes the room the rest leaves, cut with an ellipsis: a long one never widens the window.
	outcome := widget.NewLabelWithData(a.Notice)
	outcome.Truncation = fyne.TextTruncateEllipsis
	status := container.NewBorder(nil, nil, container.NewHBox(widget.NewLabelWithData(a.Hub), role, authority), reload, outcome)

	content := container.NewBorder(container.NewVBox(title, about, warning, widget.NewSeparator()), nil, nil, nil, body)
	// The navigation is as wide as its longest title and the screen takes the rest: a split between them only drew a
	// stray handle beside the list.
	navBox := container.NewHBox(container.NewBorder(header, nil, nil, nil, nav), widget.NewSeparator())
	main := container.NewBorder(nil, nil, navBox, nil, container.NewPadded(content))
	return readable.Layer(container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), status), nil, nil, main))
}
