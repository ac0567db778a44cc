package rotation_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/rotation/rotationtest"
	"github.com/watchword/watchword/shared/seal"
)

var ref = rotation.Ref{Tenant: "0b6f3c1e-tenant", Agent: "agent-1", Account: "alice-ctso"}

func job(last int64) rotation.Job { return rotationtest.Job(ref, last) }

// rotatedOnce returns a rotator over a new in-memory hub and target that has rotated the account once, the
// start of every test of what a later cycle does.
func rotatedOnce(t *testing.T) (*rotationtest.Hub, *rotationtest.Target, *rotation.Rotator) {
	t.Helper()
	hub, target := rotationtest.NewHub(), rotationtest.NewTarget()
	r := &rotation.Rotator{Hub: hub, Target: target}
	if _, err := r.Rotate(context.Background(), job(0)); err != nil {
		t.Fatalf("first rotation: %v", err)
	}
	return hub, target, r
}

func TestCycleHappyPath(t *testing.T) {
	hub, target := rotationtest.NewHub(), rotationtest.NewTarget()
	r := &rotation.Rotator{Hub: hub, Target: target}
	res, err := r.Rotate(context.Background(), job(0))
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	want := []rotation.State{rotation.StateNew, rotation.StateGenerated, rotation.StateStaged, rotation.StateSet,
		rotation.StateVerified, rotation.StateConfirmed}
	if !slices.Equal(res.Trace, want) || res.Version != 1 {
		t.Fatalf("trace %v version %d, want %v version 1", res.Trace, res.Version, want)
	}
	vs := hub.Versions(ref)
	if len(vs) != 1 || vs[0].Status != rotationtest.Confirmed {
		t.Fatalf("hub versions %+v", vs)
	}
	cur, _ := target.Password(ref.Account)
	if bytesContain(vs[0].Envelope, cur) {
		t.Fatal("envelope holds the password in the clear")
	}
	tech, rec := rotationtest.Keys()
	for name, id := range map[string]age.Identity{"tech": tech, "recovery": rec} {
		pw, err := seal.Open(vs[0].Envelope, seal.Context{Tenant: ref.Tenant, Agent: ref.Agent, Account: ref.Account, Version: 1}, id)
		if err != nil || string(pw) != cur {
			t.Fatalf("%s identity: open = %v, matches target %v", name, err, string(pw) == cur)
		}
	}
	if err := rotation.CheckAD(cur, ref.Account); err != nil {
		t.Fatalf("generated password breaks AD rules: %v", err)
	}
}

func bytesContain(b []byte, s string) bool { return strings.Contains(string(b), s) }

// TestCrashAtEveryPoint kills the cycle at every step boundary many times and checks the invariant after each
// crash and after the fresh rotation that recovers from it.
func TestCrashAtEveryPoint(t *testing.T) {
	tech, _ := rotationtest.Keys()
	for _, p := range rotation.Points {
		t.Run(p.String(), func(t *testing.T) {
			hub, target, good := rotatedOnce(t)
			for trial := range 10 {
				crashing := &rotation.Rotator{Hub: hub, Target: target, Hook: rotationtest.CrashAt(p)}
				res, err := crashing.Rotate(context.Background(), job(hub.LastVersion(ref)))
				if !errors.Is(err, rotation.ErrCrashed) || res.State != rotation.StateCrashed {
					t.Fatalf("trial %d: state %s err %v, want crashed", trial, res.State, err)
				}
				if _, err := rotationtest.CheckInvariant(context.Background(), hub.Versions(ref), ref, tech, target.Verify); err != nil {
					t.Fatalf("trial %d after crash: %v", trial, err)
				}
				// restart: the plan shows the unconfirmed version; rotate afresh
				results, err := good.RotateFresh(context.Background(), job(hub.LastVersion(ref)), 3)
				if err != nil {
					t.Fatalf("trial %d recovery: %v", trial, err)
				}
				v, err := rotationtest.CheckInvariant(context.Background(), hub.Versions(ref), ref, tech, target.Verify)
				if err != nil || v != results[len(results)-1].Version {
					t.Fatalf("trial %d after recovery: version %d, err %v", trial, v, err)
				}
			}
			// a crash never makes the cycle mark anything failed: the hub cannot know what reached the target
			for _, v := range hub.Versions(ref) {
				if v.Status == rotationtest.Failed {
					t.Fatalf("version %d marked failed after a crash", v.Version)
				}
			}
			assertNoReuse(t, target)
		})
	}
}

func assertNoReuse(t *testing.T, target *rotationtest.Target) {
	t.Helper()
	h := target.History(ref.Account)
	seen := map[string]bool{}
	for _, p := range h {
		if seen[p] {
			t.Fatalf("a password was set twice on the target (%d sets)", len(h))
		}
		seen[p] = true
	}
}

