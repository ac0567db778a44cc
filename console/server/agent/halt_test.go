package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/wire"
)

// notOurs is a fake target on which every account exists but was not created by Watchword.
type notOurs struct{ *fakeDriver }

func (d notOurs) Ensure(context.Context, driver.Account) (driver.Report, error) {
	return driver.Report{}, fmt.Errorf("account %q: %w\nsecond line", "alice-tm", driver.ErrNotManaged)
}

// An account that is not Watchword's is reported failed, in one line, once: later passes leave it alone and
// report nothing new until the hub plans it again after an admin's retry.
func TestHaltsAnAccountThatIsNotOurs(t *testing.T) {
	hub := &fakeHub{}
	fd := newFakeDriver()
	r, err := New(Config{Hub: hub, NewDriver: func() (driver.Driver, error) { return notOurs{fd}, nil }, Parallelism: 1,
		Retry: time.Millisecond, Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	plan := testPlan(t)
	plan.Accounts, plan.Disable = plan.Accounts[:1], nil
	r.Sync(context.Background(), plan)
	if len(hub.reports) != 1 || hub.reports[0].State != wire.AccountFailed {
		t.Fatalf("reports %+v, want one failed", hub.reports)
	}
	if e := hub.reports[0].Error; strings.ContainsAny(e, "\n\r") || !strings.Contains(e, "not created by Watchword") {
		t.Fatalf("report error %q: want one line naming the refusal", e)
	}
	time.Sleep(5 * time.Millisecond) // past the retry time
	for range 3 {
		r.Sync(context.Background(), plan)
	}
	if len(hub.reports) != 1 || fd.sets != 0 {
		t.Fatalf("after the halt: %d reports, %d sets; want 1 and 0", len(hub.reports), fd.sets)
	}
	// The hub plans it halted, then (an admin retried) not halted: the agent tries again.
	halted := *plan
	halted.Accounts = []wire.PlanAccount{plan.Accounts[0]}
	halted.Accounts[0].Halted = true
	r.Sync(context.Background(), &halted)
	r.Sync(context.Background(), plan)
	if len(hub.reports) != 2 || hub.reports[1].State != wire.AccountFailed {
		t.Fatalf("after the retry: reports %+v, want a second attempt, failed again", hub.reports)
	}
}

// wrongAfterSet is a fake target whose verification never accepts the password just set.
type wrongAfterSet struct{ *fakeDriver }

func (d wrongAfterSet) Verify(context.Context, string, string) error { return driver.ErrBadPassword }

// Without a lockout threshold, the bound is wire.MaxUnresolved unresolved rotations over any number of passes.
func TestHaltsAtTheUnresolvedBound(t *testing.T) {
	hub := &fakeHub{}
	fd := newFakeDriver()
	r, err := New(Config{Hub: hub, NewDriver: func() (driver.Driver, error) { return wrongAfterSet{fd}, nil }, Parallelism: 1,
		Retry: time.Millisecond, RotateAttempts: 3, Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	plan := testPlan(t)
	plan.Accounts, plan.Disable = plan.Accounts[:1], nil
	for range 10 {
		r.Sync(context.Background(), plan)
		time.Sleep(2 * time.Millisecond)
	}
	if fd.sets != wire.MaxUnresolved {
		t.Fatalf("%d passwords set over 10 passes, want exactly %d", fd.sets, wire.MaxUnresolved)
	}
	last := hub.reports[len(hub.reports)-1]
	if last.State != wire.AccountFailed || !strings.Contains(last.Error, "unresolved") {
		t.Fatalf("last report %+v, want failed naming the bound", last)
	}
}

// A halted just-in-time account whose window the hub closed is still closed by the agent, and stays failed.
func TestHaltedJITOutsideItsWindowIsClosed(t *testing.T) {
	hub := &fakeHub{}
	fd := newFakeDriver()
	r := newTestRunner(t, hub, fd)
	plan := testPlan(t)
	plan.Accounts, plan.Disable = plan.Accounts[:1], nil
	a := &plan.Accounts[0]
	a.Halted, a.HaltReason, a.Due = true, "5 rotations unresolved", false
	a.JIT = &wire.PlanJIT{Enabled: false}
	r.Sync(context.Background(), plan)
	if !fd.disabled["alice-tm"] || fd.sets != 0 {
		t.Fatalf("disabled %v, sets %d: want closed and not rotated", fd.disabled["alice-tm"], fd.sets)
	}
	if len(hub.reports) != 1 || hub.reports[0].State != wire.AccountFailed || hub.reports[0].Error != a.HaltReason {
		t.Fatalf("reports %+v, want it still failed with its reason", hub.reports)
	}
	r.Sync(context.Background(), plan)
	if len(hub.reports) != 1 {
		t.Fatalf("closed again and reported again: %+v", hub.reports)
	}
}

func TestOneLine(t *testing.T) {
	got := oneLine("a\nb\r\nc\td\x00e\x1b")
	if got != "a; b; c de" || errors.Is(nil, nil) != true {
		t.Fatalf("oneLine = %q", got)
	}
}
