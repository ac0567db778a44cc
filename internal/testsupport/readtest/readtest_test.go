package readtest_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/internal/readable"
	"github.com/watchword/watchword/internal/testsupport/readtest"
)

const long = "locked: 5 failed attempts in a row (last: passphrase)"

// table is a 30-row table of one narrow column whose cells come from cell; row 20 holds the long text.
func table(cell func(t **widget.Table) fyne.CanvasObject) *widget.Table {
	var t *widget.Table
	t = widget.NewTable(func() (int, int) { return 30, 1 },
		func() fyne.CanvasObject { return cell(&t) },
		func(id widget.TableCellID, o fyne.CanvasObject) {
			text := "row"
			if id.Row == 20 {
				text = long
			}
			switch x := o.(type) {
			case *widget.Label:
				x.SetText(text)
			case *readable.Label:
				x.SetText(text)
			}
		})
	t.SetColumnWidth(0, 120)
	return t
}

func window(t *testing.T, content fyne.CanvasObject) fyne.Window {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, content)
	w.Resize(fyne.NewSize(400, 300))
	return w
}

// A plain label cut with an ellipsis in a row out of sight is found; a readable.Label is not, as long as the
// window draws its tooltip; without the layer its tooltip cannot show and it is found too.
func TestUnreadable(t *testing.T) {
	plain := func(**widget.Table) fyne.CanvasObject {
		l := widget.NewLabel("")
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	tipped := func(t **widget.Table) fyne.CanvasObject { return readable.NewLabel("").ForTable(*t) }
	for _, c := range []struct {
		name    string
		content fyne.CanvasObject
		cut     bool
	}{
		{"plain label", table(plain), true},
		{"readable label with its layer", readable.Layer(table(tipped)), false},
		{"readable label without a layer", table(tipped), true},
		{"clipped check box in a list", widget.NewList(func() int { return 1 },
			func() fyne.CanvasObject { return container.NewGridWrap(fyne.NewSize(80, 40), widget.NewCheck("", nil)) },
			func(_ widget.ListItemID, o fyne.CanvasObject) {
				o.(*fyne.Container).Objects[0].(*widget.Check).SetText(long)
			}), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := window(t, c.content)
			got := readtest.Unreadable(w.Canvas().Content())
			if c.cut && (len(got) != 1 || got[0].Text != long) {
				t.Fatalf("found %v, want the long text only", got)
			}
			if !c.cut && len(got) != 0 {
				t.Fatalf("found %v, want nothing", got)
			}
			if c.cut && !strings.Contains(got[0].String(), "no way to read it whole") {
				t.Fatalf("report %q", got[0])
			}
		})
	}
}
