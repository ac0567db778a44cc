package vm_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestPendingReservation: a tech who registered under a CSV reservation shows, while pending, the reservation's
// record beside what the device typed and the TechGroups it will join; it joins them when approved.
func TestPendingReservation(t *testing.T) {
	a, h, _ := world(t)
	ctx := testCtx(t)
	im, err := h.Owner.ImportTechs(ctx, wire.ImportTemplateHeader+"\nrsmith,Rita Smith,rita.smith@northwind-it.com,,Helpdesk tier 1\n", wire.ImportAtomic)
	if err != nil || im.Created != 1 {
		t.Fatalf("import: %+v, %v", im, err)
	}
	st, err := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: "rsmith", DisplayName: "R. Smith",
		Email: "Rita.Smith@northwind-it.com", Organization: "Fabrikam Inc"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(a.Pending(), func(x wire.Tech) bool { return x.ID == st.TechID })
	if i < 0 {
		t.Fatalf("rsmith is not pending: %+v", a.Pending())
	}
	text := vm.ReservationText(a.Pending()[i])
	for _, want := range []string{
		"reserved by CSV import", `Name: reserved "Rita Smith", typed "R. Smith"`,
		`Email: reserved "rita.smith@northwind-it.com", typed "Rita.Smith@northwind-it.com"`,
		`Organization: reserved none, typed "Fabrikam Inc"`, "TechGroups at approval: Helpdesk tier 1.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("reservation text lacks %q:\n%s", want, text)
		}
	}
	if vm.ReservationText(wire.Tech{Username: "x"}) != "" {
		t.Error("a tech without a reservation has reservation text")
	}
	if slices.Contains(a.Snapshot().GroupsOf(st.TechID), "Helpdesk tier 1") {
		t.Fatal("the pending tech is already in the reservation's group")
	}
	if err := a.Approve(ctx, st.TechID); err != nil {
		t.Fatal(err)
	}
	tech := a.Snapshot().Tech(st.TechID)
	if tech == nil || tech.Status != wire.TechActive || tech.Organization != "" || tech.Reservation != nil ||
		!slices.Contains(a.Snapshot().GroupsOf(st.TechID), "Helpdesk tier 1") {
		t.Fatalf("rsmith after approval: %+v, groups %v", tech, a.Snapshot().GroupsOf(st.TechID))
	}
}
