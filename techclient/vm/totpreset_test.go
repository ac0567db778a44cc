package vm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// TestAuthenticatorReset: a co-managed tech enrolled an authenticator and lost the phone; the MSP resets it. At the
// next start the TechClient shows the enrol screen with a new secret (not the code screen, which would ask the
// lost phone), the old authenticator's code is refused, and enrolling the new one brings the credentials back.
func TestAuthenticatorReset(t *testing.T) {
	ctx := ctxT(t)
	h := vmtest.TwoFactorHub(t)
	e := started(t, h, keyringtest.New(), vm.DefaultSettings())
	a, dir, ring := e.app, e.dir, e.ring
	techs := registerAs(t, ctx, h, a, "gina")
	if len(techs) != 1 {
		t.Fatalf("pending techs %+v", techs)
	}
	old := approveEnrol(t, ctx, h, a, techs[0].ID)
	vmtest.Rotate(t, ctx, h.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return "Reset-Pa55word!" })
	eventually(t, 5*time.Second, "row with the first authenticator", func() bool { return len(a.Visible()) == 1 })
	a.Close()

	if _, err := h.Owner.ResetTOTP(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, h, dir, ring, vm.DefaultSettings())
	a = e2.app
	a.Start()
	eventually(t, 5*time.Second, "enrol screen after the reset", func() bool { return state(a) == vm.StateEnrol })
	if s, _ := a.TOTPSecret.Get(); s == "" || s == old {
		t.Fatalf("the enrol screen after the reset must show a new secret (new %t, same as before %t)", s != "", s == old)
	}
	h.Clock.Advance(31 * time.Second)
	if err := a.SubmitCode(ctx, code(t, h, old)); !errors.Is(err, vm.ErrWrongCode) {
		t.Fatalf("the lost authenticator's code: %v, want wrong code", err)
	}
	fresh := enrol(t, ctx, h, a)
	if fresh == old {
		t.Fatal("enrolled the old secret again")
	}
	eventually(t, 5*time.Second, "row with the new authenticator", func() bool { return len(a.Visible()) == 1 })
	if pw, err := a.Reveal(a.Visible()[0].AccountID); err != nil || pw != "Reset-Pa55word!" {
		t.Fatalf("reveal after re-enrolment: %q, %v", pw, err)
	}
	a.Close()
	noneHolds(t, dir, old, fresh)
}
