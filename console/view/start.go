package view

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/local"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/seal"
)

// Options say how the Console starts.
type Options struct {
	Demo    bool   // run a throwaway hub with the demo data set
	Section string // the section to open on
	Dir     string // config directory; empty: local.Dir()
}

// Start connects the Console to its hub: the one it remembers, a demo one, or, on first start, the one the admin
// sets up in a dialog. It returns at once; the work happens off the UI goroutine. The session ends when the
// window closes.
func Start(a *vm.App, win fyne.Window, o Options) {
	e := env{a: a, win: win}
	if o.Section != "" {
		a.Select(o.Section)
	}
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = local.Dir(); err != nil {
			dialog.ShowError(err, win)
			return
		}
	}
	ks, err := keystore.New(keystore.Options{Service: "watchword-console", Dir: dir, Passphrase: askPassphrase(win)})
	if err != nil {
		dialog.ShowError(err, win)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var s *local.Session
		if o.Demo {
			tmp, err := os.MkdirTemp("", "watchword-console-demo-")
			if err == nil {
				s, err = local.Demo(ctx, tmp)
			}
			if err != nil {
				fyne.Do(func() { dialog.ShowError(err, win) })
				return
			}
			demoSession := s
			closeAlso(win, func() { demoSession.Close(); os.RemoveAll(tmp) })
		} else {
			s, err = local.Open(ctx, dir, ks)
			if errors.Is(err, local.ErrNotConfigured) {
				fyne.Do(func() { showSetup(e, dir, ks) })
				return
			}
			if err != nil {
				fyne.Do(func() { dialog.ShowError(fmt.Errorf("open the Console's hub: %w", err), win) })
				return
			}
			closeAlso(win, s.Close)
		}
		connect(e, s)
	}()
}

// closeAlso runs fn when the window closes.
func closeAlso(win fyne.Window, fn func()) {
	fyne.Do(func() {
		win.SetOnClosed(fn)
	})
}

// connect points the view-model at the session's hub and keeps it fresh: pending techs arrive on their own.
func connect(e env, s *local.Session) {
	e.a.Connect(s.Client, s.Invite, s.Describe)
	refresh := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		return e.a.Refresh(ctx)
	}
	if err := refresh(); err != nil {
		fyne.Do(func() { dialog.ShowError(err, e.win) })
	}
	go e.a.WatchJIT(context.Background(), 25*time.Second) // a new JIT request shows and notifies at once
	go func() {
		for range time.Tick(15 * time.Second) {
			if err := refresh(); err != nil {
				_ = e.a.Notice.Set("refresh: " + err.Error())
			}
		}
	}()
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

// showSetup is the first start: create a local hub, or connect to one elsewhere.
func showSetup(e env, dir string, ks *keystore.Store) {
	host, _ := os.Hostname()
	name, abbrev := widget.NewEntry(), widget.NewEntry()
	name.SetPlaceHolder("Your MSP's name")
	abbrev.SetPlaceHolder("e.g. nw (in account names)")
	listen, public := widget.NewEntry(), widget.NewEntry()
	listen.SetText("0.0.0.0:8443")
	public.SetText("https://" + host + ":8443")
	invite, token, admin := widget.NewEntry(), widget.NewPasswordEntry(), widget.NewEntry()
	invite.SetPlaceHolder("watchword-invite:… from watchword-hub init")
	admin.SetText("Owner")

	var d dialog.Dialog
	create := widget.NewButton("Create local hub", func() {
		spec := local.LocalSpec{Tenant: name.Text, Abbrev: abbrev.Text, Listen: listen.Text, PublicURL: public.Text}
		var s *local.Session
		var rec *seal.Identity
		e.run(func(ctx context.Context) (err error) { s, rec, err = local.CreateLocal(ctx, dir, spec, ks); return err }, func() {
			d.Hide()
			showRecovery(e, spec.Tenant, rec, newRecoveryClip(e.win, s.Close))
			go connect(e, s)
		})
	})
	create.Importance = widget.HighImportance
	join := widget.NewButton("Connect", func() {
		inv, tok, who := invite.Text, token.Text, admin.Text
		var s *local.Session
		e.run(func(ctx context.Context) (err error) { s, err = local.Connect(ctx, dir, inv, tok, who, ks); return err }, func() {
			d.Hide()
			closeAlso(e.win, s.Close)
			go connect(e, s)
		})
	})
	tabs := container.NewAppTabs(
		container.NewTabItem("Create a local hub", container.NewVBox(
			widget.NewLabel("For a single admin: the hub runs inside this Console (SQLite in "+dir+")."),
			widget.NewForm(widget.NewFormItem("MSP name", name), widget.NewFormItem("Abbreviation", abbrev),
				widget.NewFormItem("Listen on", listen), widget.NewFormItem("TechClients reach it at", public)), create)),
		container.NewTabItem("Connect to a hub", container.NewVBox(
			widget.NewLabel("For a hub run as a service: paste its invite and the owner claim token."),
			widget.NewForm(widget.NewFormItem("Invite", invite), widget.NewFormItem("Claim token", token), widget.NewFormItem("Your name", admin)), join)),
	)
	d = dialog.NewCustomWithoutButtons("Set up the Watchword Console", tabs, e.win)
	d.Resize(fyne.NewSize(640, 360))
	d.Show()
}
