package hub_test

// Against the in-process hub: organizations and the co-management switch, console
// roles, seats.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// invitedAdmin invites an admin of role, claims the invite with a new key and, when approve, approves it.
func invitedAdmin(t *testing.T, h *hubtest.Harness, role wire.Role, org string, approve bool) *seal.Identity {
	t.Helper()
	ctx := testCtx(t)
	tok, err := h.Owner.InviteAdmin(ctx, role, org, time.Hour)
	noErr(t, err)
	id := h.NewIdentity()
	resp, err := h.Client(id).Claim(ctx, tok.Token, string(role)+" "+org)
	noErr(t, err)
	if resp.Admin.Status != wire.AdminPending || resp.Admin.Role != role || resp.Admin.Organization != org {
		t.Fatalf("claimed invite: %+v", resp.Admin)
	}
	if approve {
		a, err := h.Owner.ApproveAdmin(ctx, resp.Admin.ID)
		noErr(t, err)
		if a.Status != wire.AdminActive {
			t.Fatalf("approved admin: %+v", a)
		}
	}
	return id
}

// contosoOnboarded is an MSP tech, two co-managed Contoso techs onboarded on the Contoso domain, and a Fabrikam
// tech still pending.
type contosoOnboarded struct {
	msp, bob, carol, dave int64
	contoso, fabrikam     *hubtest.Agent
}

func onboardContoso(t *testing.T, h *hubtest.Harness) contosoOnboarded {
	t.Helper()
	ctx := testCtx(t)
	for _, org := range []string{"Contoso", "Fabrikam"} { // organizations are recorded by admins, not by registrations
		_, err := h.Owner.CreateOrg(ctx, org)
		noErr(t, err)
	}
	s := contosoOnboarded{msp: h.ActiveTech("mspadmin").ID, bob: orgTech(t, h, "bob", "Contoso"), carol: orgTech(t, h, "carol", "contoso"),
		dave: orgTech(t, h, "dave", "Fabrikam")}
	s.contoso = h.NewAgent("contoso.local", wire.DriverAD)
	s.fabrikam = h.NewAgent("fabrikam.local", wire.DriverAD)
	_, err := h.Owner.Onboard(ctx, wire.OnboardRequest{Organization: "Contoso", CoManagedGroup: "Contoso co-managed", CoManagedTechs: []int64{s.bob, s.carol},
		MSPGroup: "MSP techs", MSPTechs: []int64{s.msp}, DomainGroup: "Contoso domains", Domains: []int64{s.contoso.ID}})
	noErr(t, err)
	return s
}

