package store

import (
	"fmt"
	"time"
)

// Rekey is a request to replace a tech's device key.
type Rekey struct {
	ID             int64
	TenantID       int64
	TechID         int64
	PublicKey      string
	KeyID          string
	Fingerprint    string
	OldKeyID       string
	OldFingerprint string
	Status         string // wire.RekeyPending, RekeyApproved, RekeyRejected
	CreatedAt      time.Time
	DecidedAt      time.Time
	// Contested counts the other devices' requests for the same tech refused while this one was pending; the last
	// one's fingerprint and time.
	Contested            int
	ContestedFingerprint string
	ContestedAt          time.Time
}

const rekeyCols = "id, tenant_id, tech_id, public_key, key_id, fingerprint, old_key_id, old_fingerprint, status, created_at, decided_at, " +
	"contested, contested_fingerprint, contested_at"

func scanRekey(sc interface{ Scan(...any) error }) (*Rekey, error) {
	var k Rekey
	var created, decided, contested int64
	if err := sc.Scan(&k.ID, &k.TenantID, &k.TechID, &k.PublicKey, &k.KeyID, &k.Fingerprint, &k.OldKeyID, &k.OldFingerprint,
		&k.Status, &created, &decided, &k.Contested, &k.ContestedFingerprint, &contested); err != nil {
		return nil, err
	}
	k.CreatedAt, k.DecidedAt, k.ContestedAt = tm(created), tm(decided), tm(contested)
	return &k, nil
}

func (x *tx) CreateRekey(k *Rekey) error {
	id, err := x.insert(fmt.Sprintf("create re-key of tech %d", k.TechID), `INSERT INTO rekeys (tenant_id, tech_id, public_key, key_id,
		fingerprint, old_key_id, old_fingerprint, status, created_at, decided_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		k.TenantID, k.TechID, k.PublicKey, k.KeyID, k.Fingerprint, k.OldKeyID, k.OldFingerprint, k.Status, ns(k.CreatedAt), ns(k.DecidedAt))
	k.ID = id
	return err
}

func (x *tx) Rekey(tenant, id int64) (*Rekey, error) {
	k, err := scanRekey(x.t.QueryRowContext(x.ctx, "SELECT "+rekeyCols+" FROM rekeys WHERE tenant_id = ? AND id = ?", tenant, id))
	return k, wrap(fmt.Sprintf("re-key %d", id), err)
}

func (x *tx) RekeyByKey(tenant int64, keyID string) (*Rekey, error) {
	k, err := scanRekey(x.t.QueryRowContext(x.ctx, "SELECT "+rekeyCols+" FROM rekeys WHERE tenant_id = ? AND key_id = ?", tenant, keyID))
	return k, wrap("re-key by key", err)
}

func (x *tx) Rekeys(tenant int64, status string) ([]Rekey, error) {
	q, args := "SELECT "+rekeyCols+" FROM rekeys WHERE tenant_id = ?", []any{tenant}
	if status != "" {
		q, args = q+" AND status = ?", append(args, status)
	}
	rows, err := x.t.QueryContext(x.ctx, q+" ORDER BY id DESC", args...)
	if err != nil {
		return nil, wrap("re-keys", err)
	}
	defer rows.Close()
	var out []Rekey
	for rows.Next() {
		k, err := scanRekey(rows)
		if err != nil {
			return nil, wrap("re-keys", err)
		}
		out = append(out, *k)
	}
	return out, wrap("re-keys", rows.Err())
}

func (x *tx) DecideRekey(tenant, id int64, status string, at time.Time) error {
	return x.one(fmt.Sprintf("decide re-key %d", id), "UPDATE rekeys SET status = ?, decided_at = ? WHERE tenant_id = ? AND id = ? AND status = 'pending'",
		status, ns(at), tenant, id)
}

func (x *tx) ContestRekey(tenant, id int64, fingerprint string, at time.Time) error {
	return x.one(fmt.Sprintf("contest re-key %d", id), `UPDATE rekeys SET contested = contested + 1, contested_fingerprint = ?,
		contested_at = ? WHERE tenant_id = ? AND id = ? AND status = 'pending'`, fingerprint, ns(at), tenant, id)
}

func (x *tx) SetTechKey(tenant, tech int64, publicKey, keyID, fingerprint string, at time.Time) error {
	return x.one(fmt.Sprintf("set key of tech %d", tech), "UPDATE techs SET public_key = ?, key_id = ?, fingerprint = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
		publicKey, keyID, fingerprint, ns(at), tenant, tech)
}

func (x *tx) TechByUsername(tenant int64, username string) (*Tech, error) {
	t, err := scanTech(x.t.QueryRowContext(x.ctx, "SELECT "+techCols+" FROM techs WHERE tenant_id = ? AND username = ?", tenant, username))
	return t, wrap(fmt.Sprintf("tech %q", username), err)
}

func (x *tx) RetireTechVersions(tenant, tech int64) (int, error) {
	res, err := x.exec(fmt.Sprintf("retire versions of tech %d", tech), `UPDATE versions SET state = 'superseded'
		WHERE state IN ('staged','confirmed') AND account_id IN (SELECT id FROM accounts WHERE tenant_id = ? AND tech_id = ?)`, tenant, tech)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
