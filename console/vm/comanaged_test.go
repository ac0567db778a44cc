package vm_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// A co-managed tech approved while the All triplet stands is refused by the hub; the view-model says which
// triplets need the admin's override, and the override approves, audited, in one signed update.
func TestApproveCoManagedNeedsOverride(t *testing.T) {
	ctx := testCtx(t)
	a, h, w, _ := signedWorld(t)
	grace := w.Techs["gkim"] // typed Contoso Ltd
	contoso := vm.Placement{Label: "Contoso Ltd", Req: wire.ApproveRequest{Organization: "Contoso Ltd"}}
	ids, warn := a.Override(grace, contoso)
	all := a.Snapshot().BroadTriplets(grace)
	if len(ids) != 1 || len(all) != 1 || !all[0].Builtin || ids[0] != all[0].ID {
		t.Fatalf("override %v for triplets %+v", ids, all)
	}
	for _, want := range []string{"AllTechs × AllDomains × AllRights", "co-managed onboarding of Contoso Ltd", "audit log"} {
		if !strings.Contains(warn, want) {
			t.Errorf("warning %q does not say %q", warn, want)
		}
	}
	if ids, warn := a.Override(w.Techs["fnguyen"], vm.Placement{Label: vm.MSPStaffLabel, Req: wire.ApproveRequest{MSPStaff: true}}); ids != nil || warn != "" {
		t.Fatalf("MSP staff need no override: %v %q", ids, warn)
	}

	before, _ := a.Chain().Head()
	err := a.ApproveAs(ctx, grace, contoso.Req)
	if e, ok := wire.AsError(err); !ok || e.Field != "overrideTriplets" || !strings.Contains(e.Message, "onboarding for Contoso Ltd") {
		t.Fatalf("approval without the override: %v", err)
	}
	if st := a.Snapshot().Tech(grace).Status; st != wire.TechPending {
		t.Fatalf("grace is %s after a refused approval", st)
	}
	if after, _ := a.Chain().Head(); after != before {
		t.Fatal("a refused approval was signed")
	}

	place := contoso.Req
	place.OverrideTriplets = ids
	if err := a.ApproveAs(ctx, grace, place); err != nil {
		t.Fatal(err)
	}
	if st := a.Snapshot().Tech(grace).Status; st != wire.TechActive {
		t.Fatalf("grace is %s after the override", st)
	}
	if _, ok := a.Chain().State().Techs[grace]; !ok {
		t.Fatal("the approval is not signed")
	}
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "tech.approve-override"})
	if err != nil || len(ev) != 1 || !strings.Contains(ev[0].Detail, `username="gkim"`) {
		t.Fatalf("override audit %+v, %v", ev, err)
	}
}

// After the onboarding a new MSP tech joins the MSP techs' group in the approval's one hub request, and one
// signed update holds the approval and the membership.
func TestApproveMSPTechJoinsInOneRequest(t *testing.T) {
	ctx := testCtx(t)
	a, h, w, _ := signedWorld(t)
	frank := w.Techs["fnguyen"]
	o := a.NewOnboarding("Contoso Ltd")
	o.MSPTechs = slices.DeleteFunc(o.MSPTechs, func(id int64) bool { return id == frank }) // approved later
	if _, err := a.ApplyOnboarding(ctx, o); err != nil {
		t.Fatal(err)
	}
	msp := a.Snapshot().MSPGroups()
	if len(msp) != 1 || msp[0].Name != "MSP techs" || slices.Contains(msp[0].Members, frank) {
		t.Fatalf("MSP groups %+v", msp)
	}
	seen, _ := h.Owner.Audit(ctx, wire.AuditQuery{})
	before, _ := a.Chain().Head()
	if err := a.Approve(ctx, frank); err != nil {
		t.Fatal(err)
	}
	if after, _ := a.Chain().Head(); after != before+1 {
		t.Fatalf("approval: %d signed updates", after-before)
	}
	if !a.Chain().State().TechGroups[msp[0].ID].Members[frank] {
		t.Fatal("the signed MSP group does not hold frank")
	}
	if !slices.Contains(a.Snapshot().Group(false, msp[0].ID).Members, frank) || len(a.AccessForTech(frank)) != len(w.Agents) {
		t.Fatalf("frank reaches %d domains", len(a.AccessForTech(frank)))
	}
	ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{AfterSeq: seen[len(seen)-1].Seq})
	var actions []string
	for _, e := range ev {
		actions = append(actions, e.Action)
	}
	// One request: the membership is audited as part of the approval, not as a group edit of its own.
	if len(ev) < 2 || ev[0].Action != "techgroup.members" || !strings.Contains(ev[0].Detail, `approval="fnguyen"`) || ev[1].Action != "tech.approve" {
		t.Fatalf("audit of the approval %q", actions)
	}
}

