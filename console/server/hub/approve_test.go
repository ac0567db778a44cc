package hub_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// statusAndGroups is a tech's status and TechGroups as the hub lists them.
func statusAndGroups(t *testing.T, h *hubtest.Harness, id int64) (wire.TechStatus, []string) {
	t.Helper()
	ctx := testCtx(t)
	techs, err := h.Owner.Techs(ctx, "")
	noErr(t, err)
	groups, err := h.Owner.TechGroups(ctx)
	noErr(t, err)
	var in []string
	for _, g := range groups {
		if slices.Contains(g.Members, id) {
			in = append(in, g.Name)
		}
	}
	for _, x := range techs {
		if x.ID == id {
			return x.Status, in
		}
	}
	t.Fatalf("tech %d not listed", id)
	return "", nil
}

func auditEvents(t *testing.T, h *hubtest.Harness) []wire.AuditEvent {
	t.Helper()
	ev, err := h.Owner.Audit(testCtx(t), wire.AuditQuery{})
	noErr(t, err)
	return ev
}

// The co-managed tech guide's order, enforced by the hub: a co-managed tech is not approved while a triplet gives
// AllTechs every domain, unless the admin names each such triplet as an override, which is audited.
func TestApproveCoManagedUnderAllTripletIsRefused(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	_, err := h.Owner.CreateOrg(ctx, "Contoso")
	noErr(t, err)
	bob := orgTech(t, h, "bob", "Contoso")
	allTechs, allDomains := h.AllGroups()
	helpdesk, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "Helpdesk", Targets: map[string][]string{wire.DriverAD: {"Account Operators"}}})
	noErr(t, err)
	like, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: allTechs, AgentGroupID: allDomains, RightID: helpdesk.ID})
	noErr(t, err)
	trips, err := h.Owner.Triplets(ctx)
	noErr(t, err)
	var all int64
	for _, tr := range trips {
		if tr.Builtin {
			all = tr.ID
		}
	}

	before := len(auditEvents(t, h))
	_, err = h.Owner.ApproveTech(ctx, bob)
	e, ok := wire.AsError(err)
	if !ok || e.Code != wire.CodeConflict || e.Field != "overrideTriplets" {
		t.Fatalf("approving a co-managed tech under the All triplet: %v", err)
	}
	for _, want := range []string{"(AllTechs × AllDomains × AllRights)", "(AllTechs × AllDomains × Helpdesk)", "co-managed onboarding for Contoso", `"bob"`} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("refusal %q does not say %q", e.Message, want)
		}
	}
	// An override that names only one of the two triplets is not an override of the other.
	_, err = h.Owner.ApproveTechAs(ctx, bob, wire.ApproveRequest{OverrideTriplets: []int64{all}})
	if e, ok := wire.AsError(err); !ok || e.Field != "overrideTriplets" || strings.Contains(e.Message, "AllRights") || !strings.Contains(e.Message, "Helpdesk") {
		t.Fatalf("override of the All triplet only: %v", err)
	}
	if st, _ := statusAndGroups(t, h, bob); st != wire.TechPending || len(auditEvents(t, h)) != before {
		t.Fatalf("a refused approval left bob %s and %d new audit events", st, len(auditEvents(t, h))-before)
	}

	// MSP staff are not what the order is about, and an override for them is a mistake.
	msp := h.NewTech("mspadmin")
	if _, err := h.Owner.ApproveTechAs(ctx, msp.ID, wire.ApproveRequest{OverrideTriplets: []int64{all}}); !isField(err, wire.CodeInvalid, "overrideTriplets") {
		t.Fatalf("override for an MSP tech: %v", err)
	}
	if _, err := h.Owner.ApproveTech(ctx, msp.ID); err != nil {
		t.Fatal(err)
	}

	// The explicit override of both: approved, and the audit log says who overrode which triplets.
	if _, err := h.Owner.ApproveTechAs(ctx, bob, wire.ApproveRequest{OverrideTriplets: []int64{like.ID, all}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := statusAndGroups(t, h, bob); st != wire.TechActive {
		t.Fatalf("bob is %s after the override", st)
	}
	ev := auditEvents(t, h)
	i := slices.IndexFunc(ev, func(e wire.AuditEvent) bool { return e.Action == "tech.approve-override" })
	if i < 0 || i+1 >= len(ev) || ev[i+1].Action != "tech.approve" || !strings.Contains(ev[i].Detail, "AllTechs × AllDomains × Helpdesk") {
		t.Fatalf("audit of the override: %+v", ev[max(i, 0):])
	}
}

// After the onboarding, a co-managed tech approved into a group granted on AllDomains reaches every domain just as
// through the All triplet: refused the same way. Without such a group the approval needs no override.
func TestApproveCoManagedIntoAllDomainsGroupIsRefused(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	s := onboardContoso(t, h)
	erin := orgTech(t, h, "erin", "Contoso")
	groups, err := h.Owner.TechGroups(ctx)
	noErr(t, err)
	var msp, cm int64
	for _, g := range groups {
		switch g.Name {
		case "MSP techs":
			msp = g.ID
		case "Contoso co-managed":
			cm = g.ID
		}
	}
	_, err = h.Owner.ApproveTechAs(ctx, erin, wire.ApproveRequest{Groups: []int64{msp}})
	if e, ok := wire.AsError(err); !ok || e.Field != "overrideTriplets" || !strings.Contains(e.Message, "(MSP techs × AllDomains × AllRights)") {
		t.Fatalf("co-managed tech into the MSP group: %v", err)
	}
	if st, in := statusAndGroups(t, h, erin); st != wire.TechPending || len(in) != 0 {
		t.Fatalf("refused approval left erin %s in %v", st, in)
	}
	if _, err := h.Owner.ApproveTechAs(ctx, erin, wire.ApproveRequest{Groups: []int64{cm}}); err != nil {
		t.Fatal(err)
	}
	if r := reach(t, h, erin); !r[s.contoso.ID] || r[s.fabrikam.ID] {
		t.Fatalf("erin reaches %v", r)
	}
}

// A new MSP tech joins the MSP techs' group in its approval: one request, one transaction, refused as a whole.
func TestApproveJoinsGroups(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	s := onboardContoso(t, h)
	allTechs, _ := h.AllGroups()
	groups, err := h.Owner.TechGroups(ctx)
	noErr(t, err)
	var msp int64
	for _, g := range groups {
		if g.Name == "MSP techs" {
			msp = g.ID
		}
	}
	frank := h.NewTech("frank")
	for _, bad := range [][]int64{{msp, allTechs}, {msp, 999}} {
		if _, err := h.Owner.ApproveTechAs(ctx, frank.ID, wire.ApproveRequest{Groups: bad}); !isField(err, wire.CodeInvalid, "groups") {
			t.Fatalf("approve into %v: %v", bad, err)
		}
		if st, in := statusAndGroups(t, h, frank.ID); st != wire.TechPending || len(in) != 0 {
			t.Fatalf("a refused approval left frank %s in %v", st, in)
		}
	}
	before := len(auditEvents(t, h))
	if _, err := h.Owner.ApproveTechAs(ctx, frank.ID, wire.ApproveRequest{MSPStaff: true, Groups: []int64{msp}}); err != nil {
		t.Fatal(err)
	}
	if st, in := statusAndGroups(t, h, frank.ID); st != wire.TechActive || !slices.Equal(in, []string{"MSP techs"}) {
		t.Fatalf("frank is %s in %v", st, in)
	}
	if r := reach(t, h, frank.ID); !r[s.contoso.ID] || !r[s.fabrikam.ID] {
		t.Fatalf("new MSP tech reaches %v", r)
	}
	ev := auditEvents(t, h)[before:]
	if len(ev) != 2 || ev[0].Action != "techgroup.members" || ev[1].Action != "tech.approve" {
		t.Fatalf("audit of the approval: %+v", ev)
	}
}

// Onboarding an organization a second time extends it: the new techs join its group, its domain group grows, the
// pending ones are activated last, and a group that is not the organization's is not extended.
func TestOnboardExtends(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	s := onboardContoso(t, h)
	contoso2 := h.NewAgent("contoso-files01", wire.DriverLinux)
	erin := orgTech(t, h, "erin", "Contoso")
	req := wire.OnboardRequest{Organization: "Contoso", CoManagedGroup: "Contoso co-managed", CoManagedTechs: []int64{erin},
		MSPGroup: "MSP techs", DomainGroup: "Contoso domains", Domains: []int64{s.contoso.ID, contoso2.ID}}

	// Not the organization's group: the MSP techs' group, or another organization's.
	for _, name := range []string{"MSP techs", "Fabrikam co-managed"} {
		bad := req
		bad.CoManagedGroup, bad.MSPGroup = name, "MSP staff"
		if name == "Fabrikam co-managed" {
			_, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: name, Members: []int64{s.dave}})
			noErr(t, err)
		}
		if _, err := h.Owner.Onboard(ctx, bad); !isField(err, wire.CodeConflict, "coManagedGroup") {
			t.Fatalf("extending %q: %v", name, err)
		}
	}
	// The domain group must be the one the co-managed group is granted.
	other := req
	other.DomainGroup = "Linux servers"
	_, err := h.Owner.CreateAgentGroup(ctx, wire.GroupRequest{Name: "Linux servers", Members: []int64{s.fabrikam.ID}})
	noErr(t, err)
	if _, err := h.Owner.Onboard(ctx, other); !isField(err, wire.CodeConflict, "domainGroup") {
		t.Fatalf("extending into another domain group: %v", err)
	}
	if st, _ := statusAndGroups(t, h, erin); st != wire.TechPending {
		t.Fatalf("a refused extension left erin %s", st)
	}

	before := len(auditEvents(t, h))
	resp, err := h.Owner.Onboard(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Extended || resp.DeletedAllTriplet || len(resp.Triplets) != 0 || len(resp.Activated) != 1 || resp.Activated[0].ID != erin ||
		len(resp.CoManagedGroup.Members) != 3 || len(resp.DomainGroup.Members) != 2 {
		t.Fatalf("extension %+v", resp)
	}
	for _, id := range []int64{s.bob, erin} {
		if r := reach(t, h, id); !r[s.contoso.ID] || !r[contoso2.ID] || r[s.fabrikam.ID] {
			t.Fatalf("co-managed tech %d reaches %v", id, r)
		}
	}
	var actions []string
	for _, e := range auditEvents(t, h)[before:] {
		actions = append(actions, e.Action)
	}
	if want := []string{"techgroup.members", "techgroup.members", "agentgroup.members", "tech.approve", "onboard.comanaged"}; !slices.Equal(actions, want) {
		t.Fatalf("audit of the extension %q, want %q", actions, want)
	}
}

