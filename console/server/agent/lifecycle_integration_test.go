package agent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TestAccessLifecycleAgainstSamba on the Samba AD DC with a real runner: a copy makes the
// account rotate once the grace has passed and not before, and the password history holds exactly the policy's K
// versions, each opening with the tech's identity to a password that bound the DC while it was current.
func TestAccessLifecycleAgainstSamba(t *testing.T) {
	env := targets.Require(t)
	adCfg := agenttest.ADConfig(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	h := hubtest.New(t)
	const k, grace = 3, 600 // a short grace, moved past on the hub's clock
	p := wire.DefaultPolicy()
	p.HistoryDepth, p.RotateAfterUseSeconds = k, grace
	if _, err := h.Owner.SetPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	alice := h.ActiveTech(agenttest.UniqueUser())
	st, err := alice.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acc := st.Username + "-tm"
	t.Cleanup(func() { agenttest.DeleteADUsers(t, adCfg, acc) })
	adAgent := h.NewAgent("test.lan", wire.DriverAD)
	c, err := hubclient.New(h.Invite, adAgent.Identity, hubclient.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	logs := &hubtest.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent's log:\n%s", tail(logs.Bytes(), 4000))
		}
	})
	runUntilStopped(t, agent.Config{Hub: c, Parallelism: 1, PollWait: time.Second, Retry: time.Second,
		Backoff: agent.Backoff{Min: 100 * time.Millisecond, Max: time.Second}, Pace: 100 * time.Millisecond, Now: h.Clock.Now,
		NewDriver: func() (driver.Driver, error) { return ad.New(adCfg) }}, logs)
	check := agenttest.NewAD(t, adCfg)

	// bound records, for each version, the password that bound the DC while that version was current.
	bound := map[int64]string{}
	next := func(after int64, within time.Duration) int64 {
		t.Helper()
		var v int64
		eventually(t, within, "a confirmed version after "+acc, func() bool {
			got, state, pw, err := agenttest.Current(ctx, t, alice, adAgent.ID, acc)
			if err != nil || state != wire.VersionConfirmed || got <= after || check.Verify(ctx, acc, pw) != nil {
				return false
			}
			v, bound[got] = got, pw
			return true
		})
		return v
	}
	v := next(0, 30*time.Second)
	accs, err := h.Owner.Accounts(ctx, alice.ID, 0)
	if err != nil || len(accs) != 1 {
		t.Fatalf("accounts %+v %v", accs, err)
	}
	id := accs[0].ID

	// Rotate after use: a copy, then nothing until the grace has passed, then one rotation.
	if err := alice.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventCopy, AccountID: id, Version: v}); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance((grace - 30) * time.Second)
	time.Sleep(3 * time.Second) // three of the agent's polls
	if got, _, _, err := agenttest.Current(ctx, t, alice, adAgent.ID, acc); err != nil || got != v {
		t.Fatalf("version %d before the grace passed (was %d): %v", got, v, err)
	}
	h.Clock.Advance(31 * time.Second)
	start := time.Now()
	after := next(v, 20*time.Second)
	t.Logf("rotate after use: version %d → %d, %s after the grace passed; not rotated 30 s before it", v, after, time.Since(start).Round(time.Millisecond))
	if err := check.Verify(ctx, acc, bound[v]); !errors.Is(err, driver.ErrBadPassword) {
		t.Fatalf("the used password after its rotation: %v, want wrong password", err)
	}
	v = after

	// History: rotate past K and read it back.
	for range k + 1 {
		if n, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AccountID: id}); err != nil || n != 1 {
			t.Fatalf("rotate now: %d %v", n, err)
		}
		v = next(v, 20*time.Second)
	}
	hist, err := alice.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if hist.Depth != k || len(hist.Versions) != k {
		t.Fatalf("history: depth %d, %d versions, want exactly %d", hist.Depth, len(hist.Versions), k)
	}
	for i, hv := range hist.Versions {
		if want := v - int64(i); hv.Version != want {
			t.Fatalf("history[%d] is version %d, want %d", i, hv.Version, want)
		}
		pw, err := seal.Open(hv.Envelope, hubclient.SealContext(hist.ClientGUID, hist.AgentID, hist.AccountName, hv.Version), alice.Identity)
		if err != nil {
			t.Fatalf("open history version %d: %v", hv.Version, err)
		}
		if string(pw) != bound[hv.Version] {
			t.Fatalf("history version %d opens to a password that never bound as that version", hv.Version)
		}
		if i > 0 { // superseded: the DC refuses it now
			if err := check.Verify(ctx, acc, string(pw)); !errors.Is(err, driver.ErrBadPassword) {
				t.Fatalf("history version %d still binds: %v", hv.Version, err)
			}
		}
	}
	t.Logf("history: %d versions (%d … %d), each opened and matched to the password that bound while current", len(hist.Versions), hist.Versions[len(hist.Versions)-1].Version, hist.Versions[0].Version)
}
