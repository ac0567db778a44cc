package hub_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TestRekey: a lost laptop's replacement registers under the same username and waits as a
// re-key showing both fingerprints; on approval the old key stops authenticating, no envelope sealed to the old key
// is handed out any more, every account of the tech is due for rotation at once, and the agent's next version opens
// with the new key. A deactivated tech cannot re-register under its username, and the refusal is audited.
func TestRekey(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	var agents []*hubtest.Agent
	for _, name := range []string{"a.local", "b.local"} {
		agents = append(agents, h.NewAgent(name, wire.DriverAD))
	}
	for _, agent := range agents {
		plan, err := agent.Plan(ctx, 0)
		noErr(t, err)
		for _, pa := range plan.Accounts {
			confirm(t, agent, plan, pa, "old-Secret-1!")
		}
	}
	creds, err := alice.Credentials(ctx)
	if err != nil || len(creds.Credentials) != 2 || len(creds.Credentials[0].Versions) != 1 {
		t.Fatalf("credentials before: %+v, %v", creds, err)
	}

	// The replacement device.
	newID := h.NewIdentity()
	laptop := h.Client(newID)
	if _, err := laptop.Rekey(ctx, wire.RekeyRequest{Username: "alice", Email: "someone@else.example"}); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("re-key with another email: %v", err)
	}
	if _, err := laptop.Rekey(ctx, wire.RekeyRequest{Username: "nobody", Email: "x@example.com"}); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("re-key of an unknown username: %v", err)
	}
	rk, err := laptop.Rekey(ctx, wire.RekeyRequest{Username: "alice", Email: "ALICE@example.com"})
	if err != nil || rk.Status != wire.RekeyPending || rk.TechID != alice.ID ||
		rk.OldFingerprint != alice.Identity.Public().Fingerprint().String() || rk.Fingerprint != newID.Public().Fingerprint().String() {
		t.Fatalf("re-key: %+v, %v", rk, err)
	}
	if _, err := h.Client(h.NewIdentity()).Rekey(ctx, wire.RekeyRequest{Username: "alice", Email: "alice@example.com"}); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("a second pending re-key: %v", err)
	}
	if _, err := laptop.Status(ctx); !errors.Is(err, hubclient.ErrUnauthenticated) {
		t.Fatalf("the new key before approval: %v", err)
	}
	if _, err := alice.Credentials(ctx); err != nil {
		t.Fatalf("old key before approval still works: %v", err)
	}
	pending, err := h.Owner.Rekeys(ctx, wire.RekeyPending)
	if err != nil || len(pending) != 1 || pending[0].Username != "alice" || pending[0].OldFingerprint == pending[0].Fingerprint {
		t.Fatalf("pending re-keys: %+v, %v", pending, err)
	}

	done, err := h.Owner.ApproveRekey(ctx, rk.ID)
	if err != nil || done.Status != wire.RekeyApproved || done.Rotated != 2 {
		t.Fatalf("approve: %+v, %v", done, err)
	}
	if _, err := h.Owner.ApproveRekey(ctx, rk.ID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("approve twice: %v", err)
	}
	if _, err := alice.Credentials(ctx); !errors.Is(err, hubclient.ErrUnauthenticated) {
		t.Fatalf("the old key after approval: %v", err)
	}
	st, err := laptop.RekeyStatus(ctx)
	if err != nil || st.Status != wire.RekeyApproved {
		t.Fatalf("re-key status: %+v, %v", st, err)
	}
	creds, err = laptop.Credentials(ctx)
	if err != nil || len(creds.Credentials) != 2 {
		t.Fatalf("new device credentials: %+v, %v", creds, err)
	}
	for _, c := range creds.Credentials {
		if len(c.Versions) != 0 {
			t.Fatalf("an envelope of the old key is still current: %+v", c)
		}
	}
	for _, agent := range agents {
		plan, err := agent.Plan(ctx, 0)
		noErr(t, err)
		if len(plan.Accounts) != 1 || !plan.Accounts[0].Due || plan.Accounts[0].DueReason != wire.DueRotateNow {
			t.Fatalf("plan after re-key: %+v", plan.Accounts)
		}
		pa := plan.Accounts[0]
		if pk, _ := seal.ParsePublicKey(newID.Public().String()); len(pa.Recipients) != 1 || pa.Recipients[0] != pk.Recipient().String() {
			t.Fatalf("plan recipients after re-key: %v", pa.Recipients)
		}
		confirm(t, agent, plan, pa, "new-Secret-2!")
	}
	creds, err = laptop.Credentials(ctx)
	noErr(t, err)
	for _, c := range creds.Credentials {
		v := c.Versions[0]
		got, err := seal.Open(v.Envelope, hubclient.SealContext(creds.ClientGUID, c.AgentID, c.AccountName, v.Version), newID)
		if err != nil || string(got) != "new-Secret-2!" {
			t.Fatalf("open with the new key: %q, %v", got, err)
		}
		if _, err := seal.Open(v.Envelope, hubclient.SealContext(creds.ClientGUID, c.AgentID, c.AccountName, v.Version), alice.Identity); err == nil {
			t.Fatal("the old key opens the new envelope")
		}
	}
	if !auditHas(t, h, "tech.rekey-approve", "retired=2 rotate=2") {
		t.Fatal("approval not audited with what it did")
	}

	// Rejection leaves the tech as it was.
	other := h.Client(h.NewIdentity())
	rk2, err := other.Rekey(ctx, wire.RekeyRequest{Username: "alice", Email: "alice@example.com"})
	noErr(t, err)
	if _, err := h.Owner.RejectRekey(ctx, rk2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := laptop.Status(ctx); err != nil {
		t.Fatalf("tech after a rejected re-key: %v", err)
	}

	// Terminated staff: a deactivated tech cannot come back under the same username.
	bob := h.ActiveTech("bob")
	_, err = h.Owner.DisableTech(ctx, bob.ID)
	noErr(t, err)
	_, err = h.Client(h.NewIdentity()).Rekey(ctx, wire.RekeyRequest{Username: "bob", Email: "bob@example.com"})
	if !isField(err, wire.CodeForbidden, "username") || !strings.Contains(err.Error(), "deactivated") {
		t.Fatalf("re-key of a deactivated tech: %v", err)
	}
	if _, err := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: "bob", Email: "bob@example.com"}); !isCode(err, wire.CodeConflict) {
		t.Fatalf("register a deactivated tech's username: %v", err)
	}
	if !auditHas(t, h, "tech.rekey-refused", "reason=deactivated") {
		t.Fatal("refused re-key not audited")
	}
}
