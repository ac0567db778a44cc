package vm_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// started returns an env on the first-run screen.
func TestRegistrationErrors(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	taken := h.NewTech("alice")
	_ = taken

	fields := func(inv wire.Invite) vm.Registration {
		return vm.Registration{HubURL: inv.HubURL, ClientGUID: inv.ClientGUID, HubPin: inv.HubPin, Username: "bob", Email: "bob@example.com"}
	}
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "https://" + addr
	}()
	otherPin := h.NewIdentity().Public().ID()

	cases := []struct {
		name string
		reg  vm.Registration
		want error
		text string
	}{
		{"wrong GUID", func() vm.Registration {
			r := fields(h.Invite)
			r.ClientGUID = "00000000-0000-4000-8000-000000000000"
			return r
		}(), vm.ErrUnknownClient, "does not know this client GUID"},
		{"unreachable hub", func() vm.Registration { r := fields(h.Invite); r.HubURL = closed; return r }(), vm.ErrUnreachable, "cannot be reached"},
		{"fingerprint mismatch", func() vm.Registration { r := fields(h.Invite); r.HubPin = otherPin; return r }(), vm.ErrPinMismatch, "fingerprint does not match"},
		{"taken username", func() vm.Registration { r := fields(h.Invite); r.Username = "alice"; return r }(), vm.ErrUsernameTaken, "username is taken"},
		{"bad fields", vm.Registration{HubURL: "http://x", ClientGUID: "nope", Username: "Bob!", Email: "bob"}, nil, "Hub address"},
		{"bad invite", vm.Registration{Invite: "hello", Username: "bob", Email: "bob@example.com"}, nil, "not a Watchword invite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := started(t, h, keyringtest.New(), vm.DefaultSettings())
			err := e.app.Register(ctx, c.reg)
			if err == nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("register: %v, want %v", err, c.want)
			}
			shown, _ := e.app.Error.Get()
			if !strings.Contains(shown, c.text) {
				t.Fatalf("error shown %q, want it to say %q", shown, c.text)
			}
			if state(e.app) != vm.StateUnregistered {
				t.Fatalf("state %q after a failed registration", state(e.app))
			}
			t.Logf("shown: %s", shown)
		})
	}
	t.Run("every bad field at once", func(t *testing.T) {
		e := started(t, h, keyringtest.New(), vm.DefaultSettings())
		_ = e.app.Register(ctx, vm.Registration{HubURL: "http://x", ClientGUID: "nope", Username: "Bob!", Email: "bob"})
		shown, _ := e.app.Error.Get()
		for _, f := range []string{"Hub address", "Client GUID", "Username", "Email"} {
			if !strings.Contains(shown, f) {
				t.Errorf("%q missing from %q", f, shown)
			}
		}
	})
}

// TestPassphraseFallback: with no keyring the key is sealed with a passphrase; locking forgets it, a wrong
// passphrase is refused, the right one resumes.
func TestPassphraseFallback(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	set := vm.DefaultSettings()
	set.LockAfter = 300 * time.Millisecond
	e := started(t, h, keystore.NoKeyring, set)
	a := e.app
	if need, _ := a.NeedPassphrase.Get(); !need {
		t.Fatal("no keyring: the form must ask for a passphrase")
	}
	if why, _ := a.KeyStorage.Get(); !strings.Contains(why, "sealed with your passphrase") {
		t.Fatalf("explanation %q", why)
	}
	reg := registration(h, "dave")
	reg.Passphrase, reg.Confirm = "correct horse battery", "correct horse battery!"
	if err := a.Register(ctx, reg); err == nil {
		t.Fatal("mismatched passphrases accepted")
	}
	reg.Confirm = reg.Passphrase
	if err := a.Register(ctx, reg); err != nil {
		t.Fatal(err)
	}
	techs, _ := h.Owner.Techs(ctx, wire.TechPending)
	approveEnrol(t, ctx, h, a, techs[0].ID)
	eventually(t, 3*time.Second, "active", func() bool { return state(a) == vm.StateActive })

	// Idle: the app locks itself.
	eventually(t, 3*time.Second, "idle lock", func() bool { return state(a) == vm.StateLocked })
	vmtest.Rotate(t, ctx, h.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return "Locked-Pa55!" })
	if err := a.Unlock("wrong passphrase"); !errors.Is(err, vm.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if state(a) != vm.StateLocked {
		t.Fatalf("state %q after a wrong passphrase", state(a))
	}
	if err := a.Unlock(reg.Passphrase); err != nil {
		t.Fatal(err)
	}
	// Resumes following the hub: the account created while locked shows.
	eventually(t, 3*time.Second, "row after unlock", func() bool { v := a.Visible(); return len(v) == 1 && v[0].Confirmed })
	if pw, err := a.Reveal(a.Visible()[0].AccountID); err != nil || pw != "Locked-Pa55!" {
		t.Fatalf("reveal: %q, %v", pw, err)
	}
	a.Lock()
	if _, err := a.Reveal(a.Visible()[0].AccountID); !errors.Is(err, vm.ErrLocked) {
		t.Fatalf("reveal while locked: %v", err)
	}

	// A restart finds the key in the file: locked until the passphrase is given.
	a.Close()
	e2 := newEnv(t, h, e.dir, keystore.NoKeyring, vm.DefaultSettings())
	e2.app.Start()
	eventually(t, 5*time.Second, "locked after restart", func() bool { return state(e2.app) == vm.StateLocked })
	if err := e2.app.Unlock(reg.Passphrase); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "active after restart", func() bool { return state(e2.app) == vm.StateActive && len(e2.app.Visible()) == 1 })
}

