// Command console is the Watchword Console: where MSP admins approve techs, edit who gets what, and audit.
package main

import (
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/console/view"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/version"
)

func main() {
	if version.Handle(os.Args[1:], os.Stdout, "watchword-console") {
		return
	}
	fs := flag.NewFlagSet("console", flag.ExitOnError)
	demo := fs.Bool("demo", false, "run a throwaway hub filled with demo data (3 client organizations, 12 techs, 9 domains)")
	section := fs.String("section", "", "open on this section (pending, techs, triplets, access, onboarding, audit, …)")
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "console: unexpected arguments", fs.Args())
		os.Exit(2)
	}
	a := app.NewWithID("net.watchword.console")
	a.SetIcon(assets.ConsoleIcon)
	w := a.NewWindow(view.Title)
	model := vm.New()
	w.SetContent(view.Root(model, w))
	w.Resize(fyne.NewSize(1180, 760))
	view.Start(model, w, view.Options{Demo: *demo, Section: *section})
	w.ShowAndRun()
}
