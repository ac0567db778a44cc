package store

import (
	"fmt"

	"github.com/watchword/watchword/shared/wire"
)

// Just-in-time access: grants of windows on JIT accounts (migration 0007).

const jitCols = `g.id, g.tenant_id, g.tech_id, g.account_id, a.agent_id, g.status, g.reason, g.duration_seconds,
	g.approval_required, g.requested_at, g.decided_by, g.decided_at, g.note, g.enabled_at, g.expires_at, g.ended_at,
	g.tap_envelope, g.tap_signature, g.tap_issued_at, g.tap_expires_at`

func scanJIT(sc scanner) (*JITGrant, error) {
	var g JITGrant
	var req, dec, en, exp, end, tapIssued, tapExp int64
	var tapEnv, tapSig []byte
	if err := sc.Scan(&g.ID, &g.TenantID, &g.TechID, &g.AccountID, &g.AgentID, &g.Status, &g.Reason, &g.DurationSeconds,
		&g.ApprovalRequired, &req, &g.DecidedBy, &dec, &g.Note, &en, &exp, &end, &tapEnv, &tapSig, &tapIssued, &tapExp); err != nil {
		return nil, err
	}
	g.RequestedAt, g.DecidedAt, g.EnabledAt, g.ExpiresAt, g.EndedAt = tm(req), tm(dec), tm(en), tm(exp), tm(end)
	if len(tapEnv) > 0 {
		g.TAP = &JITTAP{Envelope: tapEnv, Signature: tapSig, IssuedAt: tm(tapIssued), ExpiresAt: tm(tapExp)}
	}
	return &g, nil
}

// CreateJITGrant implements Tx. A second open grant on the same account is ErrConflict.
func (x *tx) CreateJITGrant(g *JITGrant) error {
	acc, err := x.Account(g.TenantID, g.AccountID)
	if err != nil {
		return err
	}
	g.AgentID = acc.AgentID
	return x.create(&g.ID, fmt.Sprintf("create jit grant of account %d", g.AccountID), `INSERT INTO jit_grants (tenant_id, tech_id,
		account_id, status, reason, duration_seconds, approval_required, requested_at, decided_by, decided_at, note,
		enabled_at, expires_at, ended_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		g.TenantID, g.TechID, g.AccountID, g.Status, g.Reason, g.DurationSeconds, b2i(g.ApprovalRequired), ns(g.RequestedAt),
		g.DecidedBy, ns(g.DecidedAt), g.Note, ns(g.EnabledAt), ns(g.ExpiresAt), ns(g.EndedAt))
}

// JITGrant implements Tx.
func (x *tx) JITGrant(tenant, id int64) (*JITGrant, error) {
	return queryOne(x, fmt.Sprintf("jit grant %d", id), scanJIT,
		"SELECT "+jitCols+" FROM jit_grants g JOIN accounts a ON a.id = g.account_id WHERE g.tenant_id = ? AND g.id = ?", tenant, id)
}

// JITGrants implements Tx: newest first.
func (x *tx) JITGrants(tenant int64, q JITQuery) ([]JITGrant, error) {
	s, args := "SELECT "+jitCols+" FROM jit_grants g JOIN accounts a ON a.id = g.account_id WHERE g.tenant_id = ?", []any{tenant}
	for col, v := range map[string]int64{"g.tech_id": q.TechID, "g.account_id": q.AccountID, "a.agent_id": q.AgentID} {
		if v != 0 {
			s, args = s+" AND "+col+" = ?", append(args, v)
		}
	}
	if q.Status != "" {
		s, args = s+" AND g.status = ?", append(args, q.Status)
	}
	if q.Open {
		s += " AND g.status IN ('pending','approved','active')"
	}
	s += " ORDER BY g.id DESC"
	if q.Limit > 0 {
		s, args = s+" LIMIT ?", append(args, q.Limit)
	}
	return queryAll(x, "jit grants", scanJIT, s, args...)
}

// UpdateJITGrant implements Tx: the mutable fields (status, decision, note, window); closing a grant drops its
// Temporary Access Pass.
func (x *tx) UpdateJITGrant(g *JITGrant) error {
	err := x.one(fmt.Sprintf("update jit grant %d", g.ID), `UPDATE jit_grants SET status = ?, decided_by = ?, decided_at = ?,
		note = ?, enabled_at = ?, expires_at = ?, ended_at = ? WHERE tenant_id = ? AND id = ?`,
		g.Status, g.DecidedBy, ns(g.DecidedAt), g.Note, ns(g.EnabledAt), ns(g.ExpiresAt), ns(g.EndedAt), g.TenantID, g.ID)
	if err != nil || g.Status.Open() {
		return err
	}
	g.TAP = nil
	return x.one(fmt.Sprintf("drop the temporary access pass of jit grant %d", g.ID), `UPDATE jit_grants SET tap_envelope = NULL,
		tap_signature = NULL, tap_issued_at = 0, tap_expires_at = 0 WHERE tenant_id = ? AND id = ?`, g.TenantID, g.ID)
}

// SetJITTAP implements Tx.
func (x *tx) SetJITTAP(tenant, id int64, tap *JITTAP) error {
	g, err := x.JITGrant(tenant, id)
	if err != nil {
		return err
	}
	if !g.Status.Open() {
		return fmt.Errorf("temporary access pass of jit grant %d: the grant is %s: %w", id, g.Status, ErrConflict)
	}
	return x.one(fmt.Sprintf("set the temporary access pass of jit grant %d", id), `UPDATE jit_grants SET tap_envelope = ?,
		tap_signature = ?, tap_issued_at = ?, tap_expires_at = ? WHERE tenant_id = ? AND id = ?`,
		tap.Envelope, tap.Signature, ns(tap.IssuedAt), ns(tap.ExpiresAt), tenant, id)
}

// UpdateTriplet implements Tx: the mode fields only.
func (x *tx) UpdateTriplet(t *Triplet) error {
	return x.one(fmt.Sprintf("update triplet %d", t.ID), "UPDATE triplets SET mode = ?, max_duration_seconds = ?, approval_required = ? WHERE tenant_id = ? AND id = ?",
		t.mode(), t.MaxDurationSeconds, b2i(t.ApprovalRequired), t.TenantID, t.ID)
}

// mode is the stored mode: standing when empty.
func (t *Triplet) mode() string {
	if t.Mode == "" {
		return wire.TripletStanding
	}
	return t.Mode
}