func orgByName(t *testing.T, h *hubtest.Harness, name string) wire.Org {
	t.Helper()
	resp, err := h.Owner.Orgs(testCtx(t))
	noErr(t, err)
	for _, o := range resp.Orgs {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no organization %q in %+v", name, resp.Orgs)
	return wire.Org{}
}

func techStatus(t *testing.T, h *hubtest.Harness, id int64) wire.TechStatus {
	t.Helper()
	techs, err := h.Owner.Techs(testCtx(t), "")
	noErr(t, err)
	for _, x := range techs {
		if x.ID == id {
			return x.Status
		}
	}
	t.Fatalf("no tech %d", id)
	return ""
}

// Item 1: organizations are records; a tech carries its organization; switching co-management off for an
// organization previews exactly what changes, then deactivates its co-managed techs and removes its co-managed
// groups' associations, keeping the audit log and credential history.
func TestOrgCoManagementSwitch(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	s := onboardContoso(t, h)
	if _, err := s.contoso.Plan(ctx, 0); err != nil { // creates bob's and carol's accounts on the Contoso domain
		t.Fatal(err)
	}
	bobAccounts, err := h.Owner.Accounts(ctx, s.bob, 0)
	noErr(t, err)
	if len(bobAccounts) != 1 {
		t.Fatalf("bob's accounts before: %+v", bobAccounts)
	}

	// Registration found the recorded organizations; "contoso" took the recorded spelling.
	contoso := orgByName(t, h, "Contoso")
	if !contoso.CoManaged || contoso.Techs != 2 || contoso.Active != 2 {
		t.Fatalf("Contoso: %+v", contoso)
	}
	techs, _ := h.Owner.Techs(ctx, "")
	for _, x := range techs {
		if x.ID == s.carol && (x.Organization != "Contoso" || !x.CoManaged) {
			t.Fatalf("carol: %+v", x)
		}
		if x.ID == s.msp && (x.Organization != "" || x.CoManaged) {
			t.Fatalf("MSP tech: %+v", x)
		}
	}
	if _, err := h.Owner.CreateOrg(ctx, "CONTOSO"); !isCode(err, wire.CodeConflict) {
		t.Fatalf("duplicate organization: %v", err)
	}

	// Preview: nothing changes, nothing is audited.
	before, _ := h.Owner.Audit(ctx, wire.AuditQuery{})
	plan, err := h.Owner.SetOrgCoManagement(ctx, contoso.ID, false, "")
	noErr(t, err)
	after, _ := h.Owner.Audit(ctx, wire.AuditQuery{})
	if plan.Applied || len(after) != len(before) || techStatus(t, h, s.bob) != wire.TechActive {
		t.Fatalf("preview changed something: %+v, %d→%d events", plan, len(before), len(after))
	}
	var deact []string
	for _, x := range plan.Deactivate {
		deact = append(deact, x.Username)
	}
	slices.Sort(deact)
	if !slices.Equal(deact, []string{"bob", "carol"}) || len(plan.RemoveAssociations) != 1 || plan.Confirm == "" {
		t.Fatalf("plan: %+v", plan)
	}
	for _, want := range []string{"deactivate 2 co-managed tech(s)", "bob (Contoso, active)", `"Contoso co-managed" on "Contoso domains" with "AllRights"`,
		"remove 1 association(s)", "the audit log and all credential history: nothing of them is deleted"} {
		if !strings.Contains(plan.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, plan.Summary)
		}
	}

	// A plan that changed since it was shown is not applied: a third Contoso tech registers.
	erin := orgTech(t, h, "erin", "Contoso")
	if _, err := h.Owner.SetOrgCoManagement(ctx, contoso.ID, false, plan.Confirm); !isField(err, wire.CodeConflict, "confirm") {
		t.Fatalf("stale confirmation: %v", err)
	}
	plan, err = h.Owner.SetOrgCoManagement(ctx, contoso.ID, false, "")
	noErr(t, err)
	if len(plan.Deactivate) != 3 {
		t.Fatalf("plan with erin: %+v", plan.Deactivate)
	}
	done, err := h.Owner.SetOrgCoManagement(ctx, contoso.ID, false, plan.Confirm)
	noErr(t, err)
	if !done.Applied {
		t.Fatalf("not applied: %+v", done)
	}
	for _, id := range []int64{s.bob, s.carol, erin} {
		if st := techStatus(t, h, id); st != wire.TechDisabled {
			t.Errorf("tech %d is %s after co-management off", id, st)
		}
	}
	if techStatus(t, h, s.msp) != wire.TechActive || techStatus(t, h, s.dave) != wire.TechPending {
		t.Errorf("techs of the MSP or of another organization changed")
	}
	trips, _ := h.Owner.Triplets(ctx)
	groups, _ := h.Owner.TechGroups(ctx)
	if len(trips) != 1 || !slices.ContainsFunc(groups, func(g wire.Group) bool { return g.Name == "Contoso co-managed" && len(g.Members) == 2 }) {
		t.Fatalf("after: triplets %+v, groups %+v", trips, groups)
	}
	if len(reach(t, h, s.msp)) != 2 {
		t.Fatalf("the MSP tech lost access: %v", reach(t, h, s.msp))
	}
	// Nothing of the audit log or the credential history is deleted.
	final, _ := h.Owner.Audit(ctx, wire.AuditQuery{})
	if len(final) <= len(before) || final[0].Seq != 1 || !slices.ContainsFunc(final, func(e wire.AuditEvent) bool { return e.Action == "comanagement.disable" }) {
		t.Fatalf("audit log: %d → %d events", len(before), len(final))
	}
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("audit chain: %+v, %v", v, err)
	}
	if acc, err := h.Owner.Accounts(ctx, s.bob, 0); err != nil || len(acc) != 1 || acc[0].ID != bobAccounts[0].ID {
		t.Fatalf("bob's accounts after: %+v, %v", acc, err)
	}

	// While it is off, Contoso techs can neither register nor be approved or enabled.
	c := h.Client(h.NewIdentity())
	if _, err := c.Register(ctx, wire.RegisterRequest{Username: "frank", Email: "frank@example.com", Organization: "Contoso"}); !isField(err, wire.CodeForbidden, "organization") {
		t.Fatalf("register while off: %v", err)
	}
	if _, err := h.Owner.EnableTech(ctx, s.bob); !isField(err, wire.CodeConflict, "organization") {
		t.Fatalf("enable while off: %v", err)
	}
	if _, err := h.Owner.ApproveTech(ctx, s.dave); err != nil { // Fabrikam is unaffected
		t.Fatal(err)
	}
	// Switched back on, techs stay disabled until enabled one by one.
	if _, err := h.Owner.SetOrgCoManagement(ctx, contoso.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	if techStatus(t, h, s.bob) != wire.TechDisabled {
		t.Fatal("bob was re-enabled with the organization")
	}
	if _, err := h.Owner.EnableTech(ctx, s.bob); err != nil {
		t.Fatal(err)
	}
}

