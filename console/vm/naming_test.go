package vm_test

import (
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestShortNameFixesANamingProblem: a tech whose account name is too long for AD shows the problem on its row
// and in effective access; the admin's short name is set at the hub and signed in one update, the problem goes,
// the account name in effective access is the short one; a deactivation and reactivation signs it again.
func TestShortNameFixesANamingProblem(t *testing.T) {
	ctx := testCtx(t)
	a, h, _, _ := signedWorld(t)
	long := h.NewTech("christopher.vandenb")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.SetShortName(ctx, long.ID, "chrisv"); err == nil || !strings.Contains(err.Error(), "approve the tech first") {
		t.Fatalf("a pending tech's short name: %v", err)
	}
	if err := a.Approve(ctx, long.ID); err != nil {
		t.Fatal(err)
	}
	tech := *a.Snapshot().Tech(long.ID)
	if vm.TechRowName(tech) != "⚠ christopher.vandenb" {
		t.Fatalf("row %q", vm.TechRowName(tech))
	}
	var bad *vm.Grant
	for _, g := range a.AccessForTech(long.ID) {
		if g.Agent.Driver == wire.DriverAD {
			bad = &g
			break
		}
	}
	if bad == nil || !strings.Contains(bad.Problem, `"christopher.vandenb-tm" is 22 characters`) || bad.Account != nil {
		t.Fatalf("effective access of an AD domain: %+v", bad)
	}
	if err := a.SetShortName(ctx, long.ID, "Chris V"); err == nil {
		t.Fatal("a bad short name was sent")
	}
	seq0, _ := a.Chain().Head()
	if err := a.SetShortName(ctx, long.ID, "chrisv"); err != nil {
		t.Fatal(err)
	}
	if seq, _ := a.Chain().Head(); seq != seq0+1 || a.Chain().State().Techs[long.ID].ShortName != "chrisv" {
		t.Fatalf("signed: head %d after %d, state %+v", seq, seq0, a.Chain().State().Techs[long.ID])
	}
	tech = *a.Snapshot().Tech(long.ID)
	if tech.ShortName != "chrisv" || len(tech.Problems) != 0 || vm.TechRowName(tech) != "christopher.vandenb" {
		t.Fatalf("after the short name: %+v", tech)
	}
	if !strings.Contains(a.Snapshot().ShortNameText(tech), "chrisv-tm") {
		t.Fatalf("short name text %q", a.Snapshot().ShortNameText(tech))
	}
	for _, g := range a.AccessForTech(long.ID) {
		if g.Problem != "" {
			t.Fatalf("a problem left: %+v", g)
		}
	}
	if err := a.Deactivate(ctx, long.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Reactivate(ctx, long.ID); err != nil {
		t.Fatal(err)
	}
	if got := a.Chain().State().Techs[long.ID].ShortName; got != "chrisv" {
		t.Fatalf("short name signed again at reactivation: %q", got)
	}
}
