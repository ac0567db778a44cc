// Package buildcheck holds the repository-wide tests that keep Watchword's shape honest: which packages may
// import what, that the headless binaries link no GUI libraries, that the desktop apps open real windows, and
// that the tests which format and schedule times pass in zones far from the machine's.
//
// It has no code of its own; the tests run `go list`, `go build`, `go test`, `ldd` and the X tools, so they check
// the repository as a user would build it rather than as a test binary sees it.
package buildcheck
