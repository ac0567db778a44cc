package vm_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// signedMembers is a signed TechGroup's members, sorted.
func signedMembers(g authority.Group) []int64 {
	return slices.Sorted(maps.Keys(g.Members))
}

// groupsAgree fails unless every TechGroup of the hub that the authority signs has the same members in both, and
// the hub holds no signed group the Console would have missed.
func groupsAgree(t *testing.T, a *vm.App) {
	t.Helper()
	st := a.Chain().State()
	for _, g := range a.Snapshot().TechGroups {
		sg, ok := st.TechGroups[g.ID]
		if !ok || sg.All {
			continue
		}
		if got, want := signedMembers(sg), slices.Sorted(slices.Values(g.Members)); !slices.Equal(got, want) {
			t.Errorf("TechGroup %q: signed members %v, the hub's %v", g.Name, got, want)
		}
	}
}

// secondConsoleAgrees: a Console that pins the genesis and replays the hub's chain from it reaches the same head,
// so each update the first Console published verified against the state before it.
func secondConsoleAgrees(t *testing.T, a *vm.App, h *hubtest.Harness) *authority.State {
	t.Helper()
	ctx := testCtx(t)
	b := vm.New()
	b.Connect(h.Client(h.OwnerID), h.Invite, "second")
	b.UseAuthority(h.OwnerID.Signer(), nil, nil)
	if err := b.PinAuthority(ctx, a.Snapshot().Authority.Genesis.String()); err != nil {
		t.Fatal(err)
	}
	sa, sb := a.Snapshot().Authority, b.Snapshot().Authority
	if sb.Seq != sa.Seq || sb.Head != sa.Head || sb.Alert != "" {
		t.Fatalf("the second Console verified up to %d %s (%q), the first is at %d %s", sb.Seq, sb.Head, sb.Alert, sa.Seq, sa.Head)
	}
	return b.Chain().State()
}

