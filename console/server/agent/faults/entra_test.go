package faults_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/entra"
	"github.com/watchword/watchword/console/server/agent/internal/cutproxy"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/graphtest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestGraphStoppedMidRotation is TestTargetStoppedMidRotation for an Entra ID tenant: Microsoft Graph (the
// test server, through a relay) stops answering in the middle of the first rotation, once before the new
// password is written and once after it was written and before it is verified, and once Graph throttles the
// rotation (429 with Retry-After, 503, 504). The account must end with a freshly rotated, confirmed password
// that signs in, the interrupted version never confirmed, and no account ever locked out (the tenant's own smart
// lockout counts).
func TestGraphStoppedMidRotation(t *testing.T) {
	for _, mode := range []string{"before-set", "after-set", "throttled"} {
		t.Run(mode, func(t *testing.T) { graphStop(t, mode) })
	}
}

func graphStop(t *testing.T, mode string) {
	ctx := testCtx(t)
	srv := graphtest.New(t)
	srv.AddGroup("wwt-ops", true)
	clientID, cert := srv.NewApp(t)
	cfg := entra.Config{TenantID: srv.TenantID, ClientID: clientID, Certs: []*x509.Certificate{cert.Cert}, Key: cert.Key,
		UPNDomain: srv.Domain, UsageLocation: "GB", Verify: true, AuthorityURL: srv.LoginURL, GraphURL: srv.GraphURL,
		HTTPClient: srv.HTTPClient(), Retry: entra.Retry{Max: 3, Base: 20 * time.Millisecond, Cap: 5 * time.Second, Visible: 5 * time.Second}}
	direct, err := entra.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := cutproxy.New(t, strings.TrimPrefix(strings.TrimSuffix(srv.GraphURL, "/v1.0"), "https://"))
	proxied := cfg
	proxied.GraphURL = "https://" + p.Addr() + "/v1.0"

	h := hubtest.New(t)
	user := agenttest.UniqueUser()
	account := user + "-tm"
	agenttest.Grant(ctx, t, h, 0, map[string][]string{wire.DriverEntra: {"wwt-ops", "Helpdesk Administrator"}})
	tech := h.ActiveTech(user)
	ag := h.NewAgent("contoso.test", wire.DriverEntra)

	agentLogs := &hubtest.SyncBuffer{}
	var once sync.Once
	cd := &cutDriver{p: p, after: mode == "after-set", outage: 1500 * time.Millisecond}
	if mode == "throttled" {
		srv.Inject(graphtest.Fault{Method: "PATCH", Status: 429, RetryAfter: "0.2"}, graphtest.Fault{Status: 503},
			graphtest.Fault{Method: "POST", Status: 504}, graphtest.Fault{Status: 429})
	}
	runner, err := agent.New(agent.Config{Hub: ag.Client, Parallelism: 1, PollWait: 2 * time.Second,
		NewDriver: func() (driver.Driver, error) {
			var err error
			once.Do(func() {
				var d *entra.Driver
				d, err = entra.New(proxied)
				cd.Driver = d
				if mode == "throttled" {
					cd.once.Do(func() {}) // never cut
				}
			})
			return cd, err
		},
		Backoff: agent.Backoff{Min: 100 * time.Millisecond, Max: time.Second}, Retry: 300 * time.Millisecond,
		Pace: 100 * time.Millisecond, StepTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(agentLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(runCtx) }()
	var halted sync.Once
	halt := func() { halted.Do(func() { stop(); <-done }) }
	defer halt()

	confirmedV, confirmedPW, passwords := waitConfirmed(ctx, t, tech, func() string { return fmt.Sprintf("%+v", runner.Stats()) }, agentLogs)
	halt()
	scenarios.Add(1)
	if err := direct.Verify(ctx, account, confirmedPW); err != nil || srv.Lockouts() > 0 {
		lockouts.Add(1 + int64(srv.Lockouts()))
		t.Fatalf("lockout: the confirmed version %d does not sign in (%v), or the tenant locked %d accounts", confirmedV, err, srv.Lockouts())
	}
	if mode != "throttled" && confirmedV == 1 {
		t.Fatalf("the interrupted version 1 was confirmed: not rotated afresh")
	}
	if mode == "throttled" && srv.PendingFaults() != 0 {
		t.Fatalf("%d injected faults never met", srv.PendingFaults())
	}
	if got := srv.Rights(account + "@" + srv.Domain); len(got) != 2 {
		t.Fatalf("rights %v, want the role and the group", got)
	}
	for v, pw := range passwords {
		if v != confirmedV && pw == confirmedPW {
			t.Fatalf("version %d reuses the password of version %d", confirmedV, v)
		}
	}
	t.Logf("Graph %s: confirmed version %d; runner %+v; Graph statuses %v", mode, confirmedV, runner.Stats(), srv.Statuses())
	var secrets []string
	for _, pw := range passwords {
		secrets = append(secrets, pw)
	}
	secrets = append(secrets, tech.Identity.String(), ag.Identity.String(), h.OwnerID.String(), h.Recovery.String(), string(cert.KeyPEM))
	grepSecrets(t, secrets, []string{h.DBPath, h.DBPath + "-wal", h.DBPath + "-shm"},
		map[string][]byte{"hub logs": h.Logs.Bytes(), "agent logs": agentLogs.Bytes()})
}
