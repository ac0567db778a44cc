package vm_test

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestInvitesCarryTheHubsPublicURLs: a hub that names its public URLs (its replicas) gets them into the invite the
// Console shows techs and into the agents' enrolment command, in its order, in place of the address the Console
// itself uses; a hub that names none leaves the Console's own.
func TestInvitesCarryTheHubsPublicURLs(t *testing.T) {
	test.NewTempApp(t)
	ctx := testCtx(t)
	public := []string{"https://hub1.msp.example:8443", "https://hub2.msp.example:8443"}
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.PublicURLs = public }))
	a := vm.New()
	a.Connect(h.Owner, h.Invite, "test hub")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	inv := a.TechInvite()
	if strings.Join(inv.URLs(), " ") != strings.Join(public, " ") || inv.ClientGUID != h.GUID || inv.HubPin != h.Invite.HubPin {
		t.Fatalf("tech invite %+v, want the hub's public URLs %q", inv, public)
	}
	if parsed, err := wire.ParseInvite(inv.String()); err != nil || parsed != inv {
		t.Fatalf("the invite as a technician pastes it: %+v, %v", parsed, err)
	}
	en, err := a.NewEnrollment(ctx, "litware.local", wire.DriverAD, time.Hour, false)
	if err != nil || !strings.Contains(en.Command, "'"+inv.String()+"'") {
		t.Fatalf("enrolment command %q (%v) lacks the invite with both URLs", en.Command, err)
	}

	plain := hubtest.New(t)
	b := vm.New()
	b.Connect(plain.Owner, plain.Invite, "plain hub")
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.TechInvite(); got.HubURL != plain.URL || got.OtherURLs != "" {
		t.Fatalf("a hub without public URLs: invite %+v, want the Console's own %s", got, plain.URL)
	}
}
