// Package view draws the TechClient's screens as functions of the view-model in package vm.
//
// Views hold no state of their own: every label is bound to a vm binding, so a change made by the view-model
// (from any goroutine) shows without the view knowing why.
package view

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/assets"
	"github.com/watchword/watchword/techclient/vm"
)

// Title is the TechClient's window title.
const Title = "Watchword TechClient"

// Root returns the content of the TechClient's main window for the view-model a.
func Root(a *vm.App) fyne.CanvasObject {
	logo := canvas.NewImageFromResource(assets.TechClientIcon)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(96))

	title := widget.NewLabelWithStyle("Watchword", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	headline := widget.NewLabelWithData(a.Headline)
	headline.Alignment = fyne.TextAlignCenter
	headline.Wrapping = fyne.TextWrapWord
	headline.Importance = widget.MediumImportance

	// A VBox gives the headline the window's full width to wrap in; the spacers centre it vertically.
	return container.NewPadded(container.NewVBox(layout.NewSpacer(), container.NewCenter(logo), title, headline, layout.NewSpacer()))
}
