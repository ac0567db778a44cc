package vm_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestApprovalPlacement: the approve dialog's choices put the tech's own suggestion first (MSP staff for a tech
// who typed no organization), then the recorded organizations, then MSP staff; approving with a choice decides
// co-management, and with it 2FA, whatever the registration form said.
func TestApprovalPlacement(t *testing.T) {
	a, h, w := world(t)
	ctx := testCtx(t)
	if _, err := h.Owner.CreateOrg(ctx, "Northwind Clients"); err != nil {
		t.Fatal(err)
	}
	recorded, err := a.RecordedOrganizations(ctx)
	if err != nil || !slices.Contains(recorded, "Northwind Clients") {
		t.Fatalf("recorded organizations: %v, %v", recorded, err)
	}
	labels := func(ps []vm.Placement) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Label)
		}
		return out
	}

	frank, grace := w.Techs["fnguyen"], w.Techs["gkim"] // pending: no organization typed; "Contoso Ltd" typed
	ps := a.Placements(frank, recorded)
	if len(ps) != len(recorded)+1 || !ps[0].Req.MSPStaff || ps[0].Label != vm.MSPStaffLabel || ps[0].CoManaged() {
		t.Fatalf("choices for a tech who typed no organization: %q", labels(ps))
	}
	ps = a.Placements(grace, recorded)
	if ps[0].Label != "Contoso Ltd (as registered)" || ps[0].Req.Organization != "Contoso Ltd" || !ps[len(ps)-1].Req.MSPStaff ||
		slices.ContainsFunc(ps[1:], func(p vm.Placement) bool { return strings.EqualFold(p.Req.Organization, "Contoso Ltd") }) {
		t.Fatalf("choices for a tech who typed Contoso Ltd: %q", labels(ps))
	}
	if n := a.PlacementNote(ps[0]); !strings.Contains(n, "Co-managed by Contoso Ltd") || !strings.Contains(n, "2FA") {
		t.Fatalf("note for a co-managed choice: %q", n)
	}
	if n := a.PlacementNote(ps[len(ps)-1]); !strings.Contains(n, "MSP staff") {
		t.Fatalf("note for MSP staff: %q", n)
	}

	// Frank typed nothing; the admin places him with a client: co-managed, 2FA required.
	northwind := wire.ApproveRequest{Organization: "Northwind Clients"}
	northwind.OverrideTriplets, _ = a.Override(frank, vm.Placement{Req: northwind}) // under the All triplet (comanaged_test.go)
	if err := a.ApproveAs(ctx, frank, northwind); err != nil {
		t.Fatal(err)
	}
	if tech := a.Snapshot().Tech(frank); tech.Status != wire.TechActive || tech.Organization != "Northwind Clients" || !tech.CoManaged {
		t.Fatalf("frank after approval: %+v", tech)
	}
	if s, ok := a.TechSecurity(frank); !ok || !s.Required || !s.CoManaged {
		t.Fatalf("frank's 2FA after approval into an organization: %+v", s)
	}
	// Grace typed Contoso Ltd; the admin approves her as MSP staff: no organization, and the MSP's groups.
	if err := a.ApproveAs(ctx, grace, wire.ApproveRequest{MSPStaff: true}); err != nil {
		t.Fatal(err)
	}
	if tech := a.Snapshot().Tech(grace); tech.Status != wire.TechActive || tech.Organization != "" || tech.CoManaged {
		t.Fatalf("grace after approval as MSP staff: %+v", tech)
	}
	for _, g := range a.Snapshot().MSPGroups() {
		if !slices.Contains(a.Snapshot().Group(false, g.ID).Members, grace) {
			t.Errorf("grace, approved as MSP staff, is not in the MSP group %q", g.Name)
		}
	}
}
