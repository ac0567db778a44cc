package view

import (
	"testing"

	"fyne.io/fyne/v2"

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
