package hub_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// TestEnvelopeSignatureRoundTrip: the agent's signature over a staged version comes back to the tech byte for
// byte, with the agent's ID, in the full credential list, a delta and the password history, and verifies there
// with the agent's key; a version staged without one comes back without one; a signature of the wrong size is
// refused at staging.
func TestEnvelopeSignatureRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)

	plan, pa := techAccount(t, agent, alice.ID)
	if err := agent.Stage(ctx, pa.AccountID, 1, hubtest.Seal(t, plan, pa, 1, "unsigned-1")); err != nil {
		t.Fatal(err)
	}
	if err := agent.Confirm(ctx, pa.AccountID, 1); err != nil {
		t.Fatal(err)
	}
	full, err := alice.CredentialsSince(ctx, 0, "")
	if err != nil || len(full.Credentials) != 1 || len(full.Credentials[0].Versions) != 1 || full.Credentials[0].Versions[0].Signature != nil {
		t.Fatalf("unsigned version: %+v, %v", full, err)
	}

	env := hubtest.Seal(t, plan, pa, 2, "signed-2")
	sig := agent.SignEnvelope(plan, pa, 2, env)
	if err := agent.StageSigned(ctx, pa.AccountID, 2, env, sig[:10]); !isInvalid(err) {
		t.Fatalf("a 10-byte signature: %v, want invalid", err)
	}
	if err := agent.StageSigned(ctx, pa.AccountID, 2, env, sig); err != nil {
		t.Fatal(err)
	}
	if err := agent.Confirm(ctx, pa.AccountID, 2); err != nil {
		t.Fatal(err)
	}
	enrolled := &authority.State{Tenant: h.GUID, Genesis: authority.Hash{1},
		Agents: map[int64]authority.Agent{agent.ID: {Key: agent.Identity.Public().AuthKey()}}}
	verify := func(what string, c wire.Credential, v wire.CredentialVersion) {
		t.Helper()
		if v.Version != 2 || !bytes.Equal(v.Signature, sig) || c.AgentID != agent.ID {
			t.Fatalf("%s: version %d agent %d signature %x, want version 2 of agent %d with %x", what, v.Version, c.AgentID, v.Signature, agent.ID, sig)
		}
		st := authority.NewEnvelopeStatement(h.GUID, c.AgentID, c.AccountID, c.AccountName, v.Version, v.Envelope)
		if err := enrolled.VerifyEnvelope(st, v.Signature); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	delta, err := alice.CredentialsSince(ctx, full.Revision, full.Grants)
	if err != nil || !delta.Delta || len(delta.Credentials) != 1 {
		t.Fatalf("delta: %+v, %v", delta, err)
	}
	verify("delta", delta.Credentials[0], delta.Credentials[0].Versions[0])
	again, err := alice.Credentials(ctx)
	if err != nil || len(again.Credentials) != 1 {
		t.Fatalf("full list: %+v, %v", again, err)
	}
	verify("full list", again.Credentials[0], again.Credentials[0].Versions[0])
	hist, err := alice.History(ctx, pa.AccountID)
	if err != nil || len(hist.Versions) != 2 {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	verify("history", wire.Credential{AccountID: hist.AccountID, AgentID: hist.AgentID, AccountName: hist.AccountName}, hist.Versions[0])
	if hist.Versions[1].Signature != nil {
		t.Fatalf("history: the unsigned version 1 has signature %x", hist.Versions[1].Signature)
	}
}

// isInvalid says the hub refused the request's signature field.
func isInvalid(err error) bool {
	we, ok := wire.AsError(err)
	return errors.Is(err, hubclient.ErrInvalid) && ok && we.Field == "signature"
}
