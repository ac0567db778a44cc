package view

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/auditexport"
)

// auditScreen reads the audit log a page at a time, newest first, with people and objects by name, filters that
// the hub applies (so they stay quick on a long log), the device-signature verdict of tech events, an export of
// what the filter keeps (CSV or JSON lines with the chain hashes), and the hash chain's verification.
func auditScreen(e env) screen {
	var rows []vm.AuditRow
	f := vm.AuditFilter{}
	actor := widget.NewSelect([]string{"Any actor", "admin", "tech", "agent", "system"}, nil)
	actor.SetSelected("Any actor")
	tech := widget.NewSelect(nil, nil)
	tech.PlaceHolder = "Any tech"
	agent := widget.NewSelect(nil, nil)
	agent.PlaceHolder = "Any agent"
	action := widget.NewEntry()
	action.SetPlaceHolder("Action, e.g. tech. or triplet.delete")
	since, until := widget.NewEntry(), widget.NewEntry()
	since.SetPlaceHolder("From YYYY-MM-DD")
	until.SetPlaceHolder("To YYYY-MM-DD")
	verdict := widget.NewLabel("")
	count := widget.NewLabel("")
	details := widget.NewLabel("Select an event to read it in full.")
	details.Wrapping = fyne.TextWrapWord
	table := newTable([]column{{"#", 55}, {"When", 130}, {"Event", 420}, {"Device", 105}, {"Action", 150}, {"Detail", 300}},
		func() int { return len(rows) },
		func(r, c int) string {
			row := rows[r]
			ev := row.Event
			return [...]string{strconv.FormatInt(ev.Seq, 10), when(ev.At), row.Summary, row.Device, ev.Action, ev.Detail}[c]
		}, func(r int) {
			if r < len(rows) {
				details.SetText(auditDetails(rows[r]))
			}
		})
	older := widget.NewButtonWithIcon("Older events", theme.MoveDownIcon(), nil)
	older.Disable()
	show := func(page *vm.AuditPage, appendTo bool) {
		if appendTo {
			rows = append(rows, page.Rows...)
		} else {
			rows = page.Rows
			table.ScrollToTop()
			details.SetText("Select an event to read it in full.")
		}
		if page.More {
			older.Enable()
		} else {
			older.Disable()
		}
		count.SetText(auditCount(len(rows), page.More))
		table.Refresh()
	}
	// filter reads the bar into f; false when a date does not parse (the error is shown).
	filter := func() bool {
		f.ActorKind = ""
		if actor.Selected != "Any actor" {
			f.ActorKind = actor.Selected
		}
		f.Action = strings.TrimSpace(action.Text)
		s := e.a.Snapshot()
		f.Tech, f.Agent = 0, 0
		if i := tech.SelectedIndex(); i > 0 && i-1 < len(s.Techs) {
			f.Tech = s.Techs[i-1].ID
		}
		if i := agent.SelectedIndex(); i > 0 && i-1 < len(s.Agents) {
			f.Agent = s.Agents[i-1].ID
		}
		var err error
		if f.Since, err = day(since.Text, 0); err == nil {
			f.Until, err = day(until.Text, 24*time.Hour)
		}
		if err != nil {
			dialog.ShowError(err, e.win)
			return false
		}
		return true
	}
	load := func() {
		if !filter() {
			return
		}
		q := f
		var page *vm.AuditPage
		e.run(func(ctx context.Context) (err error) { page, err = e.a.AuditPage(ctx, q); return err },
			func() { show(page, false) })
	}
	older.OnTapped = func() {
		if len(rows) == 0 {
			return
		}
		q := f
		q.Before = rows[len(rows)-1].Event.Seq
		var page *vm.AuditPage
		e.run(func(ctx context.Context) (err error) { page, err = e.a.AuditPage(ctx, q); return err },
			func() { show(page, true) })
	}
	apply := widget.NewButtonWithIcon("Filter", theme.SearchIcon(), load)
	export := func(format auditexport.Format) func() {
		return func() {
			if !filter() {
				return
			}
			q := f
			save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
				if err != nil || w == nil {
					return
				}
				path := w.URI().Path()
				var n int
				e.run(func(ctx context.Context) error {
					defer w.Close()
					var err error
					n, err = e.a.ExportAudit(ctx, q, w, format)
					return err
				}, func() {
					verdict.SetText(fmt.Sprintf("Exported %d events to %s; check it anywhere with: watchword-hub verify-audit --file %s", n, path, path))
				})
			}, e.win)
			save.SetFileName(auditFileName(time.Now(), format))
			save.Show()
		}
	}
	exportCSV := widget.NewButtonWithIcon("Export CSV…", theme.DocumentSaveIcon(), export(auditexport.CSV))
	exportJSON := widget.NewButtonWithIcon("Export JSON lines…", theme.DocumentSaveIcon(), export(auditexport.JSONL))
	verify := widget.NewButtonWithIcon("Verify hash chain", theme.ConfirmIcon(), func() {
		var ok bool
		var msg string
		e.run(func(ctx context.Context) (err error) { ok, msg, err = e.a.VerifyAudit(ctx); return err }, func() {
			verdict.SetText(msg)
			if !ok {
				dialog.ShowInformation("Audit chain broken", msg, e.win)
			}
		})
	})
	verify.Importance = widget.HighImportance
	verdict.Wrapping = fyne.TextWrapWord
	actor.OnChanged = func(string) { load() }
	tech.OnChanged = func(string) { load() }
	agent.OnChanged = func(string) { load() }
	bar := container.NewVBox(
		container.NewGridWithColumns(3, actor, tech, agent),
		container.NewGridWithColumns(2, action, container.NewGridWithColumns(3, since, until, apply)),
		container.NewBorder(nil, nil, nil, container.NewHBox(exportCSV, exportJSON, verify), verdict))
	foot := container.NewVBox(container.NewBorder(nil, nil, nil, older, count), details)
	return screen{
		obj: container.NewBorder(bar, foot, nil, nil, table),
		refresh: func() {
			s := e.a.Snapshot()
			tech.Options = []string{"Any tech"}
			for _, t := range s.Techs {
				tech.Options = append(tech.Options, t.Username)
			}
			agent.Options = []string{"Any agent"}
			for _, a := range s.Agents {
				agent.Options = append(agent.Options, a.Name)
			}
			if e.a.Connected() {
				load()
			}
		},
	}
}

