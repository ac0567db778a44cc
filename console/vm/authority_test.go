package vm_test

import (
	"database/sql"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// kept is what a Console's session would keep across starts: the last chain it saved.
type kept struct {
	mu    sync.Mutex
	saves int
	chain []byte
}

func (k *kept) save(c *authority.Chain) error {
	b, err := c.MarshalBinary()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.saves++
	k.chain = b
	return err
}

// signedWorld is the demo world whose owner's Console turned the signed authority on.
func signedWorld(t *testing.T) (*vm.App, *hubtest.Harness, *demo.World, *kept) {
	t.Helper()
	ctx := testCtx(t)
	a, h, w := world(t)
	k := &kept{}
	a.UseAuthority(h.OwnerID.Signer(), nil, k.save)
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if st := a.Snapshot().Authority; !st.Supported || st.On() || st.HubHead != nil {
		t.Fatalf("before: %+v", st)
	}
	g, err := a.PrepareAuthority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.TurnOnAuthority(ctx, g); err != nil {
		t.Fatal(err)
	}
	return a, h, w, k
}

func TestTurnOnAuthorityCoversTheHubsState(t *testing.T) {
	ctx := testCtx(t)
	a, h, w := world(t)
	k := &kept{}
	a.UseAuthority(h.OwnerID.Signer(), nil, k.save)
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s := a.Snapshot()
	if got := a.Snapshot().Receipt(s.Agents[0]); got.Text != "—" || got.Alert {
		t.Fatalf("receipt before the authority: %+v", got)
	}
	g, err := a.PrepareAuthority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	active := len(a.Techs(vm.TechFilter{Status: wire.TechActive}))
	c := g.Covers
	if c.Admins != 1 || c.Techs != active || c.TechGroups != len(s.TechGroups) || c.AgentGroups != len(s.AgentGroups) ||
		c.Rights != len(s.Rights) || c.Triplets != len(s.Triplets) || c.Naming != s.Tenant.Policy.NamingFormat || len(c.Left) != 0 {
		t.Fatalf("covers %+v (active techs %d)", c, active)
	}
	if !strings.Contains(c.Summary(), "triplet(s)") {
		t.Fatalf("summary %q", c.Summary())
	}
	if err := a.TurnOnAuthority(ctx, g); err != nil {
		t.Fatal(err)
	}
	st := a.Snapshot().Authority
	if !st.On() || st.Genesis != g.Hash || st.Head != g.Head || st.HubHead == nil || st.HubHead.Hash != g.Head.String() || st.Alert != "" {
		t.Fatalf("after: %+v", st)
	}
	if !strings.Contains(st.Describe(), vm.Fingerprint(g.Head)) {
		t.Fatalf("status %q", st.Describe())
	}
	state := a.Chain().State()
	if state.Recovery == nil || string(state.Recovery) != string(authority.RecipientHash(h.Recovery.Public().Recipient().String())) {
		t.Fatal("the genesis does not sign the tenant's recovery recipient")
	}
	alice := a.Snapshot().Tech(w.Techs["amoreau"])
	key, _ := seal.ParsePublicKey(alice.PublicKey)
	if got := state.Techs[alice.ID]; got.KeyID != key.ID() || got.Username != "amoreau" {
		t.Fatalf("amoreau signed as %+v", got)
	}
	if k.saves == 0 {
		t.Fatal("the chain was not kept")
	}
	// Turning it on again is refused: the hub has a head now.
	if _, err := a.PrepareAuthority(ctx); err == nil {
		t.Fatal("prepared a second genesis")
	}
	// The enrolment command pins agents to the genesis.
	en, err := a.NewEnrollment(ctx, "new.local", wire.DriverAD, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(en.Command, " --authority "+g.Hash.String()) {
		t.Fatalf("command %q", en.Command)
	}
	// The techs' invite carries the anchor their devices pin; the hub's invite does not.
	if inv := a.TechInvite(); inv.Authority != g.Hash.String() || a.Invite().Authority != "" {
		t.Fatalf("tech invite anchor %q, hub invite %q", inv.Authority, a.Invite().Authority)
	}
	if _, err := wire.ParseInvite(a.TechInvite().String()); err != nil {
		t.Fatalf("the tech invite does not parse: %v", err)
	}
}

func TestApprovalSignsExactlyTheKeyTheAdminSaw(t *testing.T) {
	ctx := testCtx(t)
	a, _, w, _ := signedWorld(t)
	seq0, _ := a.Chain().Head()
	id := w.Techs["fnguyen"] // a pending MSP tech
	seen := *a.Snapshot().Tech(id)
	if err := a.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	seq, _ := a.Chain().Head()
	if seq != seq0+1 {
		t.Fatalf("one approval made %d updates", seq-seq0)
	}
	key, err := seal.ParsePublicKey(seen.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := a.Chain().State().Techs[id]
	if !ok || got.KeyID != key.ID() || string(got.Recipient) != string(authority.RecipientHash(key.Recipient().String())) || got.Username != seen.Username {
		t.Fatalf("signed approval %+v, want the key %s the admin saw", got, key.ID())
	}
	// Deactivating withdraws it, again in one update.
	if err := a.Deactivate(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Chain().State().Techs[id]; ok {
		t.Fatal("a deactivated tech keeps its signed approval")
	}
	if seq2, _ := a.Chain().Head(); seq2 != seq+1 {
		t.Fatalf("deactivation: head %d after %d", seq2, seq)
	}
}

func TestEntitlementChangesAreSigned(t *testing.T) {
	ctx := testCtx(t)
	a, _, w, _ := signedWorld(t)
	if err := a.SaveRight(ctx, 0, "Backup", "ad: Backup Operators"); err != nil {
		t.Fatal(err)
	}
	s := a.Snapshot()
	r := findOf(s.Rights, func(r wire.Right) bool { return r.Name == "Backup" })
	if got := a.Chain().State().Rights[r.ID]; got.Name != "Backup" || strings.Join(got.Targets["ad"], ",") != "Backup Operators" {
		t.Fatalf("signed right %+v", got)
	}
	if err := a.SaveGroup(ctx, false, 0, "Night shift", []int64{w.Techs["amoreau"]}); err != nil {
		t.Fatal(err)
	}
	g := findOf(a.Snapshot().TechGroups, func(g wire.Group) bool { return g.Name == "Night shift" })
	if got := a.Chain().State().TechGroups[g.ID]; !got.Members[w.Techs["amoreau"]] || len(got.Members) != 1 {
		t.Fatalf("signed group %+v", got)
	}
	var domains int64
	for _, ag := range a.Snapshot().AgentGroups {
		if ag.Builtin {
			domains = ag.ID
		}
	}
	if err := a.AddTriplet(ctx, g.ID, domains, r.ID); err != nil {
		t.Fatal(err)
	}
	tr := findOf(a.Snapshot().Triplets, func(x wire.Triplet) bool { return x.TechGroupID == g.ID })
	if got := a.Chain().State().Triplets[tr.ID]; got.Right != r.ID || got.AgentGroup != domains {
		t.Fatalf("signed triplet %+v", got)
	}
	// Deleting the group takes its triplet with it, in one update.
	before, _ := a.Chain().Head()
	if err := a.DeleteGroup(ctx, false, g.ID); err != nil {
		t.Fatal(err)
	}
	st := a.Chain().State()
	if _, ok := st.TechGroups[g.ID]; ok || st.Triplets[tr.ID] != (authority.Triplet{}) {
		t.Fatal("the deleted group or its triplet is still signed")
	}
	if after, _ := a.Chain().Head(); after != before+1 {
		t.Fatalf("delete group: %d updates", after-before)
	}
	p := a.Snapshot().Tenant.Policy
	p.NamingFormat = "{username}-adm"
	if err := a.SavePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := a.Chain().State().Naming; got != "{username}-adm" {
		t.Fatalf("signed naming %q", got)
	}
}

func TestOnboardingIsOneSignedUpdate(t *testing.T) {
	ctx := testCtx(t)
	a, _, w, _ := signedWorld(t)
	o := a.NewOnboarding("Fabrikam Inc")
	o.Domains = []int64{w.Agents["fabrikam.local"]}
	before, _ := a.Chain().Head()
	out, err := a.ApplyOnboarding(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := a.Chain().Head(); after != before+1 {
		t.Fatalf("onboarding: %d updates", after-before)
	}
	st := a.Chain().State()
	for _, tt := range out.Activated {
		if _, ok := st.Techs[tt.ID]; !ok {
			t.Fatalf("activated %q is not signed", tt.Username)
		}
	}
	if g := st.AgentGroups[out.DomainGroup.ID]; !g.Members[w.Agents["fabrikam.local"]] {
		t.Fatalf("domain group %+v", g)
	}
	for _, tr := range out.Triplets {
		if _, ok := st.Triplets[tr.ID]; !ok {
			t.Fatalf("triplet %d not signed", tr.ID)
		}
	}
}

func TestSecondConsoleVerifiesTheSameHead(t *testing.T) {
	ctx := testCtx(t)
	a, h, w, _ := signedWorld(t)
	if err := a.Approve(ctx, w.Techs["fnguyen"]); err != nil {
		t.Fatal(err)
	}
	b := vm.New()
	b.Connect(h.Client(h.OwnerID), h.Invite, "second")
	b.UseAuthority(h.OwnerID.Signer(), nil, nil)
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if st := b.Snapshot().Authority; st.On() || st.HubHead == nil || st.Describe() != "Signed authority not verified here" {
		t.Fatalf("unpinned second Console: %+v", st)
	}
	if err := b.PinAuthority(ctx, strings.Repeat("ab", 32)); err == nil {
		t.Fatal("pinned another genesis")
	}
	genesis := a.Snapshot().Authority.Genesis
	if err := b.PinAuthority(ctx, genesis.String()); err != nil {
		t.Fatal(err)
	}
	sa, sb := a.Snapshot().Authority, b.Snapshot().Authority
	if sb.Seq != sa.Seq || sb.Head != sa.Head || vm.Fingerprint(sb.Head) != vm.Fingerprint(sa.Head) {
		t.Fatalf("second Console at %d %s, first at %d %s", sb.Seq, sb.Head, sa.Seq, sa.Head)
	}
}

// holdFirstPublish runs fn before the first authority publish goes out, as another admin signing at that moment.
type holdFirstPublish struct {
	next http.RoundTripper
	once sync.Once
	fn   func()
}

func (h *holdFirstPublish) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.URL.Path == wire.PathAdminAuthority {
		h.once.Do(h.fn)
	}
	return h.next.RoundTrip(r)
}

func TestConflictBetweenTwoConsolesResolves(t *testing.T) {
	ctx := testCtx(t)
	a, h, w, _ := signedWorld(t)
	genesis := a.Snapshot().Authority.Genesis
	hold := &holdFirstPublish{fn: func() {
		if err := a.SaveRight(ctx, 0, "Racing", "linux: wheel"); err != nil {
			t.Error(err)
		}
	}}
	api, err := hubclient.New(h.Invite, h.OwnerID, hubclient.WithTransport(func(rt http.RoundTripper) http.RoundTripper {
		hold.next = rt
		return hold
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	b := vm.New()
	b.Connect(api, h.Invite, "second")
	b.UseAuthority(h.OwnerID.Signer(), nil, nil)
	if err := b.PinAuthority(ctx, genesis.String()); err != nil {
		t.Fatal(err)
	}
	before, _ := b.Chain().Head()
	if err := b.Approve(ctx, w.Techs["fnguyen"]); err != nil {
		t.Fatal(err)
	}
	after, head := b.Chain().Head()
	st := b.Chain().State()
	if after != before+2 || len(st.Techs) == 0 {
		t.Fatalf("head %d after %d", after, before)
	}
	if _, ok := st.Techs[w.Techs["fnguyen"]]; !ok {
		t.Fatal("the approval signed again after the conflict is missing")
	}
	if r := findOf(b.Snapshot().Rights, func(r wire.Right) bool { return r.Name == "Racing" }); r == nil || st.Rights[r.ID].Name != "Racing" {
		t.Fatal("the other Console's update is missing")
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if sa := a.Snapshot().Authority; sa.Head != head || sa.Alert != "" {
		t.Fatalf("first Console at %d %s (%s), second at %d %s", sa.Seq, sa.Head, sa.Alert, after, head)
	}
}

func TestOlderHeadIsAnAlertNotApplied(t *testing.T) {
	ctx := testCtx(t)
	a, h, w, _ := signedWorld(t)
	if err := a.Approve(ctx, w.Techs["fnguyen"]); err != nil {
		t.Fatal(err)
	}
	seq, head := a.Chain().Head()
	db, err := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The attacker restores an older head: the approval's update is gone from the hub.
	if _, err := db.ExecContext(ctx, "DELETE FROM authority_updates WHERE seq = ?", seq); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	st := a.Snapshot().Authority
	if st.Alert == "" || !strings.Contains(st.Describe(), "ALERT") || len(a.Snapshot().AuthorityAlerts()) == 0 {
		t.Fatalf("no alert: %+v", st)
	}
	if s2, h2 := a.Chain().Head(); s2 != seq || h2 != head {
		t.Fatalf("the older head was applied: %d %s", s2, h2)
	}
	// Nothing is signed on a chain the hub contradicts.
	if err := a.SaveRight(ctx, 0, "Sneaky", "ad: Domain Admins"); err == nil || !strings.Contains(err.Error(), "nothing signed") {
		t.Fatalf("signed on a rolled-back hub: %v", err)
	}
}

func TestAgentReceiptsAndRefusals(t *testing.T) {
	ctx := testCtx(t)
	a, h, _, _ := signedWorld(t)
	ag := h.NewAgent("receipt.local", wire.DriverAD)
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s := a.Snapshot()
	if got := s.Receipt(*s.Agent(ag.ID)); got.Alert || !strings.Contains(got.Text, "no receipt") {
		t.Fatalf("receipt %+v", got)
	}
	if un := s.UnsignedAgents(a.Chain().State()); findOf(un, func(x wire.Agent) bool { return x.ID == ag.ID }) == nil {
		t.Fatal("an agent approved on use is not listed as unsigned")
	}
	if err := a.SignAgent(ctx, ag.ID); err != nil {
		t.Fatal(err)
	}
	if got := a.Chain().State().Agents[ag.ID]; got.KeyID != ag.Identity.Public().ID() {
		t.Fatalf("signed agent %+v", got)
	}
	st := a.Snapshot().Authority
	if err := ag.ReportAuthority(ctx, wire.AgentAuthorityReport{Head: &wire.AuthorityHead{Seq: st.Seq, Hash: st.Head.String()}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.Snapshot().Receipt(*a.Snapshot().Agent(ag.ID)); got.Text != "at head" || got.Alert {
		t.Fatalf("receipt %+v", got)
	}
	if err := ag.ReportAuthority(ctx, wire.AgentAuthorityReport{Head: &wire.AuthorityHead{Seq: st.Seq, Hash: st.Head.String()},
		Refusal: `account "x": no signed triplet`}); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	alerts := a.Snapshot().AuthorityAlerts()
	if len(alerts) != 1 || !strings.Contains(alerts[0], "receipt.local refuses") {
		t.Fatalf("alerts %q", alerts)
	}
}

func TestFingerprint(t *testing.T) {
	h, _ := authority.ParseHash(strings.Repeat("0123456789abcdef", 4))
	if got := vm.Fingerprint(h); got != "0123 4567 89ab cdef" {
		t.Fatal(got)
	}
}

func findOf[T any](xs []T, ok func(T) bool) *T {
	for i := range xs {
		if ok(xs[i]) {
			return &xs[i]
		}
	}
	return nil
}

func TestDeviceReplacementSignsTheComparedKey(t *testing.T) {
	ctx := testCtx(t)
	a, _, _, _ := signedWorld(t)
	rks := a.PendingRekeys()
	if len(rks) == 0 {
		t.Fatal("the demo has no device replacement")
	}
	rk := rks[0]
	old := a.Chain().State().Techs[rk.TechID]
	if err := a.ApproveRekey(ctx, rk.ID); err != nil {
		t.Fatal(err)
	}
	tech := a.Snapshot().Tech(rk.TechID)
	key, err := seal.ParsePublicKey(tech.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	got := a.Chain().State().Techs[rk.TechID]
	if key.Fingerprint().String() != rk.Fingerprint || got.KeyID != key.ID() || got.KeyID == old.KeyID {
		t.Fatalf("signed key %s (was %s), the new device's is %s", got.KeyID, old.KeyID, key.ID())
	}
}

func TestApproveManySignsOnce(t *testing.T) {
	ctx := testCtx(t)
	a, _, _, _ := signedWorld(t)
	removeAllTriplet(t, a) // co-managed techs among them: no triplet may give them every domain (comanaged_test.go)
	var ids []int64
	for _, p := range a.Pending() {
		ids = append(ids, p.ID)
	}
	if len(ids) < 2 {
		t.Fatalf("pending %v", ids)
	}
	before, _ := a.Chain().Head()
	if err := a.ApproveMany(ctx, ids); err != nil {
		t.Fatal(err)
	}
	after, _ := a.Chain().Head()
	if after != before+1 {
		t.Fatalf("%d approvals made %d updates", len(ids), after-before)
	}
	for _, id := range ids {
		if _, ok := a.Chain().State().Techs[id]; !ok {
			t.Fatalf("tech %d not signed", id)
		}
	}
}

// TestAdminApprovalIsSigned: an admin active when the authority is turned on is in its genesis, and one the owner
// approves later is signed in with the key whose fingerprint the owner compared; that admin's own signature is
// then accepted for what the role may do.
func TestAdminApprovalIsSigned(t *testing.T) {
	ctx := testCtx(t)
	a, h, _ := world(t)
	_, early := invited(t, ctx, h, wire.RoleAdmin, "", true)
	a.UseAuthority(h.OwnerID.Signer(), nil, (&kept{}).save)
	g, err := a.PrepareAuthority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g.Covers.Admins != 2 {
		t.Fatalf("genesis covers %d admins, want the owner and the early admin", g.Covers.Admins)
	}
	if err := a.TurnOnAuthority(ctx, g); err != nil {
		t.Fatal(err)
	}
	if ad, ok := a.Chain().State().Admins[early.Public().ID()]; !ok || ad.Role != wire.RoleAdmin {
		t.Fatalf("the early admin in the genesis: %+v, %v", ad, ok)
	}
	_, late := invited(t, ctx, h, wire.RoleAuditor, "", false)
	as, err := h.Owner.Admins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, x := range as {
		if x.KeyID == late.Public().ID() {
			id = x.ID
		}
	}
	if err := a.ApproveAdmin(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ad, ok := a.Chain().State().Admins[late.Public().ID()]; !ok || ad.Role != wire.RoleAuditor {
		t.Fatalf("the approved auditor in the signed state: %+v, %v", ad, ok)
	}
}
