package vm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// code is the authenticator app's code for secret at the hub's time.
func code(t *testing.T, h *hubtest.Harness, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrong is a code that is not secret's at the hub's time (nor the next or previous step's).
func wrong(t *testing.T, h *hubtest.Harness, secret string) string {
	t.Helper()
	bad := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, _ := totp.GenerateCode(secret, h.Clock.Now().Add(d))
		bad[c] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", i)
		if !bad[c] {
			return c
		}
	}
}

// enrol waits for the enrol screen of a, checks what it shows and confirms with the right code. It returns the
// secret, as a technician's authenticator app keeps it.
func enrol(t *testing.T, ctx context.Context, h *hubtest.Harness, a *vm.App) string {
	t.Helper()
	eventually(t, 5*time.Second, "enrol screen", func() bool { return state(a) == vm.StateEnrol })
	secret, _ := a.TOTPSecret.Get()
	uri, _ := a.TOTPURI.Get()
	if secret == "" || !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("enrol screen shows a secret: %t, uri %q", secret != "", uri)
	}
	if err := a.SubmitCode(ctx, code(t, h, secret)); err != nil {
		t.Fatalf("confirm enrolment: %v", err)
	}
	eventually(t, 5*time.Second, "active after enrolment", func() bool { return state(a) == vm.StateActive })
	if s, _ := a.TOTPSecret.Get(); s != "" {
		t.Fatal("the secret is still held after enrolment")
	}
	if s, _ := a.TOTPURI.Get(); s != "" {
		t.Fatal("the otpauth link is still held after enrolment")
	}
	return secret
}

// approveEnrol approves tech id and enrols a's authenticator (a co-managed tech must). It returns the secret.
func approveEnrol(t *testing.T, ctx context.Context, h *hubtest.Harness, a *vm.App, id int64) string {
	t.Helper()
	if _, err := h.ApproveCoManaged(ctx, id); err != nil {
		t.Fatal(err)
	}
	return enrol(t, ctx, h, a)
}

// noneHolds fails when any file under dir holds one of secrets.
func noneHolds(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	// The device may be writing its cache meanwhile (a temporary file renamed into place): a file that vanishes
	// between the listing and the read means another look, at the files as they are then.
	for range 5 {
		n, vanished := 0, false
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				vanished = true
				return nil
			}
			if err != nil {
				return err
			}
			n++
			for _, s := range secrets {
				if bytes.Contains(raw, []byte(s)) {
					t.Errorf("%s holds a secret", p)
				}
			}
			return nil
		})
		if vanished {
			continue
		}
		if err != nil || n == 0 {
			t.Fatalf("walk %s: %d files, %v", dir, n, err)
		}
		return
	}
	t.Fatalf("walk %s: files kept vanishing", dir)
}

