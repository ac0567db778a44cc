package hub

// Single-use tokens: an admin's claim token and an agent's enrollment token (an invitation's claim token is made
// in admins.go). The hub stores only their hash; a token is used up by the claim or enrollment that presents it.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// tokenTTL reads a TokenRequest: its lifetime and, for an enrollment token, whether its agent is approved on use.
func (r *request) tokenTTL(kind string) (time.Duration, bool, error) {
	var req wire.TokenRequest
	if err := r.decode(&req); err != nil {
		return 0, false, err
	}
	var errs []error
	ttl := time.Duration(req.TTLSeconds) * time.Second
	switch {
	case req.TTLSeconds == 0:
		ttl = 24 * time.Hour
	case req.TTLSeconds < 60 || req.TTLSeconds > 30*24*3600:
		errs = append(errs, wire.Invalid("ttlSeconds", "must be from 60 seconds to 30 days"))
	}
	if req.ApproveOnUse && kind != store.TokenEnroll {
		errs = append(errs, wire.Invalid("approveOnUse", "applies to agent enrollment tokens only"))
	}
	return ttl, req.ApproveOnUse, errors.Join(errs...)
}

func (h *Hub) newTokenFor(r *request, kind string, role wire.Role) (any, error) {
	ttl, approve, err := r.tokenTTL(kind)
	if err != nil {
		return nil, err
	}
	token := newToken()
	var exp time.Time
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		exp = c.at.Add(ttl)
		t := &store.Token{TenantID: r.tenant.ID, Kind: kind, Role: role, Hash: hashToken(token), ExpiresAt: exp, CreatedAt: c.at,
			ApproveOnUse: approve}
		if err := c.tx.CreateToken(t); err != nil {
			return err
		}
		detail := fmt.Sprintf("kind=%s role=%s expires=%s", kind, role, exp.Format(time.RFC3339))
		if kind == store.TokenEnroll {
			detail += fmt.Sprintf(" approveOnUse=%t", approve)
		}
		return c.audit("token.create", fmt.Sprintf("token %d", t.ID), detail)
	})
	if err != nil {
		return nil, err
	}
	return &wire.TokenResponse{Token: token, ExpiresAt: exp, ApproveOnUse: approve}, nil
}

func (h *Hub) adminClaimToken(r *request) (any, error) {
	return h.newTokenFor(r, store.TokenClaim, wire.RoleAdmin)
}

func (h *Hub) adminEnrollToken(r *request) (any, error) {
	return h.newTokenFor(r, store.TokenEnroll, "")
}

// newToken returns a fresh single-use token: 160 random bits in base32.
func newToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// hashToken is how tokens are stored: a leaked database does not leak usable tokens.
func hashToken(t string) string {
	s := sha256.Sum256([]byte("watchword-token\n" + strings.TrimSpace(strings.ToLower(t))))
	return hex.EncodeToString(s[:])
}
