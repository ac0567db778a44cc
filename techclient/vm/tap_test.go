package vm_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/internal/testsupport/cliptest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// TestJITTemporaryAccessPass: a window whose agent issued a Temporary Access Pass shows it on the account's row
// ("valid until …"), reveals and copies it like the password, never as the password, and forgets it when the
// window ends; the code is nowhere in the device's directory.
func TestJITTemporaryAccessPass(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	clock := &hubtest.Clock{}
	test.NewTempApp(t)
	e := &env{h: h, dir: t.TempDir(), clip: &cliptest.Memory{}, notes: &notes{}, set: vm.DefaultSettings()}
	e.set.LockAfter = 0
	e.app = vm.New(vm.Options{Dir: e.dir, Keyring: keyringtest.New(), Clipboard: e.clip, Notify: e.notes.add, Now: clock.Now,
		Settings: func() vm.Settings { return e.set }, Do: func(f func()) { f() },
		Wait: 2 * time.Second, Retry: 50 * time.Millisecond, Tick: 50 * time.Millisecond, Poll: 100 * time.Millisecond})
	t.Cleanup(e.app.Close)
	a := e.app
	jitTriplet(t, h, 2*time.Hour, false)
	firstRun(t, a)
	activate(t, ctx, h, a, "alice")
	agent := h.NewAgent("contoso.onmicrosoft.com", wire.DriverAD)
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "recovery-only-1!" })
	eventually(t, 3*time.Second, "the JIT row", func() bool { v := a.Visible(); return len(v) == 1 && v[0].JIT })
	row := a.Visible()[0]
	if row.HasTAP(a.Now()) || row.TAPText(a.Now()) != "" {
		t.Fatal("a pass before any window")
	}
	if _, err := a.RevealTAP(row.AccountID); !errors.Is(err, vm.ErrNoTAP) {
		t.Fatalf("reveal a pass that is not there: %v", err)
	}
	if err := a.RequestAccess(ctx, row.AccountID, time.Hour, "ticket 7: licences"); err != nil {
		t.Fatal(err)
	}
	plan := vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "jit-Pa55word!" })
	eventually(t, 3*time.Second, "active", func() bool { return a.Row(row.AccountID).JITState(a.Now()) == vm.JITActive })

	const code = "TAP-Code-8817"
	pa := plan.Accounts[0]
	tapAcc := wire.PlanAccount{AccountID: pa.AccountID, AccountName: wire.TAPAccount(pa.AccountName), Recipients: pa.Recipients}
	env := hubtest.Seal(t, plan, tapAcc, pa.JIT.GrantID, code)
	expires := pa.JIT.ExpiresAt
	if err := agent.StoreJITTAP(ctx, wire.JITTAPRequest{GrantID: pa.JIT.GrantID, AccountID: pa.AccountID, Envelope: env,
		Signature: agent.SignEnvelope(plan, tapAcc, pa.JIT.GrantID, env), ExpiresAt: expires}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "the pass on the row", func() bool { return a.Row(row.AccountID).HasTAP(a.Now()) })
	r := a.Row(row.AccountID)
	if s := r.TAPText(a.Now()); !strings.HasPrefix(s, "Temporary Access Pass, valid until ") || !strings.HasSuffix(s, expires.Local().Format("15:04")) {
		t.Fatalf("pass text %q", r.TAPText(a.Now()))
	}
	if got, err := a.RevealTAP(row.AccountID); err != nil || got != code {
		t.Fatalf("reveal the pass: %q %v", got, err)
	}
	if pw, err := a.Reveal(row.AccountID); err != nil || pw != "jit-Pa55word!" {
		t.Fatalf("the password beside the pass: %q %v", pw, err)
	}
	if err := a.CopyTAP(row.AccountID); err != nil || e.clip.Content() != code {
		t.Fatalf("copy the pass: %v", err)
	}
	// Nothing on disk holds the code (the device caches its list sealed).
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(code)) {
			t.Errorf("%s holds the pass", p)
		}
		return nil
	})

	// Past the window's end there is no pass to show.
	clock.Advance(time.Hour + time.Second)
	if r := a.Row(row.AccountID); r.HasTAP(a.Now()) || r.TAPText(a.Now()) != "" {
		t.Fatal("the pass outlives the window")
	}
	if err := a.CopyTAP(row.AccountID); !errors.Is(err, vm.ErrNoTAP) {
		t.Fatalf("copy after the window: %v", err)
	}
}