// A triplet like the All one, which the onboarding does not delete, would still hand the co-managed techs every
// domain: the onboarding refuses and changes nothing.
func TestOnboardRefusesWhileALikeTripletStays(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	msp := h.ActiveTech("mspadmin")
	bob := orgTech(t, h, "bob", "Contoso")
	contoso := h.NewAgent("contoso.local", wire.DriverAD)
	allTechs, allDomains := h.AllGroups()
	helpdesk, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "Helpdesk", Targets: map[string][]string{wire.DriverAD: {"Account Operators"}}})
	noErr(t, err)
	_, err = h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: allTechs, AgentGroupID: allDomains, RightID: helpdesk.ID})
	noErr(t, err)
	before := len(auditEvents(t, h))
	_, err = h.Owner.Onboard(ctx, wire.OnboardRequest{Organization: "Contoso", CoManagedGroup: "Contoso co-managed", CoManagedTechs: []int64{bob},
		MSPGroup: "MSP techs", MSPTechs: []int64{msp.ID}, DomainGroup: "Contoso domains", Domains: []int64{contoso.ID}})
	if e, ok := wire.AsError(err); !ok || e.Field != "overrideTriplets" || !strings.Contains(e.Message, "AllTechs × AllDomains × Helpdesk") {
		t.Fatalf("onboarding with a like triplet: %v", err)
	}
	if st, _ := statusAndGroups(t, h, bob); st != wire.TechPending || len(auditEvents(t, h)) != before {
		t.Fatal("a refused onboarding changed something")
	}
}

// deleteAllTriplet deletes the built-in All triplet, as the onboarding does, for tests that approve co-managed
// techs without being about the onboarding's order.
func deleteAllTriplet(t *testing.T, h *hubtest.Harness) {
	t.Helper()
	ctx := testCtx(t)
	trips, err := h.Owner.Triplets(ctx)
	noErr(t, err)
	for _, tr := range trips {
		if tr.Builtin {
			noErr(t, h.Owner.DeleteTriplet(ctx, tr.ID))
		}
	}
}
