// Package readable keeps the text of the apps' tables and lists readable in full: a cell that is narrower than its
// text is cut with an ellipsis, and then shows the whole text in a tooltip while the pointer rests on it.
//
// Fyne has no tooltips, and a pop-up is an overlay that takes the pointer from the cell under it (the cell would
// lose the hover at once and the tooltip flicker), so the tooltip is drawn in a layer on top of the window's content
// (Layer), which takes no input: the pointer still reaches the cell under it and the table around it.
//
// # Reading guide
//
//   - readable.go: Label, the cell that shows its text whole on hover; Tipped, an object (a row's icon) with a
//     tooltip that says what it means; Layer, which wraps a window's content; Cut, whether a text is wider than the
//     room a label has (the test check in internal/testsupport/readtest uses it too).
package readable

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// TipWidth is the widest a tooltip gets before its text wraps.
const TipWidth float32 = 520

// Label is a one-line label cut with an ellipsis when its room is narrower than its text, which it then shows in
// full in a tooltip while the pointer rests on it. Inside a widget.Table it passes the pointer's moves on to the
// table (ForTable), which would otherwise lose its hover highlight to the cell. The text is drawn by a plain
// widget.Label inside (Text), so whatever reads labels on screen reads the cell's whole text.
type Label struct {
	widget.BaseWidget
	Text  *widget.Label
	hover desktop.Hoverable
	tip   *tip
}

var _ desktop.Hoverable = (*Label)(nil)

// NewLabel is a Label with text.
func NewLabel(text string) *Label {
	l := &Label{Text: widget.NewLabel(text)}
	l.Text.Truncation = fyne.TextTruncateEllipsis
	l.ExtendBaseWidget(l)
	return l
}

// CreateRenderer draws the inner label.
func (l *Label) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(l.Text) }

// ForTable returns the Label with its pointer moves passed on to t, as a table cell's template.
func (l *Label) ForTable(t *widget.Table) *Label {
	l.hover = &tableHover{t: t}
	return l
}

// Cut says whether the label's text does not fit its room.
func (l *Label) Cut() bool { return Cut(l.Text) }

// Tip is the text of the tooltip on screen, "" when none shows.
func (l *Label) Tip() string {
	if l.tip == nil || !l.tip.Visible() {
		return ""
	}
	return l.tip.text.Text
}

// MouseIn shows the tooltip when the text is cut.
func (l *Label) MouseIn(e *desktop.MouseEvent) {
	if l.hover != nil {
		l.hover.MouseIn(e)
	}
	if !l.Cut() {
		return
	}
	c := fyne.CurrentApp().Driver().CanvasForObject(l)
	if c == nil {
		return
	}
	layer := find(c.Content())
	if layer == nil {
		return
	}
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(l)
	l.tip = layer.show(l.Text.Text, pos, l.Size(), l.Text.TextStyle)
}

// MouseMoved passes the move on.
func (l *Label) MouseMoved(e *desktop.MouseEvent) {
	if l.hover != nil {
		l.hover.MouseMoved(e)
	}
}

// MouseOut hides the tooltip.
func (l *Label) MouseOut() {
	if l.hover != nil {
		l.hover.MouseOut()
	}
	l.hide()
}

func (l *Label) hide() {
	if l.tip != nil {
		l.tip.Hide()
		l.tip = nil
	}
}

// SetText changes the text and hides a tooltip of the old one (a table reuses its cells while it scrolls).
func (l *Label) SetText(s string) {
	if s != l.Text.Text {
		l.hide()
	}
	l.Text.SetText(s)
}

// Cut says whether l's text is wider (or, wrapped, taller) than l's room: with the theme's inner padding on each
// side, as a label draws it, and every line of a multi-line text.
func Cut(l *widget.Label) bool {
	if l.Text == "" || l.Size().Width <= 0 {
		return false
	}
	if l.Wrapping != fyne.TextWrapOff {
		return l.MinSize().Height > l.Size().Height+0.5
	}
	lines := strings.Split(l.Text, "\n")
	if len(lines) > 1 && l.Truncation != fyne.TextTruncateOff {
		return true // a cut label shows one line
	}
	return TextWidth(l.Text, l.SizeName, l.TextStyle)+2*theme.InnerPadding() > l.Size().Width+0.5
}

// TextWidth is the width of the widest line of s in the theme's text size named size ("" for the body text).
func TextWidth(s string, size fyne.ThemeSizeName, style fyne.TextStyle) float32 {
	if size == "" {
		size = theme.SizeNameText
	}
	var w float32
	for _, line := range strings.Split(s, "\n") {
		w = max(w, fyne.MeasureText(line, theme.Size(size), style).Width)
	}
	return w
}

// tableHover passes a cell's pointer moves to its table, in the table's coordinates.
type tableHover struct{ t *widget.Table }

