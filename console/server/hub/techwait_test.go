package hub_test

import (
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

func TestTechStatusWait(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	tech := h.NewTech("alice")
	other := h.NewTech("bob")

	// Nothing about this tech changes: the wait ends at its deadline with the known status.
	start := time.Now()
	st, err := tech.WaitStatus(ctx, wire.TechPending, 300*time.Millisecond)
	if err != nil || st.Status != wire.TechPending || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("idle wait: %+v, %v after %v", st, err, time.Since(start))
	}
	// A status other than the known one answers at once.
	start = time.Now()
	if st, err := tech.WaitStatus(ctx, wire.TechActive, 5*time.Second); err != nil || st.Status != wire.TechPending || time.Since(start) > 2*time.Second {
		t.Fatalf("stale known status: %+v, %v", st, err)
	}

	type result struct {
		st  *wire.TechStatusResponse
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		st, err := tech.WaitStatus(ctx, wire.TechPending, 10*time.Second)
		done <- result{st, err, time.Now()}
	}()
	time.Sleep(200 * time.Millisecond)
	// Another tech's approval wakes the poll but does not answer it.
	if _, err := h.Owner.ApproveTech(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("answered on another tech's change: %+v, %v", r.st, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	approved := time.Now()
	if _, err := h.Owner.ApproveTech(ctx, tech.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.st.Status != wire.TechActive || r.st.TenantName == "" || r.at.Sub(approved) > time.Second {
			t.Fatalf("after approval: %+v, %v after %v", r.st, r.err, r.at.Sub(approved))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("long poll did not answer the approval")
	}
}
