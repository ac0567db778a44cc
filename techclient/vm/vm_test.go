package vm_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/internal/testsupport/cliptest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// notes records desktop notifications.
type notes struct {
	mu  sync.Mutex
	all []string
}

func (n *notes) add(title, body string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.all = append(n.all, title+": "+body)
}

func (n *notes) list() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.all...)
}

type env struct {
	h     *hubtest.Harness
	app   *vm.App
	dir   string
	ring  *keyringtest.Memory
	clip  *cliptest.Memory
	notes *notes
	set   vm.Settings
}

func newEnv(t *testing.T, h *hubtest.Harness, dir string, ring keystore.Keyring, set vm.Settings) *env {
	t.Helper()
	test.NewTempApp(t) // fyne.Do and bindings need an app
	e := &env{h: h, dir: dir, clip: &cliptest.Memory{}, notes: &notes{}, set: set}
	if r, ok := ring.(*keyringtest.Memory); ok {
		e.ring = r
	}
	e.app = vm.New(vm.Options{Dir: dir, Keyring: ring, ScryptWorkFactor: 10, Clipboard: e.clip, Notify: e.notes.add,
		Settings: func() vm.Settings { return e.set }, Do: func(f func()) { f() },
		Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Tick: 50 * time.Millisecond, Poll: 100 * time.Millisecond})
	t.Cleanup(e.app.Close)
	return e
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually waits up to d for cond, failing with what.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("after %v: %s", d, what)
	return 0
}

// started is an env on a new data directory, started and showing the first-run form.
func started(t *testing.T, h *hubtest.Harness, ring keystore.Keyring, set vm.Settings) *env {
	t.Helper()
	e := newEnv(t, h, t.TempDir(), ring, set)
	firstRun(t, e.app)
	return e
}

// firstRun starts a on a device that was never registered and waits for the first-run form.
func firstRun(t *testing.T, a *vm.App) {
	t.Helper()
	a.Start()
	eventually(t, 5*time.Second, "first run", func() bool { return state(a) == vm.StateUnregistered })
}

// registerAs registers a as user and returns the techs the hub then holds pending.
func registerAs(t *testing.T, ctx context.Context, h *hubtest.Harness, a *vm.App, user string) []wire.Tech {
	t.Helper()
	if err := a.Register(ctx, registration(h, user)); err != nil {
		t.Fatal(err)
	}
	techs, err := h.Owner.Techs(ctx, wire.TechPending)
	if err != nil {
		t.Fatal(err)
	}
	return techs
}

// activate registers a as user, the first tech pending, has the owner approve it and enrols its authenticator
// (approveEnrol). It returns the authenticator's secret.
func activate(t *testing.T, ctx context.Context, h *hubtest.Harness, a *vm.App, user string) string {
	t.Helper()
	return approveEnrol(t, ctx, h, a, registerAs(t, ctx, h, a, user)[0].ID)
}

func state(a *vm.App) string { return a.Current() }

func registration(h *hubtest.Harness, user string) vm.Registration {
	return vm.Registration{Invite: h.Invite.String(), Username: user, DisplayName: "Alice Tech", Email: user + "@example.com",
		Organization: "Contoso Ltd"}
}

// TestLifecycle walks a device through register → pending → approved → credentials → live rotation →
// deactivated, against a real hub.
func TestLifecycle(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	set := vm.DefaultSettings()
	set.ClipboardClear = 150 * time.Millisecond
	e := newEnv(t, h, t.TempDir(), keyringtest.New(), set)
	a := e.app
	a.Start()
	eventually(t, 5*time.Second, "first run screen", func() bool { return state(a) == vm.StateUnregistered })
	if need, _ := a.NeedPassphrase.Get(); need {
		t.Fatal("a working keyring should not need a passphrase")
	}

	if err := a.Register(ctx, registration(h, "alice")); err != nil {
		t.Fatalf("register: %v", err)
	}
	if state(a) != vm.StatePending {
		t.Fatalf("state after register = %q", state(a))
	}
	techs, err := h.Owner.Techs(ctx, wire.TechPending)
	if err != nil || len(techs) != 1 {
		t.Fatalf("pending techs: %+v, %v", techs, err)
	}
	fp, _ := a.Fingerprint.Get()
	if fp == "" || fp != techs[0].Fingerprint || techs[0].Organization != "Contoso Ltd" || !techs[0].CoManaged {
		t.Fatalf("fingerprint %q, hub sees %+v", fp, techs[0])
	}
	if stored, _ := e.ring.Get("watchword-techclient", "device"); stored == "" {
		t.Fatal("the device key is not in the keyring")
	}

	// Approval arrives by itself through the long poll.
	approved := time.Now()
	approveEnrol(t, ctx, h, a, techs[0].ID)
	took := eventually(t, 3*time.Second, "active after approval", func() bool { return state(a) == vm.StateActive })
	t.Logf("approval shown after %v", time.Since(approved).Round(time.Millisecond))
	_ = took
	if acct, _ := a.Account.Get(); acct != "alice at Test MSP ("+hostOf(h.URL)+")" {
		t.Fatalf("account line %q", acct)
	}

	// The agent creates the account: its row appears.
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "first-Pa55word!" })
	// A full list reads the accounts and then their versions a page at a time: a list fetched while the version
	// was being confirmed can show it confirmed before the account's schedule, which the confirmation's own
	// wake-up brings a moment later.
	eventually(t, 3*time.Second, "row of the new account", func() bool {
		v := a.Visible()
		return len(v) == 1 && v[0].Confirmed && !v[0].NextRotation.IsZero()
	})
	row := a.Visible()[0]
	if row.Host != "contoso.local" || row.Account != "alice-tm" || row.Version != 1 || !row.Confirmed || row.NextRotation.IsZero() {
		t.Fatalf("row %+v", row)
	}

	pw, err := a.Reveal(row.AccountID)
	if err != nil || pw != "first-Pa55word!" {
		t.Fatalf("reveal: %q, %v", pw, err)
	}
	if err := a.CopyPassword(row.AccountID); err != nil || e.clip.Content() != "first-Pa55word!" {
		t.Fatalf("copy: %v, clipboard %q", err, e.clip.Content())
	}
	eventually(t, 3*time.Second, "clipboard cleared", func() bool { return e.clip.Content() == "" })
	eventually(t, 3*time.Second, "reveal and copy in the audit log", func() bool {
		return hasAudit(ctx, h, "credential.reveal") && hasAudit(ctx, h, "credential.copy")
	})

	// A rotation shows within a second, with a notification.
	start := time.Now()
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "second-Pa55word!" })
	eventually(t, time.Second, "rotated row", func() bool { r := a.Row(row.AccountID); return r != nil && r.Version == 2 })
	t.Logf("rotation shown %v after the agent started", time.Since(start).Round(time.Millisecond))
	if pw, err := a.Reveal(row.AccountID); err != nil || pw != "second-Pa55word!" {
		t.Fatalf("reveal after rotation: %q, %v", pw, err)
	}
	eventually(t, time.Second, "notification", func() bool {
		n := e.notes.list()
		return len(n) == 1 && n[0] == "Password changed: alice-tm on contoso.local was rotated."
	})
	if _, err := os.Stat(filepath.Join(e.dir, "credentials.json")); err != nil {
		t.Fatalf("offline cache: %v", err)
	}

	// Deactivation removes every row and the cache.
	if _, err := h.Owner.DisableTech(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "disabled", func() bool { return state(a) == vm.StateDisabled })
	if n := len(a.Visible()); n != 0 {
		t.Fatalf("%d rows after deactivation", n)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "credentials.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cache after deactivation: %v", err)
	}
	// Re-enabled: back to active, rows again.
	if _, err := h.Owner.EnableTech(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "rows after re-enable", func() bool { return state(a) == vm.StateActive && len(a.Visible()) == 1 })
}

