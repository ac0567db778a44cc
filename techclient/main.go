// Command techclient is the Watchword TechClient: a technician's own admin accounts and their rotating passwords.
// Everything but the window's set-up lives in techclient/vm (state, hub, secrets) and techclient/view (screens).
package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/techclient/view"
	"github.com/watchword/watchword/techclient/vm"
)

func main() {
	a := app.NewWithID("net.watchword.techclient")
	a.SetIcon(assets.TechClientIcon)
	w := a.NewWindow(view.Title)
	m := vm.New(view.Options(a))
	view.Install(a, w, m)
	w.Resize(fyne.NewSize(1040, 680))
	m.Start()
	w.ShowAndRun()
	m.Close()
}
