package vm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/internal/testsupport/cliptest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// jitTriplet turns the hub's built-in All triplet into a just-in-time one.
func jitTriplet(t *testing.T, h *hubtest.Harness, max time.Duration, approval bool) {
	t.Helper()
	ctx := ctxT(t)
	trips, err := h.Owner.Triplets(ctx)
	if err != nil || len(trips) != 1 {
		t.Fatalf("triplets %+v %v", trips, err)
	}
	if _, err := h.Owner.UpdateTriplet(ctx, trips[0].ID, wire.TripletRequest{Mode: wire.TripletJIT,
		MaxDurationSeconds: int64(max / time.Second), ApprovalRequired: approval}); err != nil {
		t.Fatal(err)
	}
}

// TestJITAccess walks a just-in-time account through the TechClient: disabled with nothing to open, a request
// (reason required, duration up to the maximum), pending approval, approval, the agent's fresh password that opens
// only inside the window, Done, and expiry by the device's own clock.
func TestJITAccess(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	clock := &hubtest.Clock{} // the device's own clock, which the test moves forward
	test.NewTempApp(t)        // fyne.Do and bindings need an app
	e := &env{h: h, dir: t.TempDir(), clip: &cliptest.Memory{}, notes: &notes{}, set: vm.DefaultSettings()}
	e.set.LockAfter = 0 // the clock jumps past the window, not past the idle lock
	e.app = vm.New(vm.Options{Dir: e.dir, Keyring: keyringtest.New(), Clipboard: e.clip, Notify: e.notes.add, Now: clock.Now,
		Settings: func() vm.Settings { return e.set }, Do: func(f func()) { f() },
		Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Tick: 50 * time.Millisecond, Poll: 100 * time.Millisecond})
	t.Cleanup(e.app.Close)
	a := e.app
	jitTriplet(t, h, 2*time.Hour, true)
	firstRun(t, a)
	activate(t, ctx, h, a, "alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "recovery-only-1!" })

	// Outside a window: a row with nothing to open.
	eventually(t, 3*time.Second, "the JIT row", func() bool { v := a.Visible(); return len(v) == 1 && v[0].JIT })
	row := a.Visible()[0]
	now := a.Now()
	if row.JITState(now) != vm.JITOff || row.Usable(now) || row.Version != 0 || !row.JITApproval || row.JITMax != 2*time.Hour {
		t.Fatalf("closed JIT row %+v, state %q", row, row.JITState(now))
	}
	if d := row.JITDurations(); d[0] != 15*time.Minute || d[len(d)-1] != 2*time.Hour || len(d) != 4 {
		t.Fatalf("durations %v", d)
	}
	if !strings.Contains(row.JITStatusText(now), "disabled until you enable it, for up to 2 h. Your MSP approves each request.") {
		t.Fatalf("status %q", row.JITStatusText(now))
	}
	if _, err := a.Reveal(row.AccountID); !errors.Is(err, vm.ErrJITInactive) {
		t.Fatalf("reveal outside a window: %v", err)
	}
	if err := a.CopyPassword(row.AccountID); !errors.Is(err, vm.ErrJITInactive) {
		t.Fatalf("copy outside a window: %v", err)
	}

	// Bad requests change nothing at the hub.
	if err := a.RequestAccess(ctx, row.AccountID, time.Hour, "  "); err == nil || !strings.HasPrefix(vm.Explain(err), "Reason: ") {
		t.Fatalf("request without a reason: %v", err)
	}
	if err := a.RequestAccess(ctx, row.AccountID, 3*time.Hour, "ticket 42"); err == nil || !strings.HasPrefix(vm.Explain(err), "Duration: ") {
		t.Fatalf("request over the maximum: %v", err)
	}
	if gs, _ := h.Owner.ListJITRequests(ctx, ""); len(gs) != 0 {
		t.Fatalf("refused requests reached the hub: %+v", gs)
	}

	// A request waits for approval.
	if err := a.RequestAccess(ctx, row.AccountID, time.Hour, "ticket 42: printer GPO"); err != nil {
		t.Fatal(err)
	}
	if r := a.Row(row.AccountID); r.JITState(a.Now()) != vm.JITPending || !strings.HasPrefix(r.JITStatusText(a.Now()), "Pending approval by your MSP since ") {
		t.Fatalf("after the request: %q", r.JITStatusText(a.Now()))
	}
	pending, err := h.Owner.ListJITRequests(ctx, wire.JITPending)
	if err != nil || len(pending) != 1 || pending[0].Reason != "ticket 42: printer GPO" || pending[0].DurationSeconds != 3600 {
		t.Fatalf("pending at the hub: %+v %v", pending, err)
	}
	if _, err := h.Owner.ApproveJIT(ctx, pending[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "approved: the agent is enabling the account", func() bool {
		return a.Row(row.AccountID).JITState(a.Now()) == vm.JITOpening
	})
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "jit-Pa55word!" })
	eventually(t, 3*time.Second, "active", func() bool { return a.Row(row.AccountID).JITState(a.Now()) == vm.JITActive })
	if pw, err := a.Reveal(row.AccountID); err != nil || pw != "jit-Pa55word!" {
		t.Fatalf("reveal inside the window: %q %v", pw, err)
	}
	r := a.Row(row.AccountID)
	if s := r.JITStatusText(a.Now()); !strings.HasPrefix(s, "Active until ") || !strings.Contains(s, ": 00:59:") && !strings.Contains(s, ": 01:00:00 left.") {
		t.Fatalf("active status %q", s)
	}
	eventually(t, 3*time.Second, "the notification", func() bool {
		for _, n := range e.notes.list() {
			if strings.HasPrefix(n, "Access enabled: alice-tm on contoso.local is enabled until ") {
				return true
			}
		}
		return false
	})

	// Done closes the window at once.
	if err := a.EndAccess(ctx, row.AccountID); err != nil {
		t.Fatal(err)
	}
	if st := a.Row(row.AccountID).JITState(a.Now()); st != vm.JITEnded {
		t.Fatalf("after Done: %q", st)
	}
	if _, err := a.Reveal(row.AccountID); !errors.Is(err, vm.ErrJITInactive) {
		t.Fatalf("reveal after Done: %v", err)
	}
	if err := a.EndAccess(ctx, row.AccountID); err == nil {
		t.Fatal("Done twice")
	}
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "recovery-only-2!" })
	eventually(t, 3*time.Second, "no version on the device", func() bool { return a.Row(row.AccountID).Version == 0 })

	// Expiry by the device's own clock hides a revealed password even without the hub saying so.
	if err := a.RequestAccess(ctx, row.AccountID, 15*time.Minute, "ticket 43"); err != nil {
		t.Fatal(err)
	}
	pending, _ = h.Owner.ListJITRequests(ctx, wire.JITPending)
	if _, err := h.Owner.ApproveJIT(ctx, pending[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "approved again", func() bool { return a.Row(row.AccountID).JITState(a.Now()) == vm.JITOpening })
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "jit-Pa55word-2!" })
	eventually(t, 3*time.Second, "active again", func() bool { return a.Row(row.AccountID).JITState(a.Now()) == vm.JITActive })
	if _, err := a.Reveal(row.AccountID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(16 * time.Minute)
	if st := a.Row(row.AccountID).JITState(a.Now()); st != vm.JITEnded {
		t.Fatalf("after the window's end by the device clock: %q", st)
	}
	eventually(t, time.Second, "the revealed password hidden at expiry", func() bool { v, _ := a.Revealed.Get(); return v == 0 })
	if _, err := a.Reveal(row.AccountID); !errors.Is(err, vm.ErrJITInactive) {
		t.Fatalf("reveal after expiry: %v", err)
	}
}

