package vm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// An owner's Console invites an API identity with an expiry and sources; the script's key claims it, the Console
// approves and later revokes it, and the admins list tells it from a person's admin.
func TestAPIIdentityFromTheConsole(t *testing.T) {
	owner, h, _ := world(t)
	ctx := testCtx(t)
	exp, srcs, err := vm.ParseAPILimits("2099-03-31", "10.0.0.0/8, 192.0.2.7")
	if err != nil || !exp.Equal(time.Date(2099, 3, 31, 0, 0, 0, 0, time.UTC)) || strings.Join(srcs, " ") != "10.0.0.0/8 192.0.2.7" {
		t.Fatalf("limits: %v %v %v", exp, srcs, err)
	}
	if _, _, err := vm.ParseAPILimits("next tuesday", ""); err == nil {
		t.Fatal("a bad expiry parsed")
	}
	tok, err := owner.InviteAPIIdentity(ctx, wire.RoleAuditor, "", exp, srcs)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.Client(h.NewIdentity()).Claim(ctx, tok.Token, "rmm-sync")
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.ApproveAdmin(ctx, resp.Admin.ID); err != nil {
		t.Fatal(err)
	}
	as, err := h.Owner.Admins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got *wire.Admin
	for i := range as {
		if as[i].ID == resp.Admin.ID {
			got = &as[i]
		} else if line := vm.APIIdentityLine(as[i], h.Clock.Now()); line != "" {
			t.Errorf("a person's admin %q reads as %q", as[i].Name, line)
		}
	}
	if got == nil || got.Status != wire.AdminActive {
		t.Fatalf("approved API identity: %+v", got)
	}
	if line := vm.APIIdentityLine(*got, h.Clock.Now()); line != "API identity · expires 2099-03-31 · from 10.0.0.0/8, 192.0.2.7/32" {
		t.Errorf("line: %q", line)
	}
	if line := vm.APIIdentityLine(*got, exp.Add(time.Second)); !strings.Contains(line, "expired 2099-03-31") {
		t.Errorf("line after expiry: %q", line)
	}
	if err := owner.RemoveAdmin(ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	as, err = h.Owner.Admins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.ID == got.ID {
			t.Fatalf("revoked API identity still listed: %+v", a)
		}
	}
}
