package store

import (
	"fmt"
	"time"
)

const rekeyCols = "id, tenant_id, tech_id, public_key, key_id, fingerprint, old_key_id, old_fingerprint, status, created_at, decided_at, " +
	"contested, contested_fingerprint, contested_at"

func scanRekey(sc scanner) (*Rekey, error) {
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
	return x.create(&k.ID, fmt.Sprintf("create re-key of tech %d", k.TechID), `INSERT INTO rekeys (tenant_id, tech_id, public_key, key_id,
		fingerprint, old_key_id, old_fingerprint, status, created_at, decided_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		k.TenantID, k.TechID, k.PublicKey, k.KeyID, k.Fingerprint, k.OldKeyID, k.OldFingerprint, k.Status, ns(k.CreatedAt), ns(k.DecidedAt))
}

func (x *tx) Rekey(tenant, id int64) (*Rekey, error) {
	return row(x, fmt.Sprintf("re-key %d", id), scanRekey, rekeyCols, "rekeys", "id", tenant, id)
}

func (x *tx) RekeyByKey(tenant int64, keyID string) (*Rekey, error) {
	return row(x, "re-key by key", scanRekey, rekeyCols, "rekeys", "key_id", tenant, keyID)
}

func (x *tx) Rekeys(tenant int64, status string) ([]Rekey, error) {
	q, args := "SELECT "+rekeyCols+" FROM rekeys WHERE tenant_id = ?", []any{tenant}
	if status != "" {
		q, args = q+" AND status = ?", append(args, status)
	}
	return queryAll(x, "re-keys", scanRekey, q+" ORDER BY id DESC", args...)
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
	return row(x, fmt.Sprintf("tech %q", username), scanTech, techCols, "techs", "username", tenant, username)
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
