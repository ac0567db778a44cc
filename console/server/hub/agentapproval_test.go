package hub_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

func allDomainsHas(t *testing.T, h *hubtest.Harness, agent int64) bool {
	t.Helper()
	groups, err := h.Owner.AgentGroups(testCtx(t))
	noErr(t, err)
	for _, g := range groups {
		if g.Builtin && g.Name == wire.AllDomains {
			return slices.Contains(g.Members, agent)
		}
	}
	t.Fatal("no AllDomains group")
	return false
}

func agentByID(t *testing.T, h *hubtest.Harness, id int64) wire.Agent {
	t.Helper()
	agents, err := h.Owner.Agents(testCtx(t))
	noErr(t, err)
	for _, a := range agents {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("agent %d not listed", id)
	return wire.Agent{}
}

// TestAgentEnrolmentPending: an agent enrolled with an ordinary token is pending: it is told so with its key
// fingerprint, gets a clear 403 pending on the plan and every other agent route, is in no AgentGroup (not even
// AllDomains, whose All triplet would give it every tech) and holds no entitlement even if an admin puts it in a
// group, and the admins' list shows it pending with the same fingerprint. Enable does not activate it; approval
// does (audited with the fingerprint), and its plan then carries the techs' accounts. A rejected agent stays
// refused for good. A token created "approve on use" enrolls an active agent at once.
func TestAgentEnrolmentPending(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")

	tok, err := h.Owner.CreateEnrollmentToken(ctx, time.Hour)
	noErr(t, err)
	if tok.ApproveOnUse {
		t.Fatal("an ordinary enrollment token says approve on use")
	}
	id := h.NewIdentity()
	agent := h.Client(id)
	resp, err := agent.Enroll(ctx, wire.EnrollRequest{Token: tok.Token, Name: "contoso.local", Driver: wire.DriverAD})
	noErr(t, err)
	fp := id.Public().Fingerprint().String()
	if resp.Status != wire.AgentPending || resp.Fingerprint != fp {
		t.Fatalf("enrolment answer: %+v, want pending with fingerprint %q", resp, fp)
	}
	_, err = agent.Plan(ctx, 0)
	if !errors.Is(err, hubclient.ErrPending) || !strings.Contains(err.Error(), "approve") {
		t.Fatalf("plan of a pending agent: %v, want 403 pending naming the approval", err)
	}
	if err := agent.Confirm(ctx, 1, 1); !errors.Is(err, hubclient.ErrPending) {
		t.Fatalf("confirm by a pending agent: %v", err)
	}
	if allDomainsHas(t, h, resp.AgentID) {
		t.Fatal("a pending agent joined AllDomains")
	}
	if a := agentByID(t, h, resp.AgentID); a.Status != wire.AgentPending || a.Fingerprint != fp || a.Name != "contoso.local" {
		t.Fatalf("admins' list: %+v, want pending with fingerprint %q", a, fp)
	}
	// In a group by an admin's mistake, it still reaches no tech.
	g, err := h.Owner.CreateAgentGroup(ctx, wire.GroupRequest{Name: "Contoso"})
	noErr(t, err)
	_, err = h.Owner.EditMembers(ctx, true, g.ID, []int64{resp.AgentID}, nil)
	noErr(t, err)
	if acc, err := h.Owner.Access(ctx, alice.ID, 0); err != nil || len(acc) != 0 {
		t.Fatalf("alice's access while the only agent is pending: %+v, %v", acc, err)
	}
	if creds, err := alice.Credentials(ctx); err != nil || len(creds.Credentials) != 0 {
		t.Fatalf("alice's list while the only agent is pending: %+v, %v", creds, err)
	}
	if _, err := h.Owner.EnableAgent(ctx, resp.AgentID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("enable a pending agent: %v, want conflict", err)
	}

	a, err := h.Owner.ApproveAgent(ctx, resp.AgentID)
	if err != nil || a.Status != wire.AgentActive {
		t.Fatalf("approve: %+v, %v", a, err)
	}
	if !allDomainsHas(t, h, resp.AgentID) {
		t.Fatal("the approved agent is not in AllDomains")
	}
	if !auditHas(t, h, "agent.approve", fp) || !auditHas(t, h, "agent.enroll", "status=pending") {
		t.Fatal("enrolment and approval not audited with the status and fingerprint")
	}
	plan, err := agent.Plan(ctx, 0)
	if err != nil || len(plan.Accounts) != 1 || plan.Accounts[0].TechID != alice.ID {
		t.Fatalf("plan after approval: %+v, %v", plan, err)
	}
	if _, err := h.Owner.ApproveAgent(ctx, resp.AgentID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("approve twice: %v", err)
	}

	// Rejected: refused for good.
	tok2, err := h.Owner.CreateEnrollmentToken(ctx, time.Hour)
	noErr(t, err)
	rogue := h.Client(h.NewIdentity())
	r2, err := rogue.Enroll(ctx, wire.EnrollRequest{Token: tok2.Token, Name: "contoso.local", Driver: wire.DriverAD})
	noErr(t, err)
	if _, err := h.Owner.RejectAgent(ctx, r2.AgentID); err != nil {
		t.Fatal(err)
	}
	if _, err := rogue.Plan(ctx, 0); !errors.Is(err, hubclient.ErrPending) {
		t.Fatalf("plan of a rejected agent: %v", err)
	}
	for _, act := range []func() (*wire.Agent, error){
		func() (*wire.Agent, error) { return h.Owner.ApproveAgent(ctx, r2.AgentID) },
		func() (*wire.Agent, error) { return h.Owner.EnableAgent(ctx, r2.AgentID) },
	} {
		if _, err := act(); !isCode(err, wire.CodeConflict) {
			t.Fatalf("approve or enable a rejected agent: %v", err)
		}
	}
	if allDomainsHas(t, h, r2.AgentID) || agentByID(t, h, r2.AgentID).Status != wire.AgentRejected {
		t.Fatal("the rejected agent is in AllDomains or not listed rejected")
	}

	// Approve on use.
	tok3, err := h.Owner.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{ApproveOnUse: true})
	noErr(t, err)
	if !tok3.ApproveOnUse || !auditHas(t, h, "token.create", "approveOnUse=true") {
		t.Fatalf("approve-on-use token: %+v, or not audited", tok3)
	}
	r3, err := h.Client(h.NewIdentity()).Enroll(ctx, wire.EnrollRequest{Token: tok3.Token, Name: "fabrikam.com", Driver: wire.DriverAD})
	if err != nil || r3.Status != wire.AgentActive || !allDomainsHas(t, h, r3.AgentID) {
		t.Fatalf("agent of an approve-on-use token: %+v, %v", r3, err)
	}
}