// auditDetails is one event in full: the sentence, who and when, the raw action, target and detail, the device
// verdict with what was checked, and the chain hash.
func auditDetails(r vm.AuditRow) string {
	ev := r.Event
	s := fmt.Sprintf("#%d  %s — %s\n%s (%s %d) · %s · target %s", ev.Seq, ev.At.Local().Format("2006-01-02 15:04:05"), r.Summary,
		r.Actor, ev.ActorKind, ev.ActorID, ev.Action, ev.Target)
	if ev.Detail != "" {
		s += "\n" + ev.Detail
	}
	if r.Device != "" {
		s += "\nDevice signature: " + r.Device
		if r.DeviceWhy != "" {
			s += " — " + r.DeviceWhy
		}
	}
	return s + "\nHash " + ev.Hash
}

// auditCount says how many events are on screen.
func auditCount(n int, more bool) string {
	if more {
		return fmt.Sprintf("%d newest events shown; older ones match too.", n)
	}
	return fmt.Sprintf("%d events: every one that matches.", n)
}

// auditFileName is the export's suggested name, dated.
func auditFileName(now time.Time, f auditexport.Format) string {
	return "watchword-audit-" + now.Format("2006-01-02") + "." + string(f)
}

func day(s string, add time.Duration) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: write YYYY-MM-DD", s)
	}
	return t.Add(add), nil
}
