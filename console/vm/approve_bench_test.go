package vm_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
)

// BenchmarkApproveRoundTrip is an admin's click on Approve as the Console view-model makes it against an
// in-process hub holding the demo data set, with the signed authority off (off-ms) and on (on-ms): the hub's
// calls and the refresh after them, and with the authority on, the hub's head fetched and verified, the update
// built, signed, applied and published, and the chain kept (marshalled; the Console also writes it to a file). Two
// hubs, one per Console, and the two approvals alternate call by call, so that a shared machine's load falls on
// both alike; a new tech registers on each before the timer runs again.
func BenchmarkApproveRoundTrip(b *testing.B) {
	test.NewTempApp(b) // the bindings deliver through fyne.Do
	ctx := context.Background()
	console := func(on bool) (*vm.App, *hubtest.Harness) {
		h := hubtest.New(b)
		if _, err := demo.Populate(ctx, h.Invite, h.Owner); err != nil {
			b.Fatal(err)
		}
		a := vm.New()
		a.Connect(h.Owner, h.Invite, "bench hub")
		if on {
			a.UseAuthority(h.OwnerID.Signer(), nil, (&kept{}).save)
		}
		if err := a.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		if on {
			g, err := a.PrepareAuthority(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := a.TurnOnAuthority(ctx, g); err != nil {
				b.Fatal(err)
			}
		}
		if a.Snapshot().Authority.On() != on {
			b.Fatalf("authority on: %v, want %v", a.Snapshot().Authority.On(), on)
		}
		return a, h
	}
	off, hOff := console(false)
	on, hOn := console(true)
	var last int64 // the tech approved last with the authority on
	approve := func(a *vm.App, h *hubtest.Harness, n int) time.Duration {
		b.StopTimer()
		t := h.NewTech(fmt.Sprintf("bench%05d", n))
		if err := a.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		if err := a.Approve(ctx, t.ID); err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		if a == on {
			last = t.ID
		}
		return d
	}
	var tOff, tOn time.Duration
	n := 0
	for b.Loop() {
		if n%2 == 0 {
			tOff += approve(off, hOff, n)
			tOn += approve(on, hOn, n)
		} else {
			tOn += approve(on, hOn, n)
			tOff += approve(off, hOff, n)
		}
		n++
	}
	if _, ok := on.Chain().State().Techs[last]; !ok {
		b.Fatalf("tech %d, approved with the authority on, is not in the signed state", last)
	}
	if off.Chain() != nil {
		b.Fatal("the Console with the authority off signed")
	}
	b.ReportMetric(tOff.Seconds()*1e3/float64(n), "off-ms")
	b.ReportMetric(tOn.Seconds()*1e3/float64(n), "on-ms")
	b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
}
