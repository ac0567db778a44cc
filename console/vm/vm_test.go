package vm_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"

	_ "modernc.org/sqlite"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// world starts a hub, fills it with the demo data set and connects a Console view-model to it as the owner.
func world(t *testing.T) (*vm.App, *hubtest.Harness, *demo.World) {
	t.Helper()
	test.NewTempApp(t) // the bindings deliver through fyne.Do
	ctx := testCtx(t)
	h := hubtest.New(t)
	w, err := demo.Populate(ctx, h.Invite, h.Owner)
	if err != nil {
		t.Fatal(err)
	}
	a := vm.New()
	a.Connect(h.Owner, h.Invite, "test hub")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return a, h, w
}

func agentsOf(gs []vm.Grant) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Agent.Name)
	}
	slices.Sort(out)
	return out
}

func TestSnapshotAndPending(t *testing.T) {
	a, _, w := world(t)
	s := a.Snapshot()
	if len(s.Techs) != 12 || len(s.Agents) != len(demo.Agents) || len(s.Organizations()) != 3 {
		t.Fatalf("snapshot: %d techs, %d agents, organizations %v", len(s.Techs), len(s.Agents), s.Organizations())
	}
	pending := a.Pending()
	if len(pending) != 6 {
		t.Fatalf("pending: %+v", pending)
	}
	if got := a.NavTitle(vm.Sections[0]); got != "Pending techs (7)" { // six techs and one device replacement
		t.Fatalf("nav title %q", got)
	}
	if errs := s.AgentErrors(w.Agents["tailspin-ldap"]); len(errs) != 1 || !strings.Contains(errs[0], "not found") {
		t.Fatalf("tailspin-ldap errors %v", errs)
	}
	if got := a.Techs(vm.TechFilter{Organization: "MSP", Status: wire.TechActive}); len(got) != 4 {
		t.Fatalf("active MSP techs: %+v", got)
	}
	if got := a.Techs(vm.TechFilter{Query: "fabrikam"}); len(got) != 2 {
		t.Fatalf("search by e-mail domain: %+v", got)
	}
}