// Item 1: the tenant's switch covers every organization, with the same preview and confirmation.
func TestTenantCoManagementSwitch(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	s := onboardContoso(t, h)
	plan, err := h.Owner.SetCoManagement(ctx, false, "")
	noErr(t, err)
	if plan.Applied || len(plan.Deactivate) != 3 || !slices.Equal(plan.Organizations, []string{"Contoso", "Fabrikam"}) {
		t.Fatalf("tenant plan: %+v", plan)
	}
	if _, err := h.Owner.SetCoManagement(ctx, false, "0000"); !isField(err, wire.CodeConflict, "confirm") {
		t.Fatalf("wrong confirmation: %v", err)
	}
	if _, err := h.Owner.SetCoManagement(ctx, false, plan.Confirm); err != nil {
		t.Fatal(err)
	}
	resp, _ := h.Owner.Orgs(ctx)
	if resp.CoManagement || slices.ContainsFunc(resp.Orgs, func(o wire.Org) bool { return o.CoManaged }) {
		t.Fatalf("after tenant off: %+v", resp)
	}
	if techStatus(t, h, s.dave) != wire.TechDisabled || techStatus(t, h, s.msp) != wire.TechActive {
		t.Fatal("tenant off: wrong techs deactivated")
	}
	c := h.Client(h.NewIdentity())
	if _, err := c.Register(ctx, wire.RegisterRequest{Username: "gina", Email: "gina@example.com", Organization: "Northwind"}); !isField(err, wire.CodeForbidden, "organization") {
		t.Fatalf("register a new organization while the tenant is off: %v", err)
	}
	if _, err := h.Owner.Onboard(ctx, wire.OnboardRequest{Organization: "Fabrikam", CoManagedGroup: "Fabrikam co-managed", CoManagedTechs: []int64{s.dave},
		MSPGroup: "MSP techs", DomainGroup: "Fabrikam domains", Domains: []int64{s.fabrikam.ID}}); !isField(err, wire.CodeConflict, "organization") {
		t.Fatalf("onboarding while co-management is off: %v", err)
	}
	if _, err := h.Owner.SetOrgCoManagement(ctx, orgByName(t, h, "Contoso").ID, true, ""); !isField(err, wire.CodeConflict, "enabled") {
		t.Fatalf("organization on while the tenant is off: %v", err)
	}
	if _, err := h.Owner.SetCoManagement(ctx, true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, wire.RegisterRequest{Username: "gina", Email: "gina@example.com", Organization: "Northwind"}); err != nil {
		t.Fatal(err)
	}
}