func TestFailureBeforeSetMarksFailed(t *testing.T) {
	boom := errors.New("hub unreachable")
	cases := map[string]func(h *rotationtest.Hub, tg *rotationtest.Target){
		"stage refused": func(h *rotationtest.Hub, _ *rotationtest.Target) {
			h.StageErr = func(rotation.Staged) error { return boom }
		},
		"stage reply lost": func(h *rotationtest.Hub, _ *rotationtest.Target) {
			h.StageErrAfter = func(rotation.Staged) error { return boom }
		},
		"target refused": func(_ *rotationtest.Hub, tg *rotationtest.Target) {
			tg.SetErr = func(string) error { return fmt.Errorf("constraint violation: %w", rotation.ErrNotApplied) }
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			hub, target, r := rotatedOnce(t)
			before, _ := target.Password(ref.Account)
			setup(hub, target)
			res, err := r.Rotate(context.Background(), job(1))
			if err == nil || res.State != rotation.StateFailed {
				t.Fatalf("state %s err %v, want failed", res.State, err)
			}
			if after, _ := target.Password(ref.Account); after != before {
				t.Fatal("target password changed on a failure before set")
			}
			vs := hub.Versions(ref)
			if last := vs[len(vs)-1]; last.Version == 2 && last.Status != rotationtest.Failed {
				t.Fatalf("version 2 is %s, want failed", last.Status)
			}
			if hub.Calls.Fail != 1 || hub.Calls.Confirm != 1 {
				t.Fatalf("calls %+v, want one Fail and only the first Confirm", hub.Calls)
			}
			// RotateFresh stops at a failure before set: the caller backs off rather than hammering
			results, _ := r.RotateFresh(context.Background(), job(hub.LastVersion(ref)), 5)
			if len(results) != 1 {
				t.Fatalf("RotateFresh ran %d cycles after a failure before set, want 1", len(results))
			}
		})
	}
}

func TestFailureAfterSetRotatesAfresh(t *testing.T) {
	tech, _ := rotationtest.Keys()
	boom := errors.New("connection reset")
	cases := map[string]func(h *rotationtest.Hub, tg *rotationtest.Target, n *int){
		"set error":      func(_ *rotationtest.Hub, tg *rotationtest.Target, n *int) { tg.SetErrAfter = once(n, boom) },
		"verify error":   func(_ *rotationtest.Hub, tg *rotationtest.Target, n *int) { tg.VerifyErr = once(n, boom) },
		"confirm error":  func(h *rotationtest.Hub, _ *rotationtest.Target, n *int) { h.ConfirmErr = once2(n, boom) },
		"set never sent": func(_ *rotationtest.Hub, tg *rotationtest.Target, n *int) { tg.SetErr = once(n, boom) },
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			hub, target, r := rotatedOnce(t)
			var n int
			setup(hub, target, &n)
			results, err := r.RotateFresh(context.Background(), job(1), 3)
			if err != nil {
				t.Fatalf("RotateFresh: %v", err)
			}
			if len(results) != 2 || results[0].State != rotation.StateUnresolved || results[1].State != rotation.StateConfirmed {
				t.Fatalf("results %+v, want unresolved then confirmed", results)
			}
			if results[1].Version != 3 {
				t.Fatalf("fresh rotation used version %d, want 3", results[1].Version)
			}
			for _, v := range hub.Versions(ref) {
				if v.Status == rotationtest.Failed {
					t.Fatalf("version %d marked failed although the target may hold it", v.Version)
				}
			}
			if v, err := rotationtest.CheckInvariant(context.Background(), hub.Versions(ref), ref, tech, target.Verify); err != nil || v != 3 {
				t.Fatalf("invariant: version %d err %v", v, err)
			}
			assertNoReuse(t, target)
			if target.BadVerifies > 1 {
				t.Fatalf("%d verifications with a wrong password: the cycle must never retry one", target.BadVerifies)
			}
		})
	}
}

func once(n *int, err error) func(string) error {
	return func(string) error {
		*n++
		if *n == 1 {
			return err
		}
		return nil
	}
}

func once2(n *int, err error) func(rotation.Ref, int64) error {
	return func(rotation.Ref, int64) error { return once(n, err)("") }
}

func TestRefusesWithoutRecovery(t *testing.T) {
	hub, target := rotationtest.NewHub(), rotationtest.NewTarget()
	r := &rotation.Rotator{Hub: hub, Target: target}
	j := job(0)
	j.Recovery = nil
	if _, err := r.Rotate(context.Background(), j); !errors.Is(err, rotation.ErrNoRecovery) {
		t.Fatalf("err %v, want ErrNoRecovery", err)
	}
	j = job(0)
	j.Recipients = nil
	if _, err := r.Rotate(context.Background(), j); !errors.Is(err, rotation.ErrNoRecipients) {
		t.Fatalf("err %v, want ErrNoRecipients", err)
	}
	if hub.Calls.Stage != 0 || target.SetCalls != 0 {
		t.Fatalf("hub %+v target sets %d: nothing may be staged or set", hub.Calls, target.SetCalls)
	}
}

