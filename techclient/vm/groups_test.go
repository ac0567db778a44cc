package vm_test

import (
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// TestRowsSayTheGroups: a tech's row says what the account is on its target — the target groups of its rights
// for the target's kind (Domain Admins on AD, sudo on Linux) — not the right's name (AllRights).
func TestRowsSayTheGroups(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	e := newEnv(t, h, t.TempDir(), keyringtest.New(), vm.DefaultSettings())
	a := e.app
	a.Start()
	eventually(t, 5*time.Second, "first run screen", func() bool { return state(a) == vm.StateUnregistered })
	if err := a.Register(ctx, registration(h, "alice")); err != nil {
		t.Fatal(err)
	}
	techs, err := h.Owner.Techs(ctx, wire.TechPending)
	if err != nil || len(techs) != 1 {
		t.Fatalf("pending techs: %+v, %v", techs, err)
	}
	approveEnrol(t, ctx, h, a, techs[0].ID)
	eventually(t, 3*time.Second, "active", func() bool { return state(a) == vm.StateActive })
	for _, g := range []struct{ name, driver, groups string }{{"contoso.local", wire.DriverAD, "Domain Admins"}, {"web1", wire.DriverLinux, "sudo"}} {
		agent := h.NewAgent(g.name, g.driver)
		vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "first-Pa55word!" })
		var row *vm.Row
		eventually(t, 3*time.Second, "the row on "+g.name, func() bool {
			for _, r := range a.Visible() {
				if r.Host == g.name && r.Confirmed {
					row = r
					return true
				}
			}
			return false
		})
		if row.AccessText() != g.groups || len(row.Rights) != 1 || row.Rights[0] != wire.AllRights {
			t.Fatalf("row on %s: groups %q, rights %v", g.name, row.AccessText(), row.Rights)
		}
	}
}
