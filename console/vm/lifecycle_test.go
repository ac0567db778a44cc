package vm_test

import (
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
)

// TestPolicyFormRoundTrip: the policy screen's form carries rotate-after-use and the history depth to the hub and
// back; the summary says what they do.
func TestPolicyFormRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	a, _, _ := world(t)
	f := vm.FormOf(a.Snapshot().Tenant.Policy)
	if f.AfterUseHours != "8" || f.HistoryDepth != "5" {
		t.Fatalf("form of the default policy: %+v", f)
	}
	f.AfterUseHours, f.HistoryDepth = "1.5", "12"
	p, err := f.Policy()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SavePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	got := a.Snapshot().Tenant.Policy
	if got.RotateAfterUseSeconds != 5400 || got.HistoryDepth != 12 || got.Length != 24 {
		t.Fatalf("policy after save: %+v", got)
	}
	if d := vm.DescribePolicy(got); !strings.Contains(d, "rotated 1 h 30 min after each reveal or copy") || !strings.Contains(d, "the last 12 passwords") {
		t.Fatalf("summary %q", d)
	}
	f.AfterUseHours = "0"
	if p, _ = f.Policy(); p.RotateAfterUseSeconds != 0 {
		t.Fatalf("0 hours: %d", p.RotateAfterUseSeconds)
	}
	if err := a.SavePolicy(ctx, p); err != nil || !strings.Contains(vm.DescribePolicy(a.Snapshot().Tenant.Policy), "does not trigger a rotation") {
		t.Fatalf("rotate after use off: %v, %q", err, vm.DescribePolicy(a.Snapshot().Tenant.Policy))
	}
	for _, bad := range []vm.PolicyForm{{AfterUseHours: "soon"}, {AfterUseHours: "-1"}} {
		b := vm.FormOf(got)
		b.AfterUseHours = bad.AfterUseHours
		if _, err := b.Policy(); err == nil || !strings.HasPrefix(err.Error(), "rotate after use: ") {
			t.Fatalf("after use %q: %v", bad.AfterUseHours, err)
		}
	}
	b := vm.FormOf(got)
	b.HistoryDepth = "99"
	if p, err := b.Policy(); err != nil {
		t.Fatal(err)
	} else if err := a.SavePolicy(ctx, p); err == nil {
		t.Fatal("the hub accepted a history depth of 99")
	}
}

// TestAgentGroupAfterUseOverride: an AgentGroup's rotate-after-use override is set, kept across a rename or a
// member change, turned off with 0 and removed with an empty field.
func TestAgentGroupAfterUseOverride(t *testing.T) {
	ctx := testCtx(t)
	a, _, w := world(t)
	two := int64(7200)
	if err := a.SaveAgentGroup(ctx, 0, "Domain controllers", []int64{w.Agents["contoso.local"]}, &two); err != nil {
		t.Fatal(err)
	}
	g := find(a.Snapshot().AgentGroups, "Domain controllers")
	if g == nil || g.RotateAfterUseSeconds == nil || *g.RotateAfterUseSeconds != 7200 || vm.AfterUseOverride(g) != "2" {
		t.Fatalf("group %+v", g)
	}
	if d := vm.DescribeAfterUse(g, a.Snapshot().Tenant.Policy); d != "A revealed or copied password rotates 2 h after use on this group's agents." {
		t.Fatalf("describe %q", d)
	}
	// SaveGroup (a rename) keeps the override.
	if err := a.SaveGroup(ctx, true, g.ID, "DCs", g.Members); err != nil {
		t.Fatal(err)
	}
	if g = find(a.Snapshot().AgentGroups, "DCs"); g == nil || g.RotateAfterUseSeconds == nil || *g.RotateAfterUseSeconds != 7200 {
		t.Fatalf("override lost by a rename: %+v", g)
	}
	off, err := vm.ParseAfterUseOverride("0")
	if err != nil || off == nil || *off != 0 {
		t.Fatalf("parse 0: %v %v", off, err)
	}
	if err := a.SaveAgentGroup(ctx, g.ID, "DCs", g.Members, off); err != nil {
		t.Fatal(err)
	}
	if g = find(a.Snapshot().AgentGroups, "DCs"); !strings.Contains(vm.DescribeAfterUse(g, a.Snapshot().Tenant.Policy), "off for this group") {
		t.Fatalf("override 0: %+v", g)
	}
	inherit, err := vm.ParseAfterUseOverride(" ")
	if err != nil || inherit != nil {
		t.Fatalf("parse empty: %v %v", inherit, err)
	}
	if err := a.SaveAgentGroup(ctx, g.ID, "DCs", g.Members, inherit); err != nil {
		t.Fatal(err)
	}
	if g = find(a.Snapshot().AgentGroups, "DCs"); g.RotateAfterUseSeconds != nil ||
		vm.DescribeAfterUse(g, a.Snapshot().Tenant.Policy) != "Inherits the tenant's policy: a revealed or copied password rotates 8 h after use." {
		t.Fatalf("inherit: %+v", g)
	}
	if _, err := vm.ParseAfterUseOverride("x"); err == nil {
		t.Fatal("override x accepted")
	}
}
