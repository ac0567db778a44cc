package view

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestAgentsScreenOfflineAndRetire: agents not seen for more than twice the poll interval are marked offline in
// the list, explained above it and announced by a desktop notification; Retire… asks first, saying the accounts
// stay on the target, and retires the agent; the enrolment driver picker offers ssh.
func TestAgentsScreenOfflineAndRetire(t *testing.T) {
	notifications := captureNotifications(t)
	a, w, _ := connectedHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var newest time.Time
	for _, g := range a.Snapshot().Agents {
		if g.Status == wire.AgentActive && g.LastSeen.After(newest) {
			newest = g.LastSeen
		}
	}
	var mu sync.Mutex
	now := newest
	a.UseClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	a.Select("agents")
	root := w.Canvas().Content()
	if containsText(root, "OFFLINE") {
		t.Fatal("an agent seen just now is marked offline")
	}
	mu.Lock()
	now = newest.Add(3 * vm.AgentPollInterval)
	mu.Unlock()
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the offline mark and its explanation", func() bool {
		return containsText(root, "⚠ OFFLINE 3 min") && containsText(root, "has not been seen for 3 min")
	})
	eventually(t, "the offline notifications", func() bool {
		return slices.ContainsFunc(notifications(), func(n string) bool { return strings.HasPrefix(n, "Agent offline: ") })
	})

	row := -1
	var target wire.Agent
	for i, g := range a.Snapshot().Agents {
		if g.Status == wire.AgentActive {
			row, target = i, g
			break
		}
	}
	fyne.DoAndWait(func() { tables(root)[0].Select(widget.TableCellID{Row: row, Col: 0}) })
	tapButton(t, w, "Retire…")
	top := topOverlay(w)
	if top == nil || !containsText(top, "stay as they are now") || !containsText(top, target.Name) {
		t.Fatal("the retirement does not say what happens to the accounts")
	}
	tapButton(t, w, "Retire")
	eventually(t, "the retirement", func() bool { return a.Snapshot().Agent(target.ID).Status == wire.AgentDisabled })

	var picker *widget.Select
	find(root, func(o fyne.CanvasObject) {
		if s, ok := o.(*widget.Select); ok && slices.Contains(s.Options, wire.DriverAD) {
			picker = s
		}
	})
	if picker == nil || !slices.Contains(picker.Options, "ssh") {
		t.Fatal("the enrolment driver picker does not offer ssh")
	}
}

// TestAccessScreenShowsWhatATechGets: effective access names the target groups, standing or just-in-time (the
// demo's All triplet is just-in-time with approval) and the
// account as the agent reported it; a tech whose name is too long for AD shows why it has no account there, and
// the short name set on the screen fixes it.
func TestAccessScreenShowsWhatATechGets(t *testing.T) {
	a, w, h := connectedHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	long := h.NewTech("christopher.vandenb")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Approve(ctx, long.ID); err != nil {
		t.Fatal(err)
	}
	a.Select("access")
	root := w.Canvas().Content()
	var pick *widget.Select
	find(root, func(o fyne.CanvasObject) {
		if s, ok := o.(*widget.Select); ok && s.PlaceHolder == "Pick a tech" {
			pick = s
		}
	})
	if pick == nil {
		t.Fatal("no tech picker")
	}
	i := slices.IndexFunc(a.Snapshot().Techs, func(t wire.Tech) bool { return t.ID == long.ID })
	fyne.DoAndWait(func() { pick.SetSelectedIndex(i) })
	eventually(t, "the tech's access with its groups, mode and the AD problem", func() bool {
		return containsText(root, "Domain Admins") && containsText(root, "just-in-time, up to 4 h, approved") &&
			containsText(root, `"christopher.vandenb-tm" is 22 characters`)
	})
	var entry *widget.Entry
	find(root, func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok && e.PlaceHolder == "Short name, e.g. maxo" {
			entry = e
		}
	})
	if entry == nil {
		t.Fatal("no short name entry")
	}
	fyne.DoAndWait(func() { entry.SetText("chrisv") })
	tapButton(t, w, "Set short name")
	eventually(t, "the short name", func() bool {
		tech := a.Snapshot().Tech(long.ID)
		return tech.ShortName == "chrisv" && len(tech.Problems) == 0
	})
	eventually(t, "the screen without the problem", func() bool {
		return !containsText(root, "22 characters") && containsText(root, `short name "chrisv"`)
	})
}
