package vm_test

import (
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestEditMoveDeleteAndDevice: the Techs screen's actions through the view-model against a real hub — a rename, a
// move (read-only without one, previewed with the domains before and after), the deletion of a deactivated tech
// whose accounts the agents then delete, and a device's lines.
func TestEditMoveDeleteAndDevice(t *testing.T) {
	ctx := testCtx(t)
	a, h, w := world(t)
	alice := w.Techs["amoreau"]
	if err := a.EditTech(ctx, alice, "Alice M. Moreau", "alice@msp.example", ""); err != nil {
		t.Fatal(err)
	}
	if got := a.Snapshot().Tech(alice); got.DisplayName != "Alice M. Moreau" || got.Email != "alice@msp.example" {
		t.Fatalf("after the edit: %+v", got)
	}
	if _, err := h.Owner.CreateOrg(ctx, "Contoso Ltd"); err != nil && !strings.Contains(err.Error(), "exists") {
		t.Log(err) // recorded by the demo already
	}
	if !a.Snapshot().NeedsMove(alice, "Contoso Ltd") || a.Snapshot().NeedsMove(w.Techs["gkim"], "Fabrikam Inc") {
		t.Fatal("an approved tech's organization change is a move, a pending tech's is not")
	}
	m, err := a.PreviewMove(alice, "Contoso Ltd")
	if err != nil {
		t.Fatal(err)
	}
	if text := m.Text("amoreau"); !strings.Contains(text, "Move amoreau to Contoso Ltd") || !strings.Contains(text, "Reaches today: backup01") {
		t.Fatalf("preview: %s", text)
	}
	if err := a.EditTech(ctx, alice, "Alice M. Moreau", "alice@msp.example", "Contoso Ltd"); err != nil {
		t.Fatal(err)
	}
	if got := a.Snapshot().Tech(alice); got.Organization != "Contoso Ltd" || !got.CoManaged {
		t.Fatalf("after the move: %+v", got)
	}

	emma := w.Techs["eschulz"] // deactivated in the demo
	if warn := a.DeleteWarning(emma); !strings.Contains(warn, "Emma Schulz") || !strings.Contains(warn, "left there disabled") {
		t.Fatalf("warning: %q", warn)
	}
	if err := a.DeleteTech(ctx, w.Techs["bokafor"], true); err == nil {
		t.Fatal("an active tech was deleted")
	}
	if err := a.DeleteTech(ctx, emma, true); err != nil {
		t.Fatal(err)
	}
	if a.Snapshot().Tech(emma) != nil {
		t.Fatal("the deleted tech is still listed")
	}
	for _, accs := range a.Snapshot().Accounts {
		for _, acc := range accs {
			if acc.TechID == emma && acc.State != wire.AccountDeleting {
				t.Fatalf("account %q of the deleted tech is %q, want deleting", acc.Name, acc.State)
			}
		}
	}

	d, err := a.TechDevice(ctx, w.Techs["chenli"])
	if err != nil {
		t.Fatal(err)
	}
	if text := vm.DeviceText(d); !strings.Contains(text, "Key fingerprint: "+d.Fingerprint) || !strings.Contains(text, "Last seen: ") {
		t.Fatalf("device: %s", text)
	}
}
