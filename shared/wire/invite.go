package wire

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// InvitePrefix starts every invite string.
const InvitePrefix = "watchword-invite:"

// ErrBadInvite is wrapped by every ParseInvite error.
var ErrBadInvite = errors.New("bad invite")

// Invite is what a client needs to reach a hub and a tenant on it: the hub's URL, the tenant's client GUID and
// the pin of the hub's key (seal.KeyID of its TLS key). The Console shows it; the TechClient and the agent paste it.
//
// Authority, when the tenant's admins sign its authority, is the genesis hash of that signed log (64 hex digits,
// authority.Hash.String): the anchor a TechClient pins, from the admin and never from the hub, to verify who
// sealed each envelope it opens. Invites made before it, without the field, still parse.
type Invite struct {
	HubURL     string `json:"u"`
	ClientGUID string `json:"c"`
	HubPin     string `json:"p"`
	Authority  string `json:"a,omitempty"`
}

// String renders the invite as one copyable line.
func (i Invite) String() string {
	b, _ := json.Marshal(i)
	return InvitePrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParseInvite parses and validates an invite string, tolerating surrounding white space.
func ParseInvite(s string) (Invite, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, InvitePrefix)
	if !ok {
		return Invite{}, fmt.Errorf("%w: missing %q prefix", ErrBadInvite, InvitePrefix)
	}
	if len(rest) > 4096 {
		return Invite{}, fmt.Errorf("%w: too long", ErrBadInvite)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return Invite{}, fmt.Errorf("%w: not base64url", ErrBadInvite)
	}
	var inv Invite
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&inv); err != nil {
		return Invite{}, fmt.Errorf("%w: %v", ErrBadInvite, err)
	}
	if err := inv.Validate(); err != nil {
		return Invite{}, err
	}
	return inv, nil
}

// Validate checks each field of the invite.
func (i Invite) Validate() error {
	u, err := url.Parse(i.HubURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: hub URL %q must be an https URL without credentials, query or fragment", ErrBadInvite, i.HubURL)
	}
	if !ValidGUID(i.ClientGUID) {
		return fmt.Errorf("%w: client GUID %q", ErrBadInvite, i.ClientGUID)
	}
	if !validPin(i.HubPin) {
		return fmt.Errorf("%w: hub fingerprint %q", ErrBadInvite, i.HubPin)
	}
	if i.Authority != "" && !validHash(i.Authority) {
		return fmt.Errorf("%w: signed authority %q is not a genesis hash of 64 lowercase hex digits", ErrBadInvite, i.Authority)
	}
	return nil
}

// validHash accepts a SHA-256 hash in lowercase hex, as authority.Hash.String writes it.
func validHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidGUID reports whether s is a lowercase canonical GUID (8-4-4-4-12 hex digits).
func ValidGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// validPin accepts a seal.KeyID: lowercase base32 without padding, 52 characters for SHA-256.
func validPin(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
