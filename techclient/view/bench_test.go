package view

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// BenchmarkColdStartToList measures a registered, active device from a new view-model and window to the list
// showing its 50 accounts fetched from a real hub (no offline cache, so nothing is shown before the hub answers).
// Goal: ≤ 1 s.
func BenchmarkColdStartToList(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	test.NewTempApp(b)
	hub := hubtest.New(b)
	dir, ring := b.TempDir(), keyringtest.New()
	opts := vm.Options{Dir: dir, Keyring: ring, Do: fyne.Do}
	first := vm.New(opts)
	first.Start()
	waitB(b, func() bool { return first.Current() == vm.StateUnregistered })
	if err := first.Register(ctx, vm.Registration{Invite: hub.Invite.String(), Username: "alice", Email: "alice@example.com"}); err != nil {
		b.Fatal(err)
	}
	techs, _ := hub.Owner.Techs(ctx, wire.TechPending)
	if _, err := hub.ApproveCoManaged(ctx, techs[0].ID); err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		name, driver := vmtest.HostName(i)
		vmtest.Rotate(b, ctx, hub.NewAgent(name, driver), func(wire.PlanAccount) string { return "Bench-Pa55word!" })
	}
	waitB(b, func() bool { return len(first.Visible()) == 50 })
	first.Close()

	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		_ = os.Remove(filepath.Join(dir, "credentials.json"))
		b.StartTimer()
		a := vm.New(opts)
		w := test.NewWindow(widget.NewLabel(""))
		u, root := build(a, w)
		w.SetContent(root)
		w.Resize(fyne.NewSize(1040, 680))
		a.Start()
		waitB(b, func() bool { return u.list != nil && len(u.list.rows) == 50 })
		b.StopTimer()
		a.Close()
		w.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/start")
}

// BenchmarkFilter5000 measures one keystroke in the search box over 5,000 accounts: the view-model filters
// and the list re-renders its visible rows. Goal: ≤ 16 ms.
func BenchmarkFilter5000(b *testing.B) {
	test.NewTempApp(b)
	now := time.Now()
	a := vm.New(vm.Options{Dir: b.TempDir(), Keyring: keyringtest.New()})
	w := test.NewTempWindow(b, widget.NewLabel(""))
	u, root := build(a, w)
	w.SetContent(root)
	w.Resize(fyne.NewSize(1040, 680))
	a.Preview(vm.Device{Username: "alice", Status: wire.TechActive}, vmtest.Credentials(5000, "alice", "cm", now), now)
	waitB(b, func() bool { return u.list != nil && len(u.list.rows) == 5000 })
	s := u.list.search
	texts := []string{"c", "co", "con", "cont", "conto", "contos", "contoso", "contoso.", "contoso.l", ""}
	i := 0
	b.ResetTimer()
	for b.Loop() {
		s.SetText(texts[i%len(texts)])
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/keystroke")
	if len(u.list.rows) == 0 {
		b.Fatal("the filter left no rows")
	}
}

func waitB(b *testing.B, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatal("timed out")
}
