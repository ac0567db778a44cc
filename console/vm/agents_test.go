package vm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestPendingAgents: an enrollment made without "approve on use" gives a pending agent that the Console lists with
// its fingerprint and counts in the navigation; approval makes it active in AllDomains, rejection keeps it out;
// an "approve on use" enrollment's agent is active at once.
func TestPendingAgents(t *testing.T) {
	a, h, _ := world(t)
	ctx := testCtx(t)
	enroll := func(name string, approveOnUse bool) *wire.EnrollResponse {
		t.Helper()
		en, err := a.NewEnrollment(ctx, name, wire.DriverAD, time.Hour, approveOnUse)
		if err != nil || en.ApproveOnUse != approveOnUse {
			t.Fatalf("enrollment: %+v, %v", en, err)
		}
		resp, err := h.Client(h.NewIdentity()).Enroll(ctx, wire.EnrollRequest{Token: en.Token, Name: name, Driver: wire.DriverAD})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	w1, w2 := enroll("wingtip.local", false), enroll("rogue.local", false)
	pending := a.PendingAgents()
	if len(pending) != 2 || pending[0].ID != w1.AgentID || pending[0].Fingerprint != w1.Fingerprint || pending[1].ID != w2.AgentID {
		t.Fatalf("pending agents: %+v", pending)
	}
	sec, _ := a.Section("agents")
	if got := a.NavTitle(sec); got != sec.Title+" (2 pending)" {
		t.Fatalf("navigation: %q", got)
	}
	if txt := vm.AgentApprovalText(pending[0]); !strings.Contains(txt, "wingtip.local") || !strings.Contains(txt, "fingerprint") {
		t.Fatalf("approval text: %q", txt)
	}
	if err := a.ApproveAgent(ctx, w1.AgentID); err != nil {
		t.Fatal(err)
	}
	if err := a.RejectAgent(ctx, w2.AgentID); err != nil {
		t.Fatal(err)
	}
	s := a.Snapshot()
	if len(a.PendingAgents()) != 0 || s.Agent(w1.AgentID).Status != wire.AgentActive || s.Agent(w2.AgentID).Status != wire.AgentRejected {
		t.Fatalf("after the decisions: %+v, %+v", s.Agent(w1.AgentID), s.Agent(w2.AgentID))
	}
	in := map[int64]bool{}
	for _, g := range s.AgentGroups {
		if g.Name == wire.AllDomains {
			for _, m := range g.Members {
				in[m] = true
			}
		}
	}
	if !in[w1.AgentID] || in[w2.AgentID] {
		t.Fatalf("AllDomains: approved in %t, rejected in %t", in[w1.AgentID], in[w2.AgentID])
	}
	if w3 := enroll("fabrikam2.com", true); w3.Status != wire.AgentActive || a.Snapshot().Agent(w3.AgentID).Status != wire.AgentActive {
		t.Fatalf("approve-on-use agent: %+v", w3)
	}
}