// TestClipboardAutoClear: cleared when it still holds the password, left alone when the user copied something
// else, and a second copy restarts the delay.
func TestClipboardAutoClear(t *testing.T) {
	set := vm.DefaultSettings()
	set.ClipboardClear = 200 * time.Millisecond
	h, e, id := oneAccount(t, set, "erin", "Clip-Pa55word!")
	a := e.app

	// Unchanged: cleared after the delay, not before.
	copied := time.Now()
	if err := a.CopyPassword(id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := e.clip.Content(); got != "Clip-Pa55word!" {
		t.Fatalf("clipboard before the delay: %q", got)
	}
	eventually(t, 2*time.Second, "cleared", func() bool { return e.clip.Content() == "" })
	if d := time.Since(copied); d < 200*time.Millisecond {
		t.Fatalf("cleared after %v, before the delay", d)
	}

	// The user copied something else: left alone.
	if err := a.CopyPassword(id); err != nil {
		t.Fatal(err)
	}
	e.clip.SetContent("meeting notes")
	time.Sleep(400 * time.Millisecond)
	if got := e.clip.Content(); got != "meeting notes" {
		t.Fatalf("the user's own clipboard was touched: %q", got)
	}

	// Copying the username is not a secret: it stays.
	if err := a.CopyUsername(id); err != nil || e.clip.Content() != "erin-tm" {
		t.Fatalf("copy username: %v, %q", err, e.clip.Content())
	}
	time.Sleep(400 * time.Millisecond)
	if e.clip.Content() != "erin-tm" {
		t.Fatal("username cleared")
	}
	// Two copies were reported.
	eventually(t, 3*time.Second, "copies audited", func() bool {
		ev, err := h.Owner.Audit(context.Background(), wire.AuditQuery{Action: "credential.copy"})
		return err == nil && len(ev) == 2
	})
}

// TestRevealHidesAgain: a revealed password is hidden after the delay.
func TestRevealHidesAgain(t *testing.T) {
	set := vm.DefaultSettings()
	set.RevealFor = 150 * time.Millisecond
	_, e, id := oneAccount(t, set, "finn", "Hide-Pa55word!")
	a := e.app
	if _, err := a.Reveal(id); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Revealed.Get(); int64(v) != id {
		t.Fatalf("revealed = %d", v)
	}
	eventually(t, 2*time.Second, "hidden again", func() bool { v, _ := a.Revealed.Get(); return v == 0 })
}

// oneAccount starts an app with set against a new hub, activates user there and rotates one account on
// contoso.local to password; it returns once that account's row is confirmed, with the account's ID.
func oneAccount(t *testing.T, set vm.Settings, user, password string) (*hubtest.Harness, *env, int64) {
	t.Helper()
	ctx := ctxT(t)
	h := hubtest.New(t)
	e := started(t, h, keyringtest.New(), set)
	activate(t, ctx, h, e.app, user)
	vmtest.Rotate(t, ctx, h.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return password })
	eventually(t, 3*time.Second, "row", func() bool { v := e.app.Visible(); return len(v) == 1 && v[0].Confirmed })
	return h, e, e.app.Visible()[0].AccountID
}

func TestFormatting(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct{ got, want string }{
		{vm.Until(now, now.Add(3*24*time.Hour+4*time.Hour)), "in 3 d 4 h"},
		{vm.Until(now, now.Add(5*time.Hour+12*time.Minute)), "in 5 h 12 min"},
		{vm.Until(now, now.Add(4*time.Minute+59*time.Second)), "in 4:59"},
		{vm.Until(now, now.Add(-time.Second)), "due now"},
		{vm.Countdown(now, now.Add(23*time.Hour+59*time.Minute+7*time.Second)), "23:59:07"},
		{vm.Countdown(now, now.Add(50*time.Hour)), "2 d 02:00:00"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

var _ = context.Background
