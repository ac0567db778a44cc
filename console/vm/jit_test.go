package vm_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/shared/wire"
)

// TestJITQueue: the demo's requests wait for approval (counted in the navigation), the open window is listed, the
// triplet says its mode; approving opens a window, refusing carries the note; a new request reaches the Console
// through WatchJIT and its listeners within seconds.
func TestJITQueue(t *testing.T) {
	ctx := testCtx(t)
	a, h, _ := world(t)
	pending := a.PendingJIT()
	if len(pending) != len(demo.JITRequests) || pending[0].Username != demo.JITRequests[0].Tech || pending[0].Reason != demo.JITRequests[0].Reason {
		t.Fatalf("pending %+v", pending)
	}
	for _, s := range vm.Sections {
		if s.ID == "jit" {
			if got := a.NavTitle(s); got != "JIT requests (3)" {
				t.Fatalf("navigation %q", got)
			}
		}
	}
	open := a.OpenJIT(time.Now())
	if len(open) != 1 || open[0].Username != "dvolkov" || open[0].Status != wire.JITActive || time.Until(open[0].ExpiresAt) < 89*time.Minute {
		t.Fatalf("open windows %+v", open)
	}
	if len(a.OpenJIT(open[0].ExpiresAt)) != 0 {
		t.Fatal("a window past its expiry is still open")
	}
	var all wire.Triplet
	for _, tr := range a.Snapshot().Triplets {
		if tr.Builtin {
			all = tr
		}
	}
	if m := vm.ModeOf(all); m.String() != "just-in-time ≤ 4 h, approval" {
		t.Fatalf("All triplet's mode %q", m)
	}
	if got := vm.DescribeJIT(pending[1]); got != "bokafor: bokafor-tm on fabrikam.local for 1 h — Patch Tuesday: reboot the domain controller after the updates" {
		t.Fatalf("describe %q", got)
	}
	if got := vm.ApproveJITText(pending[0]); !strings.HasPrefix(got, "Approve amoreau's request?\n\namoreau-tm on contoso.local is enabled for 2 h from now") {
		t.Fatalf("approval text %q", got)
	}

	// Approve and refuse.
	if err := a.ApproveJIT(ctx, pending[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := a.RefuseJIT(ctx, pending[1].ID, "  wait for the change window  "); err != nil {
		t.Fatal(err)
	}
	if n := len(a.PendingJIT()); n != 1 {
		t.Fatalf("%d pending after two decisions", n)
	}
	if o := a.OpenJIT(time.Now()); len(o) != 2 {
		t.Fatalf("open after approval: %+v", o)
	}
	gs, err := h.Owner.ListJITRequests(ctx, wire.JITRefused)
	if err != nil || len(gs) != 1 || gs[0].Note != "wait for the change window" {
		t.Fatalf("refused at the hub: %+v %v", gs, err)
	}
	if err := a.ApproveJIT(ctx, pending[1].ID); err == nil {
		t.Fatal("approved a refused request")
	}

	// A new request: WatchJIT refreshes at once and the listener hears of it (once).
	var mu sync.Mutex
	var heard []string
	a.OnJITRequest(func(g wire.JITGrant) {
		mu.Lock()
		heard = append(heard, vm.DescribeJIT(g))
		mu.Unlock()
	})
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go a.WatchJIT(wctx, 2*time.Second)
	if _, err := h.Owner.SetSecurityPolicy(ctx, wire.DefaultSecurityPolicy()); err != nil { // MSP techs without 2FA
		t.Fatal(err)
	}
	zed := h.ActiveTech("zed")
	agent := h.NewAgent("zed.local", wire.DriverAD)
	if _, err := agent.Plan(ctx, 0); err != nil {
		t.Fatal(err)
	}
	accs, err := h.Owner.Accounts(ctx, 0, agent.ID)
	if err != nil || len(accs) == 0 {
		t.Fatalf("accounts %v %v", accs, err)
	}
	var acc int64
	for _, ac := range accs {
		if ac.TechID == zed.ID {
			acc = ac.ID
		}
	}
	asked := time.Now()
	if _, err := zed.RequestJIT(ctx, wire.JITRequest{AccountID: acc, DurationSeconds: 900, Reason: "ticket 4800"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(heard)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification of the new request")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("request → Console listener: %v", time.Since(asked).Round(time.Millisecond))
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(heard) != 1 || heard[0] != "zed: zed-tm on zed.local for 15 min — ticket 4800" {
		t.Fatalf("heard %q", heard)
	}
}

// TestTripletModes: a triplet is added just-in-time or standing, and its mode changes.
func TestTripletModes(t *testing.T) {
	ctx := testCtx(t)
	a, _, _ := world(t)
	s := a.Snapshot()
	hd, servers := find(s.TechGroups, "Helpdesk tier 1"), find(s.AgentGroups, "AllDomains")
	var backup int64
	for _, r := range s.Rights {
		if r.Name == "Backup operators" {
			backup = r.ID
		}
	}
	m, err := vm.ParseMode(true, "2.5", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddTripletMode(ctx, hd.ID, servers.ID, backup, m); err != nil {
		t.Fatal(err)
	}
	var added wire.Triplet
	for _, tr := range a.Snapshot().Triplets {
		if tr.RightID == backup {
			added = tr
		}
	}
	if added.Mode != wire.TripletJIT || added.MaxDurationSeconds != 9000 || !added.ApprovalRequired || vm.ModeOf(added).String() != "just-in-time ≤ 2 h 30 min, approval" {
		t.Fatalf("added %+v", added)
	}
	std, _ := vm.ParseMode(false, "ignored", true)
	if err := a.SetTripletMode(ctx, added.ID, std); err != nil {
		t.Fatal(err)
	}
	for _, tr := range a.Snapshot().Triplets {
		if tr.ID == added.ID && (tr.Mode == wire.TripletJIT || vm.ModeOf(tr).String() != "standing") {
			t.Fatalf("after setting standing: %+v", tr)
		}
	}
	def, _ := vm.ParseMode(true, "", false)
	if def.String() != "just-in-time ≤ 1 h" {
		t.Fatalf("default max: %q", def)
	}
	if _, err := vm.ParseMode(true, "soon", false); err == nil {
		t.Fatal("max soon accepted")
	}
	if err := a.SetTripletMode(ctx, added.ID, vm.TripletMode{JIT: true, Max: 30 * 24 * time.Hour}); err == nil {
		t.Fatal("the hub accepted a 30-day window")
	}
}
