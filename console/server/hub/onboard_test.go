package hub_test

import (
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// orgTech registers a pending tech of a client organization.
func orgTech(t *testing.T, h *hubtest.Harness, username, org string) int64 {
	t.Helper()
	c := h.Client(h.NewIdentity())
	st, err := c.Register(testCtx(t), wire.RegisterRequest{Username: username, DisplayName: username, Email: username + "@example.com", Organization: org})
	if err != nil {
		t.Fatal(err)
	}
	return st.TechID
}

// reach lists the agents a tech reaches.
func reach(t *testing.T, h *hubtest.Harness, tech int64) map[int64]bool {
	t.Helper()
	acc, err := h.Owner.Access(testCtx(t), tech, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, a := range acc {
		out[a.AgentID] = true
	}
	return out
}

func TestOnboardCoManaged(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	msp := h.ActiveTech("mspadmin")
	bob := orgTech(t, h, "bob", "Contoso")
	carol := orgTech(t, h, "carol", "Contoso")
	contoso := h.NewAgent("contoso.local", wire.DriverAD)
	fabrikam := h.NewAgent("fabrikam.local", wire.DriverAD)
	req := wire.OnboardRequest{Organization: "Contoso", CoManagedGroup: "Contoso co-managed", CoManagedTechs: []int64{bob, carol},
		MSPGroup: "MSP techs", MSPTechs: []int64{msp.ID}, DomainGroup: "Contoso domains", Domains: []int64{contoso.ID}}

	// All or nothing: a name clash found after the first groups were created leaves everything as it was.
	if _, err := h.Owner.CreateAgentGroup(ctx, wire.GroupRequest{Name: "Contoso domains"}); err != nil {
		t.Fatal(err)
	}
	before, _ := h.Owner.Audit(ctx, wire.AuditQuery{})
	if _, err := h.Owner.Onboard(ctx, req); !isCode(err, wire.CodeConflict) {
		t.Fatalf("onboard with a clashing group name: %v", err)
	}
	after, _ := h.Owner.Audit(ctx, wire.AuditQuery{})
	groups, _ := h.Owner.TechGroups(ctx)
	trips, _ := h.Owner.Triplets(ctx)
	pending, _ := h.Owner.Techs(ctx, wire.TechPending)
	if len(after) != len(before) || len(groups) != 1 || len(trips) != 1 || len(pending) != 2 {
		t.Fatalf("failed onboarding left changes: %d→%d audit events, groups %+v, triplets %+v, %d pending", len(before), len(after), groups, trips, len(pending))
	}
	ag, _ := h.Owner.AgentGroups(ctx)
	for _, g := range ag {
		if g.Name == "Contoso domains" {
			if err := h.Owner.DeleteGroup(ctx, true, g.ID); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Bad input is refused field by field.
	if _, err := h.Owner.Onboard(ctx, wire.OnboardRequest{Organization: "Contoso", CoManagedGroup: "x", MSPGroup: "y", DomainGroup: "z",
		CoManagedTechs: []int64{msp.ID}, Domains: []int64{contoso.ID}}); !isCode(err, wire.CodeInvalid) {
		t.Fatalf("an MSP tech as co-managed: %v", err)
	}

	resp, err := h.Owner.Onboard(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.DeletedAllTriplet || len(resp.Triplets) != 2 || len(resp.Activated) != 2 {
		t.Fatalf("onboard response %+v", resp)
	}
	// The co-managed onboarding's intent: co-managed techs reach only their domains, MSP techs reach all.
	for _, id := range []int64{bob, carol} {
		if r := reach(t, h, id); !r[contoso.ID] || r[fabrikam.ID] || len(r) != 1 {
			t.Fatalf("co-managed tech %d reaches %v", id, r)
		}
	}
	if r := reach(t, h, msp.ID); !r[contoso.ID] || !r[fabrikam.ID] {
		t.Fatalf("MSP tech reaches %v", r)
	}
	trips, _ = h.Owner.Triplets(ctx)
	for _, tr := range trips {
		if tr.Builtin {
			t.Fatalf("the All triplet survived: %+v", trips)
		}
	}
	// The activation is the last step in the audit log before the summary.
	ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{AfterSeq: after[len(after)-1].Seq})
	n := len(ev)
	if n < 4 || ev[n-1].Action != "onboard.comanaged" || ev[n-2].Action != "tech.approve" || ev[n-3].Action != "tech.approve" {
		t.Fatalf("audit of the onboarding: %+v", ev)
	}

	// A second organization reuses the MSP group and its triplet.
	dave := orgTech(t, h, "dave", "Fabrikam")
	resp, err = h.Owner.Onboard(ctx, wire.OnboardRequest{Organization: "Fabrikam", CoManagedGroup: "Fabrikam co-managed", CoManagedTechs: []int64{dave},
		MSPGroup: "MSP techs", DomainGroup: "Fabrikam domains", Domains: []int64{fabrikam.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.DeletedAllTriplet || len(resp.Triplets) != 1 || resp.MSPGroup.Name != "MSP techs" || len(resp.MSPGroup.Members) != 1 {
		t.Fatalf("second onboarding %+v", resp)
	}
	if r := reach(t, h, dave); !r[fabrikam.ID] || r[contoso.ID] {
		t.Fatalf("Fabrikam tech reaches %v", r)
	}
}
