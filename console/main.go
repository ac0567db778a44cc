// Command console is the Watchword Console: where MSP admins approve techs, edit who gets what, and audit.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/console/view"
	"github.com/watchword/watchword/console/vm"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	a := app.NewWithID("net.watchword.console")
	a.SetIcon(assets.ConsoleIcon)
	w := a.NewWindow(view.Title)
	w.SetContent(view.Root(vm.New()))
	w.Resize(fyne.NewSize(1024, 680))
	w.ShowAndRun()
	return nil
}
