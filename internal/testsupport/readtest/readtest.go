// Package readtest is the check that no table or list of the apps cuts a text without a way to read it whole.
//
// Unreadable walks a window's content as rendered, scrolls every widget.Table and widget.List through each of its
// rows, and returns each text in them that is wider (or taller) than the room it has — a label, a check box, a
// header — unless it is a readable.Label whose tooltip shows the whole text when the pointer rests on it (the check
// moves the pointer in and reads the tooltip, as a user would).
//
// # Reading guide
//
//   - readtest.go: Unreadable and what it reports (Cut); Walk, the visible objects of a screen.
package readtest

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/internal/readable"
)

// Cut is a text that does not fit and cannot be read whole.
type Cut struct {
	In   string // "table" or "list", with its row
	Text string
	Room float32 // the width the text has
	Need float32 // the width it needs
}

func (c Cut) String() string {
	return fmt.Sprintf("%s: %q is cut (%.0f of %.0f px) with no way to read it whole", c.In, c.Text, c.Room, c.Need)
}

// Unreadable returns every cut text without a way to read it in the tables and lists under root, row by row.
// Call it on the UI goroutine (inside fyne.DoAndWait when a background refresh may run).
func Unreadable(root fyne.CanvasObject) []Cut {
	var out []Cut
	seen := map[string]bool{}
	add := func(cs []Cut) {
		for _, c := range cs {
			if k := c.In + "\x00" + c.Text; !seen[k] {
				seen[k] = true
				out = append(out, c)
			}
		}
	}
	var tables []*widget.Table
	var lists []*widget.List
	walk(root, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Table:
			tables = append(tables, x)
		case *widget.List:
			lists = append(lists, x)
		}
	})
	for i, t := range tables {
		rows, cols := 0, 0
		if t.Length != nil {
			rows, cols = t.Length()
		}
		for r := 0; r < max(rows, 1); r++ {
			if rows > 0 {
				t.ScrollTo(widget.TableCellID{Row: r, Col: 0})
			}
			add(cuts(t, fmt.Sprintf("table %d", i+1)))
			if cols > 1 && rows > 0 {
				t.ScrollTo(widget.TableCellID{Row: r, Col: cols - 1})
				add(cuts(t, fmt.Sprintf("table %d", i+1)))
			}
		}
		t.ScrollToTop()
		t.ScrollToLeading()
	}
	for i, l := range lists {
		n := 0
		if l.Length != nil {
			n = l.Length()
		}
		for r := 0; r < n; r++ {
			l.ScrollTo(r)
			add(cuts(l, fmt.Sprintf("list %d", i+1)))
		}
		l.ScrollToTop()
	}
	return out
}

// cuts is every cut text under o as it is rendered now.
func cuts(o fyne.CanvasObject, in string) []Cut {
	var out []Cut
	walk(o, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *readable.Label:
			if x.Cut() && !tipShows(x) {
				out = append(out, Cut{In: in, Text: x.Text.Text, Room: x.Size().Width, Need: need(x.Text)})
			}
		case *widget.Label:
			if readable.Cut(x) {
				out = append(out, Cut{In: in, Text: x.Text, Room: x.Size().Width, Need: need(x)})
			}
		case *widget.Check:
			if x.Text != "" && x.MinSize().Width > x.Size().Width+0.5 {
				out = append(out, Cut{In: in, Text: x.Text, Room: x.Size().Width, Need: x.MinSize().Width})
			}
		}
	})
	return out
}

func need(l *widget.Label) float32 {
	return readable.TextWidth(l.Text, l.SizeName, l.TextStyle) + 2*theme.InnerPadding()
}

// tipShows moves the pointer onto l and says whether its tooltip then shows l's whole text.
func tipShows(l *readable.Label) bool {
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(l)
	l.MouseIn(&desktop.MouseEvent{PointEvent: fyne.PointEvent{AbsolutePosition: pos.AddXY(1, 1), Position: fyne.NewPos(1, 1)}})
	defer l.MouseOut()
	return l.Tip() == l.Text.Text
}

// Walk calls fn for o and every visible object it renders, as a test reads a screen; a readable.Label is one text,
// its inner label not visited again. Call it on the UI goroutine.
func Walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) { walk(o, fn) }

func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	fn(o)
	switch x := o.(type) {
	case *readable.Label:
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, fn)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walk(c, fn)
		}
	}
}
