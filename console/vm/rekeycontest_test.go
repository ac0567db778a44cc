package vm_test

import (
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/shared/wire"
)

// TestRekeyContestedNotice: when another device asked to replace the same tech while a replacement waits (and was
// refused), the approval's text says so first, with that device's fingerprint, and tells the admin to reject this
// request if the tech's new device is the other one; without such an attempt the text has no notice.
func TestRekeyContestedNotice(t *testing.T) {
	a, h, _ := world(t)
	ctx := testCtx(t)
	rks := a.PendingRekeys()
	if len(rks) != 1 || strings.Contains(a.RekeyWarning(rks[0]), "Another device") {
		t.Fatalf("before any other attempt: %+v, %q", rks, a.RekeyWarning(rks[0]))
	}
	other := h.NewIdentity()
	if _, err := h.Client(other).Rekey(ctx, wire.RekeyRequest{Username: demo.RekeyTech, Email: demo.Email(demo.Tech{Username: demo.RekeyTech})}); err == nil {
		t.Fatal("a second device's replacement was accepted while one waits")
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	rks = a.PendingRekeys()
	warn := a.RekeyWarning(rks[0])
	if len(rks) != 1 || !strings.HasPrefix(warn, "Another device asked to replace "+demo.RekeyTech+"'s device") ||
		!strings.Contains(warn, other.Public().Fingerprint().String()) || !strings.Contains(warn, "reject this request") ||
		!strings.Contains(warn, "old device is revoked") {
		t.Fatalf("approval text after a refused attempt: %q", warn)
	}
}
