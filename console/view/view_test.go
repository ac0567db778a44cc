package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/view/uitest"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
)

func TestNavigationSelectsSection(t *testing.T) {
	uitest.NewApp(t)
	a := vm.New()
	w := test.NewTempWindow(t, nil)
	w.SetContent(Root(a, w))
	w.Resize(fyne.NewSize(1100, 700))

	if !shows(w.Canvas().Content(), "Pending techs") || !shows(w.Canvas().Content(), "Not connected to a hub") {
		t.Fatal("first screen does not show the pending techs section and the hub status")
	}
	tapLabel(t, w, "Triplets")
	if got, _ := a.Selected.Get(); got != "triplets" {
		t.Fatalf("selected = %q after tapping Triplets", got)
	}
	if !shows(w.Canvas().Content(), "TechGroup × AgentGroup × Right: who gets which rights where.") {
		t.Fatal("triplets section text not on screen")
	}
}

// connected is a Console window on a hub holding the demo data set.
func connected(t *testing.T) (*vm.App, fyne.Window, *demo.World) {
	a, w, _, world := demoConsole(t)
	return a, w, world
}

// demoConsole is a Console window signed in as the owner of a hub holding the demo data set, with the hub harness.
func demoConsole(t *testing.T) (*vm.App, fyne.Window, *hubtest.Harness, *demo.World) {
	t.Helper()
	uitest.NewApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := hubtest.New(t)
	world, err := demo.Populate(ctx, h.Invite, h.Owner)
	if err != nil {
		t.Fatal(err)
	}
	a, w := consoleAs(t, h, h.Owner)
	return a, w, h, world
}

// eventually polls cond, since actions run off the UI goroutine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestScreensRenderHubData(t *testing.T) {
	a, w, _ := connected(t)
	root := w.Canvas().Content()
	if !shows(root, "Pending techs (7)") { // six techs and one device replacement
		t.Fatal("no pending count badge in the navigation")
	}
	// The device replacement comes first and is selected: the old and the new fingerprint side by side, in the
	// TechClient's four lines, and what approval does.
	rk := a.PendingRekeys()[0]
	if !shows(root, fingerprintLines(rk.OldFingerprint)) || !shows(root, fingerprintLines(rk.Fingerprint)) ||
		!shows(root, "Old device (revoked on approval)") || !containsText(root, "The old device is revoked at once") {
		t.Fatal("the selected device replacement's fingerprints and warning are not shown")
	}
	if !shows(root, "Device replacement") || !shows(root, "New tech") {
		t.Fatal("the pending list does not tell device replacements from new techs")
	}
	for _, s := range vm.Sections {
		a.Select(s.ID)
		if !shows(w.Canvas().Content(), s.About) {
			t.Fatalf("section %s not shown", s.ID)
		}
	}
	a.Select("invite")
	if !showsPrefix(w.Canvas().Content(), "Send this invite to each technician of Test MSP") {
		t.Fatal("invite guide missing")
	}
	a.Select("agents")
	// tailspin-ldap, the agent that reports the error, is below the first screenful of agents.
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if tb, ok := o.(*widget.Table); ok {
			fyne.DoAndWait(tb.ScrollToBottom)
		}
	})
	if !shows(w.Canvas().Content(), `group "cn=admins" not found on target; right AllRights skipped`) {
		t.Fatal("agent error not shown")
	}
}

func TestOnboardingScreenPreviewsAndApplies(t *testing.T) {
	a, w, world := connected(t)
	a.Select("onboarding")
	root := w.Canvas().Content()
	// The screen opens on the first organization, with its techs and guessed domains picked.
	if !showsPrefix(root, "In one transaction at the hub, all or nothing:") || !containsText(root, "Delete the All triplet") ||
		!containsText(root, "Last, activate the pending co-managed techs: gkim, hadams") {
		t.Fatal("onboarding preview not shown")
	}
	tapButton(t, w, "Apply atomically…")
	tapButton(t, w, "Yes")
	eventually(t, "the onboarding to apply", func() bool { return len(a.Pending()) == 4 })
	if got := a.AccessForTech(world.Techs["gkim"]); len(got) != 3 {
		t.Fatalf("gkim reaches %d domains after onboarding from the screen", len(got))
	}
}

