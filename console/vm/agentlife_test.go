package vm_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestOfflineAgentsAndRetire: an active agent not seen for more than twice the poll interval is offline, marked,
// and announced once when a refresh first finds it so; retiring an agent says what happens to its accounts,
// disables it at the hub and withdraws its signed enrolment; restoring enrols it again.
func TestOfflineAgentsAndRetire(t *testing.T) {
	ctx := testCtx(t)
	a, _, _, _ := signedWorld(t)
	var newest time.Time
	for _, g := range a.Snapshot().Agents {
		if g.Status == wire.AgentActive && g.LastSeen.After(newest) {
			newest = g.LastSeen
		}
	}
	var mu sync.Mutex
	now := newest.Add(vm.AgentPollInterval)
	a.UseClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	var announced []string
	a.OnAgentOffline(func(g wire.Agent) { mu.Lock(); announced = append(announced, g.Name); mu.Unlock() })
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if off := a.Snapshot().OfflineAgents(a.Now()); len(off) != 0 {
		t.Fatalf("offline one interval after the last poll: %v", off)
	}
	mu.Lock()
	now = newest.Add(2*vm.AgentPollInterval + 30*time.Second)
	mu.Unlock()
	for range 2 { // announced once, not at every refresh
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	active := 0
	var target wire.Agent
	for _, g := range a.Snapshot().Agents {
		if g.Status == wire.AgentActive {
			active++
			target = g
		}
	}
	mu.Lock()
	if len(announced) != active {
		t.Fatalf("announced %v, want the %d active agents once each", announced, active)
	}
	mu.Unlock()
	if s := vm.AgentStatusText(target, a.Now()); !strings.HasPrefix(s, "⚠ OFFLINE 2 min") {
		t.Fatalf("status %q", s)
	}
	if s := vm.OfflineText(target, a.Now()); !strings.Contains(s, target.Name) || !strings.Contains(s, "do not rotate") {
		t.Fatalf("offline text %q", s)
	}

	warn := a.Snapshot().RetireText(target.ID)
	if !strings.Contains(warn, "stay as they are now") || !strings.Contains(warn, target.Name) {
		t.Fatalf("retire text %q", warn)
	}
	if _, ok := a.Chain().State().Agents[target.ID]; !ok {
		t.Fatal("the agent is not enrolled in the signed state before")
	}
	if err := a.RetireAgent(ctx, target.ID); err != nil {
		t.Fatal(err)
	}
	g := a.Snapshot().Agent(target.ID)
	if g.Status != wire.AgentDisabled || vm.AgentStatusText(*g, a.Now()) != "retired" {
		t.Fatalf("after retiring: %+v", g)
	}
	if _, ok := a.Chain().State().Agents[target.ID]; ok {
		t.Fatal("a retired agent keeps its signed enrolment")
	}
	if err := a.RestoreAgent(ctx, target.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Chain().State().Agents[target.ID]; !ok || a.Snapshot().Agent(target.ID).Status != wire.AgentActive {
		t.Fatal("a restored agent is not active and enrolled")
	}
	if !slicesContains(vm.EnrollDrivers, "ssh") {
		t.Fatal("no ssh in the enrolment drivers")
	}
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
