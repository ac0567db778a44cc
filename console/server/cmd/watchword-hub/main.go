// Command watchword-hub is Watchword's headless hub: `watchword-hub init|serve|invite|backup|verify-audit`.
// The command line lives in console/server/hub/hubcli; this main only wires signals, exit codes and --version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/watchword/watchword/console/server/hub/hubcli"
	"github.com/watchword/watchword/shared/version"
)

func main() {
	if version.Handle(os.Args[1:], os.Stdout, "watchword-hub") {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := hubcli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "watchword-hub:", err)
		os.Exit(1)
	}
}
