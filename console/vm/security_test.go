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

// Each tech's 2FA and lockout state; unlock and pause act on the hub and are audited.
func TestTwoFactorLockAndUnlock(t *testing.T) {
	a, h, w := world(t)
	ctx := testCtx(t)
	now := time.Now()
	locked, ok := a.TechSecurity(w.Techs[demo.LockedTech])
	if !ok || !locked.Locked || !strings.HasPrefix(vm.LockText(locked), "locked") {
		t.Fatalf("locked tech: %+v (%q)", locked, vm.LockText(locked))
	}
	if s, _ := a.TechSecurity(w.Techs[demo.TOTPTech]); vm.TwoFactorText(s, now) != "enrolled" {
		t.Fatalf("enrolled tech: %q", vm.TwoFactorText(s, now))
	}
	if s, _ := a.TechSecurity(w.Techs[demo.PausedTech]); !strings.HasPrefix(vm.TwoFactorText(s, now), "required, not enrolled, paused until ") {
		t.Fatalf("paused tech: %q", vm.TwoFactorText(s, now))
	}
	if err := a.UnlockTech(ctx, w.Techs[demo.LockedTech]); err != nil {
		t.Fatal(err)
	}
	if s, _ := a.TechSecurity(w.Techs[demo.LockedTech]); s.Locked || s.Failures != 0 {
		t.Fatalf("after unlock: %+v", s)
	}
	if err := a.UnlockTech(ctx, w.Techs[demo.LockedTech]); !errors.Is(err, hubclient.ErrConflict) {
		t.Fatalf("unlocking twice: %v", err)
	}
	if err := a.PauseTOTP(ctx, w.Techs["chenli"], wire.PauseNextLogin); err != nil {
		t.Fatal(err)
	}
	if s, _ := a.TechSecurity(w.Techs["chenli"]); !s.PauseNextLogin || !strings.Contains(vm.TwoFactorText(s, now), "paused for the next login") {
		t.Fatalf("after pause: %+v", s)
	}
	if !strings.Contains(vm.PauseWarning("chenli", wire.Pause24h), "audit log") {
		t.Fatal("the pause confirmation does not say it is audited")
	}
	evs, err := h.Owner.Audit(ctx, wire.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Action] = true
	}
	if !seen["tech.unlock"] || !seen["tech.totp-pause"] {
		t.Fatalf("audit lacks the unlock or the pause: %v", seen)
	}
}

// A pending device replacement with both fingerprints; approval revokes the old device.
func TestRekeyApproveRevokesOldDevice(t *testing.T) {
	a, h, w := world(t)
	ctx := testCtx(t)
	rks := a.PendingRekeys()
	if len(rks) != 1 || rks[0].Username != demo.RekeyTech || rks[0].OldFingerprint == "" || rks[0].Fingerprint == rks[0].OldFingerprint {
		t.Fatalf("pending re-keys: %+v", rks)
	}
	old := a.Snapshot().Tech(w.Techs[demo.RekeyTech]).Fingerprint
	if rks[0].OldFingerprint != old {
		t.Fatalf("old fingerprint %q, tech's %q", rks[0].OldFingerprint, old)
	}
	if warn := a.RekeyWarning(rks[0]); !strings.Contains(warn, "old device is revoked") || !strings.Contains(warn, "rotate now") {
		t.Fatalf("warning: %q", warn)
	}
	if err := a.ApproveRekey(ctx, rks[0].ID); err != nil {
		t.Fatal(err)
	}
	if len(a.PendingRekeys()) != 0 {
		t.Fatal("the re-key is still pending")
	}
	if got := a.Snapshot().Tech(w.Techs[demo.RekeyTech]).Fingerprint; got != rks[0].Fingerprint {
		t.Fatalf("tech's fingerprint after approval %q, want the new device's %q", got, rks[0].Fingerprint)
	}
	all, err := h.Owner.Rekeys(ctx, "")
	if err != nil || len(all) != 1 || all[0].Status != wire.RekeyApproved {
		t.Fatalf("re-keys after approval: %+v, %v", all, err)
	}
	if err := a.RejectRekey(ctx, rks[0].ID); err == nil {
		t.Fatal("rejecting a decided re-key succeeded")
	}
}

// Item 6 in the Console: template, atomic and per-row imports with their exceptions, the history.
func TestCSVImport(t *testing.T) {
	a, _, _ := world(t)
	ctx := testCtx(t)
	tpl, err := a.ImportTemplate(ctx)
	if err != nil || !strings.HasPrefix(tpl.CSV, wire.ImportTemplateHeader) || tpl.Filename == "" {
		t.Fatalf("template %+v, %v", tpl, err)
	}
	before, err := a.LoadImports(ctx)
	if err != nil || len(before.History) != 2 {
		t.Fatalf("demo history: %+v, %v", before, err)
	}
	file := wire.ImportTemplateHeader + "\npquinn,Paula Quinn,pquinn@fabrikam.com,Fabrikam Inc,\nrbad,R Bad,=cmd|calc,,\n"
	im, err := a.ImportTechs(ctx, file, wire.ImportAtomic)
	if err != nil {
		t.Fatal(err)
	}
	if im.Created != 0 || len(im.Exceptions) == 0 || im.Exceptions[0].Row != 3 || im.Exceptions[0].Reason == "" {
		t.Fatalf("atomic import: %+v", im)
	}
	if got := vm.ImportOutcome(*im); !strings.HasPrefix(got, "Nothing imported: the import is atomic") {
		t.Fatalf("outcome %q", got)
	}
	im, err = a.ImportTechs(ctx, file, wire.ImportPerRow)
	if err != nil || im.Created != 1 || len(im.Exceptions) == 0 {
		t.Fatalf("per-row import: %+v, %v", im, err)
	}
	if got, _ := a.Notice.Get(); !strings.HasPrefix(got, "Imported 1 of 2 row(s)") {
		t.Fatalf("notice %q", got)
	}
	after, err := a.LoadImports(ctx)
	if err != nil || len(after.History) != 4 || after.History[0].Mode != wire.ImportPerRow {
		t.Fatalf("history: %+v, %v", after, err)
	}
	found := false
	for _, r := range after.Reservations {
		found = found || r.Username == "pquinn" && r.Status == wire.TechStatusPendingMatch
	}
	if !found {
		t.Fatalf("no pending-match reservation for pquinn: %+v", after.Reservations)
	}
}
