package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/internal/readable"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/readtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// TestAccountsReadable: the account list of a tech with a just-in-time account on a host with a long name, at the
// screenshots' screen size and the TechClient's own: no text of the list is cut without a tooltip (readtest), the
// row's icon says the target's kind, and the just-in-time account has one clock — no scheduled countdown in the row
// or the detail, no after-use line — no bullets for a password the device does not have, no repeated heading, and a
// reason box with a label.
func TestAccountsReadable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
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
	const host = "fileserver-02.accounting.eu-west.contoso-holdings.local"
	agent := hub.NewAgent(host, wire.DriverLinux)
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "recovery-only!" }) // no window: not for the device
	eventually(t, 5*time.Second, "the JIT row", func() bool { return h.u.list != nil && len(h.u.list.rows) == 1 && h.u.list.rows[0].JIT })
	fyne.DoAndWait(func() { h.u.list.list.Select(0) })
	eventually(t, time.Second, "detail", func() bool { return h.u.list.detail.row != nil })
	d := h.u.list.detail
	p := d.jit

	eventually(t, time.Second, "one clock, no bullets, no repeated heading", func() bool {
		return d.next.Text == vm.JITRotationText && !d.afterUse.Visible() && d.password.Text == NoPassword &&
			!p.title.Visible() && strings.HasPrefix(p.status.Text, "Just-in-time access:")
	})
	fyne.DoAndWait(func() {
		var labels, tips []string
		readtest.Walk(h.w.Canvas().Content(), func(o fyne.CanvasObject) {
			switch x := o.(type) {
			case *widget.Label:
				if x.Visible() {
					labels = append(labels, x.Text)
				}
			case *readable.Tipped:
				x.MouseIn(&desktop.MouseEvent{})
				tips = append(tips, x.Tip())
				x.MouseOut()
			}
		})
		all := "\n" + strings.Join(labels, "\n") + "\n"
		if !strings.Contains(all, "\nReason\n") || !strings.Contains(all, "\nFor\n") {
			t.Error("the reason box has no label")
		}
		if strings.Contains(all, "\nin ") {
			t.Errorf("the JIT row shows a scheduled rotation's countdown: %q", labels)
		}
		if strings.Join(tips, ",") != vm.DriverName(wire.DriverLinux) {
			t.Errorf("row icon tooltips %q", tips)
		}
	})
	for _, size := range []fyne.Size{fyne.NewSize(1280, 800), fyne.NewSize(1040, 680)} {
		fyne.DoAndWait(func() {
			h.w.Resize(size)
			for _, c := range readtest.Unreadable(h.w.Canvas().Content()) {
				t.Errorf("%.0f×%.0f: %s", size.Width, size.Height, c)
			}
		})
	}

}
