package view

import (
	"context"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/shared/wire"
)

// TestPendingShowsReservedVsTyped: on Pending techs, a registration under a CSV reservation is marked as such and,
// selected, shows the reservation's record beside what the device typed and the groups it joins at approval.
func TestPendingShowsReservedVsTyped(t *testing.T) {
	a, w, h := connectedHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := h.Owner.ImportTechs(ctx, wire.ImportTemplateHeader+"\nrsmith,Rita Smith,rita@example.com,,\n", wire.ImportAtomic); err != nil {
		t.Fatal(err)
	}
	st, err := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: "rsmith", DisplayName: "R. Smith", Email: "rita@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	a.Select("pending")
	row := len(a.PendingRekeys()) + slices.IndexFunc(a.Pending(), func(x wire.Tech) bool { return x.ID == st.TechID })
	fyne.DoAndWait(func() { tables(w.Canvas().Content())[0].Select(widget.TableCellID{Row: row, Col: 0}) })
	root := w.Canvas().Content()
	if !shows(root, "Reserved (CSV)") {
		t.Fatal("the pending list does not mark the reserved registration")
	}
	for _, want := range []string{"reserved by CSV import", `Name: reserved "Rita Smith", typed "R. Smith"`, "TechGroups at approval: none."} {
		if !containsText(root, want) {
			t.Errorf("the selected registration does not show %q", want)
		}
	}
}