// TestJITRefused: a refusal reaches the row with the approver's note; a new request may follow.
func TestJITRefused(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	jitTriplet(t, h, time.Hour, true)
	e := newEnv(t, h, t.TempDir(), keyringtest.New(), vm.DefaultSettings())
	a := e.app
	firstRun(t, a)
	activate(t, ctx, h, a, "bob")
	vmtest.Rotate(t, ctx, h.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return "recovery-only-1!" })
	eventually(t, 3*time.Second, "the JIT row", func() bool { v := a.Visible(); return len(v) == 1 && v[0].JIT })
	row := a.Visible()[0]
	if d := row.JITDurations(); d[len(d)-1] != time.Hour || len(d) != 3 {
		t.Fatalf("durations up to 1 h: %v", d)
	}
	if err := a.RequestAccess(ctx, row.AccountID, 30*time.Minute, "ticket 44"); err != nil {
		t.Fatal(err)
	}
	pending, _ := h.Owner.ListJITRequests(ctx, wire.JITPending)
	if _, err := h.Owner.RefuseJIT(ctx, pending[0].ID, "use the change window tonight"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "refused", func() bool { return a.Row(row.AccountID).JITState(a.Now()) == vm.JITRefused })
	if s := a.Row(row.AccountID).JITStatusText(a.Now()); !strings.HasSuffix(s, ": use the change window tonight. You may ask again.") {
		t.Fatalf("refused status %q", s)
	}
	eventually(t, 3*time.Second, "the notification", func() bool {
		n := e.notes.list()
		return len(n) > 0 && n[len(n)-1] == "Access refused: Your request for bob-tm on contoso.local was refused."
	})
	if err := a.RequestAccess(ctx, row.AccountID, 30*time.Minute, "ticket 44, again"); err != nil {
		t.Fatalf("a new request after a refusal: %v", err)
	}
	if err := a.EndAccess(ctx, row.AccountID); err != nil {
		t.Fatalf("withdraw a pending request: %v", err)
	}
}
