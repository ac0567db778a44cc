// Command watchword is the admin command line of a Watchword tenant, for scripts and shells:
// `watchword init|techs|groups|rights|triplets|onboard|agents|jit|audit|policy|admins`. It lives in
// console/server/admincli; this main only wires signals, exit codes and --version.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/watchword/watchword/console/server/admincli"
	"github.com/watchword/watchword/shared/version"
)

func main() {
	if version.Handle(os.Args[1:], os.Stdout, "watchword") {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := admincli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "watchword:", err)
		if errors.Is(err, admincli.ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
