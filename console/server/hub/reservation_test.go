package hub_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/watchword/watchword/shared/wire"
)

// TestReservationSquatting: a username a CSV import reserved is taken only with the reservation's email (case
// aside). Anyone else is answered exactly as for a taken username, creates nothing, and the reservation keeps
// waiting for its owner; the refusal is audited as reserved-username. The owner's registration carries the
// reservation's name, email and organization, the pending list shows what the device typed beside them, and the
// reservation's groups are joined only when an admin approves.
func TestReservationSquatting(t *testing.T) {
	ctx := testCtx(t)
	h := importFixture(t)
	im, err := h.Owner.ImportTechs(ctx, wire.ImportTemplateHeader+"\nasmith,Alex Smith,alex@client.example,Client Ltd,Helpdesk;Night shift\n", wire.ImportAtomic)
	if err != nil || im.Created != 1 {
		t.Fatalf("import: %+v, %v", im, err)
	}
	pendingBefore, err := h.Owner.Techs(ctx, wire.TechPending)
	noErr(t, err)

	// The squatter, with the invite and the username but not the email; and a username a tech really has.
	_, squat := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: "asmith", DisplayName: "Alex Smith",
		Email: "mallory@evil.example", Organization: "Client Ltd"})
	_, taken := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: "carol", Email: "mallory@evil.example"})
	sw, ok1 := wire.AsError(squat)
	tw, ok2 := wire.AsError(taken)
	if !ok1 || !ok2 || sw.Code != wire.CodeConflict || sw.Code != tw.Code || sw.Field != tw.Field || sw.Message != tw.Message {
		t.Fatalf("squatting a reservation: %v; a taken username: %v; want the same answer", squat, taken)
	}
	if strings.Contains(squat.Error(), "alex@client.example") || strings.Contains(squat.Error(), "reserv") {
		t.Fatalf("the refusal reveals the reservation: %v", squat)
	}
	pending, err := h.Owner.Techs(ctx, wire.TechPending)
	noErr(t, err)
	if len(pending) != len(pendingBefore) {
		t.Fatalf("a refused squat left a pending tech: %+v", pending)
	}
	rs, err := h.Owner.Reservations(ctx)
	noErr(t, err)
	if len(rs) != 1 || rs[0].Status != wire.TechStatusPendingMatch || rs[0].TechID != 0 {
		t.Fatalf("the reservation after the squat: %+v", rs)
	}
	if !auditHas(t, h, "request.refused", "refusal=reserved-username") {
		t.Fatal("the squat is not audited as reserved-username")
	}

	// The owner, whose email differs in case only, typing another name and no organization.
	owner := h.Client(h.NewIdentity())
	st, err := owner.Register(ctx, wire.RegisterRequest{Username: "asmith", DisplayName: "Alex S.", Email: "ALEX@Client.example"})
	if err != nil || st.Status != wire.TechPending {
		t.Fatalf("the reservation's owner registers: %+v, %v", st, err)
	}
	var tech *wire.Tech
	pending, err = h.Owner.Techs(ctx, wire.TechPending)
	noErr(t, err)
	for i := range pending {
		if pending[i].ID == st.TechID {
			tech = &pending[i]
		}
	}
	want := wire.TechReservation{ImportID: im.ID, Groups: []string{"Helpdesk", "Night shift"}, TypedDisplayName: "Alex S.", TypedEmail: "ALEX@Client.example"}
	if tech == nil || tech.DisplayName != "Alex Smith" || tech.Email != "alex@client.example" || tech.Organization != "Client Ltd" || !tech.CoManaged ||
		tech.Reservation == nil || tech.Reservation.ImportID != want.ImportID || !slices.Equal(tech.Reservation.Groups, want.Groups) ||
		tech.Reservation.TypedDisplayName != want.TypedDisplayName || tech.Reservation.TypedEmail != want.TypedEmail || tech.Reservation.TypedOrganization != "" {
		t.Fatalf("the matched pending tech: %+v (reservation %+v), want reserved fields and %+v", tech, tech.Reservation, want)
	}
	mgr := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Client Ltd", true))
	mine, err := mgr.Techs(ctx, wire.TechPending)
	if err != nil || !slices.ContainsFunc(mine, func(x wire.Tech) bool { return x.ID == st.TechID && x.Reservation != nil }) {
		t.Fatalf("the organization's manager does not see the reserved registration: %+v, %v", mine, err)
	}
	member := func(name string) bool {
		t.Helper()
		gs, err := h.Owner.TechGroups(ctx)
		noErr(t, err)
		for _, g := range gs {
			if g.Name == name {
				return slices.Contains(g.Members, st.TechID)
			}
		}
		t.Fatalf("no group %q", name)
		return false
	}
	if member("Helpdesk") || member("Night shift") {
		t.Fatal("a pending registration is already in the reservation's groups")
	}

	_, err = h.ApproveCoManaged(ctx, st.TechID)
	noErr(t, err)
	if !member("Helpdesk") || !member("Night shift") {
		t.Fatal("the approved tech did not join the reservation's groups")
	}
	if !auditHas(t, h, "tech.reservation-groups", `username="asmith"`) || !auditHas(t, h, "tech.reservation-match", `typedDisplayName="Alex S."`) {
		t.Fatal("the match or the groups are not audited")
	}
	all, err := h.Owner.Techs(ctx, "")
	noErr(t, err)
	for _, x := range all {
		if x.Reservation != nil {
			t.Fatalf("an approved tech still shows its reservation: %+v", x)
		}
	}
	rs, err = h.Owner.Reservations(ctx)
	noErr(t, err)
	if rs[0].Status == wire.TechStatusPendingMatch || rs[0].TechID != st.TechID {
		t.Fatalf("the reservation after the match: %+v", rs)
	}
}
