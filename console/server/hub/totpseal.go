package hub

// TOTP secrets at rest.
//
// A TOTP secret is a shared secret: whoever holds it makes codes. The database and its backups hold it sealed
// (XChaCha20-Poly1305) under a key derived from the hub's own key file, which the database does not hold, with the
// tenant and the tech bound as associated data, so a leaked database or backup yields no secret and a sealed value
// copied onto another tech's row does not open. The column keeps an opaque string: the sealed form starts with
// sealedTOTPPrefix, which a base32 secret never does; a secret written in clear by an older hub is accepted on
// read and re-sealed in place when the hub starts listening (SealTOTPSecrets).

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

const (
	sealedTOTPPrefix = "ww-totp-x1:"
	totpKeyInfo      = "watchword hub: totp secrets at rest, xchacha20-poly1305, v1"
)

// errTOTPUnopenable: the stored secret does not open with this hub's key (the database was restored next to
// another key file). Only a new enrolment helps.
var errTOTPUnopenable = &wire.Error{Code: wire.CodeForbidden, Field: wire.FieldTOTP,
	Message: "this hub cannot check your authenticator (its key file changed since you enrolled): ask an admin to reset your authenticator, then enrol again"}

// totpAEAD is the cipher of the TOTP secrets, keyed by HKDF-SHA256 of the hub key's Ed25519 seed.
func (h *Hub) totpAEAD() (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, h.id.Signer().Seed(), nil, totpKeyInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	return chacha20poly1305.NewX(key)
}

func totpAD(tenant, tech int64) []byte {
	return fmt.Appendf(nil, "watchword totp secret\x00tenant=%d\x00tech=%d", tenant, tech)
}

// sealTOTP returns the stored form of secret for that tenant's tech.
func (h *Hub) sealTOTP(tenant, tech int64, secret string) (string, error) {
	aead, err := h.totpAEAD()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal totp secret of tech %d: %w", tech, err)
	}
	out := aead.Seal(nonce, nonce, []byte(secret), totpAD(tenant, tech))
	return sealedTOTPPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// openTOTP returns the clear secret of s ("" when none); a secret an older hub stored in clear is returned as it
// is. Its errors never carry the stored value.
func (h *Hub) openTOTP(s *store.TechSecurity) (string, error) {
	stored, ok := strings.CutPrefix(s.TOTPSecret, sealedTOTPPrefix)
	if !ok {
		return s.TOTPSecret, nil
	}
	aead, err := h.totpAEAD()
	if err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(stored)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("totp secret of tech %d: malformed sealed value: %w", s.TechID, errTOTPUnopenable)
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], totpAD(s.TenantID, s.TechID))
	if err != nil {
		return "", fmt.Errorf("totp secret of tech %d: %w", s.TechID, errTOTPUnopenable)
	}
	return string(pt), nil
}

// SealTOTPSecrets re-seals every TOTP secret still stored in clear (written by an older hub) and returns how many
// it sealed. It is idempotent: sealed values are left as they are.
func (h *Hub) SealTOTPSecrets(ctx context.Context) (int, error) {
	n := 0
	err := h.st.Write(ctx, func(tx store.Tx) error {
		n = 0
		tenants, err := tx.Tenants()
		if err != nil {
			return err
		}
		for _, t := range tenants {
			all, err := tx.TechSecurities(t.ID)
			if err != nil {
				return err
			}
			for i := range all {
				s := &all[i]
				if s.TOTPSecret == "" || strings.HasPrefix(s.TOTPSecret, sealedTOTPPrefix) {
					continue
				}
				if s.TOTPSecret, err = h.sealTOTP(s.TenantID, s.TechID, s.TOTPSecret); err != nil {
					return err
				}
				if err := tx.PutTechSecurity(s); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seal stored totp secrets: %w", err)
	}
	// The clear values stay in old WAL frames until a checkpoint: take one now.
	if cp, ok := h.st.(interface{ Checkpoint(context.Context) error }); ok && n > 0 {
		if err := cp.Checkpoint(ctx); err != nil {
			h.log.Warn("checkpoint after sealing totp secrets", "err", err)
		}
	}
	return n, nil
}

// TOTPSecret opens the stored TOTP secret of a tech, for the operator's tooling and the tests that act as the
// tech's phone; "" when none is enrolled. The hub itself never hands it out after enrolment.
func (h *Hub) TOTPSecret(s *store.TechSecurity) (string, error) { return h.openTOTP(s) }
