package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// TestJITTemporaryAccessPassView: an open window whose agent issued a Temporary Access Pass shows an "Access pass"
// line on the account's detail ("Temporary Access Pass, valid until …"), reveals it in place and hides it again,
// copies it, and its row says so; an account without a pass shows no such line.
func TestJITTemporaryAccessPassView(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hub := hubtest.New(t)
	trips, err := hub.Owner.Triplets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Owner.UpdateTriplet(ctx, trips[0].ID, wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: 4 * 3600}); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, vm.Options{Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Tick: 50 * time.Millisecond})
	registerOnHub(t, ctx, h, hub)
	agent := hub.NewAgent("contoso.onmicrosoft.com", wire.DriverAD)
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "recovery-only!" })
	eventually(t, 5*time.Second, "the JIT row", func() bool { return h.u.list != nil && len(h.u.list.rows) == 1 && h.u.list.rows[0].JIT })
	fyne.DoAndWait(func() { h.u.list.list.Select(0) })
	eventually(t, time.Second, "detail", func() bool { return h.u.list.detail.row != nil })
	d := h.u.list.detail
	eventually(t, time.Second, "no pass line outside a window", func() bool { return !d.tapBox.Visible() })
	id := d.row.AccountID
	if err := h.a.RequestAccess(ctx, id, time.Hour, "ticket 7: licences"); err != nil {
		t.Fatal(err)
	}
	plan := vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "JIT-Pa55word!" })
	eventually(t, 5*time.Second, "active without a pass", func() bool {
		return h.a.Row(id).JITState(h.a.Now()) == vm.JITActive && !d.tapBox.Visible()
	})

	const code = "TAP-Code-5521"
	pa := plan.Accounts[0]
	tapAcc := wire.PlanAccount{AccountID: pa.AccountID, AccountName: wire.TAPAccount(pa.AccountName), Recipients: pa.Recipients}
	env := hubtest.Seal(t, plan, tapAcc, pa.JIT.GrantID, code)
	if err := agent.StoreJITTAP(ctx, wire.JITTAPRequest{GrantID: pa.JIT.GrantID, AccountID: pa.AccountID, Envelope: env,
		Signature: agent.SignEnvelope(plan, tapAcc, pa.JIT.GrantID, env), ExpiresAt: pa.JIT.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the pass line", func() bool {
		return d.tapBox.Visible() && strings.HasPrefix(d.tapText.Text, "Temporary Access Pass, valid until ")
	})
	// The pass's line is a row of the account's form: its text starts where the username's and the password's do.
	fyne.DoAndWait(func() {
		drv := fyne.CurrentApp().Driver()
		pass, user, pw := drv.AbsolutePositionForObject(d.tapText), drv.AbsolutePositionForObject(d.account), drv.AbsolutePositionForObject(d.password)
		if pass.X != user.X || pass.X != pw.X {
			t.Errorf("the pass's text at x=%v, the username's at x=%v, the password's at x=%v", pass.X, user.X, pw.X)
		}
	})
	eventually(t, 2*time.Second, "the row's badge", func() bool {
		return strings.Contains(test.RenderToMarkup(h.w.Canvas()), " left · access pass")
	})
	fyne.DoAndWait(func() { test.Tap(d.tapReveal) })
	if d.tapText.Text != code || d.tapReveal.Text != "Hide" {
		t.Fatalf("revealed %q, button %q", d.tapText.Text, d.tapReveal.Text)
	}
	if d.password.Text == code {
		t.Fatal("the pass shows as the password")
	}
	fyne.DoAndWait(func() { test.Tap(d.tapReveal) })
	if !strings.HasPrefix(d.tapText.Text, "Temporary Access Pass, valid until ") {
		t.Fatalf("hidden again: %q", d.tapText.Text)
	}
	var clip string
	fyne.DoAndWait(func() {
		test.Tap(d.tapCopy)
		clip = h.app.Clipboard().Content()
	})
	if clip != code {
		t.Fatalf("copied %q", clip)
	}
}
