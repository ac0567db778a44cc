// Command techclient is the Watchword TechClient: a technician's own admin accounts and their rotating passwords.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/techclient/view"
	"github.com/watchword/watchword/techclient/vm"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "techclient:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("techclient", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	a := app.NewWithID("net.watchword.techclient")
	a.SetIcon(assets.TechClientIcon)
	w := a.NewWindow(view.Title)
	w.SetContent(view.Root(vm.New()))
	w.Resize(fyne.NewSize(480, 640))
	w.ShowAndRun()
	return nil
}
