package view

import (
	"context"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
)

// TestApproveDialogPlacesTech: the approve dialog offers the tech's own suggestion first (MSP staff for a tech who
// typed no organization) and the recorded organizations once the hub has listed them; the note says what each
// choice means; approving into an organization makes the tech co-managed although the form said nothing.
func TestApproveDialogPlacesTech(t *testing.T) {
	a, w, h := connectedHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := h.Owner.CreateOrg(ctx, "Northwind Clients"); err != nil {
		t.Fatal(err)
	}
	nora := h.NewTech("nora")   // typed no organization
	deleteAllTriplet(t, ctx, h) // placement is this test's subject; the override is comanaged_test.go's
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	a.Select("pending")
	row := len(a.PendingRekeys()) + len(a.Pending()) - 1
	fyne.DoAndWait(func() { tables(w.Canvas().Content())[0].Select(widget.TableCellID{Row: row, Col: 0}) })
	tapButton(t, w, "Approve…")
	var sel *widget.Select
	find(topOverlay(w), func(o fyne.CanvasObject) {
		if s, ok := o.(*widget.Select); ok {
			sel = s
		}
	})
	if sel == nil {
		t.Fatal("the approve dialog has no choice of where the tech belongs")
	}
	var selected string
	fyne.DoAndWait(func() { selected = sel.Selected })
	if selected != vm.MSPStaffLabel || !containsText(topOverlay(w), "MSP staff: no client organization") {
		t.Fatalf("default choice for a tech who typed no organization: %q", selected)
	}
	eventually(t, "the recorded organizations", func() bool {
		var opts []string
		fyne.DoAndWait(func() { opts = slices.Clone(sel.Options) })
		return slices.Contains(opts, "Northwind Clients")
	})
	fyne.DoAndWait(func() { sel.SetSelected("Northwind Clients") })
	if !containsText(topOverlay(w), "Co-managed by Northwind Clients: they must enrol an authenticator (2FA)") {
		t.Fatal("the note does not say an organization means 2FA")
	}
	tapButton(t, w, "Fingerprint matches: approve")
	eventually(t, "the approval into Northwind Clients", func() bool {
		tech := a.Snapshot().Tech(nora.ID)
		return tech != nil && tech.Status == "active" && tech.Organization == "Northwind Clients" && tech.CoManaged
	})
}
