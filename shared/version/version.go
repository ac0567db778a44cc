// Package version is the one place a Watchword binary learns which release it is.
//
// `make release` stamps it at link time, for every binary alike (hub, agent, TechClient, Console):
//
//	go build -ldflags "-X github.com/watchword/watchword/shared/version.Version=0.1.0 \
//	    -X github.com/watchword/watchword/shared/version.Commit=aa61f32" ./...
//
// An unstamped build (go build, go run, go test) reports "dev" and, when Go recorded it, the VCS revision it was
// built from, so a bug report still says which source it came from. A thin main answers --version with
// [Handle]; the TechClient and the Console, which parse their own flags, print [String].
package version

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version is the release version, e.g. "0.1.0" or "0.1.0-dev.57+gaa61f32"; set with -ldflags -X.
var Version = "dev"

// Commit is the source revision the release was built from; set with -ldflags -X.
var Commit = ""

// readBuildInfo is debug.ReadBuildInfo, replaced in tests.
var readBuildInfo = debug.ReadBuildInfo

// Revision returns Commit, or else the VCS revision Go embedded in an unstamped build (shortened, with
// "-dirty" when the tree had changes), or "" when neither is known.
func Revision() string {
	if Commit != "" {
		return Commit
	}
	bi, ok := readBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

// String is the one-line answer to --version for the named program:
// "watchword-hub 0.1.0 (aa61f32, go1.26.8 linux/amd64)".
func String(program string) string {
	in := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if r := Revision(); r != "" {
		in = r + ", " + in
	}
	return fmt.Sprintf("%s %s (%s)", program, Version, in)
}

// IsFlag says whether args (without the program name) ask for the version and nothing else: --version,
// -version, -v or the subcommand "version".
func IsFlag(args []string) bool {
	if len(args) != 1 {
		return false
	}
	switch args[0] {
	case "--version", "-version", "-v", "version":
		return true
	}
	return false
}

// Handle prints String(program) to w and returns true when args ask for the version; a main calls it first:
//
//	if version.Handle(os.Args[1:], os.Stdout, "watchword-hub") {
//		return
//	}
func Handle(args []string, w io.Writer, program string) bool {
	if !IsFlag(args) {
		return false
	}
	fmt.Fprintln(w, String(program))
	return true
}