// Onboarding an organization again extends it: the view-model proposes its groups, previews the additions, and
// applies them in one signed update; the new co-managed tech reaches the organization's domains only.
func TestOnboardingExtends(t *testing.T) {
	ctx := testCtx(t)
	a, h, w, _ := signedWorld(t)
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
	maria := st.TechID
	cm, dg := a.Snapshot().OnboardedGroups("Contoso Ltd")
	if cm == nil || cm.Name != "Contoso Ltd co-managed techs" || dg.Name != "Contoso Ltd domains" {
		t.Fatalf("onboarded groups %+v %+v", cm, dg)
	}
	if n := a.PlacementNote(vm.Placement{Req: wire.ApproveRequest{Organization: "Contoso Ltd"}}); !strings.Contains(n, "run its onboarding again") {
		t.Fatalf("placement note for an onboarded organization: %q", n)
	}
	o := a.NewOnboarding("Contoso Ltd")
	if o.CoManagedGroup != cm.Name || o.DomainGroup != dg.Name || !slices.Contains(o.CoManagedTechs, maria) || !slices.Equal(o.Domains, dg.Members) {
		t.Fatalf("proposed extension %+v", o)
	}
	p := a.Preview(o)
	if len(p.Problems) != 0 || len(p.Steps) != 4 || !strings.Contains(p.Steps[0], "is onboarded: add to its TechGroup") ||
		!strings.HasSuffix(p.Steps[0], "mvega") || p.Steps[2] != `Add to its AgentGroup "Contoso Ltd domains" the client's domains: none new` || p.Steps[3] != "Last, activate the pending co-managed techs: mvega" {
		t.Fatalf("preview of the extension: steps %q, problems %q", p.Steps, p.Problems)
	}
	before := a.Snapshot()
	head, _ := a.Chain().Head()
	out, err := a.ApplyOnboarding(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Extended || len(out.Activated) != 1 {
		t.Fatalf("extension %+v", out)
	}
	if after, _ := a.Chain().Head(); after != head+1 {
		t.Fatalf("extension: %d signed updates", after-head)
	}
	if got := vm.DiffAccess(before, a.Snapshot()); !slices.EqualFunc(got, p.Changes, func(x, y vm.Change) bool { return x.String() == y.String() }) {
		t.Fatalf("preview predicted\n%v\nthe hub did\n%v", p.Changes, got)
	}
	if got := agentsOf(a.AccessForTech(maria)); !slices.Equal(got, []string{"contoso-files01", "contoso.local", "contoso.onmicrosoft.com"}) {
		t.Fatalf("maria reaches %v", got)
	}
	signed := a.Chain().State().TechGroups[cm.ID]
	for _, u := range []string{"gkim", "hadams"} {
		if !signed.Members[w.Techs[u]] {
			t.Fatalf("the extension dropped %s from the signed group", u)
		}
	}
	if _, ok := a.Chain().State().Techs[maria]; !ok || !signed.Members[maria] {
		t.Fatal("maria's approval or membership is not signed")
	}
}

// removeAllTriplet deletes the built-in All triplet through the view-model, signed, as an admin would.
func removeAllTriplet(t *testing.T, a *vm.App) {
	t.Helper()
	for _, tr := range a.Snapshot().Triplets {
		if tr.Builtin {
			if err := a.DeleteTriplet(testCtx(t), tr.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A batch approval that holds co-managed techs while the All triplet stands is refused before any request: no
// half-approved batch, nothing signed.
func TestApproveManyRefusesCoManagedUnderAllTriplet(t *testing.T) {
	ctx := testCtx(t)
	a, _, w, _ := signedWorld(t)
	ids := []int64{w.Techs["fnguyen"], w.Techs["gkim"]}
	before, _ := a.Chain().Head()
	err := a.ApproveMany(ctx, ids)
	if err == nil || !strings.Contains(err.Error(), "gkim (Contoso Ltd, through AllTechs × AllDomains × AllRights)") {
		t.Fatalf("batch with a co-managed tech: %v", err)
	}
	if after, _ := a.Chain().Head(); after != before || a.Snapshot().Tech(ids[0]).Status != wire.TechPending {
		t.Fatal("a refused batch approved or signed something")
	}
}
