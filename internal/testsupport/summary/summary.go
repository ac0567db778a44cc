// Package summary prints the summary lines that test packages report (scenarios run, secrets found, ...) where a
// plain `go test ./...` shows them.
package summary

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Print prints line where `go test ./...` shows it. In package list mode go test prints nothing but "ok" for a
// passing package, so without -v the line goes to the go command's own standard output (the test binary's parent,
// on Linux through /proc); anywhere that does not work it goes to our standard output.
func Print(line string) {
	if !testing.Verbose() {
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", os.Getppid())); err == nil && strings.TrimSpace(string(comm)) == "go" {
			if f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/1", os.Getppid()), os.O_WRONLY|os.O_APPEND, 0); err == nil {
				_, err = fmt.Fprintln(f, line)
				f.Close()
				if err == nil {
					return
				}
			}
		}
	}
	fmt.Println(line)
}
