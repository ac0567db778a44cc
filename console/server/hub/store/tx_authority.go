package store

import (
	"fmt"
	"math"
)

const authorityCols = "tenant_id, seq, hash, body, created_at"

func scanAuthority(sc scanner) (*AuthorityUpdate, error) {
	var u AuthorityUpdate
	var created int64
	if err := sc.Scan(&u.TenantID, &u.Seq, &u.Hash, &u.Body, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = tm(created)
	return &u, nil
}

func (x *tx) AppendAuthority(u *AuthorityUpdate) error {
	op := fmt.Sprintf("append authority update %d", u.Seq)
	if u.Seq > math.MaxInt64 { // both engines' integers are signed
		return fmt.Errorf("%s: sequence number out of range", op)
	}
	if u.Body == nil {
		u.Body = []byte{} // body is NOT NULL; an empty one is stored as empty, not as NULL
	}
	_, err := x.exec(op, "INSERT INTO authority_updates ("+authorityCols+") VALUES (?,?,?,?,?)",
		u.TenantID, int64(u.Seq), u.Hash, u.Body, ns(u.CreatedAt))
	return err
}

func (x *tx) AuthorityUpdates(tenant, since int64, limit int) ([]AuthorityUpdate, error) {
	q, args := "SELECT "+authorityCols+" FROM authority_updates WHERE tenant_id = ? AND seq > ? ORDER BY seq", []any{tenant, since}
	if limit > 0 {
		q, args = q+" LIMIT ?", append(args, limit)
	}
	return queryAll(x, "list authority updates", scanAuthority, q, args...)
}

func (x *tx) AuthorityHead(tenant int64) (*AuthorityUpdate, error) {
	u, err := queryOne(x, fmt.Sprintf("authority head of tenant %d", tenant), scanAuthority,
		"SELECT tenant_id, seq, hash, substr(body, 1, 0), created_at FROM authority_updates WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1", tenant)
	if u != nil {
		u.Body = nil
	}
	return u, err
}

func (x *tx) SetAgentAuthority(tenant, agent int64, r AgentAuthority) error {
	if r.Seq > math.MaxInt64 {
		return fmt.Errorf("authority receipt of agent %d: sequence number out of range", agent)
	}
	return x.one(fmt.Sprintf("authority receipt of agent %d", agent),
		"UPDATE agents SET authority_seq = ?, authority_hash = ?, authority_refusal = ? WHERE tenant_id = ? AND id = ?",
		int64(r.Seq), r.Hash, r.Refusal, tenant, agent)
}
