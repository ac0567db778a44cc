// Command watchword-agent runs near a client domain or host: it creates, rotates and disables each entitled
// technician's own admin account there, and never links Fyne or OpenGL so it runs on servers and domain
// controllers. The logic lives in console/server/agent/agentcli; `watchword-agent help` documents the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/watchword/watchword/console/server/agent/agentcli"
	"github.com/watchword/watchword/shared/version"
)

func main() {
	if version.Handle(os.Args[1:], os.Stdout, "watchword-agent") {
		return
	}
	if err := run(context.Background(), os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "watchword-agent:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string) error {
	return agentcli.Main(ctx, args, os.Stdout, os.Stderr)
}
