package view

import (
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/local"
	"github.com/watchword/watchword/console/session"
	"github.com/watchword/watchword/console/vm"
)

// Options say how the Console starts.
type Options struct {
	Demo    bool   // run a throwaway hub with the demo data set
	Section string // the section to open on; empty: the one on screen when the Console last closed
	Dir     string // config directory; empty: local.Dir()
}

// Start opens the window's session (package session) off the UI goroutine: the hub this Console remembers, a demo
// one, or, on first start, the setup dialog. It returns at once. Closing the window closes the session, which
// ends its refresh loops and stops the hub it runs — unless the Console runs its hub and the admin keeps it
// running, when closing hides the window in the system tray (keeprunning.go).
func Start(a *vm.App, win fyne.Window, o Options) *session.Session {
	if o.Section != "" {
		a.Select(o.Section)
	}
	s := session.New(a, session.Options{Demo: o.Demo, Dir: o.Dir, Passphrase: askPassphrase(win),
		OnError: func(err error) { fyne.Do(func() { dialog.ShowError(err, win) }) }})
	win.SetOnClosed(s.Close)
	keepHubRunning(win, s)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := s.Open(ctx)
		switch {
		case errors.Is(err, local.ErrNotConfigured):
			fyne.Do(func() { showSetup(env{a: a, win: win}, s) })
		case err != nil && !errors.Is(err, session.ErrClosed) && !errors.Is(err, context.Canceled):
			fyne.Do(func() { dialog.ShowError(err, win) })
		}
	}()
	return s
}

// askPassphrase asks for the passphrase of the admin key file where there is no OS keyring. Keystore calls it
// off the UI goroutine; it waits for the dialog.
func askPassphrase(win fyne.Window) func(create bool) (string, error) {
	return func(create bool) (string, error) {
		type answer struct {
			s  string
			ok bool
		}
		ch := make(chan answer, 1)
		fyne.Do(func() {
			pass, conf := widget.NewPasswordEntry(), widget.NewPasswordEntry()
			items := []*widget.FormItem{widget.NewFormItem("Passphrase", pass)}
			msg := "No OS keyring answers: your admin key is kept in a file sealed with a passphrase."
			if create {
				items = append(items, widget.NewFormItem("Again", conf))
			}
			d := dialog.NewForm("Admin key passphrase", "OK", "Cancel", append([]*widget.FormItem{widget.NewFormItem("", widget.NewLabel(msg))}, items...), func(ok bool) {
				if create && pass.Text != conf.Text {
					ok = false
				}
				ch <- answer{pass.Text, ok}
			}, win)
			d.Resize(fyne.NewSize(480, 220))
			d.Show()
		})
		a := <-ch
		if !a.ok || a.s == "" {
			return "", errors.New("no passphrase given (or the two did not match)")
		}
		return a.s, nil
	}
}
