package hub_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// TestDeleteTechWithAccounts: only a deactivated tech is deleted; its accounts go to the agent's plan as deletes,
// not disables; the agent's report makes them deleted for good; the tech leaves its groups and the tech list, its
// tombstone lists apart, nothing brings it back, and the audit log says what happened.
func TestDeleteTechWithAccounts(t *testing.T) {
	ctx := testCtx(t)
	h, tech, agent, pa := oneAccount(t, "dora", "ad")
	g, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "Night shift", Members: []int64{tech.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.DeleteTech(ctx, tech.ID, true); !errors.Is(err, hubclient.ErrConflict) || !strings.Contains(err.Error(), "only a deactivated tech") {
		t.Fatalf("delete an active tech: %v, want a conflict", err)
	}
	if _, err := h.Owner.DisableTech(ctx, tech.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.DeleteTech(ctx, tech.ID, true); err != nil {
		t.Fatalf("delete: %v", err)
	}
	plan, err := agent.PlanWait(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Disable) != 0 || len(plan.Delete) != 1 || plan.Delete[0].AccountID != pa.AccountID || plan.Delete[0].AccountName != pa.AccountName {
		t.Fatalf("plan: disable %+v delete %+v, want account %d to delete", plan.Disable, plan.Delete, pa.AccountID)
	}
	if got := account(t, h, tech.ID, pa.AccountID); got.State != wire.AccountDeleting {
		t.Fatalf("account state %q, want deleting", got.State)
	}
	// A late disable report does not stop the deletion; the deletion's report ends it.
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountDisabled}}); err != nil {
		t.Fatal(err)
	}
	if got := account(t, h, tech.ID, pa.AccountID); got.State != wire.AccountDeleting {
		t.Fatalf("after a disable report: %q, want deleting", got.State)
	}
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountDeleted}}); err != nil {
		t.Fatal(err)
	}
	if got := account(t, h, tech.ID, pa.AccountID); got.State != wire.AccountDeleted {
		t.Fatalf("after the deletion's report: %q, want deleted", got.State)
	}
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountPresent}}); err != nil {
		t.Fatal(err)
	}
	if got := account(t, h, tech.ID, pa.AccountID); got.State != wire.AccountDeleted {
		t.Fatalf("a deleted account came back as %q", got.State)
	}
	if plan, err = agent.PlanWait(ctx, 0, 0); err != nil || len(plan.Delete)+len(plan.Disable)+len(plan.Accounts) != 0 {
		t.Fatalf("plan after the deletion: %+v, %v", plan, err)
	}

	techs, err := h.Owner.Techs(ctx, "")
	if err != nil || slices.ContainsFunc(techs, func(x wire.Tech) bool { return x.ID == tech.ID }) {
		t.Fatalf("the tech list still holds the deleted tech: %+v, %v", techs, err)
	}
	gone, err := h.Owner.DeletedTechs(ctx)
	if err != nil || len(gone) != 1 || gone[0].ID != tech.ID || gone[0].DeletedAt.IsZero() || !gone[0].DeleteAccounts {
		t.Fatalf("tombstones: %+v, %v", gone, err)
	}
	groups, err := h.Owner.TechGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range groups {
		if x.ID == g.ID && slices.Contains(x.Members, tech.ID) {
			t.Fatalf("the deleted tech is still in %q", x.Name)
		}
	}
	if _, err := h.Owner.EnableTech(ctx, tech.ID); !errors.Is(err, hubclient.ErrConflict) {
		t.Fatalf("reactivate a deleted tech: %v, want a conflict", err)
	}
	if _, err := h.Owner.DeleteTech(ctx, tech.ID, false); !errors.Is(err, hubclient.ErrConflict) {
		t.Fatalf("delete twice: %v, want a conflict", err)
	}
	events := auditOf(t, h, "tech.delete")
	if len(events) != 1 || !strings.Contains(events[0].Detail, `username="dora"`) || !strings.Contains(events[0].Detail, "deleted-from-the-targets") ||
		!strings.Contains(events[0].Detail, "Night shift") {
		t.Fatalf("audit: %+v", events)
	}
}