// TestTwoFactor: with enforcement on, a co-managed tech enrols after approval (QR link and secret on screen,
// first code confirms), sees credentials, keeps the session across a restart, is asked for a code when the session
// has expired, gets clear errors for wrong codes, is locked out after the policy's attempts and comes back when
// the MSP unlocks. The secret is on no disk and in no log.
func TestTwoFactor(t *testing.T) {
	ctx := ctxT(t)
	h := vmtest.TwoFactorHub(t)
	e := started(t, h, keyringtest.New(), vm.DefaultSettings())
	a, dir, ring := e.app, e.dir, e.ring
	techs := registerAs(t, ctx, h, a, "erin")
	if len(techs) != 1 || !techs[0].CoManaged {
		t.Fatalf("pending techs %+v", techs)
	}
	if _, err := h.ApproveCoManaged(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	vmtest.Rotate(t, ctx, h.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return "TwoFactor-Pa55!" })
	eventually(t, 5*time.Second, "enrol screen", func() bool { return state(a) == vm.StateEnrol })
	if n := len(a.Visible()); n != 0 {
		t.Fatalf("%d rows before the second factor", n)
	}
	secret, _ := a.TOTPSecret.Get()

	// A wrong code: refused, the error says so and how many attempts are left; the screen stays.
	err := a.SubmitCode(ctx, wrong(t, h, secret))
	if !errors.Is(err, vm.ErrWrongCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if msg, _ := a.Error.Get(); !strings.Contains(msg, "Wrong or reused code") || !strings.Contains(msg, "4 attempts left") {
		t.Fatalf("error shown %q", msg)
	}
	if err := a.SubmitCode(ctx, "12ab"); err == nil || !strings.Contains(vm.Explain(err), "Code: enter the 6 digits") {
		t.Fatalf("malformed code: %v", err)
	}
	if s, _ := a.TOTPSecret.Get(); s != secret || state(a) != vm.StateEnrol {
		t.Fatal("a wrong code must keep the same secret on the enrol screen")
	}
	enrol(t, ctx, h, a)
	eventually(t, 5*time.Second, "row after enrolment", func() bool { return len(a.Visible()) == 1 })
	if pw, err := a.Reveal(a.Visible()[0].AccountID); err != nil || pw != "TwoFactor-Pa55!" {
		t.Fatalf("reveal: %q, %v", pw, err)
	}
	a.Close()
	noneHolds(t, dir, secret)
	if bytes.Contains(h.Logs.Bytes(), []byte(secret)) {
		t.Fatal("the hub's log holds the TOTP secret")
	}

	// A restart within the session: no code asked.
	e2 := newEnv(t, h, dir, ring, vm.DefaultSettings())
	e2.app.Start()
	eventually(t, 5*time.Second, "active without a code", func() bool { return state(e2.app) == vm.StateActive && len(e2.app.Visible()) == 1 })
	e2.app.Close()

	// After the session (12 h) a start asks for a code.
	h.Clock.Advance(13 * time.Hour)
	e3 := newEnv(t, h, dir, ring, vm.DefaultSettings())
	a = e3.app
	a.Start()
	eventually(t, 5*time.Second, "code screen", func() bool { return state(a) == vm.StateCode })
	if s, _ := a.TOTPSecret.Get(); s != "" {
		t.Fatal("the code screen must not hold a secret")
	}
	if err := a.SubmitCode(ctx, code(t, h, secret)); err != nil {
		t.Fatalf("code: %v", err)
	}
	eventually(t, 5*time.Second, "active after the code", func() bool { return state(a) == vm.StateActive && len(a.Visible()) == 1 })

	// Lockout: five wrong codes in a row (the policy's default).
	h.Clock.Advance(13 * time.Hour)
	a.Lock()
	if err := a.Unlock(""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "code screen again", func() bool { return state(a) == vm.StateCode })
	for i := 1; i <= 5; i++ {
		err := a.SubmitCode(ctx, wrong(t, h, secret))
		if i < 5 && !errors.Is(err, vm.ErrWrongCode) || i == 5 && !errors.Is(err, vm.ErrLockedOut) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if state(a) != vm.StateLockedOut {
		t.Fatalf("state %q after five wrong codes", state(a))
	}
	if msg, _ := a.Error.Get(); !strings.Contains(msg, "ask your MSP to unlock") {
		t.Fatalf("lockout error %q", msg)
	}
	if h, _ := a.Headline.Get(); !strings.Contains(h, "ask your MSP to unlock") {
		t.Fatalf("lockout headline %q", h)
	}
	if err := a.SubmitCode(ctx, code(t, h, secret)); !errors.Is(err, vm.ErrLockedOut) {
		t.Fatalf("a right code while locked: %v", err)
	}
	if _, err := h.Owner.UnlockTech(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "code screen after unlock", func() bool { return state(a) == vm.StateCode })
	h.Clock.Advance(31 * time.Second) // the last accepted code is not good twice
	if err := a.SubmitCode(ctx, code(t, h, secret)); err != nil {
		t.Fatalf("code after unlock: %v", err)
	}
	eventually(t, 5*time.Second, "active after unlock", func() bool { return state(a) == vm.StateActive && len(a.Visible()) == 1 })
}

// TestUnlockFailuresReported: failed passphrase unlocks are reported to the hub at the next good unlock; a few
// are forgiven by the success, as many as the policy's limit lock the tech out.
func TestUnlockFailuresReported(t *testing.T) {
	ctx := ctxT(t)
	h := vmtest.TwoFactorHub(t)
	e := started(t, h, keystore.NoKeyring, vm.DefaultSettings())
	a := e.app
	reg := registration(h, "fred")
	reg.Passphrase, reg.Confirm = "correct horse battery", "correct horse battery"
	if err := a.Register(ctx, reg); err != nil {
		t.Fatal(err)
	}
	techs, _ := h.Owner.Techs(ctx, wire.TechPending)
	if _, err := h.ApproveCoManaged(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	enrol(t, ctx, h, a)
	security := func() wire.TechSecurity {
		all, err := h.Owner.TechSecurities(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range all {
			if s.TechID == techs[0].ID {
				return s
			}
		}
		t.Fatal("no security state of the tech")
		return wire.TechSecurity{}
	}
	failures := func() int {
		raw, err := os.ReadFile(filepath.Join(e.dir, "device.json"))
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := bytes.Cut(raw, []byte(`"unlockFailures": `))
		if !ok {
			return 0
		}
		n, _ := strconv.Atoi(string(bytes.TrimRight(bytes.Fields(rest)[0], ",")))
		return n
	}

	// Two typos, then the right passphrase: reported, then forgiven.
	a.Lock()
	for range 2 {
		if err := a.Unlock("typo passphrase"); !errors.Is(err, vm.ErrWrongPassphrase) {
			t.Fatalf("wrong passphrase: %v", err)
		}
	}
	if n := failures(); n != 2 {
		t.Fatalf("device file counts %d failures, want 2", n)
	}
	if err := a.Unlock(reg.Passphrase); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "active", func() bool { return state(a) == vm.StateActive })
	if n := failures(); n != 0 {
		t.Fatalf("%d failures left unreported", n)
	}
	if s := security(); s.Failures != 0 || s.Locked {
		t.Fatalf("after a good unlock: %+v", s)
	}
	if !hasAudit(ctx, h, "tech.auth-failed") {
		t.Fatal("the failures were not reported")
	}

	// Five wrong passphrases before the right one: the report locks the tech out.
	a.Lock()
	for range 5 {
		_ = a.Unlock("guessed passphrase")
	}
	if err := a.Unlock(reg.Passphrase); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "locked out", func() bool { return state(a) == vm.StateLockedOut })
	if s := security(); !s.Locked || !strings.Contains(s.LockReason, "passphrase") {
		t.Fatalf("hub state %+v", s)
	}
	if n := len(a.Visible()); n != 0 {
		t.Fatalf("%d rows while locked out", n)
	}
}

// TestReplaceDevice: a second device under an existing username offers to replace the first, says that the MSP
// compares both fingerprints, waits; after approval it asks for a code from the same authenticator, and the old
// device loses access.
func TestReplaceDevice(t *testing.T) {
	ctx := ctxT(t)
	h := vmtest.TwoFactorHub(t)
	old := started(t, h, keyringtest.New(), vm.DefaultSettings())
	reg := registration(h, "gina")
	if err := old.app.Register(ctx, reg); err != nil {
		t.Fatal(err)
	}
	techs, _ := h.Owner.Techs(ctx, wire.TechPending)
	if _, err := h.ApproveCoManaged(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	secret := enrol(t, ctx, h, old.app)
	oldFP, _ := old.app.Fingerprint.Get()

	nw := started(t, h, keyringtest.New(), vm.DefaultSettings())
	a := nw.app
	if err := a.Register(ctx, reg); !errors.Is(err, vm.ErrUsernameTaken) {
		t.Fatalf("register a taken username: %v", err)
	}
	if can, _ := a.CanReplace.Get(); !can {
		t.Fatal("the form should offer to replace the previous device")
	}
	bad := reg
	bad.Email = "someone.else@example.com"
	if err := a.Replace(ctx, bad); err == nil {
		t.Fatal("a replacement with another email was accepted")
	}
	if err := a.Replace(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if state(a) != vm.StateReplacing {
		t.Fatalf("state %q after Replace", state(a))
	}
	if hl, _ := a.Headline.Get(); hl != "This replaces your previous device; your MSP compares both fingerprints." {
		t.Fatalf("headline %q", hl)
	}
	newFP, _ := a.Fingerprint.Get()
	if a.OldFingerprint() != oldFP || newFP == oldFP {
		t.Fatalf("fingerprints old %q (want %q), new %q", a.OldFingerprint(), oldFP, newFP)
	}
	rk, err := h.Owner.Rekeys(ctx, wire.RekeyPending)
	if err != nil || len(rk) != 1 || rk[0].OldFingerprint != oldFP || rk[0].Fingerprint != newFP {
		t.Fatalf("admin sees %+v, %v", rk, err)
	}
	if _, err := h.Owner.ApproveRekey(ctx, rk[0].ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "code screen on the new device", func() bool { return state(a) == vm.StateCode })
	h.Clock.Advance(31 * time.Second)
	if err := a.SubmitCode(ctx, code(t, h, secret)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "new device active", func() bool { return state(a) == vm.StateActive })
	if a.OldFingerprint() != "" {
		t.Fatal("the old fingerprint is kept after approval")
	}
	// The old device's key no longer opens anything: its next request finds it unknown.
	h.NewAgent("fabrikam.local", wire.DriverAD) // a change that wakes the old device's long poll
	eventually(t, 10*time.Second, "old device cut off", func() bool { return state(old.app) == vm.StateDisabled })
}
