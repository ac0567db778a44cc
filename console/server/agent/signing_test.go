package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/seal"
)

// TestRunnerSignsEveryStagedVersion: a runner with its key signs the envelope statement of every version it stages
// (tenant, its agent ID, the account, the version and the envelope staged), and the signature verifies with the
// key a signed state enrolled for the agent; a runner without a key stages unsigned versions.
func TestRunnerSignsEveryStagedVersion(t *testing.T) {
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	h, d := &fakeHub{}, newFakeDriver()
	r, err := New(Config{Hub: h, NewDriver: func() (driver.Driver, error) { return d, nil }, Parallelism: 1,
		Retry: time.Hour, Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, Key: id.Signer()})
	if err != nil {
		t.Fatal(err)
	}
	plan := testPlan(t)
	if sum := r.Sync(context.Background(), plan); sum.Rotated != 2 {
		t.Fatalf("summary: %+v", sum)
	}
	state := &authority.State{Tenant: plan.ClientGUID, Genesis: authority.Hash{1},
		Agents: map[int64]authority.Agent{plan.AgentID: {Key: id.Public().AuthKey()}}}
	names := map[int64]string{}
	for _, a := range plan.Accounts {
		names[a.AccountID] = a.AccountName
	}
	if len(h.sigs) != 2 {
		t.Fatalf("staged %d versions, want 2", len(h.sigs))
	}
	for i, sig := range h.sigs {
		st := authority.NewEnvelopeStatement(plan.ClientGUID, plan.AgentID, h.stagedOf[i], names[h.stagedOf[i]], h.staged[i], h.envelopes[i])
		if err := state.VerifyEnvelope(st, sig); err != nil {
			t.Fatalf("staged version %d of account %d: %v", h.staged[i], h.stagedOf[i], err)
		}
		st.Version++
		if err := state.VerifyEnvelope(st, sig); !errors.Is(err, authority.ErrEnvelopeSignature) {
			t.Fatalf("the signature verifies for another version: %v", err)
		}
	}

	plain := &fakeHub{}
	if sum := newTestRunner(t, plain, newFakeDriver()).Sync(context.Background(), testPlan(t)); sum.Rotated != 2 {
		t.Fatalf("summary without a key: %+v", sum)
	}
	for _, sig := range plain.sigs {
		if sig != nil {
			t.Fatalf("a runner without a key signed: %x", sig)
		}
	}
}

// TestClosedJITVersionSigned: a just-in-time account outside its window is staged recovery-only, signed too.
func TestClosedJITVersionSigned(t *testing.T) {
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	d, h := newFakeDriver(), &recoveryHub{}
	r, err := New(Config{Hub: h, NewDriver: func() (driver.Driver, error) { return d, nil }, Parallelism: 1,
		Retry: time.Hour, Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, Key: id.Signer()})
	if err != nil {
		t.Fatal(err)
	}
	plan := jitPlan(t, time.Now(), false)
	if sum := r.Sync(context.Background(), plan); sum.Rotated != 1 || len(h.recoveryOnly) != 1 {
		t.Fatalf("summary %+v, recovery-only %v", sum, h.recoveryOnly)
	}
	a := plan.Accounts[0]
	st := authority.NewEnvelopeStatement(plan.ClientGUID, plan.AgentID, a.AccountID, a.AccountName, h.staged[0], h.envelopes[0])
	state := &authority.State{Tenant: plan.ClientGUID, Genesis: authority.Hash{1},
		Agents: map[int64]authority.Agent{plan.AgentID: {Key: id.Public().AuthKey()}}}
	if err := state.VerifyEnvelope(st, h.sigs[0]); err != nil {
		t.Fatal(err)
	}
}
