package vm_test

import (
	"bytes"
	"errors"
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
