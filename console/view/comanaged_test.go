package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// deleteAllTriplet deletes the built-in All triplet, as the onboarding does.
func deleteAllTriplet(t *testing.T, ctx context.Context, h *hubtest.Harness) {
	t.Helper()
	trips, err := h.Owner.Triplets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range trips {
		if tr.Builtin {
			if err := h.Owner.DeleteTriplet(ctx, tr.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// openApprove selects a row of the pending list and opens its approve dialog.
func openApprove(t *testing.T, a *vm.App, w fyne.Window, row int) {
	t.Helper()
	a.Select("pending")
	fyne.DoAndWait(func() { tables(w.Canvas().Content())[0].Select(widget.TableCellID{Row: row, Col: 0}) })
	tapButton(t, w, "Approve…")
}

// TestApproveDialogOverride: approving a co-managed tech while the All triplet stands shows why the hub refuses
// it and offers the override; approving without ticking it approves nothing, and ticking it asks once more.
func TestApproveDialogOverride(t *testing.T) {
	a, w, h, world := demoConsole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	grace := world.Techs["gkim"] // typed Contoso Ltd
	row := -1
	for i, p := range a.Pending() {
		if p.ID == grace {
			row = len(a.PendingRekeys()) + i
		}
	}
	if row < 0 {
		t.Fatal("gkim is not pending")
	}
	openApprove(t, a, w, row)
	if !containsText(topOverlay(w), "The triplet AllTechs × AllDomains × AllRights gives gkim every domain") {
		t.Fatal("the approve dialog does not name the triplet that would give gkim every domain")
	}
	var check *widget.Check
	find(topOverlay(w), func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && strings.HasPrefix(c.Text, "Override: approve anyway") {
			check = c
		}
	})
	if check == nil || !check.Visible() {
		t.Fatal("no override to tick")
	}
	tapButton(t, w, "Fingerprint matches: approve")
	if !containsText(topOverlay(w), "gkim is still pending.") {
		t.Fatal("approving without the override does not say gkim stays pending")
	}
	tapButton(t, w, "OK")
	if st := a.Snapshot().Tech(grace).Status; st != wire.TechPending {
		t.Fatalf("gkim is %s", st)
	}

	openApprove(t, a, w, row)
	check = nil
	find(topOverlay(w), func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && strings.HasPrefix(c.Text, "Override: approve anyway") {
			check = c
		}
	})
	fyne.DoAndWait(func() { check.SetChecked(true) })
	tapButton(t, w, "Fingerprint matches: approve")
	if !containsText(topOverlay(w), "the override is written to the audit log") {
		t.Fatal("the override is not confirmed again")
	}
	tapButton(t, w, "Override and approve")
	eventually(t, "the override approval", func() bool { return a.Snapshot().Tech(grace).Status == wire.TechActive })
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "tech.approve-override"})
	if err != nil || len(ev) != 1 {
		t.Fatalf("override audit %+v, %v", ev, err)
	}
}

// TestOnboardingScreenExtends: an onboarded organization opens with its groups, says a second run extends it, and
// applying it activates the new co-managed tech.
func TestOnboardingScreenExtends(t *testing.T) {
	a, w, h, world := demoConsole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := a.ApplyOnboarding(ctx, a.NewOnboarding("Contoso Ltd")); err != nil {
		t.Fatal(err)
	}
	st, err := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: "mvega", DisplayName: "Maria Vega",
		Email: "mvega@contoso.com", Organization: "Contoso Ltd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	a.Select("onboarding")
	root := w.Canvas().Content()
	var org *widget.Select
	find(root, func(o fyne.CanvasObject) {
		if s, ok := o.(*widget.Select); ok && s.PlaceHolder == "Client organization" {
			org = s
		}
	})
	fyne.DoAndWait(func() { org.SetSelected("Contoso Ltd") })
	if !containsText(root, "Contoso Ltd is onboarded (Contoso Ltd co-managed techs on Contoso Ltd domains). Running it again extends it") ||
		!containsText(root, `Contoso Ltd is onboarded: add to its TechGroup "Contoso Ltd co-managed techs" the co-managed techs: mvega`) ||
		!containsText(root, "Last, activate the pending co-managed techs: mvega") {
		t.Fatal("the onboarding screen does not offer to extend Contoso Ltd")
	}
	tapButton(t, w, "Apply atomically…")
	tapButton(t, w, "Yes")
	eventually(t, "the extension", func() bool { t := a.Snapshot().Tech(st.TechID); return t != nil && t.Status == wire.TechActive })
	if got := a.AccessForTech(st.TechID); len(got) != 3 || a.Snapshot().Tech(world.Techs["gkim"]).Status != wire.TechActive {
		t.Fatalf("mvega reaches %d domains after the extension", len(got))
	}
}
