package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/watchword/watchword/shared/wire"
)

const securityCols = "tech_id, tenant_id, totp_secret, totp_enrolled_at, totp_last_step, pause_next_login, pause_until, session_key, session_until, failures, locked_at, lock_reason"

func scanSecurity(sc scanner) (*TechSecurity, error) {
	var s TechSecurity
	var enrolled, pause, session, locked int64
	var next int
	if err := sc.Scan(&s.TechID, &s.TenantID, &s.TOTPSecret, &enrolled, &s.TOTPLastStep, &next, &pause, &s.SessionKey,
		&session, &s.Failures, &locked, &s.LockReason); err != nil {
		return nil, err
	}
	s.TOTPEnrolledAt, s.PauseUntil, s.SessionUntil, s.LockedAt = tm(enrolled), tm(pause), tm(session), tm(locked)
	s.PauseNextLogin = next != 0
	return &s, nil
}

func (x *tx) TechSecurity(tenant, tech int64) (*TechSecurity, error) {
	if _, err := x.Tech(tenant, tech); err != nil {
		return nil, err
	}
	s, err := scanSecurity(x.queryRow("SELECT "+securityCols+" FROM tech_security WHERE tenant_id = ? AND tech_id = ?", tenant, tech))
	if errors.Is(err, sql.ErrNoRows) {
		return &TechSecurity{TechID: tech, TenantID: tenant}, nil
	}
	return s, wrap(fmt.Sprintf("security of tech %d", tech), err)
}

func (x *tx) TechSecurities(tenant int64) ([]TechSecurity, error) {
	return queryAll(x, "tech securities", scanSecurity, "SELECT "+securityCols+" FROM tech_security WHERE tenant_id = ? ORDER BY tech_id", tenant)
}

func (x *tx) PutTechSecurity(s *TechSecurity) error {
	if _, err := x.Tech(s.TenantID, s.TechID); err != nil {
		return err
	}
	_, err := x.exec(fmt.Sprintf("put security of tech %d", s.TechID), `INSERT INTO tech_security (`+securityCols+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (tech_id) DO UPDATE SET totp_secret = excluded.totp_secret, totp_enrolled_at = excluded.totp_enrolled_at,
		totp_last_step = excluded.totp_last_step, pause_next_login = excluded.pause_next_login, pause_until = excluded.pause_until,
		session_key = excluded.session_key, session_until = excluded.session_until, failures = excluded.failures,
		locked_at = excluded.locked_at, lock_reason = excluded.lock_reason`,
		s.TechID, s.TenantID, s.TOTPSecret, ns(s.TOTPEnrolledAt), s.TOTPLastStep, b2i(s.PauseNextLogin), ns(s.PauseUntil),
		s.SessionKey, ns(s.SessionUntil), s.Failures, ns(s.LockedAt), s.LockReason)
	return err
}

func (x *tx) SecurityPolicy(tenant int64) (wire.SecurityPolicy, error) {
	var raw string
	err := x.queryRow("SELECT policy FROM security_policy WHERE tenant_id = ?", tenant).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return wire.DefaultSecurityPolicy(), nil
	}
	if err != nil {
		return wire.SecurityPolicy{}, wrap("security policy", err)
	}
	p := wire.DefaultSecurityPolicy()
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return wire.SecurityPolicy{}, fmt.Errorf("security policy of tenant %d: %w", tenant, err)
	}
	return p, nil
}

func (x *tx) SetSecurityPolicy(tenant int64, p wire.SecurityPolicy) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("security policy of tenant %d: %w", tenant, err)
	}
	_, err = x.exec("set security policy", `INSERT INTO security_policy (tenant_id, policy) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy`, tenant, string(raw))
	return err
}
