package authority_test

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// eventHash stands for the hash of audit event n: any 32 bytes do, the log never recomputes it.
func eventHash(n int) []byte {
	h := sha256.Sum256([]byte{byte(n)})
	return h[:]
}

// TestAuditCheckpoint: a checkpoint moves the signed point of the audit chain forward only, names the update that
// signed it, and is refused behind the newest one, with another hash at the same event, or without a 32-byte hash.
func TestAuditCheckpoint(t *testing.T) {
	l := genesis(t)
	if l.state.Audit.Seq != 0 || l.state.Audit.Hash != nil {
		t.Fatalf("checkpoint before any: %+v", l.state.Audit)
	}
	l.add([]authority.Op{authority.AuditCheckpoint(12, eventHash(12))}, admin)
	if a := l.state.Audit; a.Seq != 12 || !bytes.Equal(a.Hash, eventHash(12)) || a.Update != 1 {
		t.Fatalf("after the checkpoint: %+v", a)
	}
	before := l.state
	l.add([]authority.Op{authority.AuditCheckpoint(40, eventHash(40))}, admin)
	if a := l.state.Audit; a.Seq != 40 || a.Update != 2 || before.Audit.Seq != 12 || !bytes.Equal(before.Audit.Hash, eventHash(12)) {
		t.Fatalf("the newer checkpoint %+v, the state before it now %+v", a, before.Audit)
	}
	// Signing the same point again changes nothing and keeps the update that first signed it.
	l.add([]authority.Op{authority.AuditCheckpoint(40, eventHash(40))}, owner)
	if a := l.state.Audit; a.Seq != 40 || a.Update != 2 {
		t.Fatalf("after signing the same point again: %+v", a)
	}
	// An update that changes nothing else keeps the checkpoint.
	l.add([]authority.Op{authority.SetNaming("{username:8}-{abbrev}", "ctso")}, admin)
	if a := l.state.Audit; a.Seq != 40 || a.Update != 2 {
		t.Fatalf("after an unrelated update: %+v", a)
	}
	for name, op := range map[string]authority.Op{
		"behind the newest":   authority.AuditCheckpoint(39, eventHash(39)),
		"another hash at 40":  authority.AuditCheckpoint(40, eventHash(41)),
		"a short hash":        authority.AuditCheckpoint(50, eventHash(50)[:31]),
		"no hash":             authority.AuditCheckpoint(50, nil),
		"no event":            authority.AuditCheckpoint(0, eventHash(0)),
		"a negative sequence": authority.AuditCheckpoint(-1, eventHash(1)),
	} {
		t.Run(name, func(t *testing.T) {
			(&log{t: t, state: l.state}).refused(authority.ErrInvalidOp, []authority.Op{op}, admin)
		})
	}
	if s := authority.AuditCheckpoint(40, eventHash(40)).String(); !strings.Contains(s, "audit checkpoint: event 40") {
		t.Fatalf("op reads %q", s)
	}
}

// TestAuditCheckpointWhoMaySign: every role that reads the audit log may sign a checkpoint (an auditor too); a
// Co-managed Manager, who does not read it, and a stranger may not.
func TestAuditCheckpointWhoMaySign(t *testing.T) {
	l := genesis(t)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.AuditCheckpoint(3, eventHash(3))}, comgr)
	l.refused(authority.ErrBadSignature, []authority.Op{authority.AuditCheckpoint(3, eventHash(3))}, attacker)
	l.add([]authority.Op{authority.AuditCheckpoint(3, eventHash(3))}, auditor)
	l.add([]authority.Op{authority.AuditCheckpoint(5, eventHash(5))}, admin)
	l.add([]authority.Op{authority.AuditCheckpoint(7, eventHash(7))}, owner)
	// An auditor signs nothing else.
	l.refused(authority.ErrBadSignature, []authority.Op{authority.AuditCheckpoint(9, eventHash(9)),
		authority.SetRight(3, "AllRights", map[string][]string{wire.DriverAD: {"Enterprise Admins"}})}, auditor)
	if l.state.Audit.Seq != 7 {
		t.Fatalf("checkpoint at %d after a refused update", l.state.Audit.Seq)
	}
}
