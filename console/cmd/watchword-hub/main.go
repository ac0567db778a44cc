// Command watchword-hub is the Watchword hub: it stores tenants, techs, groups, agents, sealed credentials and
// the audit log, and hands out work; it never sees a plaintext password and never links Fyne or OpenGL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "watchword-hub:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("watchword-hub", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: watchword-hub init|serve|backup|verify-audit [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	fs.Usage()
	return flag.ErrHelp
}
