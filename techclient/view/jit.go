package view

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/techclient/vm"
)

// jitPanel is the detail pane's just-in-time access: where the account's access stands, with a live countdown
// while a window is open; a duration picker, a required reason and "Enable access" while it is off; "Done" (or
// "Cancel request" while pending) while it is open.
type jitPanel struct {
	d         *detail
	box       *fyne.Container
	title     *widget.Label // hidden while the status says it already
	status    *widget.Label
	duration  *widget.Select
	durations []time.Duration
	reason    *reasonEntry
	enable    *widget.Button
	done      *widget.Button
	form      *fyne.Container
	account   int64 // the account the form was filled for: another one starts afresh
}

func newJITPanel(d *detail) *jitPanel {
	p := &jitPanel{d: d}
	p.status = paragraph("", fyne.TextAlignLeading)
	p.duration = widget.NewSelect(nil, nil)
	p.reason = &reasonEntry{u: d.u}
	p.reason.ExtendBaseWidget(p.reason)
	p.reason.SetPlaceHolder("Reason (required): ticket number, what you will do")
	p.reason.OnSubmitted = func(string) { p.request() }
	p.enable = widget.NewButtonWithIcon("Enable access", theme.LoginIcon(), p.request)
	p.enable.Importance = widget.HighImportance
	p.done = widget.NewButtonWithIcon("Done", theme.CancelIcon(), p.end)
	p.title = widget.NewLabelWithStyle("Just-in-time access", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	// The reason keeps its label once typed into: its placeholder goes with the first letter.
	p.form = container.NewVBox(
		container.New(layout.NewFormLayout(), widget.NewLabel("For"), p.duration, widget.NewLabel("Reason"), p.reason),
		container.NewHBox(layout.NewSpacer(), p.enable))
	p.box = container.NewVBox(widget.NewSeparator(), p.title, p.status, p.form, container.NewHBox(layout.NewSpacer(), p.done))
	p.box.Hide()
	return p
}

// show fills the panel for row r (nil or a standing account hides it).
func (p *jitPanel) show(r *vm.Row, now time.Time) {
	if r == nil || !r.JIT {
		p.box.Hide()
		return
	}
	p.box.Show()
	if p.account != r.AccountID {
		p.account = r.AccountID
		p.durations = r.JITDurations()
		opts := make([]string, len(p.durations))
		for i, d := range p.durations {
			opts[i] = vm.FormatDuration(d)
		}
		p.duration.SetOptions(opts)
		p.duration.SetSelectedIndex(min(2, len(opts)-1)) // one hour, or the maximum when shorter
		p.reason.SetText("")
	}
	p.tick(r, now)
}

// tick re-renders the state and the countdown.
func (p *jitPanel) tick(r *vm.Row, now time.Time) {
	if r == nil || !r.JIT {
		return
	}
	state := r.JITState(now)
	p.status.SetText(r.JITStatusText(now))
	if strings.HasPrefix(p.status.Text, p.title.Text) {
		p.title.Hide()
	} else {
		p.title.Show()
	}
	switch state {
	case vm.JITActive:
		p.status.Importance = widget.SuccessImportance
	case vm.JITPending, vm.JITOpening:
		p.status.Importance = widget.WarningImportance
	case vm.JITRefused:
		p.status.Importance = widget.DangerImportance
	default:
		p.status.Importance = widget.MediumImportance
	}
	p.status.Refresh()
	switch state {
	case vm.JITPending:
		p.form.Hide()
		p.done.SetText("Cancel request")
		p.done.Show()
	case vm.JITOpening, vm.JITActive:
		p.form.Hide()
		p.done.SetText("Done")
		p.done.Show()
	default:
		p.form.Show()
		p.done.Hide()
	}
}

// focus puts the cursor in the reason box when a window may be requested (Ctrl+E); Enter there sends it.
func (p *jitPanel) focus() {
	if p.box.Visible() && p.form.Visible() {
		p.d.u.w.Canvas().Focus(p.reason)
	}
}

func (p *jitPanel) request() {
	r := p.d.row
	i := p.duration.SelectedIndex()
	if r == nil || i < 0 || i >= len(p.durations) {
		return
	}
	d, reason, a := p.durations[i], p.reason.Text, p.d.u.a
	if strings.TrimSpace(reason) == "" {
		dialog.ShowInformation("Enable access", "Give a reason: your MSP records it with the request.", p.d.u.w)
		p.d.u.w.Canvas().Focus(p.reason)
		return
	}
	p.enable.Disable()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := a.RequestAccess(ctx, r.AccountID, d, reason)
		fyne.Do(func() {
			p.enable.Enable()
			if err != nil {
				dialog.ShowError(err, p.d.u.w)
				return
			}
			p.reason.SetText("")
			if p.d.u.w.Canvas().Focused() == p.reason {
				p.d.u.w.Canvas().Unfocus() // the box hides; the window's shortcuts work again
			}
		})
	}()
}

func (p *jitPanel) end() {
	r := p.d.row
	if r == nil {
		return
	}
	a := p.d.u.a
	p.done.Disable()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := a.EndAccess(ctx, r.AccountID)
		fyne.Do(func() {
			p.done.Enable()
			if err != nil {
				dialog.ShowError(err, p.d.u.w)
			}
		})
	}()
}

// jitBadge is a JIT row's note in the list: its state and, while open, the time left.
func jitBadge(r *vm.Row, now time.Time) string {
	switch r.JITState(now) {
	case vm.JITPending:
		return "JIT · pending approval"
	case vm.JITOpening:
		return "JIT · enabling…"
	case vm.JITActive:
		if r.HasTAP(now) {
			return "JIT · " + vm.Countdown(now, r.Grant.ExpiresAt) + " left · access pass"
		}
		return "JIT · " + vm.Countdown(now, r.Grant.ExpiresAt) + " left"
	}
	return "JIT · disabled"
}

// reasonEntry is the reason box; the window's own shortcuts (Ctrl+R, Ctrl+F…) still work while it has the cursor.
type reasonEntry struct {
	widget.Entry
	u *ui
}

func (e *reasonEntry) TypedShortcut(sc fyne.Shortcut) {
	if _, ok := sc.(*desktop.CustomShortcut); ok {
		if c, ok := e.u.w.Canvas().(fyne.Shortcutable); ok {
			c.TypedShortcut(sc)
			return
		}
	}
	e.Entry.TypedShortcut(sc)
}
