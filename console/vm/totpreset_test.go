package vm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// TestResetAuthenticator: the Console resets an enrolled tech's authenticator; the refreshed state says 2FA is
// required and not enrolled, a second reset is refused, the confirmation says what happens, and the hub's audit
// log names the admin.
func TestResetAuthenticator(t *testing.T) {
	a, h, w := world(t)
	ctx := testCtx(t)
	id := w.Techs[demo.TOTPTech]
	if s, _ := a.TechSecurity(id); !s.Enrolled {
		t.Fatalf("%s before the reset: %+v", demo.TOTPTech, s)
	}
	if err := a.ResetTOTP(ctx, id); err != nil {
		t.Fatal(err)
	}
	s, ok := a.TechSecurity(id)
	if !ok || s.Enrolled || vm.TwoFactorText(s, time.Now()) != "required, not enrolled" {
		t.Fatalf("after the reset: %+v (%q)", s, vm.TwoFactorText(s, time.Now()))
	}
	if n, _ := a.Notice.Get(); !strings.Contains(n, "reset the authenticator of "+demo.TOTPTech+": done") {
		t.Fatalf("notice %q", n)
	}
	if err := a.ResetTOTP(ctx, id); !errors.Is(err, hubclient.ErrConflict) {
		t.Fatalf("resetting twice: %v", err)
	}
	warn := vm.ResetTOTPWarning(demo.TOTPTech)
	for _, want := range []string{"enrol a new authenticator", "session ends", "audit log"} {
		if !strings.Contains(warn, want) {
			t.Errorf("the reset confirmation does not say %q: %q", want, warn)
		}
	}
	evs, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "tech.totp-reset"})
	if err != nil || len(evs) != 1 || evs[0].ActorKind != "admin" || !strings.Contains(evs[0].Detail, "role=Owner") {
		t.Fatalf("audit of the reset: %+v, %v", evs, err)
	}
}
