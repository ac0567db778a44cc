package view

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/shared/secretclip"
	"github.com/watchword/watchword/techclient/vm"
)

// Preference keys (Fyne Preferences: nothing secret is stored there).
const (
	PrefClipboardSeconds = "clipboardClearSeconds"
	PrefRevealSeconds    = "revealSeconds"
	PrefLockMinutes      = "lockMinutes" // 0: never
)

// Settings reads the technician's preferences, falling back to the defaults.
func Settings(p fyne.Preferences) vm.Settings {
	d := vm.DefaultSettings()
	return vm.Settings{
		ClipboardClear: time.Duration(p.IntWithFallback(PrefClipboardSeconds, int(d.ClipboardClear/time.Second))) * time.Second,
		RevealFor:      time.Duration(p.IntWithFallback(PrefRevealSeconds, int(d.RevealFor/time.Second))) * time.Second,
		LockAfter:      time.Duration(p.IntWithFallback(PrefLockMinutes, int(d.LockAfter/time.Minute))) * time.Minute,
	}
}

// Options are the view-model options of the application app: its storage directory, clipboard, notifications
// and preferences.
func Options(app fyne.App) vm.Options {
	return vm.Options{
		Dir:       app.Storage().RootURI().Path(),
		Clipboard: secretclip.System(app.Clipboard()),
		Notify:    func(title, body string) { app.SendNotification(fyne.NewNotification(title, body)) },
		Settings:  func() vm.Settings { return Settings(app.Preferences()) },
	}
}

// Install sets up the window w of app for the view-model a: its content, the system tray menu (open, lock,
// quit) and closing to the tray where there is one.
func Install(app fyne.App, w fyne.Window, a *vm.App) {
	w.SetContent(Root(a, w))
	install(app, w, a)
}

// install is Install but for the content: the icon, the tray and what closing does.
func install(app fyne.App, w fyne.Window, a *vm.App) {
	w.SetIcon(assets.TechClientIcon)
	// Quitting closes the window (the tray's Quit, or closing it where there is no tray), while the clipboard can
	// still be reached: a password copied less than the clear delay ago leaves with the application.
	w.SetOnClosed(a.ClearClipboard)
	if desk, ok := app.(desktop.App); ok {
		show := func() { w.Show(); w.RequestFocus() }
		quit := fyne.NewMenuItem("Quit", app.Quit)
		quit.IsQuit = true
		desk.SetSystemTrayMenu(fyne.NewMenu("Watchword",
			fyne.NewMenuItem("Open Watchword", show),
			fyne.NewMenuItem("Lock", a.Lock),
			fyne.NewMenuItemSeparator(),
			quit))
		desk.SetSystemTrayIcon(assets.TechClientIcon)
		told := false
		w.SetCloseIntercept(func() {
			w.Hide()
			if !told {
				told = true
				app.SendNotification(fyne.NewNotification("Watchword keeps running",
					"It stays in the system tray to keep your passwords current. Quit from the tray menu."))
			}
		})
	}
}

// showPreferences edits the clipboard delay, the reveal delay and the idle lock.
func (u *ui) showPreferences() {
	p := fyne.CurrentApp().Preferences()
	cur := Settings(p)
	clip := choice([]int{10, 20, 30, 45, 60, 120}, int(cur.ClipboardClear/time.Second), func(n int) string { return seconds(time.Duration(n) * time.Second) })
	reveal := choice([]int{5, 10, 20, 30, 60}, int(cur.RevealFor/time.Second), func(n int) string { return seconds(time.Duration(n) * time.Second) })
	lock := choice([]int{1, 5, 10, 15, 30, 60, 0}, int(cur.LockAfter/time.Minute), func(n int) string {
		if n == 0 {
			return "Never"
		}
		return itoa(n) + " min"
	})
	items := []*widget.FormItem{
		{Text: "Clear copied password after", Widget: clip.sel, HintText: "only if the clipboard still holds it"},
		{Text: "Hide revealed password after", Widget: reveal.sel},
		{Text: "Lock when idle for", Widget: lock.sel, HintText: "locking forgets the device key until you unlock"},
	}
	d := dialog.NewForm("Preferences", "Save", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		p.SetInt(PrefClipboardSeconds, clip.value())
		p.SetInt(PrefRevealSeconds, reveal.value())
		p.SetInt(PrefLockMinutes, lock.value())
		if u.list != nil {
			u.list.detail.tick()
		}
	}, u.w)
	d.Resize(fyne.NewSize(520, 300))
	d.Show()
}

type picker struct {
	sel    *widget.Select
	values []int
	labels []string
}

