package vm_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// TestNoSecretsAtRest is DESIGN invariant 2 and the TechClient's part of the secrets-hygiene check: after a
// device registers, receives rotated passwords, reveals and copies them, goes offline and queues events, nothing
// under its data directory (device file, sealed cache, event queue) holds a password in plaintext or the device's
// private key, which lives in the keyring alone.
func TestNoSecretsAtRest(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	e := started(t, h, keyringtest.New(), vm.DefaultSettings())
	dir, ring := e.dir, e.ring
	activate(t, ctx, h, e.app, "dana")
	passwords := []string{"AtRest-First-Pa55!", "AtRest-Second-Pa55!"}
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	for i, pw := range passwords {
		vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return pw })
		// Waiting on the row rather than revealing until the password changes: every reveal is an audited,
		// signed event, and thousands of them would only slow a loaded machine down.
		eventually(t, 10*time.Second, "the new version", func() bool {
			rows := e.app.Visible()
			return len(rows) == 1 && rows[0].Version == int64(i+1) && rows[0].Confirmed
		})
		if got, err := e.app.Reveal(e.app.Visible()[0].AccountID); err != nil || got != pw {
			t.Fatalf("reveal of version %d: %v", i+1, err)
		}
		if err := e.app.CopyPassword(e.app.Visible()[0].AccountID); err != nil {
			t.Fatal(err)
		}
	}
	e.app.Close()

	keys := ring.Secrets()
	if len(keys) == 0 {
		t.Fatal("the device key is not in the keyring: the check below would prove nothing")
	}
	secrets := append(append([]string(nil), passwords...), keys...)
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds secret #%d in plaintext", path, i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("the device wrote nothing: no device file, no cache")
	}
}
