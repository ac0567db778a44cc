// Package totpseal keeps the techs' TOTP secrets sealed at rest.
//
// A TOTP secret is a shared secret: whoever holds it makes codes. The database and its backups hold it sealed
// (XChaCha20-Poly1305) under a key derived from the hub's own key file, which the database does not hold, with the
// tenant and the tech bound as associated data, so a leaked database or backup yields no secret and a sealed value
// copied onto another tech's row does not open. The column keeps an opaque string: the sealed form starts with
// Prefix, which a base32 secret never does; a secret written in clear by an older hub is accepted on read (Open)
// and re-sealed in place when the hub starts listening (hub.SealTOTPSecrets).
//
// totpseal.go is all of it.
package totpseal

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Prefix starts every sealed secret.
const Prefix = "ww-totp-x1:"

const keyInfo = "watchword hub: totp secrets at rest, xchacha20-poly1305, v1"

// ErrUnopenable: the stored secret does not open with this hub's key (the database was restored next to another
// key file). Only a new enrolment helps. It is the wire error the tech sees.
var ErrUnopenable = &wire.Error{Code: wire.CodeForbidden, Field: wire.FieldTOTP,
	Message: "this hub cannot check your authenticator (its key file changed since you enrolled): ask an admin to reset your authenticator, then enrol again"}

// Sealer seals and opens TOTP secrets under one hub key.
type Sealer struct{ id *seal.Identity }

// New returns the Sealer of the hub key id.
func New(id *seal.Identity) *Sealer { return &Sealer{id: id} }

// aead is the cipher of the TOTP secrets, keyed by HKDF-SHA256 of the hub key's Ed25519 seed.
func (s *Sealer) aead() (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, s.id.Signer().Seed(), nil, keyInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	return chacha20poly1305.NewX(key)
}

func ad(tenant, tech int64) []byte {
	return fmt.Appendf(nil, "watchword totp secret\x00tenant=%d\x00tech=%d", tenant, tech)
}

// Seal returns the stored form of secret for that tenant's tech.
func (s *Sealer) Seal(tenant, tech int64, secret string) (string, error) {
	aead, err := s.aead()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal totp secret of tech %d: %w", tech, err)
	}
	out := aead.Seal(nonce, nonce, []byte(secret), ad(tenant, tech))
	return Prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open returns the clear secret of the stored value of that tenant's tech ("" when none); a secret an older hub
// stored in clear is returned as it is. Its errors never carry the stored value.
func (s *Sealer) Open(tenant, tech int64, stored string) (string, error) {
	stored, ok := strings.CutPrefix(stored, Prefix)
	if !ok {
		return stored, nil
	}
	aead, err := s.aead()
	if err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(stored)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("totp secret of tech %d: malformed sealed value: %w", tech, ErrUnopenable)
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], ad(tenant, tech))
	if err != nil {
		return "", fmt.Errorf("totp secret of tech %d: %w", tech, ErrUnopenable)
	}
	return string(pt), nil
}

// Sealed reports whether stored is in the sealed form (or empty): nothing to seal.
func Sealed(stored string) bool { return stored == "" || strings.HasPrefix(stored, Prefix) }
