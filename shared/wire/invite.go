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
// OtherURLs are more addresses of the same hub (its replicas, or a second load balancer), separated by single
// spaces, which a client tries in order after HubURL when the one it uses cannot be reached (hubclient fails over
// between them). They all lead to the one hub key HubPin pins: an address answering with another key is refused
// like a wrong HubURL. A string rather than a slice keeps Invite a comparable value; URLs and Parse build and read
// the list. Invites without the field render as before; a client older than the field refuses an invite that has it.
//
// Authority, when the tenant's admins sign its authority, is the genesis hash of that signed log (64 hex digits,
// authority.Hash.String): the anchor a TechClient pins, from the admin and never from the hub, to verify who
// sealed each envelope it opens. Invites made before it, without the field, still parse.
type Invite struct {
	HubURL     string `json:"u"`
	ClientGUID string `json:"c"`
	HubPin     string `json:"p"`
	OtherURLs  string `json:"o,omitempty"`
	Authority  string `json:"a,omitempty"`
}

// MaxHubURLs bounds the addresses one invite carries, HubURL included.
const MaxHubURLs = 8

// URLs is every address of the hub in the order a client tries them: HubURL, then OtherURLs.
func (i Invite) URLs() []string {
	out := []string{i.HubURL}
	if i.OtherURLs != "" {
		out = append(out, strings.Split(i.OtherURLs, " ")...)
	}
	return out
}

// WithURLs is the invite with urls as its addresses: the first becomes HubURL, the rest OtherURLs. Empty entries
// and repeats are dropped and trailing slashes trimmed; an empty list leaves the invite's addresses as they are.
func (i Invite) WithURLs(urls ...string) Invite {
	var keep []string
	seen := map[string]bool{}
	for _, u := range urls {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		keep = append(keep, u)
	}
	if len(keep) == 0 {
		return i
	}
	i.HubURL, i.OtherURLs = keep[0], strings.Join(keep[1:], " ")
	return i
}

// SplitURLs splits a list of hub addresses as an admin types it (commas, spaces or new lines between them).
func SplitURLs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
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
	urls := i.URLs()
	if len(urls) > MaxHubURLs {
		return fmt.Errorf("%w: %d hub URLs, at most %d", ErrBadInvite, len(urls), MaxHubURLs)
	}
	seen := map[string]bool{}
	for _, raw := range urls {
		if err := ValidHubURL(raw); err != nil {
			return err
		}
		if seen[raw] {
			return fmt.Errorf("%w: hub URL %q given twice", ErrBadInvite, raw)
		}
		seen[raw] = true
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

// ValidHubURL checks one address of a hub: an https URL with a host and no credentials, query or fragment.
func ValidHubURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		strings.ContainsAny(raw, " \t\r\n") {
		return fmt.Errorf("%w: hub URL %q must be an https URL without credentials, query or fragment", ErrBadInvite, raw)
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
