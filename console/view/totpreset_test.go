package view

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/console/vm/demo"
)

// TestTechsScreenResetsAuthenticator: "Reset authenticator…" is off for a tech without an authenticator; for an
// enrolled one it asks first, saying the tech enrols again and that it is audited, and then resets it at the hub.
func TestTechsScreenResetsAuthenticator(t *testing.T) {
	a, w, world := connected(t)
	a.Select("techs") // amoreau is first and selected: not enrolled
	var reset *widget.Button
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Reset authenticator…" {
			reset = b
		}
	})
	if reset == nil || !reset.Visible() || !reset.Disabled() {
		t.Fatalf("Reset authenticator… for a tech who never enrolled: %+v", reset)
	}
	id := world.Techs[demo.TOTPTech]
	row := -1
	for i, tech := range a.Techs(vm.TechFilter{}) {
		if tech.ID == id {
			row = i
		}
	}
	if row < 0 {
		t.Fatalf("%s is not in the techs table", demo.TOTPTech)
	}
	fyne.DoAndWait(func() { tables(w.Canvas().Content())[0].Select(widget.TableCellID{Row: row, Col: 0}) })
	tapButton(t, w, "Reset authenticator…")
	top := topOverlay(w)
	if top == nil || !containsText(top, "enrol a new authenticator") || !containsText(top, "audit log") {
		t.Fatal("the reset confirmation does not say the tech enrols again and that it is audited")
	}
	tapButton(t, w, "Reset authenticator")
	eventually(t, "the reset", func() bool {
		s, ok := a.TechSecurity(id)
		return ok && !s.Enrolled && s.Required
	})
	eventually(t, "the screen to say so", func() bool {
		return containsText(w.Canvas().Content(), "2FA: required, not enrolled") && reset.Disabled()
	})
}
