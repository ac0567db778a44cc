package readable_test

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/internal/readable"
)

const long = "locked: 5 failed attempts in a row (last: passphrase)"

// The tooltip shows under the cell while the pointer is on it and goes when it leaves; a cell whose text fits has
// none; a tap on a cell still selects it.
func TestTooltip(t *testing.T) {
	var tb *widget.Table
	var cells []*readable.Label
	tb = widget.NewTable(func() (int, int) { return 2, 1 },
		func() fyne.CanvasObject { l := readable.NewLabel("").ForTable(tb); cells = append(cells, l); return l },
		func(id widget.TableCellID, o fyne.CanvasObject) {
			o.(*readable.Label).SetText([]string{"fits", long}[id.Row])
		})
	tb.SetColumnWidth(0, 120)
	selected := false
	tb.OnSelected = func(widget.TableCellID) { selected = true }
	test.NewTempApp(t)
	w := test.NewTempWindow(t, readable.Layer(tb))
	w.Resize(fyne.NewSize(400, 300))
	var short, cut *readable.Label
	for _, c := range cells {
		switch c.Text.Text {
		case "fits":
			short = c
		case long:
			cut = c
		}
	}
	if short == nil || cut == nil {
		t.Fatal("cells not rendered")
	}
	at := func(l *readable.Label) fyne.Position {
		return fyne.CurrentApp().Driver().AbsolutePositionForObject(l).AddXY(5, 5)
	}
	test.MoveMouse(w.Canvas(), at(short))
	if short.Tip() != "" {
		t.Fatalf("a text that fits has a tooltip %q", short.Tip())
	}
	test.MoveMouse(w.Canvas(), at(cut))
	if cut.Tip() != long {
		t.Fatalf("tooltip %q, want %q", cut.Tip(), long)
	}
	test.MoveMouse(w.Canvas(), fyne.NewPos(390, 290))
	if cut.Tip() != "" {
		t.Fatal("the tooltip stays after the pointer left")
	}
	test.TapCanvas(w.Canvas(), at(cut))
	if !selected {
		t.Fatal("a tap on a cell does not reach the table")
	}
}