// TestMoveIsOneSignedReapproval: with the signed authority on, moving an approved MSP tech to an onboarded client
// organization publishes one update that re-approves the same device key under the new organization and moves it
// out of its MSP TechGroups into the organization's, as the hub did; a second Console verifies the chain up to it.
func TestMoveIsOneSignedReapproval(t *testing.T) {
	ctx := testCtx(t)
	a, h, w, _ := signedWorld(t)
	o := a.NewOnboarding("Contoso Ltd")
	o.Domains = []int64{w.Agents["contoso.local"]}
	out, err := a.ApplyOnboarding(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	chen := w.Techs["chenli"] // MSP staff, in "Helpdesk tier 1" and the onboarding's MSP group
	seen := *a.Snapshot().Tech(chen)
	m, err := a.PreviewMove(chen, "Contoso Ltd")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Leave) < 2 || len(m.Join) != 1 || m.Join[0].ID != out.CoManagedGroup.ID {
		t.Fatalf("the move leaves %v and joins %v, want the MSP groups and %q", m.Leave, m.Join, out.CoManagedGroup.Name)
	}
	before, _ := a.Chain().Head()
	if err := a.EditTech(ctx, chen, seen.DisplayName, seen.Email, "Contoso Ltd"); err != nil {
		t.Fatal(err)
	}
	if after, _ := a.Chain().Head(); after != before+1 {
		t.Fatalf("the move made %d signed updates, want 1", after-before)
	}
	st := a.Chain().State()
	key, err := seal.ParsePublicKey(seen.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := st.Techs[chen]
	if !ok || got.Org != "Contoso Ltd" || got.KeyID != key.ID() || got.Username != seen.Username ||
		string(got.Recipient) != string(authority.RecipientHash(key.Recipient().String())) {
		t.Fatalf("signed after the move: %+v, want chenli's key %s in Contoso Ltd", got, key.ID())
	}
	for _, g := range m.Leave {
		if st.TechGroups[g.ID].Members[chen] {
			t.Errorf("still a signed member of %q", g.Name)
		}
	}
	if !st.TechGroups[out.CoManagedGroup.ID].Members[chen] {
		t.Errorf("not a signed member of %q", out.CoManagedGroup.Name)
	}
	if tt := a.Snapshot().Tech(chen); tt.Organization != "Contoso Ltd" || !tt.CoManaged {
		t.Fatalf("the hub's tech after the move: %+v", tt)
	}
	groupsAgree(t, a)
	if b := secondConsoleAgrees(t, a, h); b.Techs[chen].Org != "Contoso Ltd" || !b.TechGroups[out.CoManagedGroup.ID].Members[chen] {
		t.Fatalf("the second Console's state: %+v", b.Techs[chen])
	}
}

// TestDeleteSignsTheRemovalAndGroups: with the signed authority on, deleting a deactivated tech publishes one update
// that takes it out of its signed TechGroups — and withdraws its approval too when the deactivation was done at the
// hub without being signed, so that the pinned agents then accept the deletion of its accounts.
func TestDeleteSignsTheRemovalAndGroups(t *testing.T) {
	ctx := testCtx(t)
	a, h, w, _ := signedWorld(t)
	helpdesk := findOf(a.Snapshot().TechGroups, func(g wire.Group) bool { return g.Name == "Helpdesk tier 1" })
	chen, dmitri := w.Techs["chenli"], w.Techs["dvolkov"] // both in Helpdesk tier 1
	st := a.Chain().State()
	if !st.TechGroups[helpdesk.ID].Members[chen] || !st.TechGroups[helpdesk.ID].Members[dmitri] {
		t.Fatalf("the genesis signs Helpdesk tier 1 as %v", signedMembers(st.TechGroups[helpdesk.ID]))
	}

	// Deactivated through this Console: the approval went then, the deletion signs the group change.
	if err := a.Deactivate(ctx, chen); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Chain().State().Techs[chen]; ok {
		t.Fatal("the deactivation left the signed approval")
	}
	before, _ := a.Chain().Head()
	if err := a.DeleteTech(ctx, chen, true); err != nil {
		t.Fatal(err)
	}
	if after, _ := a.Chain().Head(); after != before+1 {
		t.Fatalf("deleting chenli made %d signed updates, want 1", after-before)
	}
	if st := a.Chain().State(); st.TechGroups[helpdesk.ID].Members[chen] || !st.TechGroups[helpdesk.ID].Members[dmitri] {
		t.Fatalf("Helpdesk tier 1 signed as %v after chenli's deletion", signedMembers(st.TechGroups[helpdesk.ID]))
	}

	// Deactivated at the hub by a Console that signs nothing: the signed state still approves dvolkov, so the
	// deletion withdraws the approval with the group change, in the same update.
	if _, err := h.Owner.DisableTech(ctx, dmitri); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Chain().State().Techs[dmitri]; !ok {
		t.Fatal("the unsigned deactivation changed the signed state")
	}
	before, _ = a.Chain().Head()
	if err := a.DeleteTech(ctx, dmitri, false); err != nil {
		t.Fatal(err)
	}
	if after, _ := a.Chain().Head(); after != before+1 {
		t.Fatalf("deleting dvolkov made %d signed updates, want 1", after-before)
	}
	st = a.Chain().State()
	if _, ok := st.Techs[dmitri]; ok {
		t.Fatal("the deleted tech keeps its signed approval")
	}
	if g := st.TechGroups[helpdesk.ID]; len(g.Members) != 0 {
		t.Fatalf("Helpdesk tier 1 signed as %v after both deletions", signedMembers(g))
	}
	for id, g := range st.TechGroups {
		if g.Members[chen] || g.Members[dmitri] {
			t.Errorf("signed TechGroup %d %q keeps a deleted tech", id, g.Name)
		}
	}
	if a.Snapshot().Tech(dmitri) != nil || a.Snapshot().Tech(chen) != nil {
		t.Fatal("a deleted tech is still listed")
	}
	groupsAgree(t, a)
	if b := secondConsoleAgrees(t, a, h); len(b.TechGroups[helpdesk.ID].Members) != 0 {
		t.Fatalf("the second Console's Helpdesk tier 1: %v", signedMembers(b.TechGroups[helpdesk.ID]))
	}
}