// TestTAPEventsSignedByTheDevice: revealing and copying a window's Temporary Access Pass are reported like a
// password's: kinds tap-reveal and tap-copy with the grant as the version, signed by the device over exactly that,
// and audited by the hub with the signature; the code itself is in no event and no audit record.
func TestTAPEventsSignedByTheDevice(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	e, s, clock := notingEnv(t, h)
	a := e.app
	jitTriplet(t, h, 2*time.Hour, false)
	firstRun(t, a)
	activate(t, ctx, h, a, "alice")
	agent := h.NewAgent("contoso.onmicrosoft.com", wire.DriverAD)
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "recovery-only-1!" })
	eventually(t, 3*time.Second, "the JIT row", func() bool { v := a.Visible(); return len(v) == 1 && v[0].JIT })
	row := a.Visible()[0]
	if err := a.RequestAccess(ctx, row.AccountID, time.Hour, "ticket 7: licences"); err != nil {
		t.Fatal(err)
	}
	plan := vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "jit-Pa55word!" })
	eventually(t, 3*time.Second, "active", func() bool { return a.Row(row.AccountID).JITState(a.Now()) == vm.JITActive })
	const code = "TAP-Code-8817"
	pa := plan.Accounts[0]
	tapAcc := wire.PlanAccount{AccountID: pa.AccountID, AccountName: wire.TAPAccount(pa.AccountName), Recipients: pa.Recipients}
	env := hubtest.Seal(t, plan, tapAcc, pa.JIT.GrantID, code)
	if err := agent.StoreJITTAP(ctx, wire.JITTAPRequest{GrantID: pa.JIT.GrantID, AccountID: pa.AccountID, Envelope: env,
		Signature: agent.SignEnvelope(plan, tapAcc, pa.JIT.GrantID, env), ExpiresAt: pa.JIT.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "the pass on the row", func() bool { return a.Row(row.AccountID).HasTAP(a.Now()) })
	s.mu.Lock()
	s.events = nil
	s.mu.Unlock()

	before := clock.Now().Truncate(time.Second)
	if got, err := a.RevealTAP(row.AccountID); err != nil || got != code {
		t.Fatalf("reveal the pass: %q %v", got, err)
	}
	if err := a.CopyTAP(row.AccountID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "both events sent", func() bool {
		return a.PendingEvents() == 0 && hasAudit(ctx, h, "credential.tap-copy")
	})
	key, tech := deviceKey(t, h)
	s.mu.Lock()
	evs := append([]wire.EventRequest(nil), s.events...)
	s.mu.Unlock()
	if len(evs) != 2 || evs[0].Kind != wire.EventTAPReveal || evs[1].Kind != wire.EventTAPCopy {
		t.Fatalf("sent %+v", evs)
	}
	for _, ev := range evs {
		if ev.AccountID != row.AccountID || ev.Version != pa.JIT.GrantID {
			t.Errorf("%s names account %d version %d, want account %d and grant %d", ev.Kind, ev.AccountID, ev.Version, row.AccountID, pa.JIT.GrantID)
		}
		if ev.SignedAt.Before(before) || ev.SignedAt.After(clock.Now()) {
			t.Errorf("%s signed at %v, the device's clock was at %v", ev.Kind, ev.SignedAt, before)
		}
		if err := authority.VerifyTechEvent(key.AuthKey(), authority.TechEventOf(h.GUID, tech, ev), ev.Signature); err != nil {
			t.Errorf("%s: %v", ev.Kind, err)
		}
		audit, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "credential." + ev.Kind})
		if err != nil || len(audit) != 1 || !strings.Contains(audit[0].Detail, fmt.Sprintf("grant=%d ", pa.JIT.GrantID)) ||
			!strings.Contains(audit[0].Detail, "devsig="+base64.StdEncoding.EncodeToString(ev.Signature)) {
			t.Errorf("audited %s: %v %+v", ev.Kind, err, audit)
		}
		if strings.Contains(audit[0].Detail, code) {
			t.Errorf("the audit of %s holds the pass", ev.Kind)
		}
	}
	// The password's reveal beside it is still its own event.
	if _, err := a.Reveal(row.AccountID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the password's reveal", func() bool { return a.PendingEvents() == 0 && hasAudit(ctx, h, "credential.reveal") })
}
