package vm_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// A full registration queue is said on the Console, with the limit and the refusals; with room, nothing is.
func TestRegistrationQueueNotice(t *testing.T) {
	test.NewTempApp(t)
	ctx := testCtx(t)
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.MaxPendingTechs = 5 }))
	a := vm.New()
	a.Connect(h.Owner, h.Invite, "test hub")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := a.Snapshot().RegistrationNotice(); n != "" {
		t.Fatalf("an empty queue has a notice: %q", n)
	}
	for _, u := range []string{"qa", "qb", "qc", "qd"} {
		h.NewTech(u)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := a.Snapshot().RegistrationNotice(); !strings.Contains(n, "4 of at most 5") {
		t.Fatalf("a nearly full queue: notice %q", n)
	}
	h.NewTech("qe")
	c := h.Client(h.NewIdentity())
	if _, err := c.Register(ctx, wire.RegisterRequest{Username: "qf", DisplayName: "qf", Email: "qf@example.com"}); err == nil {
		t.Fatal("a registration beyond the limit was accepted")
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	n := a.Snapshot().RegistrationNotice()
	if !strings.Contains(n, "queue is full: 5 pending of at most 5") || !strings.Contains(n, "1 registrations were refused") {
		t.Fatalf("a full queue: notice %q", n)
	}
}
