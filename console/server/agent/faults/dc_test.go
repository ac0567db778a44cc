package faults_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/internal/cutproxy"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/wire"
)

// cutDriver stops the DC at one point of the first rotation: before the new password is set, or after it was set
// and before it is verified. The DC comes back after outage.
type cutDriver struct {
	driver.Driver
	p      *cutproxy.Proxy
	after  bool
	outage time.Duration
	once   sync.Once
}

func (d *cutDriver) stop() {
	d.p.Cut()
	time.AfterFunc(d.outage, d.p.Restore)
}

func (d *cutDriver) SetPassword(ctx context.Context, name, pw string) error {
	if !d.after {
		d.once.Do(d.stop)
	}
	err := d.Driver.SetPassword(ctx, name, pw)
	if d.after && err == nil {
		d.once.Do(d.stop)
	}
	return err
}

// TestTargetStoppedMidRotation stops the Samba DC (its connection, through a relay) in the middle of the first
// rotation of an account, once before and once after the new password reached it. The account must end with a
// freshly rotated, confirmed password that binds at the DC, and the interrupted version must never be confirmed.
func TestTargetStoppedMidRotation(t *testing.T) {
	env := targets.Require(t)
	for _, after := range []bool{false, true} {
		name := "before-set"
		if after {
			name = "after-set"
		}
		t.Run(name, func(t *testing.T) { dcStop(t, env, after) })
	}
}

func dcStop(t *testing.T, env targets.Env, after bool) {
	ctx := testCtx(t)
	var cfg ad.Config
	cfg.URL, cfg.TLS = env.Get(t, "WW_AD_URL"), env.TLSConfig(t)
	cfg.BindDN, cfg.Password = env.Get(t, "WW_AD_ADMIN_DN"), env.Get(t, "WW_AD_ADMIN_PASSWORD")
	cfg.BaseDN, cfg.OU = env.Get(t, "WW_AD_BASE_DN"), env.Get(t, "WW_AD_OU")
	direct, err := ad.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	p := cutproxy.New(t, strings.TrimPrefix(cfg.URL, "ldaps://"))
	proxied := cfg
	proxied.URL = "ldaps://" + p.Addr()

	h := hubtest.New(t)
	user := agenttest.UniqueUser()
	account := user + "-tm"
	t.Cleanup(func() { agenttest.DeleteADUsers(t, cfg, account) })
	agenttest.Grant(ctx, t, h, 0, map[string][]string{wire.DriverAD: {strings.Split(env.Get(t, "WW_TEST_GROUPS"), ",")[0]}})
	tech := h.ActiveTech(user)
	ag := h.NewAgent("test.lan", wire.DriverAD)

	agentLogs := &hubtest.SyncBuffer{}
	var once sync.Once
	cd := &cutDriver{p: p, after: after, outage: 1500 * time.Millisecond}
	runner, err := agent.New(agent.Config{Hub: ag.Client, Parallelism: 1, PollWait: 2 * time.Second,
		NewDriver: func() (driver.Driver, error) {
			var err error
			once.Do(func() {
				var d *ad.Driver
				d, err = ad.New(proxied)
				cd.Driver = d
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

	// Wait for a confirmed version; open every version the tech can see.
	confirmedV, confirmedPW, passwords := waitConfirmed(ctx, t, tech, func() string { return fmt.Sprintf("%+v", runner.Stats()) }, agentLogs)
	scenarios.Add(1)
	if err := direct.Verify(ctx, account, confirmedPW); err != nil {
		lockouts.Add(1)
		t.Fatalf("lockout: the confirmed version %d does not bind at the DC: %v", confirmedV, err)
	}
	if confirmedV == 1 {
		t.Fatalf("the interrupted version 1 was confirmed: not rotated afresh")
	}
	for v, pw := range passwords {
		if v != confirmedV && pw == confirmedPW {
			t.Fatalf("version %d reuses the password of version %d", confirmedV, v)
		}
	}
	accs, err := h.Owner.Accounts(ctx, tech.ID, 0)
	if err != nil || len(accs) != 1 {
		t.Fatalf("accounts: %+v, %v", accs, err)
	}
	t.Logf("DC stopped %s: confirmed version %d after %d versions; runner %+v", map[bool]string{false: "before set", true: "after set"}[after],
		confirmedV, accs[0].CurrentVersion, runner.Stats())
	halt()
	var secrets []string
	for _, pw := range passwords {
		secrets = append(secrets, pw)
	}
	secrets = append(secrets, tech.Identity.String(), ag.Identity.String(), h.OwnerID.String(), h.Recovery.String())
	grepSecrets(t, secrets, []string{h.DBPath, h.DBPath + "-wal", h.DBPath + "-shm"},
		map[string][]byte{"hub logs": h.Logs.Bytes(), "agent logs": agentLogs.Bytes()})
}

func tailBytes(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