// Item 2: admins are invited with a single-use invite, register their key and wait for the owner's approval.
func TestAdminInviteAndApproval(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	tok, err := h.Owner.InviteAdmin(ctx, wire.RoleAuditor, "", time.Hour)
	noErr(t, err)
	id := h.NewIdentity()
	c := h.Client(id)
	resp, err := c.Claim(ctx, tok.Token, "Ada Auditor")
	noErr(t, err)
	if resp.Admin.Status != wire.AdminPending || resp.Admin.Fingerprint != id.Public().Fingerprint().String() {
		t.Fatalf("claimed: %+v", resp.Admin)
	}
	if _, err := h.Client(h.NewIdentity()).Claim(ctx, tok.Token, "Replay"); !isField(err, wire.CodeForbidden, "token") {
		t.Fatalf("invite used twice: %v", err)
	}
	if _, err := c.Audit(ctx, wire.AuditQuery{}); !isCode(err, wire.CodePending) {
		t.Fatalf("pending admin reads the audit log: %v", err)
	}
	if _, err := h.Owner.InviteAdmin(ctx, wire.RoleCoManager, "Nowhere", time.Hour); !isField(err, wire.CodeInvalid, "organization") {
		t.Fatalf("co-managed manager of an unknown organization: %v", err)
	}
	if _, err := h.Owner.InviteAdmin(ctx, "root", "", time.Hour); !isField(err, wire.CodeInvalid, "role") {
		t.Fatalf("unknown role: %v", err)
	}
	if _, err := h.Owner.ApproveAdmin(ctx, resp.Admin.ID); err != nil {
		t.Fatal(err)
	}
	// The auditor reads the audit log and effective access and changes nothing.
	alice := h.ActiveTech("alice")
	if ev, err := c.Audit(ctx, wire.AuditQuery{}); err != nil || !slices.ContainsFunc(ev, func(e wire.AuditEvent) bool { return e.Action == "admin.approve" }) {
		t.Fatalf("auditor's audit log: %v", err)
	}
	if _, err := c.Access(ctx, alice.ID, 0); err != nil {
		t.Fatalf("auditor's effective access: %v", err)
	}
	for name, call := range map[string]func() error{
		"disable tech": func() error { _, err := c.DisableTech(ctx, alice.ID); return err },
		"rotate":       func() error { _, err := c.RotateNow(ctx, wire.RotateRequest{TechID: alice.ID}); return err },
		"create org":   func() error { _, err := c.CreateOrg(ctx, "X"); return err },
		"invite":       func() error { _, err := c.InviteAdmin(ctx, wire.RoleAdmin, "", time.Hour); return err },
	} {
		if err := call(); !isCode(err, wire.CodeForbidden) {
			t.Errorf("auditor may %s: %v", name, err)
		}
	}
}

// Item 2: the owner cannot be deleted or demoted while it is the last owner.
func TestLastOwner(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	admins, err := h.Owner.Admins(ctx)
	noErr(t, err)
	owner := admins[0]
	if owner.Role != wire.RoleOwner || owner.Status != wire.AdminActive {
		t.Fatalf("first admin: %+v", owner)
	}
	if _, err := h.Owner.RemoveAdmin(ctx, owner.ID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("remove the last owner: %v", err)
	}
	if _, err := h.Owner.SetAdminRole(ctx, owner.ID, wire.RoleAdmin, ""); !isCode(err, wire.CodeConflict) {
		t.Fatalf("demote the last owner: %v", err)
	}
	// A second owner pending approval does not count.
	second := invitedAdmin(t, h, wire.RoleOwner, "", false)
	if _, err := h.Owner.SetAdminRole(ctx, owner.ID, wire.RoleAdmin, ""); !isCode(err, wire.CodeConflict) {
		t.Fatalf("demote the last active owner: %v", err)
	}
	admins, _ = h.Owner.Admins(ctx)
	if _, err := h.Owner.ApproveAdmin(ctx, admins[1].ID); err != nil {
		t.Fatal(err)
	}
	if a, err := h.Owner.SetAdminRole(ctx, owner.ID, wire.RoleAdmin, ""); err != nil || a.Role != wire.RoleAdmin {
		t.Fatalf("demote with a second owner: %+v, %v", a, err)
	}
	// The demoted first admin is an Administrator now: it may no longer manage admins.
	if _, err := h.Owner.InviteAdmin(ctx, wire.RoleAdmin, "", time.Hour); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("demoted owner invites: %v", err)
	}
	c2 := h.Client(second)
	if _, err := c2.RemoveAdmin(ctx, admins[1].ID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("the new last owner removes itself: %v", err)
	}
	if _, err := c2.RemoveAdmin(ctx, owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.Tenant(ctx); !isCode(err, wire.CodeUnauthenticated) {
		t.Fatalf("removed admin still gets in: %v", err)
	}
}