// TestDeleteTechKeepsAccounts: deleted without its accounts, a tech's accounts stay disabled on the targets and
// are never planned for deletion.
func TestDeleteTechKeepsAccounts(t *testing.T) {
	ctx := testCtx(t)
	h, tech, agent, pa := oneAccount(t, "erin", "linux")
	if _, err := h.Owner.DisableTech(ctx, tech.ID); err != nil {
		t.Fatal(err)
	}
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountDisabled}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.DeleteTech(ctx, tech.ID, false); err != nil {
		t.Fatal(err)
	}
	plan, err := agent.PlanWait(ctx, 0, 0)
	if err != nil || len(plan.Delete) != 0 || len(plan.Disable) != 0 {
		t.Fatalf("plan: %+v, %v", plan, err)
	}
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountDeleted}}); err != nil {
		t.Fatal(err)
	}
	if got := account(t, h, tech.ID, pa.AccountID); got.State != wire.AccountDisabled {
		t.Fatalf("an account the hub never asked to delete is %q", got.State)
	}
	if events := auditOf(t, h, "tech.delete"); len(events) != 1 || !strings.Contains(events[0].Detail, "disabled-on-the-targets") {
		t.Fatalf("audit: %+v", events)
	}
}

// TestEditAndMoveTech: names and emails change freely; an approved tech's organization is read-only until an admin
// moves it, which changes its TechGroups in the same step and is audited; a pending tech's suggestion just changes.
func TestEditAndMoveTech(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	tech := h.ActiveTech("frank")
	if _, err := h.Owner.CreateOrg(ctx, "Contoso Ltd"); err != nil {
		t.Fatal(err)
	}
	msp, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "MSP techs", Members: []int64{tech.ID}})
	if err != nil {
		t.Fatal(err)
	}
	contoso, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "Contoso IT"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Owner.EditTech(ctx, tech.ID, wire.TechEditRequest{DisplayName: "Frank Castle", Email: "frank@msp.example"})
	if err != nil || got.DisplayName != "Frank Castle" || got.Email != "frank@msp.example" || got.Organization != "" {
		t.Fatalf("edit: %+v, %v", got, err)
	}
	if _, err := h.Owner.EditTech(ctx, tech.ID, wire.TechEditRequest{DisplayName: "Frank", Email: "not an address"}); !errors.Is(err, hubclient.ErrInvalid) {
		t.Fatalf("a bad email: %v, want invalid", err)
	}
	org := "contoso ltd"
	if _, err := h.Owner.EditTech(ctx, tech.ID, wire.TechEditRequest{DisplayName: "Frank", Email: "frank@msp.example", Organization: &org}); !errors.Is(err, hubclient.ErrConflict) ||
		!strings.Contains(err.Error(), "read-only") {
		t.Fatalf("change an approved tech's organization without a move: %v, want a conflict", err)
	}
	got, err = h.Owner.EditTech(ctx, tech.ID, wire.TechEditRequest{DisplayName: "Frank", Email: "frank@msp.example", Organization: &org,
		Move: true, Leave: []int64{msp.ID}, Join: []int64{contoso.ID}})
	if err != nil || got.Organization != "Contoso Ltd" || !got.CoManaged {
		t.Fatalf("move: %+v, %v", got, err)
	}
	groups, err := h.Owner.TechGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if in := slices.Contains(g.Members, tech.ID); g.ID == msp.ID && in || g.ID == contoso.ID && !in {
			t.Fatalf("after the move %q has members %v", g.Name, g.Members)
		}
	}
	if events := auditOf(t, h, "tech.move"); len(events) != 1 || !strings.Contains(events[0].Detail, `to="Contoso Ltd"`) ||
		!strings.Contains(events[0].Detail, `left=["MSP techs"]`) || !strings.Contains(events[0].Detail, `joined=["Contoso IT"]`) {
		t.Fatalf("audit: %+v", events)
	}

	pending := h.NewTech("gina")
	typo := "Fabrikam"
	if got, err := h.Owner.EditTech(ctx, pending.ID, wire.TechEditRequest{DisplayName: "Gina", Email: "gina@fabrikam.example", Organization: &typo}); err != nil ||
		got.Organization != "Fabrikam" || got.Status != wire.TechPending {
		t.Fatalf("a pending tech's suggestion: %+v, %v", got, err)
	}
}

