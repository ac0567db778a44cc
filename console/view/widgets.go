package view

import (
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/readable"
	"github.com/watchword/watchword/shared/reltime"
	"github.com/watchword/watchword/shared/seal"
)

// column of a table: its header and width.
type column struct {
	title string
	width float32
}

// newTable is a read-only table with a header row; cell returns the text of row r, column c. A cell narrower than
// its text ends in an ellipsis and shows the whole text in a tooltip (readable.Label; Root draws the tooltips).
func newTable(cols []column, rows func() int, cell func(r, c int) string, onSelect func(r int)) *widget.Table {
	var t *widget.Table
	t = widget.NewTableWithHeaders(
		func() (int, int) { return rows(), len(cols) },
		func() fyne.CanvasObject { return readable.NewLabel("").ForTable(t) },
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row < rows() {
				o.(*readable.Label).SetText(cell(id.Row, id.Col))
			}
		},
	)
	t.ShowHeaderColumn = false
	t.CreateHeader = func() fyne.CanvasObject {
		return heading("")
	}
	// A column is never narrower than its header, which has no tooltip: the header names what the tooltip shows.
	pad := 2 * theme.InnerPadding()
	widths := make([]float32, len(cols))
	for i, c := range cols {
		widths[i] = max(c.width, readable.TextWidth(c.title, "", fyne.TextStyle{Bold: true})+pad)
		t.SetColumnWidth(i, widths[i])
	}
	// The last column takes the room the others leave, down to its header's width: a long last value then ends in
	// an ellipsis inside the table, not past its edge where nothing shows that it is cut. The table's width is
	// known when it lays out its headers; the column changes after that layout, not inside it.
	fitted := float32(-1)
	fit := func() {
		w := t.Size().Width
		if w <= 0 || w == fitted || len(cols) == 0 {
			return
		}
		fitted = w
		used := float32(len(cols)) * theme.SeparatorThicknessSize()
		for _, x := range widths[:len(cols)-1] {
			used += x
		}
		last := len(cols) - 1
		width := max(readable.TextWidth(cols[last].title, "", fyne.TextStyle{Bold: true})+pad, w-used)
		go fyne.Do(func() { t.SetColumnWidth(last, width) })
	}
	t.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Row < 0 && id.Col >= 0 && id.Col < len(cols) {
			o.(*widget.Label).SetText(cols[id.Col].title)
		}
		fit()
	}
	if onSelect != nil {
		t.OnSelected = func(id widget.TableCellID) {
			if id.Row >= 0 && id.Row < rows() {
				onSelect(id.Row)
			}
		}
	}
	return t
}

// item is one choice of a checklist.
type item struct {
	id    int64
	label string
}

// checklist is a multi-select with search: the admin filters by typing and ticks members.
type checklist struct {
	obj      fyne.CanvasObject
	items    []item
	selected map[int64]bool
	query    string
	list     *widget.List
	shown    []item
	onChange func()
}

func newChecklist(placeholder string) *checklist {
	c := &checklist{selected: map[int64]bool{}}
	search := widget.NewEntry()
	search.SetPlaceHolder(placeholder)
	search.OnChanged = func(s string) { c.query = strings.ToLower(s); c.filter() }
	c.list = widget.NewList(
		func() int { return len(c.shown) },
		func() fyne.CanvasObject { return widget.NewCheck("", nil) },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			ch := o.(*widget.Check)
			it := c.shown[i]
			ch.OnChanged = nil
			ch.SetText(it.label)
			ch.SetChecked(c.selected[it.id])
			ch.OnChanged = func(on bool) {
				c.selected[it.id] = on
				if c.onChange != nil {
					c.onChange()
				}
			}
		},
	)
	// An MSP picks among hundreds of domains and techs: the list keeps room for checklistRows rows at least.
	room := canvas.NewRectangle(color.Transparent)
	room.SetMinSize(fyne.NewSize(0, checklistRows*widget.NewCheck("Ag", nil).MinSize().Height))
	c.obj = container.NewBorder(search, nil, nil, nil, container.NewStack(room, c.list))
	return c
}

// checklistRows is how many rows a checklist shows at least.
const checklistRows = 8

func (c *checklist) filter() {
	c.shown = c.shown[:0]
	for _, it := range c.items {
		if c.query == "" || strings.Contains(strings.ToLower(it.label), c.query) {
			c.shown = append(c.shown, it)
		}
	}
	c.list.Refresh()
}

// set replaces the choices and the selection.
func (c *checklist) set(items []item, selected []int64) {
	c.items = items
	c.selected = map[int64]bool{}
	for _, id := range selected {
		c.selected[id] = true
	}
	c.filter()
}

// ids returns the selected IDs in the order of the items.
func (c *checklist) ids() []int64 {
	out := []int64{}
	for _, it := range c.items {
		if c.selected[it.id] {
			out = append(out, it.id)
		}
	}
	return out
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// ago is how long before now t was, in the words of every Watchword screen (shared/reltime), or its date from two
// days on.
func ago(now, t time.Time) string {
	if s, ok := reltime.Recent(now, t); ok {
		return s
	}
	return when(t)
}

// fingerprintLines renders a fingerprint in the lines the TechClient shows, for reading aloud.
func fingerprintLines(s string) string {
	fp, err := seal.ParseFingerprint(s)
	if err != nil {
		return s
	}
	return strings.Join(fp.Lines(), "\n")
}

// shortFingerprint is the first groups of a fingerprint, enough to tell rows apart.
func shortFingerprint(s string) string {
	f := strings.Fields(s)
	if len(f) > 4 {
		return strings.Join(f[:4], " ") + " …"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func joinOrDash(xs []string) string { return orDash(strings.Join(xs, ", ")) }

// monospace is a read-only multi-line text block.
func monospace(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	l.Wrapping = fyne.TextWrapBreak
	return l
}

func setEnabled(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// accountName is the tech's account name on the grant's agent, from the hub's accounts or the naming format.
func accountName(a *vm.App, g vm.Grant) string {
	s := a.Snapshot()
	for _, acc := range s.Accounts[g.Agent.ID] {
		if acc.TechID == g.Tech.ID {
			return acc.Name
		}
	}
	return "(not created yet)"
}

// paragraph is a label that wraps at word boundaries.
func paragraph(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// notice is an empty paragraph in the colour of imp, for a warning or an error that shows when there is one.
func notice(imp widget.Importance) *widget.Label {
	l := paragraph("")
	l.Importance = imp
	return l
}

// heading is a bold label.
func heading(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}