// TestAccessMatchesHub checks the explorer's own computation (which also says through which triplet) against the
// hub's answer for every tech and every agent.
func TestAccessMatchesHub(t *testing.T) {
	a, h, w := world(t)
	ctx := testCtx(t)
	for name, id := range w.Techs {
		hubAcc, err := h.Owner.Access(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		mine := a.AccessForTech(id)
		if len(mine) != len(hubAcc) {
			t.Fatalf("%s: console computes %v, hub says %+v", name, agentsOf(mine), hubAcc)
		}
		for _, ha := range hubAcc {
			g := mine[slices.IndexFunc(mine, func(g vm.Grant) bool { return g.Agent.ID == ha.AgentID })]
			if !slices.Equal(g.Rights, ha.Rights) || len(g.Via) == 0 {
				t.Fatalf("%s on %s: console %v via %v, hub %v", name, ha.AgentName, g.Rights, g.Via, ha.Rights)
			}
		}
	}
	for name, id := range w.Agents {
		hubAcc, _ := h.Owner.Access(ctx, 0, id)
		if len(a.AccessForAgent(id)) != len(hubAcc) {
			t.Fatalf("agent %s: console %d techs, hub %d", name, len(a.AccessForAgent(id)), len(hubAcc))
		}
	}
	// Chen is in Helpdesk tier 1: on the Linux servers he holds both rights, through two triplets.
	for _, g := range a.AccessForTech(w.Techs["chenli"]) {
		if g.Agent.Name == "backup01" && (len(g.Via) != 2 || !slices.Equal(g.Rights, []string{"AllRights", "Helpdesk"})) {
			t.Fatalf("chen on backup01: %+v", g)
		}
	}
}

// TestOnboardingEndToEnd runs the co-managed onboarding through the view-model against a real hub and
// checks the before/after effective access: co-managed techs reach only their domains, MSP techs reach all, and
// nothing is reachable through the All triplet.
func TestOnboardingEndToEnd(t *testing.T) {
	a, _, w := world(t)
	ctx := testCtx(t)
	all := len(demo.Agents)
	for _, u := range []string{"amoreau", "bokafor"} {
		if n := len(a.AccessForTech(w.Techs[u])); n != all {
			t.Fatalf("before: %s reaches %d domains", u, n)
		}
	}

	o := a.NewOnboarding("Contoso Ltd")
	if !slices.Equal(sortedIDs(o.CoManagedTechs), sortedIDs([]int64{w.Techs["gkim"], w.Techs["hadams"]})) {
		t.Fatalf("proposed co-managed techs %v", o.CoManagedTechs)
	}
	if len(o.MSPTechs) != 5 { // the MSP's active and pending techs, not the deactivated one
		t.Fatalf("proposed MSP techs %v", o.MSPTechs)
	}
	if !slices.Equal(sortedIDs(o.Domains), sortedIDs([]int64{w.Agents["contoso.local"], w.Agents["contoso-files01"], w.Agents["contoso.onmicrosoft.com"]})) {
		t.Fatalf("proposed domains %v", o.Domains)
	}
	p := a.Preview(o)
	if len(p.Problems) != 0 || len(p.Steps) != 7 || !strings.HasPrefix(p.Steps[len(p.Steps)-1], "Last, activate") ||
		!strings.HasPrefix(p.Steps[5], "Delete the All triplet") {
		t.Fatalf("preview steps %q, problems %q", p.Steps, p.Problems)
	}
	before := a.Snapshot()

	if _, err := a.ApplyOnboarding(ctx, o); err != nil {
		t.Fatal(err)
	}
	after := a.Snapshot()
	// The preview predicted exactly what happened.
	if got := vm.DiffAccess(before, after); !slices.EqualFunc(got, p.Changes, func(x, y vm.Change) bool { return x.String() == y.String() }) {
		t.Fatalf("preview predicted\n%v\nthe hub did\n%v", p.Changes, got)
	}
	for _, u := range []string{"gkim", "hadams"} {
		if got := agentsOf(a.AccessForTech(w.Techs[u])); !slices.Equal(got, []string{"contoso-files01", "contoso.local", "contoso.onmicrosoft.com"}) {
			t.Fatalf("after: co-managed %s reaches %v", u, got)
		}
	}
	for _, u := range []string{"amoreau", "bokafor", "chenli", "dvolkov"} {
		if n := len(a.AccessForTech(w.Techs[u])); n != all {
			t.Fatalf("after: MSP tech %s reaches %d domains", u, n)
		}
	}
	for _, g := range vm.ComputeAccess(after) {
		for _, via := range g.Via {
			if strings.HasPrefix(via, "AllTechs × AllDomains") {
				t.Fatalf("%s reaches %s through the All triplet", g.Tech.Username, g.Agent.Name)
			}
		}
	}
	// A second organization: the MSP group is reused, and a failed onboarding changes nothing.
	o2 := a.NewOnboarding("Tailspin Toys")
	if o2.MSPGroup != "MSP techs" {
		t.Fatalf("second onboarding proposes MSP group %q", o2.MSPGroup)
	}
	o2.DomainGroup = "Contoso Ltd domains" // taken
	if p := a.Preview(o2); len(p.Problems) != 1 {
		t.Fatalf("preview problems %q", p.Problems)
	}
	if _, err := a.ApplyOnboarding(ctx, o2); err == nil {
		t.Fatal("onboarding with a taken group name succeeded")
	}
	if n := len(a.Pending()); n != 4 {
		t.Fatalf("a failed onboarding activated techs: %d pending", n)
	}

	// Afterwards a new MSP tech approved from the Console joins the MSP group and reaches every domain.
	if err := a.Approve(ctx, w.Techs["fnguyen"]); err != nil {
		t.Fatal(err)
	}
	if n := len(a.AccessForTech(w.Techs["fnguyen"])); n != all {
		t.Fatalf("new MSP tech reaches %d domains", n)
	}
}

func sortedIDs(ids []int64) []int64 { s := slices.Clone(ids); slices.Sort(s); return s }

func TestTechsAndGroups(t *testing.T) {
	a, _, w := world(t)
	ctx := testCtx(t)
	alice := w.Techs["amoreau"]
	if warn := a.DeactivateWarning(alice); !strings.Contains(warn, "disabled everywhere") || !strings.Contains(warn, "all 9 domains") {
		t.Fatalf("deactivation warning %q", warn)
	}
	if err := a.Deactivate(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if a.Snapshot().Tech(alice).Status != wire.TechDisabled || len(a.AccessForTech(alice)) != 0 {
		t.Fatal("deactivated tech still has access")
	}
	if err := a.Reactivate(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if err := a.Reject(ctx, w.Techs["lpark"]); err != nil {
		t.Fatal(err)
	}
	if g := a.Snapshot().GroupsOf(w.Techs["chenli"]); !slices.Equal(g, []string{"AllTechs", "Helpdesk tier 1"}) {
		t.Fatalf("chen's groups %v", g)
	}

	// Create, rename with new members, delete.
	if err := a.SaveGroup(ctx, false, 0, "Night shift", []int64{alice}); err != nil {
		t.Fatal(err)
	}
	g := find(a.Snapshot().TechGroups, "Night shift")
	if err := a.SaveGroup(ctx, false, g.ID, "Night owls", []int64{alice, w.Techs["bokafor"]}); err != nil {
		t.Fatal(err)
	}
	if g = find(a.Snapshot().TechGroups, "Night owls"); g == nil || len(g.Members) != 2 {
		t.Fatalf("renamed group %+v", g)
	}
	if err := a.DeleteGroup(ctx, false, g.ID); err != nil {
		t.Fatal(err)
	}
	all := find(a.Snapshot().TechGroups, "AllTechs")
	if err := a.DeleteGroup(ctx, false, all.ID); err == nil {
		t.Fatal("deleted AllTechs")
	}
	if err := a.SaveGroup(ctx, true, 0, "Domain controllers", []int64{w.Agents["contoso.local"]}); err != nil {
		t.Fatal(err)
	}

	// Rights and triplets.
	if _, err := vm.ParseTargets("no colon here"); err == nil {
		t.Fatal("bad targets accepted")
	}
	if err := a.SaveRight(ctx, 0, "DNS admins", "ad: DnsAdmins\nlinux: bind"); err != nil {
		t.Fatal(err)
	}
	s := a.Snapshot()
	var dns *wire.Right
	for i := range s.Rights {
		if s.Rights[i].Name == "DNS admins" {
			dns = &s.Rights[i]
		}
	}
	if dns == nil || vm.FormatTargets(dns.Targets) != "ad: DnsAdmins\nlinux: bind" {
		t.Fatalf("right %+v", dns)
	}
	dc := find(s.AgentGroups, "Domain controllers")
	hd := find(s.TechGroups, "Helpdesk tier 1")
	if err := a.AddTriplet(ctx, hd.ID, dc.ID, dns.ID); err != nil {
		t.Fatal(err)
	}
	var allTriplet int64
	for _, tr := range a.Snapshot().Triplets {
		if tr.Builtin {
			allTriplet = tr.ID
		}
	}
	warn, changes := a.TripletImpact(allTriplet)
	if !strings.Contains(warn, "All triplet") || len(changes) == 0 {
		t.Fatalf("All triplet impact %q %v", warn, changes)
	}
	if err := a.DeleteTriplet(ctx, allTriplet); err != nil {
		t.Fatal(err)
	}
	// Chen keeps what Helpdesk tier 1 grants; Alice has nothing left.
	if got := agentsOf(a.AccessForTech(w.Techs["chenli"])); !slices.Equal(got, []string{"backup01", "contoso-files01", "contoso.local", "fabrikam-web01"}) {
		t.Fatalf("chen after the All triplet went: %v", got)
	}
	if n := len(a.AccessForTech(alice)); n != 0 {
		t.Fatalf("alice after the All triplet went: %d", n)
	}
}

func find(gs []wire.Group, name string) *wire.Group {
	for i := range gs {
		if gs[i].Name == name {
			return &gs[i]
		}
	}
	return nil
}

func TestAgentsPolicyAudit(t *testing.T) {
	a, h, w := world(t)
	ctx := testCtx(t)

	en, err := a.NewEnrollment(ctx, "litware.local", wire.DriverAD, time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if en.Command != "watchword-agent enroll --hub '"+h.Invite.String()+"' --token-file - --name litware.local --driver ad" ||
		en.Token == "" || strings.Contains(en.Command, en.Token) || en.ApproveOnUse {
		t.Fatalf("enrollment %+v", en)
	}
	if n, err := a.RotateAgent(ctx, w.Agents["contoso.local"], 0); err != nil || n != 4 {
		t.Fatalf("rotate now on contoso.local: %d, %v", n, err)
	}

	checks, err := a.PreviewNames("{username}-{abbrev}-administrator")
	if err != nil {
		t.Fatal(err)
	}
	var adTooLong bool
	for _, c := range checks {
		if c.Driver == "Active Directory" && c.Username == "gkim" && strings.Contains(c.Problem, "20") {
			adTooLong = true
		}
		if c.Driver == "Linux" && c.Problem != "" {
			t.Fatalf("linux refuses %q: %s", c.Name, c.Problem)
		}
	}
	if !adTooLong {
		t.Fatalf("no AD length problem for gkim-tm-administrator: %+v", checks)
	}
	if _, err := a.PreviewNames("{user}"); err == nil {
		t.Fatal("format without {username} accepted")
	}
	p := a.Snapshot().Tenant.Policy
	p.Length, p.NamingFormat = 32, "adm-{username:12}"
	if err := a.SavePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := a.Snapshot().Tenant.Policy; got.Length != 32 || got.NamingFormat != "adm-{username:12}" {
		t.Fatalf("policy after save %+v", got)
	}
	p.Length = 5
	if err := a.SavePolicy(ctx, p); err == nil {
		t.Fatal("5-character passwords accepted")
	}

	evs, err := a.Audit(ctx, vm.AuditFilter{Action: "tech.", Tech: w.Techs["eschulz"]})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Action != "tech.disable" || evs[2].Action != "tech.register" && evs[2].Action != "tech.approve" {
		t.Fatalf("emma's events %+v", evs)
	}
	evs, _ = a.Audit(ctx, vm.AuditFilter{ActorKind: "agent", Agent: w.Agents["tailspin-ldap"]})
	if len(evs) == 0 || a.Snapshot().Actor(evs[0]) != "agent tailspin-ldap" {
		t.Fatalf("tailspin-ldap's events %+v", evs)
	}
	ok, msg, err := a.VerifyAudit(ctx)
	if err != nil || !ok || !strings.Contains(msg, "holds") {
		t.Fatalf("verify: %v %q %v", ok, msg, err)
	}
	// Break the chain in the database: the Console says so.
	db, err := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "UPDATE audit SET detail = 'edited' WHERE seq = 2"); err != nil {
		t.Fatal(err)
	}
	if ok, msg, _ := a.VerifyAudit(ctx); ok || !strings.Contains(msg, "BROKEN") {
		t.Fatalf("verify after tampering: %v %q", ok, msg)
	}
}
