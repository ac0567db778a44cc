package view

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestTechsScreenDeviceAndDelete: the Techs screen shows the selected tech's device from the hub, offers Delete…
// only for a deactivated tech, and deletes one with its accounts after asking which fate they get.
func TestTechsScreenDeviceAndDelete(t *testing.T) {
	a, w, world := connected(t)
	a.Select("techs") // amoreau is first and selected: active
	button := func(text string) *widget.Button {
		var b *widget.Button
		find(w.Canvas().Content(), func(o fyne.CanvasObject) {
			if x, ok := o.(*widget.Button); ok && x.Text == text {
				b = x
			}
		})
		if b == nil {
			t.Fatalf("no %q button", text)
		}
		return b
	}
	if !button("Delete…").Disabled() || button("Edit…").Disabled() {
		t.Fatal("Delete… is on for an active tech, or Edit… off")
	}
	tapButton(t, w, "Device…")
	eventually(t, "the device", func() bool {
		top := topOverlay(w)
		return top != nil && containsText(top, "Key fingerprint: ") && containsText(top, "Last seen: ")
	})
	tapButton(t, w, "Close")

	emma := world.Techs["eschulz"] // deactivated in the demo
	row := -1
	for i, tech := range a.Techs(vm.TechFilter{}) {
		if tech.ID == emma {
			row = i
		}
	}
	fyne.DoAndWait(func() { tables(w.Canvas().Content())[0].Select(widget.TableCellID{Row: row, Col: 0}) })
	tapButton(t, w, "Delete…")
	top := topOverlay(w)
	if top == nil || !containsText(top, "Emma Schulz") || !containsText(top, "audit log keeps") {
		t.Fatal("the delete confirmation does not name the tech or say the history stays")
	}
	var choice *widget.RadioGroup
	find(top, func(o fyne.CanvasObject) {
		if r, ok := o.(*widget.RadioGroup); ok {
			choice = r
		}
	})
	fyne.DoAndWait(func() { choice.SetSelected(deleteAccounts) })
	tapButton(t, w, "Delete")
	eventually(t, "the deletion", func() bool { return a.Snapshot().Tech(emma) == nil })
	for _, accs := range a.Snapshot().Accounts {
		for _, acc := range accs {
			if acc.TechID == emma && acc.State != wire.AccountDeleting {
				t.Fatalf("account %q is %q, want deleting", acc.Name, acc.State)
			}
		}
	}
}
