package view

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/techclient/vm"
)

func TestRootFollowsState(t *testing.T) {
	test.NewTempApp(t)
	a := vm.New()
	w := test.NewTempWindow(t, Root(a))
	w.Resize(fyne.NewSize(480, 360))

	if got := headline(t, w.Canvas()); got != "This device is not registered with your MSP yet." {
		t.Fatalf("first-run headline = %q", got)
	}
	a.SetState(vm.StatePending)
	if got := headline(t, w.Canvas()); got != "Waiting for approval by your MSP." {
		t.Fatalf("pending headline = %q", got)
	}
}

// headline finds the bound headline label, the only label that wraps.
func headline(t *testing.T, c fyne.Canvas) string {
	t.Helper()
	var found string
	walk(c.Content(), func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.Wrapping == fyne.TextWrapWord {
			found = l.Text
		}
	})
	if found == "" {
		t.Fatal("no headline label on screen")
	}
	return found
}

func walk(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	f(o)
	if c, ok := o.(*fyne.Container); ok {
		for _, child := range c.Objects {
			walk(child, f)
		}
	}
}
