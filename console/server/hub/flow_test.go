package hub_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFullCycle(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	tech := h.NewTech("alice")
	st, err := tech.Status(ctx)
	if err != nil || st.Status != wire.TechPending {
		t.Fatalf("status after register: %+v, %v", st, err)
	}
	if _, err := tech.Credentials(ctx); !errors.Is(err, hubclient.ErrPending) {
		t.Fatalf("pending tech credentials: %v", err)
	}
	pending, err := h.Owner.Techs(ctx, wire.TechPending)
	if err != nil || len(pending) != 1 || pending[0].Username != "alice" || pending[0].Fingerprint != tech.Identity.Public().Fingerprint().String() {
		t.Fatalf("pending list: %+v, %v", pending, err)
	}
	if _, err := h.Owner.ApproveTech(ctx, tech.ID); err != nil {
		t.Fatal(err)
	}
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, err := agent.Plan(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Accounts) != 1 {
		t.Fatalf("plan accounts: %+v", plan)
	}
	pa := plan.Accounts[0]
	if pa.AccountName != "alice-tm" || !pa.Due || pa.DueReason != wire.DueNew || !slices.Equal(pa.Groups, []string{"Domain Admins"}) ||
		!slices.Equal(pa.Rights, []string{wire.AllRights}) || len(pa.Recipients) != 1 {
		t.Fatalf("plan account: %+v", pa)
	}
	env := hubtest.Seal(t, plan, pa, pa.CurrentVersion+1, "s3cret-Pa55word!")
	if err := agent.Stage(ctx, pa.AccountID, pa.CurrentVersion+1, env); err != nil {
		t.Fatal(err)
	}
	if err := agent.Confirm(ctx, pa.AccountID, pa.CurrentVersion+1); err != nil {
		t.Fatal(err)
	}
	creds, err := tech.Credentials(ctx)
	if err != nil || len(creds.Credentials) != 1 || len(creds.Credentials[0].Versions) != 1 {
		t.Fatalf("credentials: %+v, %v", creds, err)
	}
	c := creds.Credentials[0]
	v := c.Versions[0]
	got, err := seal.Open(v.Envelope, hubclient.SealContext(creds.ClientGUID, c.AgentID, c.AccountName, v.Version), tech.Identity)
	if err != nil || string(got) != "s3cret-Pa55word!" {
		t.Fatalf("open: %q, %v", got, err)
	}
	plan, err = agent.PlanWait(ctx, plan.Revision, 0)
	if err != nil || plan.Accounts[0].Due {
		t.Fatalf("plan after confirm: %+v, %v", plan, err)
	}
}
