package view

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
)

func TestNavigationSelectsSection(t *testing.T) {
	test.NewTempApp(t)
	a := vm.New()
	w := test.NewTempWindow(t, Root(a))
	w.Resize(fyne.NewSize(900, 600))

	if !shows(w.Canvas().Content(), "Pending techs") || !shows(w.Canvas().Content(), "Not connected to a hub") {
		t.Fatal("first screen does not show the pending techs section and the hub status")
	}
	// Tap the "Triplets" row of the navigation list.
	var row fyne.Tappable
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.Text == "Triplets" && row == nil {
			row = findTappableParent(w.Canvas().Content(), o)
		}
	})
	if row == nil {
		t.Fatal("no Triplets row in the navigation")
	}
	test.Tap(row)
	if got, _ := a.Selected.Get(); got != "triplets" {
		t.Fatalf("selected = %q after tapping Triplets", got)
	}
	if !shows(w.Canvas().Content(), "TechGroup × AgentGroup × Right: who gets which rights where.") {
		t.Fatal("triplets section text not on screen")
	}
}

func shows(root fyne.CanvasObject, text string) bool {
	seen := false
	find(root, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.Text == text && l.Visible() {
			seen = true
		}
	})
	return seen
}

// find visits o and everything below it, through containers and widget renderers.
func find(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	f(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			find(c, f)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			find(c, f)
		}
	}
}

// findTappableParent returns the innermost tappable object that contains target.
func findTappableParent(root, target fyne.CanvasObject) fyne.Tappable {
	var best fyne.Tappable
	var visit func(o fyne.CanvasObject, inTappable fyne.Tappable) bool
	visit = func(o fyne.CanvasObject, cur fyne.Tappable) bool {
		if t, ok := o.(fyne.Tappable); ok {
			cur = t
		}
		if o == target {
			best = cur
			return true
		}
		var kids []fyne.CanvasObject
		switch x := o.(type) {
		case *fyne.Container:
			kids = x.Objects
		case fyne.Widget:
			kids = test.WidgetRenderer(x).Objects()
		}
		for _, k := range kids {
			if visit(k, cur) {
				return true
			}
		}
		return false
	}
	visit(root, nil)
	return best
}
