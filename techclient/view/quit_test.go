package view

import (
	"context"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/techclient/vm"
)

// trayApp is a test app with a system tray, whose Quit does what Fyne's does: close every window it opened, then
// stop. (The harness's own window is closed by the test's clean-up; Fyne's test driver cannot close one twice.)
type trayApp struct {
	fyne.App
	menu    *fyne.Menu
	windows []fyne.Window
	quit    bool
}

func (a *trayApp) NewWindow(title string) fyne.Window {
	w := a.App.NewWindow(title)
	a.windows = append(a.windows, w)
	return w
}

var _ desktop.App = (*trayApp)(nil)

func (a *trayApp) SetSystemTrayMenu(m *fyne.Menu)  { a.menu = m }
func (a *trayApp) SetSystemTrayIcon(fyne.Resource) {}
func (a *trayApp) SetSystemTrayWindow(fyne.Window) {}

func (a *trayApp) Quit() {
	for _, w := range a.windows {
		w.Close()
	}
	a.quit = true
}

// copiedOnQuit brings a device with one account to the accounts screen, with a clear delay longer than the test,
// and copies the account's password.
func copiedOnQuit(t *testing.T, ctx context.Context) *harness {
	t.Helper()
	set := vm.DefaultSettings()
	set.ClipboardClear = time.Hour
	h := newHarness(t, vm.Options{Settings: func() vm.Settings { return set }, Wait: 2 * time.Second,
		Retry: 50 * time.Millisecond})
	activeOnHub(t, ctx, h, hubtest.New(t), "Quit-Pa55word!")
	var err error
	fyne.DoAndWait(func() { err = h.a.CopyPassword(h.u.list.detail.row.AccountID) })
	if err != nil || h.app.Clipboard().Content() != "Quit-Pa55word!" {
		t.Fatalf("copy: %v, clipboard %q", err, h.app.Clipboard().Content())
	}
	return h
}

// TestQuitClearsClipboard: quitting from the tray, or closing the window where there is no tray, empties the
// clipboard at once if it still holds the copied password (its clear delay would die with the process), and
// leaves it alone if the technician copied something else since.
func TestQuitClearsClipboard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("tray quit", func(t *testing.T) {
		h := copiedOnQuit(t, ctx)
		tray := &trayApp{App: h.app}
		fyne.DoAndWait(func() { install(tray, tray.NewWindow(Title), h.a) })
		if tray.menu == nil {
			t.Fatal("no tray menu")
		}
		quit := tray.menu.Items[len(tray.menu.Items)-1]
		if quit.Label != "Quit" || !quit.IsQuit {
			t.Fatalf("last tray item %q", quit.Label)
		}
		fyne.DoAndWait(quit.Action)
		if !tray.quit {
			t.Fatal("Quit did not quit")
		}
		if got := h.app.Clipboard().Content(); got != "" {
			t.Fatalf("clipboard after Quit: %q", got)
		}
	})

	t.Run("window closed without a tray", func(t *testing.T) {
		h := copiedOnQuit(t, ctx)
		w := h.app.NewWindow(Title)
		fyne.DoAndWait(func() { install(h.app, w, h.a) })
		fyne.DoAndWait(w.Close)
		if got := h.app.Clipboard().Content(); got != "" {
			t.Fatalf("clipboard after closing: %q", got)
		}
	})

	t.Run("something else copied since", func(t *testing.T) {
		h := copiedOnQuit(t, ctx)
		tray := &trayApp{App: h.app}
		fyne.DoAndWait(func() { install(tray, tray.NewWindow(Title), h.a) })
		h.app.Clipboard().SetContent("meeting notes")
		fyne.DoAndWait(tray.menu.Items[len(tray.menu.Items)-1].Action)
		if got := h.app.Clipboard().Content(); got != "meeting notes" {
			t.Fatalf("Quit touched the technician's own copy: %q", got)
		}
	})
}
