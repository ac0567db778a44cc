package vm_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/entra"
	"github.com/watchword/watchword/internal/testsupport/graphtest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
)

// BenchmarkEntraJITEnable measures a just-in-time window on Microsoft Entra ID from the TechClient's side: the
// clock runs from the tech's request (approved at once: no approver on the triplet) until the view-model shows the
// window active with a Temporary Access Pass it can open — the agent's long poll woken, the cloud account enabled
// with its directory role, a fresh password through the whole stage → set → verify → confirm cycle, the pass
// issued, sealed, signed and stored, and the device's long poll fetching both. The agent runs the real entra
// driver against graphtest, Microsoft Graph's test server on loopback: the figure is Watchword's own overhead,
// not Microsoft's (a live tenant adds Graph's own latency and replication). Each window is closed again (Done)
// and the account seen disabled without its role before the next. WATCHWORD_BENCH_ENTRA_JIT windows (default 20).
// Run: go test -run '^$' -bench EntraJITEnable -benchtime 1x ./techclient/vm/
func BenchmarkEntraJITEnable(b *testing.B) {
	n := 20
	if v, err := strconv.Atoi(os.Getenv("WATCHWORD_BENCH_ENTRA_JIT")); err == nil && v > 0 {
		n = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	test.NewTempApp(b)
	h := hubtest.New(b)
	srv := graphtest.New(b)
	clientID, cert := srv.NewApp(b)
	cfg := entra.Config{TenantID: srv.TenantID, ClientID: clientID, Certs: []*x509.Certificate{cert.Cert}, Key: cert.Key,
		UPNDomain: srv.Domain, UsageLocation: "GB", Verify: true, AuthorityURL: srv.LoginURL, GraphURL: srv.GraphURL,
		HTTPClient: srv.HTTPClient()}
	right, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "Cloud admin", Targets: map[string][]string{wire.DriverEntra: {"User Administrator"}}})
	if err != nil {
		b.Fatal(err)
	}
	trips, err := h.Owner.Triplets(ctx)
	if err != nil || len(trips) != 1 {
		b.Fatalf("triplets %+v %v", trips, err)
	}
	if _, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: trips[0].TechGroupID, AgentGroupID: trips[0].AgentGroupID,
		RightID: right.ID, Mode: wire.TripletJIT, MaxDurationSeconds: 4 * 3600}); err != nil {
		b.Fatal(err)
	}
	if err := h.Owner.DeleteTriplet(ctx, trips[0].ID); err != nil {
		b.Fatal(err)
	}
	a := vm.New(vm.Options{Dir: b.TempDir(), Keyring: keyringtest.New(), Do: fyne.Do, Wait: 10 * time.Second})
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
	if _, err := h.Owner.ApproveTech(ctx, techs[0].ID); err != nil {
		b.Fatal(err)
	}
	ag := h.NewAgent("contoso.onmicrosoft.com", wire.DriverEntra)
	r, err := agent.New(agent.Config{Hub: ag.Client, NewDriver: func() (driver.Driver, error) { return entra.New(cfg) }, Parallelism: 1,
		PollWait: 20 * time.Second, Retry: 200 * time.Millisecond, TemporaryAccess: true, Key: ag.Identity.Signer(),
		JITStateFile: b.TempDir() + "/jit.json", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(rctx) }()
	defer func() { rcancel(); <-done }()

	var row *vm.Row
	waitFor(b, "the closed JIT row", func() bool {
		v := a.Visible()
		if len(v) == 1 && v[0].JIT {
			row = v[0]
		}
		return row != nil
	})
	upn := row.Account + "@" + srv.Domain
	closed := func() bool {
		u, ok := srv.LookupUser(upn)
		_, _, _, pass := srv.TAP(upn)
		return ok && !u.Enabled && len(srv.Rights(upn)) == 0 && !pass
	}
	waitFor(b, "the account made disabled", closed)
	var took []time.Duration
	for b.Loop() {
		for i := range n {
			t0 := time.Now()
			if err := a.RequestAccess(ctx, row.AccountID, time.Hour, "ticket "+strconv.Itoa(i)); err != nil {
				b.Fatal(err)
			}
			for {
				if r := a.Row(row.AccountID); r != nil && r.JITState(a.Now()) == vm.JITActive && r.HasTAP(a.Now()) {
					break
				}
				if time.Since(t0) > 20*time.Second {
					b.Fatalf("window %d: no pass on the row after 20 s", i)
				}
				time.Sleep(100 * time.Microsecond)
			}
			took = append(took, time.Since(t0))
			if _, err := a.RevealTAP(row.AccountID); err != nil {
				b.Fatal(err)
			}
			if u, _ := srv.LookupUser(upn); !u.Enabled || len(srv.Rights(upn)) != 1 {
				b.Fatalf("window %d: the account is not enabled with its role", i)
			}
			if err := a.EndAccess(ctx, row.AccountID); err != nil {
				b.Fatal(err)
			}
			waitFor(b, "the window closed on the tenant", closed)
		}
	}
	slices.Sort(took)
	p := func(q float64) float64 {
		i := min(max(int(q/100*float64(len(took))+0.5)-1, 0), len(took)-1)
		return float64(took[i].Microseconds()) / 1000
	}
	b.ReportMetric(p(50), "p50-ms")
	b.ReportMetric(p(99), "p99-ms")
	b.ReportMetric(float64(len(took)), "enables")
	fmt.Printf("entra jit enable, request → TechClient shows the window active with its Temporary Access Pass (Graph test server): median %.0f ms, p99 %.0f ms, max %.0f ms (%d windows)\n",
		p(50), p(99), p(100), len(took))
}