func choice(values []int, current int, label func(int) string) *picker {
	p := &picker{values: values}
	found := false
	for _, v := range values {
		p.labels = append(p.labels, label(v))
		found = found || v == current
	}
	if !found {
		p.values = append(p.values, current)
		p.labels = append(p.labels, label(current))
	}
	p.sel = widget.NewSelect(p.labels, nil)
	for i, v := range p.values {
		if v == current {
			p.sel.SetSelectedIndex(i)
		}
	}
	return p
}

func (p *picker) value() int {
	if i := p.sel.SelectedIndex(); i >= 0 {
		return p.values[i]
	}
	return 0
}

// toast shows a short note at the bottom of the window for a few seconds.
func (u *ui) toast(msg string) {
	l := widget.NewLabelWithStyle(msg, fyne.TextAlignCenter, fyne.TextStyle{})
	pop := widget.NewPopUp(container.NewPadded(container.NewHBox(widget.NewIcon(theme.ConfirmIcon()), l)), u.w.Canvas())
	size := u.w.Canvas().Size()
	ms := pop.MinSize()
	pop.ShowAtPosition(fyne.NewPos((size.Width-ms.Width)/2, size.Height-ms.Height-48))
	time.AfterFunc(2500*time.Millisecond, func() { fyne.Do(pop.Hide) })
}

// shortcuts: Ctrl+F search, Ctrl+C copy the selected password, Ctrl+U copy its username, Ctrl+R reveal, Ctrl+H its
// previous passwords, Ctrl+E enable just-in-time access (the reason box; Enter sends), Ctrl+L lock.
func (u *ui) shortcuts() {
	c := u.w.Canvas()
	ctrl := fyne.KeyModifierShortcutDefault
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: ctrl}, func(fyne.Shortcut) {
		if u.list != nil && u.a.Current() == vm.StateActive {
			if u.history != nil {
				u.history.dlg.Hide() // back to the search: the previous passwords go
			}
			c.Focus(u.list.search)
			u.a.Touch()
		}
	})
	c.AddShortcut(&fyne.ShortcutCopy{}, func(fyne.Shortcut) { u.onSelected(func(d *detail) { d.copyPassword() }) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyU, Modifier: ctrl}, func(fyne.Shortcut) { u.onSelected(func(d *detail) { d.copyUsername() }) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyR, Modifier: ctrl}, func(fyne.Shortcut) { u.onSelected(func(d *detail) { d.toggleReveal() }) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyH, Modifier: ctrl}, func(fyne.Shortcut) { u.onSelected(func(d *detail) { d.showHistory() }) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyE, Modifier: ctrl}, func(fyne.Shortcut) { u.onSelected(func(d *detail) { d.jit.focus() }) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: ctrl}, func(fyne.Shortcut) { u.a.Lock() })
}

func (u *ui) onSelected(f func(*detail)) {
	if u.list != nil && u.a.Current() == vm.StateActive && u.list.detail.row != nil {
		f(u.list.detail)
	}
}

// searchEntry filters as the technician types. Shortcuts it does not use itself go to the window, so Ctrl+C
// copies the selected password unless text is selected in the box; Enter and ↓ move to the first match.
type searchEntry struct {
	widget.Entry
	u *ui
}

func newSearch(u *ui) *searchEntry {
	s := &searchEntry{u: u}
	s.ExtendBaseWidget(s)
	s.SetPlaceHolder("Search accounts  (Ctrl+F)")
	s.ActionItem = widget.NewIcon(theme.SearchIcon())
	s.OnChanged = u.a.SetFilter
	s.OnSubmitted = func(string) { s.toList() }
	return s
}

func (s *searchEntry) toList() {
	l := s.u.list
	if l == nil || len(l.rows) == 0 {
		return
	}
	l.list.Select(0)
	s.u.w.Canvas().Focus(l.list)
}

func (s *searchEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyDown {
		s.toList()
		return
	}
	if ev.Name == fyne.KeyEscape {
		s.SetText("")
		return
	}
	s.Entry.TypedKey(ev)
}

func (s *searchEntry) TypedShortcut(sc fyne.Shortcut) {
	switch sc.(type) {
	case *fyne.ShortcutCopy:
		if c, ok := s.u.w.Canvas().(fyne.Shortcutable); ok && s.SelectedText() == "" {
			c.TypedShortcut(sc)
			return
		}
	case *desktop.CustomShortcut:
		if c, ok := s.u.w.Canvas().(fyne.Shortcutable); ok {
			c.TypedShortcut(sc)
			return
		}
	}
	s.Entry.TypedShortcut(sc)
}