func (h *tableHover) event(e *desktop.MouseEvent) *desktop.MouseEvent {
	ev := *e
	ev.Position = e.AbsolutePosition.Subtract(fyne.CurrentApp().Driver().AbsolutePositionForObject(h.t))
	return &ev
}
func (h *tableHover) MouseIn(e *desktop.MouseEvent)    { h.t.MouseIn(h.event(e)) }
func (h *tableHover) MouseMoved(e *desktop.MouseEvent) { h.t.MouseMoved(h.event(e)) }
func (h *tableHover) MouseOut()                        { h.t.MouseOut() }

// Layer returns content with a layer on top that draws the tooltips of the Labels inside it; set it as the window's
// content.
func Layer(content fyne.CanvasObject) fyne.CanvasObject {
	l := &layer{content: content, tips: container.NewWithoutLayout()}
	l.ExtendBaseWidget(l)
	return l
}

type layer struct {
	widget.BaseWidget
	content fyne.CanvasObject
	tips    *fyne.Container
}

func (l *layer) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(l.content, l.tips))
}

// show draws text in a tooltip under the cell at pos (above it when there is no room below), inside the layer.
func (l *layer) show(text string, pos fyne.Position, cell fyne.Size, style fyne.TextStyle) *tip {
	for _, o := range l.tips.Objects {
		o.Hide()
	}
	t := newTip(text, style)
	origin := fyne.CurrentApp().Driver().AbsolutePositionForObject(l)
	pos = pos.Subtract(origin)
	room := l.Size()
	w := min(TextWidth(text, "", style)+4*theme.InnerPadding(), TipWidth, room.Width)
	t.Resize(fyne.NewSize(w, t.MinSize().Height))
	t.Resize(fyne.NewSize(w, t.MinSize().Height)) // wrapped text knows its height once it has its width
	x := min(pos.X, room.Width-w)
	y := pos.Y + cell.Height
	if y+t.Size().Height > room.Height {
		y = max(0, pos.Y-t.Size().Height)
	}
	t.Move(fyne.NewPos(max(0, x), y))
	l.tips.Objects = []fyne.CanvasObject{t}
	l.tips.Refresh()
	return t
}

// tip is one tooltip: the text, wrapped, on the overlay background with a border.
type tip struct {
	widget.BaseWidget
	text *widget.Label
}

func newTip(text string, style fyne.TextStyle) *tip {
	t := &tip{text: widget.NewLabelWithStyle(text, fyne.TextAlignLeading, style)}
	t.text.Wrapping = fyne.TextWrapWord
	t.ExtendBaseWidget(t)
	return t
}

func (t *tip) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameOverlayBackground))
	bg.StrokeColor = theme.Color(theme.ColorNameInputBorder)
	bg.StrokeWidth = 1
	bg.CornerRadius = theme.InputRadiusSize()
	return widget.NewSimpleRenderer(container.NewStack(bg, t.text))
}

// find is the layer at or under o, looked for a few levels down (a window's content is the layer or holds it).
func find(o fyne.CanvasObject) *layer {
	for depth, level := 0, []fyne.CanvasObject{o}; depth < 4 && len(level) > 0; depth++ {
		var next []fyne.CanvasObject
		for _, o := range level {
			switch x := o.(type) {
			case *layer:
				return x
			case *fyne.Container:
				next = append(next, x.Objects...)
			}
		}
		level = next
	}
	return nil
}

// Tipped is an object (an icon) with a tooltip that shows while the pointer rests on it.
type Tipped struct {
	widget.BaseWidget
	Object fyne.CanvasObject
	text   string
	tip    *tip
}

var _ desktop.Hoverable = (*Tipped)(nil)

// WithTip returns o with the tooltip text.
func WithTip(o fyne.CanvasObject, text string) *Tipped {
	t := &Tipped{Object: o, text: text}
	t.ExtendBaseWidget(t)
	return t
}

// SetTip changes the tooltip's text.
func (t *Tipped) SetTip(text string) {
	t.text = text
	t.MouseOut()
}

// Tip is the text of the tooltip on screen, "" when none shows.
func (t *Tipped) Tip() string {
	if t.tip == nil || !t.tip.Visible() {
		return ""
	}
	return t.tip.text.Text
}

// CreateRenderer draws the object.
func (t *Tipped) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(t.Object) }

// MouseIn shows the tooltip.
func (t *Tipped) MouseIn(*desktop.MouseEvent) {
	c := fyne.CurrentApp().Driver().CanvasForObject(t)
	if c == nil || t.text == "" {
		return
	}
	if layer := find(c.Content()); layer != nil {
		t.tip = layer.show(t.text, fyne.CurrentApp().Driver().AbsolutePositionForObject(t), t.Size(), fyne.TextStyle{})
	}
}

// MouseMoved does nothing: the tooltip stays where it showed.
func (t *Tipped) MouseMoved(*desktop.MouseEvent) {}

// MouseOut hides the tooltip.
func (t *Tipped) MouseOut() {
	if t.tip != nil {
		t.tip.Hide()
		t.tip = nil
	}
}