// TestTechDevice: the device as the hub saw it — registration, last request and release — and its replacements.
func TestTechDevice(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	tech := h.ActiveTech("hana")
	if _, err := tech.Status(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := h.Owner.TechDevice(ctx, tech.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.TechID != tech.ID || d.Fingerprint != tech.Identity.Public().Fingerprint().String() || d.LastSeen.Before(d.Registered) ||
		d.Version == "" || d.Registered.IsZero() || len(d.Replacements) != 0 {
		t.Fatalf("device: %+v", d)
	}
	fresh := h.NewIdentity()
	if _, err := h.Client(fresh).Rekey(ctx, wire.RekeyRequest{Username: "hana", Email: "hana@example.com", PublicKey: fresh.Public().String()}); err != nil {
		t.Fatal(err)
	}
	if d, err = h.Owner.TechDevice(ctx, tech.ID); err != nil || len(d.Replacements) != 1 || d.Replacements[0].Fingerprint != fresh.Public().Fingerprint().String() {
		t.Fatalf("device after a replacement request: %+v, %v", d, err)
	}
}

// TestDeleteErrorKeepsTheDeletion: an agent's error while deleting a deleted tech's account (the target did not
// answer) leaves the account being deleted, with the error, and in the next plan's deletes, so that a passing
// outage never leaves it on the target; the deletion's report then ends it. A refusal (failed: an adopted account)
// ends the deletion instead, and the account is no longer planned for it.
func TestDeleteErrorKeepsTheDeletion(t *testing.T) {
	ctx := testCtx(t)
	h, tech, agent, pa := oneAccount(t, "gus", "ad")
	if _, err := h.Owner.DisableTech(ctx, tech.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.DeleteTech(ctx, tech.ID, true); err != nil {
		t.Fatal(err)
	}
	const unreachable = "delete: dial tcp 10.0.0.4:636: connection refused"
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountError, Error: unreachable}}); err != nil {
		t.Fatal(err)
	}
	if got := account(t, h, tech.ID, pa.AccountID); got.State != wire.AccountDeleting || got.LastError != unreachable {
		t.Fatalf("after the agent's error: %q %q, want still deleting with the error", got.State, got.LastError)
	}
	plan, err := agent.PlanWait(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Disable) != 0 || len(plan.Delete) != 1 || plan.Delete[0].AccountID != pa.AccountID {
		t.Fatalf("plan after the error: disable %+v delete %+v, want the delete again", plan.Disable, plan.Delete)
	}
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountDeleted}}); err != nil {
		t.Fatal(err)
	}
	if got := account(t, h, tech.ID, pa.AccountID); got.State != wire.AccountDeleted {
		t.Fatalf("after the deletion's report: %q, want deleted", got.State)
	}

	h2, tech2, agent2, pa2 := oneAccount(t, "hal", "ad")
	if _, err := h2.Owner.DisableTech(ctx, tech2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h2.Owner.DeleteTech(ctx, tech2.ID, true); err != nil {
		t.Fatal(err)
	}
	const refused = "delete \"hal-tm\": account not managed by watchword: adopted, it existed before Watchword and is never deleted"
	if err := agent2.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa2.AccountID, State: wire.AccountFailed, Error: refused}}); err != nil {
		t.Fatal(err)
	}
	if got := account(t, h2, tech2.ID, pa2.AccountID); got.State != wire.AccountFailed || got.LastError != refused {
		t.Fatalf("after the refusal: %q %q, want failed with the reason", got.State, got.LastError)
	}
	if plan, err := agent2.PlanWait(ctx, 0, 0); err != nil || len(plan.Delete) != 0 {
		t.Fatalf("plan after the refusal: delete %+v, %v, want none", plan.Delete, err)
	}
}
