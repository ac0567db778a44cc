// Package view draws the TechClient's screens as functions of the view-model in package vm.
//
// Views hold no state of their own: labels are bound to vm bindings, lists read vm.App.Visible, and every
// action calls a vm method, so a change made by the view-model (from any goroutine, through fyne's bindings)
// shows without the view knowing why. The one exception is a revealed password: its text lives only in the
// label that shows it, and goes when vm.App.Revealed moves off that account.
//
// Screens, by vm state:
//
//	unregistered  firstRun: invite (or hub URL, client GUID, hub fingerprint), who the tech is, passphrase if needed
//	pending       pending: "Waiting for approval" and the fingerprint to read to the admin
//	active        accounts: search, list, detail with reveal and copy, "rotates at … after use", the previous
//	              passwords dialog, just-in-time access, offline banner
//	locked        locked: unlock with the keyring or the passphrase
//	rejected, disabled  ended: what happened and how to start over
//	enrol, code   two-factor: the authenticator's QR code and key, or a code to open a session
//	locked-out    the hub locked the tech out: ask the MSP to unlock
//	replacing     waiting to replace the previous device: both fingerprints
//
// # Reading guide
//
//   - view.go: Root and the screen of each state, the parts every centred screen is made of (page, heading,
//     paragraph, errorLabel, spinner, fingerprintLabel, startOver), and the starting and ended screens.
//   - setup.go: the first-run form, the pending and locked screens, and Start over.
//   - accounts.go: the active screen: the list of accounts, its rows (a cut host or account shows whole in a
//     tooltip, the icon's tooltip names the target's kind; Root's content is the tooltip layer, internal/readable),
//     the detail pane with reveal and copy, and the offline banner the other screens show too.
//   - jit.go: the detail pane's just-in-time panel: request a window with a reason, end it, its badge in the list —
//     a just-in-time account's one clock (no scheduled countdown beside it).
//   - history.go: the previous passwords dialog, each version opened only while shown.
//   - twofactor.go: the enrol, code, locked-out and replacing screens, and the QR code.
//   - desktop.go: what the application adds around the window: Options and Settings from fyne's preferences, the
//     Preferences dialog, keyboard shortcuts, toasts and the search field's keys.
//
// The tests drive these screens with fyne's test driver against the real in-process hub; testdata holds the widget
// trees of the first-run, pending and accounts screens they compare with (and, under failed, what differed);
// readable_test.go checks that no text of the account list is cut without a way to read it.
package view

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/internal/readable"
	"github.com/watchword/watchword/techclient/vm"
)

// Title is the TechClient's window title.
const Title = "Watchword TechClient"

// Root returns the content of the TechClient's main window for the view-model a: the screen of the current
// state, swapped whenever the state changes. w receives the keyboard shortcuts and hosts dialogs.
func Root(a *vm.App, w fyne.Window) fyne.CanvasObject {
	_, root := build(a, w)
	return root
}

func build(a *vm.App, w fyne.Window) (*ui, fyne.CanvasObject) {
	u := &ui{a: a, w: w, screens: map[string]fyne.CanvasObject{}}
	stack := container.NewStack()
	u.stack = stack
	a.State.AddListener(binding.NewDataListener(func() {
		s, _ := a.State.Get()
		u.show(s)
	}))
	u.shortcuts()
	// The activity layer under everything counts pointer movement as use, for the idle lock.
	act := &activity{a: a}
	act.ExtendBaseWidget(act)
	// The tooltip layer over everything draws the tooltips of cut row texts and row icons (internal/readable).
	return u, readable.Layer(container.NewStack(act, stack))
}

// ui is the window's widgets; it keeps no state a technician could see that the view-model does not hold.
type ui struct {
	a       *vm.App
	w       fyne.Window
	stack   *fyne.Container
	screens map[string]fyne.CanvasObject
	current string
	list    *accountList // the active screen's list, once built
	history *historyView // the open "Previous passwords" dialog, if any
	form    *setupForm   // the first-run form, once built
	// unlockPass is the lock screen's passphrase entry, once built.
	unlockPass *widget.Entry
	// enrolCode and sessionCode are the code entries of the enrol and code screens, once built.
	enrolCode, sessionCode *codeForm
	// enrolQR is the enrol screen's QR code, once built.
	enrolQR *canvas.Image
}

// screenOf builds each state's screen, once; a state not named here shows the starting screen.
var screenOf = map[string]func(*ui) fyne.CanvasObject{
	vm.StateUnregistered: firstRun,
	vm.StatePending:      pending,
	vm.StateActive:       accounts,
	vm.StateLocked:       locked,
	vm.StateRejected:     ended,
	vm.StateDisabled:     ended,
	vm.StateEnrol:        enrolScreen,
	vm.StateCode:         codeScreen,
	vm.StateLockedOut:    lockedOutScreen,
	vm.StateReplacing:    replacingScreen,
}

