// Command techclient is the Watchword TechClient: a technician's own admin accounts and their rotating passwords.
// Everything but the window's set-up lives in techclient/vm (state, hub, secrets) and techclient/view (screens).
package main

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/shared/version"
	"github.com/watchword/watchword/techclient/view"
	"github.com/watchword/watchword/techclient/vm"
)

func main() {
	if version.Handle(os.Args[1:], os.Stdout, "watchword-techclient") {
		return
	}
	prefill, err := vm.ParseArgs(os.Args[1:], os.Getenv, vm.LoginName, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "techclient:", err)
		os.Exit(2)
	}
	a := app.NewWithID("net.watchword.techclient")
	a.SetIcon(assets.TechClientIcon)
	w := a.NewWindow(view.Title)
	o := view.Options(a)
	o.Prefill = prefill
	m := vm.New(o)
	view.Install(a, w, m)
	w.Resize(fyne.NewSize(1040, 680))
	m.Start()
	w.ShowAndRun()
	m.Close()
}
