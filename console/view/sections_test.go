package view

import (
	"testing"

	"github.com/watchword/watchword/console/view/uitest"
	"github.com/watchword/watchword/console/vm"
)

// TestReopensLastSection: the section last on screen is the one the next Console window of the same app (its
// preferences) opens on; every section of the view-model has a screen in the table.
func TestReopensLastSection(t *testing.T) {
	uitest.NewApp(t)
	first := vm.New()
	w := consoleWindow(t, first)
	tapLabel(t, w, "Audit log")

	next := vm.New()
	w2 := consoleWindow(t, next)
	if got, _ := next.Selected.Get(); got != "audit" {
		t.Fatalf("the next Console opens on %q, want the audit log it closed on", got)
	}
	if !shows(w2.Canvas().Content(), "Every change, approval, rotation, reveal and copy, hash-chained.") {
		t.Fatal("the audit log's intro is not on screen")
	}
	for _, s := range vm.Sections {
		if sections[s.ID].View == nil || sections[s.ID].Title != s.Title {
			t.Fatalf("section %s has no screen in the table", s.ID)
		}
	}
}
