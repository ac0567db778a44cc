// Package assets holds Watchword's icons, embedded by `fyne bundle` (see `make bundle`) so that every binary
// carries them without files beside it.
//
// The SVGs are the sources; the PNGs are rendered from them at 512×512 and are what FyneApp.toml and the
// bundle use.
package assets
