package view

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// TestAuditScreenNamesAndExports: the audit screen says each event in a sentence with people and objects by name
// (not "admin #1"), filters at the hub, shows a selected event in full with its chain hash, and offers the export
// in both formats.
func TestAuditScreenNamesAndExports(t *testing.T) {
	a, w, _ := connected(t)
	root := w.Canvas().Content()
	a.Select("audit")
	eventually(t, "the audit log's newest events", func() bool { return containsText(root, "events") })
	var action *widget.Entry
	find(root, func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok && strings.HasPrefix(e.PlaceHolder, "Action") {
			action = e
		}
	})
	if action == nil {
		t.Fatal("no action filter")
	}
	fyne.DoAndWait(func() { action.SetText("tech.approve") })
	tapButton(t, w, "Filter")
	eventually(t, "the approvals by name", func() bool { return shows(root, "Owner approved amoreau") })
	if containsText(root, "admin #") {
		t.Fatal("the audit screen names an admin by number")
	}
	if !match(root, func(s string) bool { return strings.HasSuffix(s, "events: every one that matches.") }) {
		t.Fatal("the screen does not say how many events match")
	}
	fyne.DoAndWait(func() { tables(root)[0].Select(widget.TableCellID{Row: 0, Col: 2}) })
	eventually(t, "the event in full", func() bool {
		return containsText(root, "Hash ") && containsText(root, "Owner (admin 1) · tech.approve")
	})
	for _, b := range []string{"Export CSV…", "Export JSON lines…", "Verify hash chain"} {
		found := false
		find(root, func(o fyne.CanvasObject) {
			if x, ok := o.(*widget.Button); ok && x.Text == b && x.Visible() {
				found = true
			}
		})
		if !found {
			t.Fatalf("no %q button", b)
		}
	}
	tapButton(t, w, "Export CSV…")
	eventually(t, "the file dialog", func() bool { return topOverlay(w) != nil })
}
