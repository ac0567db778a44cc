package view

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// The demo's owner is the tenant's only owner: the admins screen offers neither removing nor demoting them (the
// hub refuses both) and says why; the selected admin's whole fingerprint shows under the table.
func TestAdminsSoleOwnerButtons(t *testing.T) {
	a, w, _ := connected(t)
	a.Select("admins")
	eventually(t, "the admins", func() bool { return shows(w.Canvas().Content(), "Owner: Owner, active") })
	if !containsText(w.Canvas().Content(), "is the tenant's only owner") {
		t.Fatal("the screen does not say why the sole owner cannot be changed")
	}
	if owner := a.Snapshot().Me.Fingerprint; owner == "" || !shows(w.Canvas().Content(), fingerprintLines(owner)) {
		t.Fatal("the selected admin's whole fingerprint is not shown (the table shows its first groups)")
	}
	for _, text := range []string{"Approve…", "Set role", "Remove…"} {
		var b *widget.Button
		find(w.Canvas().Content(), func(o fyne.CanvasObject) {
			if x, ok := o.(*widget.Button); ok && x.Text == text {
				b = x
			}
		})
		if b == nil || !b.Disabled() {
			t.Fatalf("%q is enabled for the sole owner", text)
		}
	}
}
