package vm_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
)

// auditDB is the attacker's (and later the restorer's) handle on the hub's database.
func auditDB(t *testing.T, h *hubtest.Harness) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, ctx context.Context, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// pinned verifies the audit log with the signed authority on: the Console signs a checkpoint of the newest event
// and says up to where the signatures pin the chain. It returns the checkpoint.
func pinned(t *testing.T, ctx context.Context, a *vm.App) (seq int64, update uint64) {
	t.Helper()
	ok, msg, err := a.VerifyAudit(ctx)
	cp := a.Chain().State().Audit
	if err != nil || !ok || cp.Seq == 0 || !strings.Contains(msg, fmt.Sprintf("pin it up to event %d (authority update %d)", cp.Seq, cp.Update)) {
		t.Fatalf("verify: %v %q %v (checkpoint %+v)", ok, msg, err, cp)
	}
	return cp.Seq, cp.Update
}

func rewritten(t *testing.T, ctx context.Context, a *vm.App, seq int64, update uint64) {
	t.Helper()
	want := fmt.Sprintf("REWRITTEN: event %d is not the one the admins signed in authority update %d", seq, update)
	ok, msg, err := a.VerifyAudit(ctx)
	if err != nil || ok || !strings.Contains(msg, want) {
		t.Fatalf("verify after the rewrite: %v %q %v (want %q)", ok, msg, err, want)
	}
	// The alert shows at once and survives a refresh: only a verification that holds clears it.
	for _, when := range []string{"at once", "after a refresh"} {
		s := a.Snapshot()
		alerts := s.AuthorityAlerts()
		if len(alerts) == 0 || !strings.Contains(strings.Join(alerts, "\n"), want) || !strings.Contains(s.Authority.Describe(), "ALERT") {
			t.Fatalf("authority alerts %s: %q", when, alerts)
		}
		if line, alert := s.AuthorityLine(); !alert {
			t.Fatalf("status line %s: %q", when, line)
		}
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyAuditCatchesARewrittenHistory: with the signed authority on, verifying the audit log signs a checkpoint
// of its newest event. An attacker who writes the hub's database then deletes an earlier event and computes every
// later hash and the chain's head again, exactly as the hub does: the hub's hash walk holds, the Console says the
// history was rewritten, names the event and the update that signed it, keeps the alert across refreshes and
// signs nothing over the rewritten history. Once the database is restored, a verification holds and clears it.
func TestVerifyAuditCatchesARewrittenHistory(t *testing.T) {
	ctx := testCtx(t)
	a, h, _, _ := signedWorld(t)
	seq, update := pinned(t, ctx, a)
	head, _ := a.Chain().Head()
	if update != head {
		t.Fatalf("checkpoint signed in update %d, head %d", update, head)
	}
	// Verifying again right away pins nothing new: only the record of the checkpoint's own update follows it.
	if s2, _ := pinned(t, ctx, a); s2 != seq {
		t.Fatalf("checkpoint moved to %d with nothing new", s2)
	}
	if h2, _ := a.Chain().Head(); h2 != head {
		t.Fatalf("a second verification signed update %d", h2)
	}
	// Something happens; the next verification pins it too.
	if err := a.SaveRight(ctx, 0, "Checkpoint test", "ad: Account Operators"); err != nil {
		t.Fatal(err)
	}
	seq, update = pinned(t, ctx, a)
	head, _ = a.Chain().Head()

	db := auditDB(t, h)
	exec(t, ctx, db, "CREATE TABLE audit_saved AS SELECT * FROM audit", "CREATE TABLE audit_head_saved AS SELECT * FROM audit_head")
	h.RewriteAudit(3)
	if _, err := h.Store.VerifyAudit(ctx); err != nil {
		t.Fatalf("the rewrite does not pass the hub's hash walk: %v", err)
	}
	rewritten(t, ctx, a, seq, update)
	if h2, _ := a.Chain().Head(); h2 != head {
		t.Fatalf("a checkpoint was signed over the rewritten history: head %d, was %d", h2, head)
	}

	exec(t, ctx, db, "DELETE FROM audit", "INSERT INTO audit SELECT * FROM audit_saved",
		"DELETE FROM audit_head", "INSERT INTO audit_head SELECT * FROM audit_head_saved")
	if ok, msg, err := a.VerifyAudit(ctx); err != nil || !ok {
		t.Fatalf("verify after the restore: %v %q %v", ok, msg, err)
	}
	if alerts := a.Snapshot().AuthorityAlerts(); len(alerts) != 0 {
		t.Fatalf("alerts after the restore: %q", alerts)
	}
}

// TestVerifyAuditTrustsItsOwnCheckpoint: an attacker who also takes the signed updates since the checkpoint out of
// the hub's database leaves the hub nothing to compare, so its own verification says the chain holds; the Console
// compares with the checkpoint it verified itself and still says the history was rewritten.
func TestVerifyAuditTrustsItsOwnCheckpoint(t *testing.T) {
	ctx := testCtx(t)
	a, h, _, _ := signedWorld(t)
	seq, update := pinned(t, ctx, a)
	db := auditDB(t, h)
	exec(t, ctx, db, fmt.Sprintf("DELETE FROM authority_updates WHERE seq >= %d", update))
	h.RewriteAudit(2)
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("the hub with its authority rolled back: %+v, %v (want: it sees nothing wrong)", v, err)
	}
	rewritten(t, ctx, a, seq, update)
}

// TestVerifyAuditWithoutAuthority: a Console that does not verify the signed authority checks the hash walk only
// and signs nothing.
func TestVerifyAuditWithoutAuthority(t *testing.T) {
	ctx := testCtx(t)
	a, h, _ := world(t)
	ok, msg, err := a.VerifyAudit(ctx)
	if err != nil || !ok || msg != strings.TrimSpace(msg) || strings.Contains(msg, "pin") || !strings.Contains(msg, "holds") {
		t.Fatalf("verify: %v %q %v", ok, msg, err)
	}
	if resp, err := h.Owner.Authority(ctx, -1); err != nil || resp.Head != nil {
		t.Fatalf("the hub's authority after a verification without one: %+v, %v", resp, err)
	}
}
