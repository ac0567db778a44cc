package view

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/shared/reltime"
	"github.com/watchword/watchword/techclient/vm"
)

// historyView is the "Previous passwords" dialog of one account: its versions, newest first, each hidden until
// the technician asks for it. A shown password lives only in its label; closing the dialog forgets them all.
type historyView struct {
	u       *ui
	dlg     dialog.Dialog
	account int64
	entries []vm.HistoryEntry
	rows    []*historyRow
}

type historyRow struct {
	entry    vm.HistoryEntry
	password *widget.Label
	show     *widget.Button
	gen      int // bumps at every show and hide: a stale auto-hide leaves a newer show alone
}

// showHistory fetches the selected account's password history off the UI goroutine, then opens the dialog.
func (d *detail) showHistory() {
	r := d.row
	if r == nil {
		return
	}
	a := d.u.a
	d.history.Disable()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		entries, err := a.History(ctx, r.AccountID)
		fyne.Do(func() {
			d.history.Enable()
			if err != nil {
				dialog.ShowError(err, d.u.w)
				return
			}
			d.u.historyDialog(r, entries)
		})
	}()
}

func (u *ui) historyDialog(r *vm.Row, entries []vm.HistoryEntry) {
	hv := &historyView{u: u, account: r.AccountID, entries: entries}
	now := u.a.Now()
	rows := container.NewVBox()
	for _, e := range entries {
		hr := &historyRow{entry: e}
		what := "Version " + itoa(int(e.Version))
		if e.Current {
			what += " · current"
		}
		title := widget.NewLabelWithStyle(what, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		date := widget.NewLabel("set " + e.When().Local().Format("Mon 2 Jan 2006 15:04") + " · " + reltime.Ago(now, e.When()))
		date.Importance = widget.LowImportance
		hr.password = widget.NewLabelWithStyle(hidden, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		hr.show = widget.NewButtonWithIcon("Show", theme.VisibilityIcon(), func() { hv.toggle(hr) })
		rows.Add(container.NewBorder(nil, nil, nil, hr.show, container.NewVBox(container.NewHBox(title, date), hr.password)))
		rows.Add(widget.NewSeparator())
		hv.rows = append(hv.rows, hr)
	}
	intro := paragraph("The last "+vm.Plural(len(entries), "password")+" of "+r.Account+" on "+r.Host+
		", newest first. Your MSP has recorded that you read this history. Each password opens on this device only when you click Show, and hides again after "+
		seconds(u.a.Settings().RevealFor)+".", fyne.TextAlignLeading)
	if len(entries) == 0 {
		rows.Add(paragraph("The hub keeps no previous password of this account yet.", fyne.TextAlignLeading))
	}
	body := container.NewBorder(intro, nil, nil, nil, container.NewVScroll(rows))
	hv.dlg = dialog.NewCustom("Previous passwords of "+r.Account, "Close", body, u.w)
	hv.dlg.SetOnClosed(func() {
		for _, hr := range hv.rows {
			hv.conceal(hr)
		}
		u.a.ForgetHistory()
		if u.history == hv {
			u.history = nil
		}
	})
	hv.dlg.Resize(fyne.NewSize(600, 470))
	u.history = hv
	hv.dlg.Show()
	if len(hv.rows) > 0 {
		u.w.Canvas().Focus(hv.rows[0].show) // Space shows the newest one, Tab walks the others
	}
}

func (hv *historyView) toggle(hr *historyRow) {
	if hr.password.Text != hidden {
		hv.conceal(hr)
		return
	}
	pw, err := hv.u.a.OpenVersion(hv.account, hr.entry.Version)
	if err != nil {
		dialog.ShowError(err, hv.u.w)
		return
	}
	hr.gen++
	gen := hr.gen
	hr.password.SetText(pw)
	hr.show.SetText("Hide")
	hr.show.SetIcon(theme.VisibilityOffIcon())
	if d := hv.u.a.Settings().RevealFor; d > 0 {
		time.AfterFunc(d, func() {
			fyne.Do(func() {
				if hr.gen == gen {
					hv.conceal(hr)
				}
			})
		})
	}
}

func (hv *historyView) conceal(hr *historyRow) {
	hr.gen++
	hr.password.SetText(hidden)
	hr.show.SetText("Show")
	hr.show.SetIcon(theme.VisibilityIcon())
}
