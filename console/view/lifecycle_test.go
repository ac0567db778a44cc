package view

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// formEntry is the entry of the visible form item labelled label.
func formEntry(t *testing.T, w fyne.Window, label string) *widget.Entry {
	t.Helper()
	var e *widget.Entry
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if f, ok := o.(*widget.Form); ok && f.Visible() {
			for _, it := range f.Items {
				if x, ok := it.Widget.(*widget.Entry); ok && it.Text == label && e == nil {
					e = x
				}
			}
		}
	})
	if e == nil {
		t.Fatalf("no form entry %q", label)
	}
	return e
}

// TestPolicyScreenRotateAfterUseAndHistory: the policy screen shows and saves rotate-after-use and the history
// depth (saving used to send a history depth of 0, which the hub refuses).
func TestPolicyScreenRotateAfterUseAndHistory(t *testing.T) {
	a, w, _ := connected(t)
	a.Select("policy")
	after, hist := formEntry(t, w, "Rotate after use (hours, 0 off)"), formEntry(t, w, "Password history (versions kept)")
	fyne.DoAndWait(func() {
		if after.Text != "8" || hist.Text != "5" {
			t.Errorf("after use %q, history %q: want the defaults 8 and 5", after.Text, hist.Text)
		}
	})
	if !containsText(w.Canvas().Content(), "rotated 8 h after each reveal or copy; the last 5 passwords of each account kept") {
		t.Fatal("the policy summary does not say what rotate-after-use and the history do")
	}
	fyne.DoAndWait(func() {
		after.SetText("2")
		hist.SetText("10")
	})
	tapButton(t, w, "Save policy")
	eventually(t, "the saved policy", func() bool {
		p := a.Snapshot().Tenant.Policy
		return p.RotateAfterUseSeconds == 7200 && p.HistoryDepth == 10
	})
	fyne.DoAndWait(func() { after.SetText("soon") })
	tapButton(t, w, "Save policy")
	if top := topOverlay(w); top == nil || !containsText(top, `"soon" is not a number of hours`) {
		t.Fatal("a bad number of hours is not refused with its field")
	}
}

// TestAgentGroupAfterUseOverrideOnScreen: the AgentGroup editor sets a rotate-after-use override; TechGroups have
// no such field.
func TestAgentGroupAfterUseOverrideOnScreen(t *testing.T) {
	a, w, _ := connected(t)
	a.Select("techgroups")
	if onScreen(w.Canvas().Content(), "Rotate after use (hours; empty: tenant policy, 0: off)") {
		t.Fatal("a TechGroup offers a rotate-after-use override")
	}
	a.Select("agentgroups")
	if !onScreen(w.Canvas().Content(), "Rotate after use (hours; empty: tenant policy, 0: off)") {
		t.Fatal("no rotate-after-use override on the AgentGroup editor")
	}
	var entry *widget.Entry
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok && e.PlaceHolder == "tenant policy" && e.Visible() {
			entry = e
		}
	})
	if entry == nil {
		t.Fatal("no override entry")
	}
	var name string
	fyne.DoAndWait(func() { name = selectedGroupName(w) })
	fyne.DoAndWait(func() { entry.SetText("0.5") })
	tapButton(t, w, "Save")
	eventually(t, "the override saved", func() bool {
		for _, g := range a.Snapshot().AgentGroups {
			if g.Name == name && g.RotateAfterUseSeconds != nil && *g.RotateAfterUseSeconds == 1800 {
				return true
			}
		}
		return false
	})
	eventually(t, "the note says so", func() bool {
		return containsText(w.Canvas().Content(), "rotates 30 min after use on this group's agents")
	})
}

// selectedGroupName is the text of the group editor's name entry.
func selectedGroupName(w fyne.Window) string {
	var name string
	walk(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok && e.Visible() && strings.HasSuffix(e.PlaceHolder, "Group name") && name == "" {
			name = e.Text
		}
	})
	return name
}

// onScreen says whether a label with text is shown: it and everything above it visible.
func onScreen(root fyne.CanvasObject, text string) bool {
	seen := false
	var visit func(o fyne.CanvasObject)
	visit = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		if l, ok := o.(*widget.Label); ok && l.Text == text {
			seen = true
		}
		switch x := o.(type) {
		case *fyne.Container:
			for _, c := range x.Objects {
				visit(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				visit(c)
			}
		}
	}
	fyne.DoAndWait(func() { visit(root) })
	return seen
}
