package hub_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TestJITTAP: the agent hands the hub the sealed Temporary Access Pass of an open window; the tech receives it with
// the grant (credential list and own grant list) and opens it under the pass's own context, never a password's;
// a closed window, another agent's account or another grant is refused; closing the window drops the pass.
func TestJITTAP(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.onmicrosoft.com", wire.DriverAD)
	other := h.NewAgent("fabrikam.local", wire.DriverAD)
	jitAll(t, h, 3600, false)
	p, a := onlyPlan(t, agent, alice.ID)
	confirmRecovery(t, agent, p, a, "recovery-only-1")

	const code = "Tap-Code-4711"
	sealTAP := func(p *wire.Plan, a wire.PlanAccount, grant int64) []byte {
		t.Helper()
		return hubtest.Seal(t, p, wire.PlanAccount{AccountName: wire.TAPAccount(a.AccountName), Recipients: a.Recipients}, grant, code)
	}
	// No window yet: refused.
	if err := agent.StoreJITTAP(ctx, wire.JITTAPRequest{GrantID: 1, AccountID: a.AccountID, Envelope: sealTAP(p, a, 1),
		ExpiresAt: h.Clock.Now().Add(time.Hour)}); !isField(err, wire.CodeInvalid, "grantId") {
		t.Fatalf("a pass without a window: %v", err)
	}
	c := onlyCred(t, alice)
	g, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 1800, Reason: "ticket 9: licence"})
	noErr(t, err)
	p, a = onlyPlan(t, agent, alice.ID)
	confirm(t, agent, p, a, "alice-jit-password")
	env := sealTAP(p, a, g.ID)
	exp := g.ExpiresAt
	for _, tc := range []struct {
		name        string
		by          *hubtest.Agent
		req         wire.JITTAPRequest
		code, field string
	}{
		{"another agent's account", other, wire.JITTAPRequest{GrantID: g.ID, AccountID: a.AccountID, Envelope: env, ExpiresAt: exp}, wire.CodeInvalid, "accountId"},
		{"not an age file", agent, wire.JITTAPRequest{GrantID: g.ID, AccountID: a.AccountID, Envelope: []byte(code), ExpiresAt: exp}, wire.CodeInvalid, "envelope"},
		{"a short signature", agent, wire.JITTAPRequest{GrantID: g.ID, AccountID: a.AccountID, Envelope: env, Signature: []byte{1}, ExpiresAt: exp}, wire.CodeInvalid, "signature"},
		{"no expiry", agent, wire.JITTAPRequest{GrantID: g.ID, AccountID: a.AccountID, Envelope: env}, wire.CodeInvalid, "expiresAt"},
		{"another grant", agent, wire.JITTAPRequest{GrantID: g.ID + 100, AccountID: a.AccountID, Envelope: env, ExpiresAt: exp}, wire.CodeInvalid, "grantId"},
	} {
		if err := tc.by.StoreJITTAP(ctx, tc.req); !isField(err, tc.code, tc.field) {
			t.Errorf("%s: %v, want %s %s", tc.name, err, tc.code, tc.field)
		}
	}
	if c = onlyCred(t, alice); c.JITGrant == nil || c.JITGrant.TAP != nil {
		t.Fatalf("a refused pass reached the tech: %+v", c.JITGrant)
	}
	sig := bytes.Repeat([]byte{7}, 64)
	noErr(t, agent.StoreJITTAP(ctx, wire.JITTAPRequest{GrantID: g.ID, AccountID: a.AccountID, Envelope: env, Signature: sig, ExpiresAt: exp}))

	c = onlyCred(t, alice)
	tap := c.JITGrant.TAP
	if tap == nil || !bytes.Equal(tap.Envelope, env) || !bytes.Equal(tap.Signature, sig) || !tap.ExpiresAt.Equal(exp) || tap.IssuedAt.IsZero() {
		t.Fatalf("the pass on the credential: %+v", c.JITGrant)
	}
	got, err := seal.Open(tap.Envelope, hubclient.SealContext(h.GUID, agent.ID, wire.TAPAccount(c.AccountName), g.ID), alice.Identity)
	if err != nil || string(got) != code {
		t.Fatalf("alice opens her pass: %v", err)
	}
	// Never as a password: the account's own context refuses it.
	if _, err := seal.Open(tap.Envelope, hubclient.SealContext(h.GUID, agent.ID, c.AccountName, g.ID), alice.Identity); err == nil {
		t.Fatal("the pass opens as a password version")
	}
	mine, err := alice.ListMyJIT(ctx)
	noErr(t, err)
	if len(mine) != 1 || mine[0].TAP == nil || !bytes.Equal(mine[0].TAP.Envelope, env) {
		t.Fatalf("alice's own grants without the pass: %+v", mine)
	}
	admins, err := h.Owner.ListJITRequests(ctx, wire.JITOpen)
	noErr(t, err)
	if len(admins) != 1 || admins[0].TAP != nil {
		t.Fatalf("the admins' list carries the pass: %+v", admins)
	}
	if !auditHas(t, h, "jit.tap", "signed=true") {
		t.Error("no jit.tap audit event")
	}

	// Past the window's end the pass is no longer handed out, and the closed grant keeps none.
	h.Clock.Advance(31 * time.Minute)
	if c = onlyCred(t, alice); c.JITGrant == nil || c.JITGrant.TAP != nil {
		t.Fatalf("the pass outlives the window: %+v", c.JITGrant)
	}
	if err := agent.StoreJITTAP(ctx, wire.JITTAPRequest{GrantID: g.ID, AccountID: a.AccountID, Envelope: env, ExpiresAt: h.Clock.Now().Add(time.Hour)}); !isField(err, wire.CodeConflict, "grantId") {
		t.Fatalf("a pass for a closed window: %v", err)
	}
	if bytes.Contains(h.Logs.Bytes(), []byte(code)) {
		t.Fatal("the hub's log holds the pass")
	}
}