func (u *ui) show(state string) {
	if state == u.current {
		return
	}
	u.current = state
	if u.history != nil && state != vm.StateActive {
		u.history.dlg.Hide() // locked or lost access: the previous passwords go too
	}
	scr, ok := u.screens[state]
	if !ok {
		build, ok := screenOf[state]
		if !ok {
			build = starting
		}
		scr = build(u)
		u.screens[state] = scr
	}
	u.stack.Objects = []fyne.CanvasObject{scr}
	u.stack.Refresh()
	switch {
	case state == vm.StateActive && u.list != nil:
		u.w.Canvas().Focus(u.list.search)
	case state == vm.StateUnregistered && u.form != nil:
		u.w.Canvas().Focus(u.form.invite)
	case state == vm.StateLocked && u.unlockPass != nil && u.unlockPass.Visible():
		u.w.Canvas().Focus(u.unlockPass)
	case state == vm.StateEnrol && u.enrolCode != nil:
		u.w.Canvas().Focus(u.enrolCode.entry)
	case state == vm.StateCode && u.sessionCode != nil:
		u.w.Canvas().Focus(u.sessionCode.entry)
	}
}

// logo returns the app icon at size s.
func logo(s float32) *canvas.Image {
	img := canvas.NewImageFromResource(assets.TechClientIcon)
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSquareSize(s))
	return img
}

// heading is a large bold label.
func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameHeadingText
	return l
}

// paragraph is a wrapping label.
func paragraph(text string, align fyne.TextAlign) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	l.Alignment = align
	return l
}

// boundParagraph is a wrapping label bound to s.
func boundParagraph(s binding.String, align fyne.TextAlign) *widget.Label {
	l := widget.NewLabelWithData(s)
	l.Wrapping = fyne.TextWrapWord
	l.Alignment = align
	return l
}

// errorLabel shows the view-model's Error in the theme's error colour, hidden when empty.
func errorLabel(a *vm.App) *widget.Label {
	l := boundParagraph(a.Error, fyne.TextAlignLeading)
	l.Importance = widget.DangerImportance
	a.Error.AddListener(binding.NewDataListener(func() {
		if s, _ := a.Error.Get(); s == "" {
			l.Hide()
		} else {
			l.Show()
		}
	}))
	return l
}

// centred places a column of fixed width in the middle of the window, scrolling when the window is short.
func centred(width float32, objs ...fyne.CanvasObject) fyne.CanvasObject {
	col := container.NewVBox(objs...)
	box := container.New(&fixedWidth{w: width}, col)
	return container.NewVScroll(container.NewVBox(layout.NewSpacer(), container.NewCenter(box), layout.NewSpacer()))
}

// fixedWidth lays out its single child at a fixed width (or the space there is, when less).
type fixedWidth struct{ w float32 }

func (f *fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	ms := objs[0].MinSize()
	return fyne.NewSize(max(f.w, ms.Width), ms.Height)
}

func (f *fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	objs[0].Resize(size)
	objs[0].Move(fyne.NewPos(0, 0))
}

// page is a centred screen of width: a mark (the logo, or an icon) over the title and the line bound to what the
// screen is about (the registration, or the headline), then the screen's own parts.
func page(width float32, mark fyne.CanvasObject, title string, line binding.String, rest ...fyne.CanvasObject) fyne.CanvasObject {
	head := []fyne.CanvasObject{container.NewCenter(mark), heading(title), boundParagraph(line, fyne.TextAlignCenter)}
	return centred(width, append(head, rest...)...)
}

// spinner is a running activity indicator, centred: the screen waits for the hub.
func spinner() fyne.CanvasObject {
	act := widget.NewActivity()
	act.Start()
	return container.NewCenter(act)
}

// fingerprintLabel shows a device fingerprint in lines of groups, centred and monospaced, for reading aloud.
func fingerprintLabel() *widget.Label {
	l := widget.NewLabel("")
	l.TextStyle = fyne.TextStyle{Monospace: true}
	l.Alignment = fyne.TextAlignCenter
	return l
}

// startOver is the button that forgets this device's registration, after asking.
func (u *ui) startOver() fyne.CanvasObject {
	return container.NewCenter(widget.NewButtonWithIcon("Start over", theme.ViewRefreshIcon(), u.confirmForget))
}

func starting(u *ui) fyne.CanvasObject {
	return page(360, logo(96), "Watchword", u.a.Headline, spinner())
}

// ended is the screen of a rejected or deactivated device.
func ended(u *ui) fyne.CanvasObject {
	a := u.a
	note := paragraph("", fyne.TextAlignCenter)
	a.State.AddListener(binding.NewDataListener(func() {
		switch a.Current() {
		case vm.StateRejected:
			note.SetText("Your MSP declined this registration. If that was a mistake, ask them to approve it: this screen changes by itself. Or start over with another username.")
		case vm.StateDisabled:
			note.SetText("Your MSP has deactivated your access: your accounts were removed from this device. If it is re-enabled, they come back by themselves.")
		}
	}))
	return page(460, logo(96), "Watchword", a.Headline, note, boundParagraph(a.Account, fyne.TextAlignCenter), u.startOver())
}
