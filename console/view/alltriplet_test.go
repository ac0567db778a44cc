package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestAllTripletWarning: while the built-in All triplet exists, the screen a new Console opens on, the triplets and
// the co-managed onboarding warn that every approved tech gets AllRights (naming its groups) everywhere; other
// screens do not; once the All triplet is deleted, no screen does.
func TestAllTripletWarning(t *testing.T) {
	a, w, _ := connected(t)
	root := w.Canvas().Content()
	const warn = "The built-in All triplet (AllTechs × AllDomains × AllRights) is in force"
	for _, id := range allTripletSections {
		a.Select(id)
		if !visibleText(root, warn) || !visibleText(root, "Domain Admins on AD") || !visibleWarningIcon(root) {
			t.Fatalf("section %s: no All triplet warning naming AllRights's groups", id)
		}
	}
	a.Select("audit")
	if visibleText(root, warn) || visibleWarningIcon(root) {
		t.Fatal("the audit log shows the All triplet warning")
	}

	var all int64
	for _, tr := range a.Snapshot().Triplets {
		if tr.Builtin {
			all = tr.ID
		}
	}
	if all == 0 {
		t.Fatal("the demo tenant has no All triplet")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.DeleteTriplet(ctx, all); err != nil {
		t.Fatal(err)
	}
	for _, id := range allTripletSections {
		a.Select(id)
		eventually(t, "the warning to go from "+id, func() bool { return !visibleText(root, warn) && !visibleWarningIcon(root) })
	}
	if s := a.Snapshot(); allTripletText(s) != "" || len(s.Triplets) == 0 {
		t.Fatalf("after deleting the All triplet: %d triplets, warning %q", len(s.Triplets), allTripletText(s))
	}
}

// TestAllTripletTextNamesTheGroups: the warning names AllRights's groups per kind of target, in a stable order.
func TestAllTripletTextNamesTheGroups(t *testing.T) {
	all := wire.Right{ID: 1, Name: wire.AllRights, Builtin: true,
		Targets: map[string][]string{"linux": {"sudo", "wheel"}, "ad": {"Domain Admins"}, "ldap": nil}}
	s := &vm.Snapshot{Triplets: []wire.Triplet{{ID: 1, Builtin: true}}, Rights: []wire.Right{all}}
	if got := allTripletText(s); !strings.Contains(got, "gets AllRights (Domain Admins on AD; sudo, wheel on Linux) on every domain") {
		t.Fatalf("warning %q", got)
	}
	s.Triplets[0].Builtin = false
	if got := allTripletText(s); got != "" {
		t.Fatalf("a tenant without the All triplet is warned: %q", got)
	}
}

// visibleText reports whether a label containing sub is on screen: the label and every container above it shown.
func visibleText(root fyne.CanvasObject, sub string) bool {
	return anyVisible(root, func(o fyne.CanvasObject) bool {
		l, ok := o.(*widget.Label)
		return ok && strings.Contains(l.Text, sub)
	})
}

// visibleWarningIcon reports whether the warning icon is on screen (only the All triplet banner uses it).
func visibleWarningIcon(root fyne.CanvasObject) bool {
	return anyVisible(root, func(o fyne.CanvasObject) bool {
		i, ok := o.(*widget.Icon)
		return ok && i.Resource != nil && i.Resource.Name() == theme.WarningIcon().Name()
	})
}

// anyVisible walks the shown objects under root (a hidden container hides all it holds).
func anyVisible(root fyne.CanvasObject, match func(fyne.CanvasObject) bool) bool {
	seen := false
	var walkVisible func(o fyne.CanvasObject)
	walkVisible = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		seen = seen || match(o)
		switch x := o.(type) {
		case *fyne.Container:
			for _, c := range x.Objects {
				walkVisible(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walkVisible(c)
			}
		}
	}
	fyne.DoAndWait(func() { walkVisible(root) })
	return seen
}