// Item 2: a Co-managed Manager sees only its organization's techs and domains, and approves, rejects and
// deactivates only its organization's techs.
func TestCoManagedManagerScope(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	s := onboardContoso(t, h)
	c := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Contoso", true))
	erin := orgTech(t, h, "erin", "Contoso")

	techs, err := c.Techs(ctx, "")
	noErr(t, err)
	var names []string
	for _, x := range techs {
		names = append(names, x.Username)
	}
	if !slices.Equal(names, []string{"bob", "carol", "erin"}) {
		t.Fatalf("co-managed manager sees techs %v", names)
	}
	agents, err := c.Agents(ctx)
	noErr(t, err)
	if len(agents) != 1 || agents[0].ID != s.contoso.ID {
		t.Fatalf("co-managed manager sees agents %+v", agents)
	}
	if _, err := c.ApproveTech(ctx, erin); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisableTech(ctx, s.bob); err != nil {
		t.Fatal(err)
	}
	// Another organization's tech or an MSP tech does not exist for it.
	for _, id := range []int64{s.dave, s.msp} {
		if _, err := c.ApproveTech(ctx, id); !isCode(err, wire.CodeNotFound) {
			t.Errorf("approve tech %d of another organization: %v", id, err)
		}
		if _, err := c.DisableTech(ctx, id); !isCode(err, wire.CodeNotFound) {
			t.Errorf("disable tech %d of another organization: %v", id, err)
		}
	}
	if techStatus(t, h, s.dave) != wire.TechPending || techStatus(t, h, s.msp) != wire.TechActive {
		t.Fatal("a co-managed manager changed a tech outside its organization")
	}
	// Enabling is left to the MSP's admins; groups, audit log and seats are not its business.
	if _, err := c.EnableTech(ctx, s.bob); !isField(err, wire.CodeInvalid, "action") {
		t.Fatalf("co-managed manager enables: %v", err)
	}
	if _, err := c.TechGroups(ctx); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("co-managed manager lists groups: %v", err)
	}
	if _, err := c.Audit(ctx, wire.AuditQuery{}); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("co-managed manager reads the audit log: %v", err)
	}
}

// Item 7: active seats by kind, with the date each started.
func TestSeats(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	start := h.Clock.Now()
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	alice := h.ActiveTech("alice")
	bob := orgTech(t, h, "bob", "Contoso")
	orgTech(t, h, "carol", "Contoso") // pending: no seat
	gone := h.ActiveTech("gone")
	h.Clock.Advance(48 * time.Hour)
	approved := h.Clock.Now()
	if _, err := h.ApproveCoManaged(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.DisableTech(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	seats, err := h.Owner.Seats(ctx)
	noErr(t, err)
	if seats.Counts[wire.SeatMSPTech] != 1 || seats.Counts[wire.SeatCoManagedTech] != 1 || seats.Counts[wire.SeatAgent] != 1 || len(seats.Seats) != 3 {
		t.Fatalf("seats: %+v", seats)
	}
	near := func(a, b time.Time) bool { return a.Sub(b).Abs() < time.Minute }
	for _, st := range seats.Seats {
		switch {
		case st.Kind == wire.SeatMSPTech && st.ID == alice.ID && near(st.Since, start):
		case st.Kind == wire.SeatCoManagedTech && st.ID == bob && st.Organization == "Contoso" && near(st.Since, approved):
		case st.Kind == wire.SeatAgent && st.ID == agent.ID && st.Name == "contoso.local" && near(st.Since, start):
		default:
			t.Errorf("unexpected seat %+v (start %s, approved %s)", st, start, approved)
		}
	}
	// A seat ends when its tech is deactivated and starts anew when it is enabled again.
	h.Clock.Advance(24 * time.Hour)
	if _, err := h.Owner.EnableTech(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	seats, _ = h.Owner.Seats(ctx)
	i := slices.IndexFunc(seats.Seats, func(s wire.Seat) bool { return s.ID == gone.ID && s.Kind == wire.SeatMSPTech })
	if i < 0 || !near(seats.Seats[i].Since, h.Clock.Now()) || seats.Counts[wire.SeatMSPTech] != 2 {
		t.Fatalf("re-enabled seat: %+v", seats)
	}
}
