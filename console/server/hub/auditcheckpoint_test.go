package hub_test

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// checkpointed is a hub whose owner signed a checkpoint of the newest audit event; it returns the event.
func checkpointed(t *testing.T) (*hubtest.Harness, *hubtest.Authority, wire.AuditEvent) {
	t.Helper()
	ctx := testCtx(t)
	h := hubtest.New(t)
	h.ActiveTech("alice")
	h.ActiveTech("bob")
	a := h.SignAuthority(ctx)
	evs, err := h.Owner.Audit(ctx, wire.AuditQuery{})
	noErr(t, err)
	last := evs[len(evs)-1]
	hash, err := hex.DecodeString(last.Hash)
	noErr(t, err)
	a.Publish(authority.AuditCheckpoint(last.Seq, hash))
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("verify before the rewrite: %+v, %v", v, err)
	}
	if n, err := hub.VerifyAuditCheckpoints(ctx, h.Store); err != nil || n != 1 {
		t.Fatalf("the operator's check before the rewrite: %d pinned, %v", n, err)
	}
	return h, a, last
}

// TestAuditRewriteBelowCheckpoint: events deleted below the signed checkpoint and the chain computed again pass the
// hash walk, but neither the admins' verification route nor the operator's check: the event at the checkpoint is
// not the one the admins signed.
func TestAuditRewriteBelowCheckpoint(t *testing.T) {
	ctx := testCtx(t)
	h, a, cp := checkpointed(t)
	h.RewriteAudit(2)
	if _, err := h.Store.VerifyAuditOf(ctx, 1); err != nil {
		t.Fatalf("the rewrite does not even pass the hash walk: %v", err)
	}
	v, err := h.Owner.VerifyAudit(ctx)
	want := "the audit history was rewritten: event " + itoa(cp.Seq) + " is not the one the admins signed in authority update " + itoa(int64(a.State.Audit.Update))
	if err != nil || v.OK || !strings.Contains(v.Error, want) {
		t.Fatalf("verify after the rewrite: %+v, %v (want %q)", v, err, want)
	}
	if _, err := hub.VerifyAuditCheckpoints(ctx, h.Store); !errors.Is(err, store.ErrAuditBroken) || !strings.Contains(err.Error(), want) {
		t.Fatalf("the operator's check after the rewrite: %v", err)
	}
}

// TestAuditRewriteDropsCheckpointedEvent: dropping the signed event and everything after it leaves a chain that
// ends before the checkpoint: the event is missing.
func TestAuditRewriteDropsCheckpointedEvent(t *testing.T) {
	ctx := testCtx(t)
	h, _, cp := checkpointed(t)
	evs, err := h.Owner.Audit(ctx, wire.AuditQuery{AfterSeq: cp.Seq - 1})
	noErr(t, err)
	var drop []int64
	for _, e := range evs {
		drop = append(drop, e.Seq)
	}
	h.RewriteAudit(drop...)
	v, err := h.Owner.VerifyAudit(ctx)
	if err != nil || v.OK || !strings.Contains(v.Error, "event "+itoa(cp.Seq)+", which the admins signed") || !strings.Contains(v.Error, "missing") {
		t.Fatalf("verify after dropping the signed event: %+v, %v", v, err)
	}
}

// TestAuditCheckpointNeedsAVerifyingAuthority: a stored authority edited so that it no longer verifies cannot vouch
// for the audit log: the operator's check, which replays every stored chain, says so instead of saying it holds.
func TestAuditCheckpointNeedsAVerifyingAuthority(t *testing.T) {
	ctx := testCtx(t)
	h, _, _ := checkpointed(t)
	h.RequireSQLite("edits a stored authority update in the SQLite file")
	db, err := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	noErr(t, err)
	defer db.Close()
	if _, err := db.ExecContext(ctx, "UPDATE authority_updates SET body = x'a0' WHERE seq = 0"); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.VerifyAuditCheckpoints(ctx, h.Store); !errors.Is(err, store.ErrAuditBroken) || !strings.Contains(err.Error(), "cannot be checked") {
		t.Fatalf("the operator's check with an edited authority: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