func hostOf(u string) string { return u[len("https://"):] }

func hasAudit(ctx context.Context, h *hubtest.Harness, action string) bool {
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: action})
	return err == nil && len(ev) > 0
}

// TestEntitlementLoss: removing the tech from the only triplet removes the row.
func TestEntitlementLoss(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	e := newEnv(t, h, t.TempDir(), keyringtest.New(), vm.DefaultSettings())
	a := e.app
	firstRun(t, a)
	activate(t, ctx, h, a, "bob")
	vmtest.Rotate(t, ctx, h.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return "Pw-one-1234!" })
	vmtest.Rotate(t, ctx, h.NewAgent("web01.fabrikam.com", wire.DriverLinux), func(wire.PlanAccount) string { return "Pw-two-1234!" })
	eventually(t, 3*time.Second, "two rows", func() bool { return len(a.Visible()) == 2 })

	a.SetFilter("fabrikam")
	if v := a.Visible(); len(v) != 1 || v[0].Host != "web01.fabrikam.com" || v[0].Driver != wire.DriverLinux {
		t.Fatalf("filtered rows: %+v", v)
	}
	a.SetFilter("")

	triplets, err := h.Owner.Triplets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range triplets {
		if err := h.Owner.DeleteTriplet(ctx, tr.ID); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 3*time.Second, "rows gone with the entitlement", func() bool { return len(a.Visible()) == 0 })
	if state(a) != vm.StateActive {
		t.Fatalf("state %q: losing entitlements is not deactivation", state(a))
	}
}

// TestOffline: with the hub gone, the cached envelopes still open and a banner says since when.
func TestOffline(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	e := started(t, h, keyringtest.New(), vm.DefaultSettings())
	dir, ring := e.dir, e.ring
	activate(t, ctx, h, e.app, "carol")
	vmtest.Rotate(t, ctx, h.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return "Offline-Pa55!" })
	eventually(t, 3*time.Second, "row", func() bool { return len(e.app.Visible()) == 1 })
	e.app.Close()

	// The next start points at a hub that no longer listens: everything comes from the cache.
	raw, err := os.ReadFile(filepath.Join(dir, "device.json"))
	if err != nil {
		t.Fatal(err)
	}
	dead := deadURL(t)
	raw = []byte(replace(string(raw), h.URL, dead))
	if err := os.WriteFile(filepath.Join(dir, "device.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, h, dir, ring, vm.DefaultSettings())
	e2.app.Start()
	eventually(t, 5*time.Second, "offline banner", func() bool { b, _ := e2.app.Banner.Get(); return b != "" })
	b, _ := e2.app.Banner.Get()
	if state(e2.app) != vm.StateActive || len(e2.app.Visible()) != 1 || !contains(b, "Offline since") || !contains(b, "last synced") {
		t.Fatalf("offline: state %q, %d rows, banner %q", state(e2.app), len(e2.app.Visible()), b)
	}
	row := e2.app.Visible()[0]
	if pw, err := e2.app.Reveal(row.AccountID); err != nil || pw != "Offline-Pa55!" {
		t.Fatalf("offline reveal: %q, %v", pw, err)
	}
	if e2.app.PendingEvents() != 1 {
		t.Fatalf("the offline reveal should wait to be reported: %d queued", e2.app.PendingEvents())
	}
}

func deadURL(t *testing.T) string {
	// A port that was just free: nothing listens there.
	return "https://127.0.0.1:9"
}

func replace(s, old, new string) string { return strings.ReplaceAll(s, old, new) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