func TestDeactivateConfirmsAndSaysWhy(t *testing.T) {
	a, w, world := connected(t)
	a.Select("techs") // amoreau is first and selected
	tapButton(t, w, "Deactivate…")
	if !containsText(topOverlay(w), "disabled everywhere") {
		t.Fatal("the deactivation confirmation does not say accounts are disabled everywhere")
	}
	tapButton(t, w, "Yes")
	eventually(t, "the deactivation", func() bool { return a.Snapshot().Tech(world.Techs["amoreau"]).Status == "disabled" })
}

func shows(root fyne.CanvasObject, text string) bool {
	return match(root, func(s string) bool { return s == text })
}

func showsPrefix(root fyne.CanvasObject, prefix string) bool {
	return match(root, func(s string) bool { return strings.HasPrefix(s, prefix) })
}

func containsText(root fyne.CanvasObject, sub string) bool {
	return match(root, func(s string) bool { return strings.Contains(s, sub) })
}

func match(root fyne.CanvasObject, ok func(string) bool) bool {
	seen := false
	find(root, func(o fyne.CanvasObject) {
		if l, isLabel := o.(*widget.Label); isLabel && l.Visible() && ok(l.Text) {
			seen = true
		}
	})
	return seen
}

func tapLabel(t *testing.T, w fyne.Window, text string) {
	t.Helper()
	var row fyne.Tappable
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.Text == text && row == nil {
			row = findTappableParent(w.Canvas().Content(), o)
		}
	})
	if row == nil {
		t.Fatalf("no %q to tap", text)
	}
	fyne.DoAndWait(func() { test.Tap(row) })
}

// tapButton taps the button with that text, in the top dialog if one is open.
func tapButton(t *testing.T, w fyne.Window, text string) {
	t.Helper()
	root := w.Canvas().Content()
	if top := topOverlay(w); top != nil {
		root = top
	}
	var b *widget.Button
	find(root, func(o fyne.CanvasObject) {
		if x, ok := o.(*widget.Button); ok && x.Text == text && x.Visible() && b == nil {
			b = x
		}
	})
	if b == nil {
		t.Fatalf("no %q button", text)
	}
	if b.Disabled() {
		t.Fatalf("%q is disabled", text)
	}
	fyne.DoAndWait(func() { test.Tap(b) })
}

// find visits o and everything below it, through containers and widget renderers, as UI work: a background
// refresh does not lay the tree out while it is read.
func find(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	fyne.DoAndWait(func() { walk(o, f) })
}

func walk(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	f(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, f)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walk(c, f)
		}
	}
}

// findTappableParent returns the innermost tappable object that contains target.
func findTappableParent(root, target fyne.CanvasObject) fyne.Tappable {
	var best fyne.Tappable
	var visit func(o fyne.CanvasObject, inTappable fyne.Tappable) bool
	visit = func(o fyne.CanvasObject, cur fyne.Tappable) bool {
		if t, ok := o.(fyne.Tappable); ok {
			cur = t
		}
		if o == target {
			best = cur
			return true
		}
		var kids []fyne.CanvasObject
		switch x := o.(type) {
		case *fyne.Container:
			kids = x.Objects
		case fyne.Widget:
			kids = test.WidgetRenderer(x).Objects()
		}
		for _, k := range kids {
			if visit(k, cur) {
				return true
			}
		}
		return false
	}
	visit(root, nil)
	return best
}

// topOverlay is the window's top dialog, or nil, read as UI work.
func topOverlay(w fyne.Window) (top fyne.CanvasObject) {
	fyne.DoAndWait(func() { top = w.Canvas().Overlays().Top() })
	return top
}
