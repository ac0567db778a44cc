package vm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// invited claims an admin invite of role from a new Console identity, approved by the owner unless pending.
func invited(t *testing.T, ctx context.Context, h *hubtest.Harness, role wire.Role, org string, approve bool) (*hubclient.Client, *seal.Identity) {
	t.Helper()
	tok, err := h.Owner.InviteAdmin(ctx, role, org, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id := h.NewIdentity()
	c := h.Client(id)
	resp, err := c.Claim(ctx, tok.Token, vm.RoleTitle(role))
	if err != nil {
		t.Fatal(err)
	}
	if approve {
		if _, err := h.Owner.ApproveAdmin(ctx, resp.Admin.ID); err != nil {
			t.Fatal(err)
		}
	}
	return c, id
}

func sectionIDs(ss []vm.Section) string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return strings.Join(ids, " ")
}

// Role-aware Console: an Auditor reads everything and may change nothing; a Co-managed Manager reads only what
// its role may (no 403 in the refresh) and sees its organization only; the owner sees every section.
func TestRefreshByRole(t *testing.T) {
	owner, h, w := world(t)
	ctx := testCtx(t)
	if me := owner.Snapshot().Me; me.Role != wire.RoleOwner || !me.IsOwner() || me.Describe() != "Owner · Signed in as Owner" {
		t.Fatalf("owner's Me: %+v %q", me, me.Describe())
	}
	if got := len(owner.VisibleSections()); got != len(vm.Sections) {
		t.Fatalf("owner sees %d of %d sections", got, len(vm.Sections))
	}

	ac, _ := invited(t, ctx, h, wire.RoleAuditor, "", true)
	aud := vm.New()
	aud.Connect(ac, h.Invite, "test hub")
	if err := aud.Refresh(ctx); err != nil {
		t.Fatalf("auditor's refresh: %v", err)
	}
	me := aud.Snapshot().Me
	if me.Role != wire.RoleAuditor || me.CanChange() || me.CanManageTechs() || !me.CanReadAll() || !strings.Contains(me.Describe(), "Signed in as Auditor") {
		t.Fatalf("auditor's Me: %+v", me)
	}
	if s := aud.Snapshot(); len(s.Techs) != 12 || len(s.Triplets) == 0 || len(s.Security) != 12 || len(s.Rekeys) != 1 {
		t.Fatalf("auditor's snapshot: %d techs, %d triplets, %d security, %d re-keys", len(s.Techs), len(s.Triplets), len(s.Security), len(s.Rekeys))
	}
	if ids := sectionIDs(aud.VisibleSections()); strings.Contains(ids, "onboarding") || !strings.Contains(ids, "audit") {
		t.Fatalf("auditor's sections: %s", ids)
	}
	// The hub refuses an Auditor's change; the Console offers none (Me.CanChange false), this checks the hub agrees.
	if err := aud.UnlockTech(ctx, w.Techs[demo.LockedTech]); err == nil {
		t.Fatal("the hub let an Auditor unlock a tech")
	}

	if _, err := h.Owner.Onboard(ctx, wire.OnboardRequest{Organization: "Contoso Ltd", CoManagedGroup: "Contoso co-managed",
		CoManagedTechs: []int64{w.Techs["gkim"], w.Techs["hadams"]}, MSPGroup: "MSP techs", MSPTechs: []int64{w.Techs["chenli"]}, DomainGroup: "Contoso domains",
		Domains: []int64{w.Agents["contoso.local"], w.Agents["contoso-files01"]}}); err != nil {
		t.Fatal(err)
	}
	cc, _ := invited(t, ctx, h, wire.RoleCoManager, "Contoso Ltd", true)
	co := vm.New()
	co.Connect(cc, h.Invite, "test hub")
	if err := co.Refresh(ctx); err != nil {
		t.Fatalf("co-managed manager's refresh: %v", err) // before: refresh tech groups: 403
	}
	me = co.Snapshot().Me
	if me.Role != wire.RoleCoManager || me.CanChange() || !me.CanManageTechs() || me.CanReadAll() || me.Organization != "Contoso Ltd" {
		t.Fatalf("co-managed manager's Me: %+v", me)
	}
	if got := me.Describe(); got != "Signed in as Co-managed Manager of Contoso Ltd" {
		t.Fatalf("status %q", got)
	}
	s := co.Snapshot()
	if len(s.Techs) != 2 || len(s.TechGroups) != 0 || len(s.Agents) != 2 {
		t.Fatalf("co-managed manager's snapshot: %d techs, %d groups, %d agents", len(s.Techs), len(s.TechGroups), len(s.Agents))
	}
	if ids := sectionIDs(co.VisibleSections()); ids != "pending jit techs agents invite" {
		t.Fatalf("co-managed manager's sections: %s", ids)
	}
	if err := co.Deactivate(ctx, w.Techs["hadams"]); err != nil {
		t.Fatalf("co-managed manager deactivates its organization's tech: %v", err)
	}
	if err := co.Refresh(ctx); err != nil { // the cached role: no second probe
		t.Fatal(err)
	}
	if co.Snapshot().Tech(w.Techs["hadams"]).Status != wire.TechDisabled {
		t.Fatal("hadams not deactivated")
	}
}

// An invited admin not approved yet sees "waiting for the owner's approval" with its fingerprint, not a 403; once
// approved, the next refresh reads the tenant.
func TestPendingAdminWaitsForApproval(t *testing.T) {
	_, h, _ := world(t)
	ctx := testCtx(t)
	c, id := invited(t, ctx, h, wire.RoleAdmin, "", false)
	a := vm.New()
	a.Connect(c, h.Invite, "test hub")
	if err := a.Refresh(ctx); err != nil {
		t.Fatalf("a pending admin's refresh failed: %v", err)
	}
	me := a.Snapshot().Me
	if !me.Pending || me.Fingerprint != id.Public().Fingerprint().String() || me.CanReadAll() || me.CanManageTechs() {
		t.Fatalf("pending Me: %+v", me)
	}
	if got, _ := a.Notice.Get(); got != "waiting for the owner's approval" {
		t.Fatalf("notice %q", got)
	}
	if ids := sectionIDs(a.VisibleSections()); ids != "pending" {
		t.Fatalf("pending admin's sections: %s", ids)
	}
	as, err := h.Owner.Admins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range as {
		if ad.Status == wire.AdminPending {
			if ad.Fingerprint != me.Fingerprint {
				t.Fatalf("owner sees %q, the Console shows %q", ad.Fingerprint, me.Fingerprint)
			}
			if _, err := h.Owner.ApproveAdmin(ctx, ad.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if me := a.Snapshot().Me; me.Pending || me.Role != wire.RoleAdmin || len(a.Snapshot().Techs) != 12 {
		t.Fatalf("after approval: %+v, %d techs", me, len(a.Snapshot().Techs))
	}
}