// TestRandomFaults drives many cycles with faults injected at random everywhere (hub, target, crash hooks) and
// checks the invariant after every one.
func TestRandomFaults(t *testing.T) {
	tech, _ := rotationtest.Keys()
	rng := rand.New(rand.NewPCG(1, 2))
	hub, target := rotationtest.NewHub(), rotationtest.NewTarget()
	boom := errors.New("injected")
	maybe := func(p float64) error {
		if rng.Float64() < p {
			return boom
		}
		return nil
	}
	hub.StageErr = func(rotation.Staged) error { return maybe(0.1) }
	hub.StageErrAfter = func(rotation.Staged) error { return maybe(0.1) }
	hub.ConfirmErr = func(rotation.Ref, int64) error { return maybe(0.1) }
	target.SetErr = func(string) error { return maybe(0.1) }
	target.SetErrAfter = func(string) error { return maybe(0.1) }
	target.VerifyErr = func(string) error { return maybe(0.05) }
	r := &rotation.Rotator{Hub: hub, Target: target, Hook: func(context.Context, rotation.Point, rotation.Ref, int64) error { return maybe(0.05) }}
	// the first password must exist before the invariant can hold
	for hub.LastVersion(ref) == 0 || target.History(ref.Account) == nil {
		_, _ = r.RotateFresh(context.Background(), job(hub.LastVersion(ref)), 1)
	}
	// the check itself must not see the injected verify faults
	holds := func(_ context.Context, account, pw string) error {
		if cur, _ := target.Password(account); cur != pw {
			return rotationtest.ErrBadPassword
		}
		return nil
	}
	states := map[rotation.State]int{}
	for i := range 300 {
		res, _ := r.Rotate(context.Background(), job(hub.LastVersion(ref)))
		states[res.State]++
		if _, err := rotationtest.CheckInvariant(context.Background(), hub.Versions(ref), ref, tech, holds); err != nil {
			t.Fatalf("cycle %d ended %s: %v", i, res.State, err)
		}
	}
	for _, s := range []rotation.State{rotation.StateConfirmed, rotation.StateFailed, rotation.StateUnresolved, rotation.StateCrashed} {
		if states[s] == 0 {
			t.Fatalf("no cycle ended %s (%v): the faults did not exercise every path", s, states)
		}
	}
	assertNoReuse(t, target)
	t.Logf("end states over 300 cycles: %v", states)
}

// TestRecoveryOnly: a just-in-time account outside its window rotates to a password only the recovery recipient
// opens; the tech's identity cannot, and a recovery-only job that names device recipients is refused before
// anything is staged.
func TestRecoveryOnly(t *testing.T) {
	hub, target := rotationtest.NewHub(), rotationtest.NewTarget()
	r := &rotation.Rotator{Hub: hub, Target: target}
	j := job(0)
	j.RecoveryOnly = true
	if _, err := r.Rotate(context.Background(), j); err == nil || !strings.Contains(err.Error(), "recovery-only") {
		t.Fatalf("recovery-only job with device recipients: %v", err)
	}
	if hub.Calls.Stage != 0 || target.SetCalls != 0 {
		t.Fatalf("hub %+v target sets %d: nothing may be staged or set", hub.Calls, target.SetCalls)
	}
	j.Recipients = nil
	if _, err := r.Rotate(context.Background(), j); err != nil {
		t.Fatalf("recovery-only rotation: %v", err)
	}
	vs := hub.Versions(ref)
	cur, _ := target.Password(ref.Account)
	tech, rec := rotationtest.Keys()
	sctx := seal.Context{Tenant: ref.Tenant, Agent: ref.Agent, Account: ref.Account, Version: 1}
	if pw, err := seal.Open(vs[0].Envelope, sctx, rec); err != nil || string(pw) != cur {
		t.Fatalf("recovery cannot open the recovery-only version: %v", err)
	}
	if _, err := seal.Open(vs[0].Envelope, sctx, tech); err == nil {
		t.Fatal("the tech opens a recovery-only version")
	}
}

// A verification error that wraps ErrHalt ends RotateFresh at once: no fresh password is set after it.
func TestRotateFreshStopsAtHalt(t *testing.T) {
	hub, target := rotationtest.NewHub(), rotationtest.NewTarget()
	target.VerifyErr = func(string) error { return fmt.Errorf("%w: one more bad login locks it out", rotation.ErrHalt) }
	r := &rotation.Rotator{Hub: hub, Target: target}
	results, err := r.RotateFresh(context.Background(), job(0), 3)
	if !errors.Is(err, rotation.ErrHalt) {
		t.Fatalf("RotateFresh: %v, want ErrHalt", err)
	}
	if len(results) != 1 || target.SetCalls != 1 {
		t.Fatalf("%d cycles, %d sets after a halt, want 1 and 1", len(results), target.SetCalls)
	}
}
