package vm_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// BenchmarkPushLatency measures how fast a rotation reaches the TechClient: an agent stages and confirms a new
// version at a real hub, and the clock runs from the moment the confirm request is sent until the view-model —
// following the hub through its long poll, as the app does — shows that version as confirmed. Repeated 200 times
// (WATCHWORD_BENCH_ROTATIONS); reports median and p99. Goal: p99 ≤ 1 s.
// Run: go test -run '^$' -bench PushLatency -benchtime 1x ./techclient/vm/
func BenchmarkPushLatency(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("WATCHWORD_BENCH_ROTATIONS")); err == nil && v > 0 {
		n = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	test.NewTempApp(b)
	h := hubtest.New(b)
	a := vm.New(vm.Options{Dir: b.TempDir(), Keyring: keyringtest.New(), Do: fyne.Do})
	defer a.Close()
	a.Start()
	waitFor(b, "first run screen", func() bool { return a.Current() == vm.StateUnregistered })
	if err := a.Register(ctx, vm.Registration{Invite: h.Invite.String(), Username: "alice", Email: "alice@example.com"}); err != nil {
		b.Fatal(err)
	}
	techs, _ := h.Owner.Techs(ctx, wire.TechPending)
	if len(techs) != 1 {
		b.Fatalf("pending techs: %+v", techs)
	}
	if _, err := h.ApproveCoManaged(ctx, techs[0].ID); err != nil {
		b.Fatal(err)
	}
	ag := h.NewAgent("contoso.local", wire.DriverAD)
	plan := vmtest.Rotate(b, ctx, ag, func(wire.PlanAccount) string { return "Push-Pa55word!" })
	pa := plan.Accounts[0]
	shows := func(v int64) func() bool {
		return func() bool {
			r := a.Row(pa.AccountID)
			return r != nil && r.Version == v && r.Confirmed
		}
	}
	waitFor(b, "the first version", shows(pa.CurrentVersion+1))

	var rcpts []age.Recipient
	for _, s := range append([]string{plan.Recovery}, pa.Recipients...) {
		r, err := seal.ParseRecipient(s)
		if err != nil {
			b.Fatal(err)
		}
		rcpts = append(rcpts, r)
	}
	version := pa.CurrentVersion + 1
	var took []time.Duration
	for b.Loop() {
		for range n {
			version++
			env, err := seal.Seal([]byte("Push-Pa55word!"+strconv.FormatInt(version, 10)),
				hubclient.SealContext(plan.ClientGUID, plan.AgentID, pa.AccountName, version), rcpts...)
			if err != nil {
				b.Fatal(err)
			}
			if err := ag.Stage(ctx, pa.AccountID, version, env); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			if err := ag.Confirm(ctx, pa.AccountID, version); err != nil {
				b.Fatal(err)
			}
			cond := shows(version)
			for !cond() {
				if time.Since(t0) > 10*time.Second {
					b.Fatalf("version %d not shown after 10 s", version)
				}
				time.Sleep(100 * time.Microsecond)
			}
			took = append(took, time.Since(t0))
		}
	}
	slices.Sort(took)
	p := func(q float64) float64 {
		i := min(max(int(q/100*float64(len(took))+0.5)-1, 0), len(took)-1)
		return float64(took[i].Microseconds()) / 1000
	}
	b.ReportMetric(p(50), "p50-ms")
	b.ReportMetric(p(99), "p99-ms")
	b.ReportMetric(float64(len(took)), "rotations")
	fmt.Printf("push latency, confirm sent → view-model shows the version: median %.1f ms, p99 %.1f ms, max %.1f ms (%d rotations)\n",
		p(50), p(99), p(100), len(took))
}

func waitFor(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
