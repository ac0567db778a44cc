package agent_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/entra"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/graphtest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TestJITTemporaryAccessPassEntra: the real entra driver against the Graph test server and a real hub. A window
// enables the tech's cloud account with its directory role and issues a Temporary Access Pass, which reaches the
// tech sealed to their device and opens to the tenant's own code; Done revokes the pass, removes the role and
// disables the account. The code is in no log line and not in the hub's database in clear.
func TestJITTemporaryAccessPassEntra(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := graphtest.New(t)
	clientID, cert := srv.NewApp(t)
	cfg := entra.Config{TenantID: srv.TenantID, ClientID: clientID, Certs: []*x509.Certificate{cert.Cert}, Key: cert.Key,
		UPNDomain: srv.Domain, UsageLocation: "GB", Verify: true, AuthorityURL: srv.LoginURL, GraphURL: srv.GraphURL,
		HTTPClient: srv.HTTPClient()}
	h := hubtest.New(t)
	user := agenttest.UniqueUser()
	account := user + "-tm"
	upn := account + "@" + srv.Domain
	agenttest.Grant(ctx, t, h, 3600, map[string][]string{wire.DriverEntra: {"User Administrator"}})
	tech := h.ActiveTech(user)
	ag := h.NewAgent("contoso.onmicrosoft.com", wire.DriverEntra)
	logs := &hubtest.SyncBuffer{}
	startRunner(t, agent.Config{Hub: ag.Client, NewDriver: func() (driver.Driver, error) { return entra.New(cfg) },
		Parallelism: 1, PollWait: 2 * time.Second, Retry: 200 * time.Millisecond, TemporaryAccess: true,
		JITStateFile: t.TempDir() + "/jit.json", Key: ag.Identity.Signer()}, logs)

	// Closed: the account exists disabled, without its role.
	eventually(t, 20*time.Second, "the closed account", func() bool {
		u, ok := srv.LookupUser(upn)
		return ok && !u.Enabled && len(srv.Rights(upn)) == 0
	})
	creds, err := tech.Credentials(ctx)
	if err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("credentials %+v %v", creds, err)
	}
	c := creds.Credentials[0]
	asked := time.Now()
	g, err := tech.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 3600, Reason: "ticket 31: mailbox"})
	if err != nil {
		t.Fatal(err)
	}
	var tap *wire.JITTAP
	eventually(t, 20*time.Second, "the sealed pass on the tech's list", func() bool {
		cr, err := tech.Credentials(ctx)
		if err != nil || len(cr.Credentials) != 1 || cr.Credentials[0].JITGrant == nil {
			return false
		}
		tap = cr.Credentials[0].JITGrant.TAP
		return tap != nil
	})
	latency := time.Since(asked)
	code, _, _, ok := srv.TAP(upn)
	if !ok {
		t.Fatal("no pass on the tenant")
	}
	got, err := seal.Open(tap.Envelope, hubclient.SealContext(h.GUID, ag.ID, wire.TAPAccount(c.AccountName), g.ID), tech.Identity)
	if err != nil || string(got) != code {
		t.Fatalf("the tech opens the pass: %v (matches the tenant's: %v)", err, string(got) == code)
	}
	if u, _ := srv.LookupUser(upn); !u.Enabled || len(srv.Rights(upn)) != 1 {
		t.Fatalf("open window: enabled %v, roles %v", u.Enabled, srv.Rights(upn))
	}
	if tap.ExpiresAt.After(g.ExpiresAt) {
		t.Fatalf("the pass shows valid until %v, after the window's end %v", tap.ExpiresAt, g.ExpiresAt)
	}
	t.Logf("request → account enabled with its role and the pass sealed on the tech's list: %v", latency.Round(time.Millisecond))

	// Done: the pass goes, the role goes, the account is disabled.
	if _, err := tech.EndJIT(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the closed window on the tenant", func() bool {
		u, _ := srv.LookupUser(upn)
		_, _, _, has := srv.TAP(upn)
		return !u.Enabled && len(srv.Rights(upn)) == 0 && !has
	})
	if bytes.Contains(logs.Bytes(), []byte(code)) || bytes.Contains(h.Logs.Bytes(), []byte(code)) {
		t.Fatal("a log holds the pass")
	}
	for _, f := range []string{h.DBPath, h.DBPath + "-wal"} {
		if b, err := os.ReadFile(f); err == nil {
			grepSecrets(t, f, b, []string{code})
		}
	}
	if !bytes.Contains(logs.Bytes(), []byte("temporary access pass revoked")) {
		t.Fatal("the agent's log says nothing of the revoke")
	}
}
