package view

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// auditScreen reads the audit log with filters and verifies the hash chain.
func auditScreen(e env) screen {
	var events []wire.AuditEvent
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
	table := newTable([]column{{"#", 45}, {"When", 130}, {"Actor", 140}, {"Action", 150}, {"Target", 140}, {"Detail", 420}},
		func() int { return len(events) },
		func(r, c int) string {
			ev := events[r]
			return [...]string{strconv.FormatInt(ev.Seq, 10), when(ev.At), e.a.Snapshot().Actor(ev), ev.Action, ev.Target, ev.Detail}[c]
		}, nil)
	load := func() {
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
			return
		}
		filter := f
		var out []wire.AuditEvent
		e.run(func(ctx context.Context) (err error) { out, err = e.a.Audit(ctx, filter); return err },
			func() { events = out; table.Refresh() })
	}
	apply := widget.NewButtonWithIcon("Filter", theme.SearchIcon(), load)
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
	actor.OnChanged = func(string) { load() }
	tech.OnChanged = func(string) { load() }
	agent.OnChanged = func(string) { load() }
	bar := container.NewVBox(
		container.NewGridWithColumns(3, actor, tech, agent),
		container.NewGridWithColumns(2, action, container.NewGridWithColumns(3, since, until, apply)),
		container.NewBorder(nil, nil, nil, verify, verdict))
	return screen{
		obj: container.NewBorder(bar, nil, nil, nil, table),
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
