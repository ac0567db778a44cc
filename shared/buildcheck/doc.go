// Package buildcheck holds the repository-wide tests that keep Watchword's shape honest: which packages may
// import what, that the headless binaries link no GUI libraries, that the desktop apps open real windows, that
// the tests which format and schedule times pass in zones far from the machine's, and that every dependency's
// license is compatible with Watchword's.
//
// It has no code of its own; the tests run `go list`, `go build`, `go test`, `ldd` and the X tools, so they check
// the repository as a user would build it rather than as a test binary sees it.
//
// # Reading guide
//
//   - guard_test.go: which packages may import what (the headless side imports no Fyne).
//   - link_test.go: the headless binaries link no GUI libraries.
//   - desktopapps_test.go: the TechClient and the Console open their windows on an X display (Xvfb).
//   - zones_test.go: the tests that format and schedule times pass in zones far from the machine's.
//   - naming_test.go: the hub's key ID has one name, the hub fingerprint, in code, docs and scripts.
//   - licenses_test.go: every module the four programs link, on each platform, has a license compatible with
//     Apache-2.0, and docs/install.md's dependency section lists it with that license.
package buildcheck
