package vm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// TestHubReplicaFailover: a device registers with an invite that names two addresses of one hub (a replica
// first), keeps both in its device file, and goes on through the second when the replica dies: the next rotation
// shows and opens.
func TestHubReplicaFailover(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	rep := h.Replica()
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	h.Invite = h.Invite.WithURLs(rep.URL, h.URL) // what the device is given; the owner and the agent keep theirs
	e := started(t, h, keyringtest.New(), vm.DefaultSettings())
	activate(t, ctx, h, e.app, "carol")
	raw, err := os.ReadFile(filepath.Join(e.dir, "device.json"))
	if err != nil || !strings.Contains(string(raw), rep.URL) || !strings.Contains(string(raw), h.URL) {
		t.Fatalf("the device file keeps both addresses: %v\n%s", err, raw)
	}

	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "First-Pa55!" })
	eventually(t, 10*time.Second, "carol's row", func() bool { return len(e.app.Visible()) == 1 })
	row := e.app.Visible()[0]
	rep.Kill()
	vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "Second-Pa55!" })
	eventually(t, 15*time.Second, "the new password through the other address", func() bool {
		pw, err := e.app.Reveal(row.AccountID)
		return err == nil && pw == "Second-Pa55!"
	})
}
