package vm_test

import (
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// The admins screen's buttons follow the hub: the sole owner can be neither removed nor demoted (the hub refuses
// both, and AdminActions offers neither, saying why); once a second owner is active, both apply; approve applies to
// a pending admin only.
func TestAdminActionsFollowTheHub(t *testing.T) {
	owner, h, _ := world(t)
	ctx := testCtx(t)
	orgs, err := owner.LoadOrgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var me wire.Admin
	for _, ad := range orgs.Admins {
		if ad.Role == wire.RoleOwner {
			me = ad
		}
	}
	approve, setRole, remove, why := vm.AdminActions(orgs.Admins, me.ID)
	if approve || setRole || remove || why == "" {
		t.Fatalf("sole owner: approve %v, set role %v, remove %v, why %q", approve, setRole, remove, why)
	}
	if err := owner.RemoveAdmin(ctx, me.ID); err == nil {
		t.Fatal("the hub removed the sole owner")
	}
	if err := owner.SetAdminRole(ctx, me.ID, wire.RoleAdmin, ""); err == nil {
		t.Fatal("the hub demoted the sole owner")
	}

	_, _ = invited(t, ctx, h, wire.RoleAuditor, "", false)
	_, _ = invited(t, ctx, h, wire.RoleOwner, "", true)
	if orgs, err = owner.LoadOrgs(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ad := range orgs.Admins {
		approve, setRole, remove, why := vm.AdminActions(orgs.Admins, ad.ID)
		if approve != (ad.Status == wire.AdminPending) || !setRole || !remove || why != "" {
			t.Fatalf("%s (%s, %s) with two owners: approve %v, set role %v, remove %v, why %q", ad.Name, ad.Role, ad.Status, approve, setRole, remove, why)
		}
	}
	if err := owner.SetAdminRole(ctx, me.ID, wire.RoleAdmin, ""); err != nil {
		t.Fatalf("demote one of two owners: %v", err)
	}
}
