package view

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/readtest"
)

// TestEveryTableReadable renders each Console screen with the demo data, at the screenshots' screen size and at the
// Console's own window size, and fails for each text of a table or list that is cut without a way to read it whole
// (readtest: every row scrolled to, every cut cell hovered for its tooltip).
func TestEveryTableReadable(t *testing.T) {
	a, w, _ := connected(t)
	for _, size := range []fyne.Size{fyne.NewSize(1280, 800), fyne.NewSize(1180, 760)} {
		fyne.DoAndWait(func() { w.Resize(size) })
		for _, s := range vm.Sections {
			a.Select(s.ID)
			var cut []readtest.Cut
			fyne.DoAndWait(func() { cut = readtest.Unreadable(w.Canvas().Content()) })
			for _, c := range cut {
				t.Errorf("%.0f×%.0f, %s: %s", size.Width, size.Height, s.ID, c)
			}
		}
	}
}

// The onboarding's checklists show at least checklistRows rows each at 1280×800: an MSP picks among hundreds of
// domains, not three at a time.
func TestChecklistsShowRows(t *testing.T) {
	a, w, _ := connected(t)
	fyne.DoAndWait(func() { w.Resize(fyne.NewSize(1280, 800)) })
	a.Select("onboarding")
	row := widget.NewCheck("Ag", nil).MinSize().Height
	n := 0
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.List); ok && l.Visible() && l.Length() > 0 {
			if _, isCheck := l.CreateItem().(*widget.Check); isCheck {
				n++
				if h := l.Size().Height; h < checklistRows*row-1 {
					t.Errorf("a checklist is %.0f px high: %.1f rows", h, h/row)
				}
			}
		}
	})
	if n != 3 {
		t.Fatalf("%d checklists on the onboarding screen, want 3", n)
	}
}
