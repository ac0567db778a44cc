package seal

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
)

// PublicKey is the public half of an [Identity]: the age hybrid recipient that
// envelopes are sealed to, and the Ed25519 key that authenticates the device.
// It is itself an [age.Recipient].
type PublicKey struct {
	rcpt *age.HybridRecipient
	auth ed25519.PublicKey
}

var (
	_ age.Recipient           = (*PublicKey)(nil)
	_ age.RecipientWithLabels = (*PublicKey)(nil)
	_ fmt.Stringer            = (*PublicKey)(nil)
)

// publicPrefix starts the one-line public serialisation
// "ww1pub.<Ed25519 key, base64url>.<age1pq1… recipient>".
const publicPrefix = "ww1pub"

// ParsePublicKey parses the one-line form produced by [PublicKey.String].
// Surrounding white space is ignored. Errors wrap [ErrMalformed].
func ParsePublicKey(s string) (*PublicKey, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 || parts[0] != publicPrefix {
		return nil, fmt.Errorf("parse public key: %w: not a %s key", ErrMalformed, publicPrefix)
	}
	auth, err := b64.DecodeString(parts[1])
	if err != nil || len(auth) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("parse public key: %w: bad auth key", ErrMalformed)
	}
	rcpt, err := ParseRecipient(parts[2])
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return &PublicKey{rcpt: rcpt, auth: ed25519.PublicKey(auth)}, nil
}

// String returns the one-line public serialisation of p.
func (p *PublicKey) String() string {
	return publicPrefix + "." + b64.EncodeToString(p.auth) + "." + p.rcpt.String()
}

// Equal reports whether p and q are the same keys.
func (p *PublicKey) Equal(q *PublicKey) bool {
	return p != nil && q != nil && p.auth.Equal(q.auth) && p.rcpt.String() == q.rcpt.String()
}

// Recipient returns the age hybrid recipient of p.
func (p *PublicKey) Recipient() *age.HybridRecipient { return p.rcpt }

// AuthKey returns the Ed25519 authentication key of p.
func (p *PublicKey) AuthKey() ed25519.PublicKey { return p.auth }

// ID returns the principal's stable machine identity, [KeyID] of its auth key.
func (p *PublicKey) ID() string { return KeyID(p.auth) }

// Wrap implements [age.Recipient] by wrapping to the hybrid recipient.
func (p *PublicKey) Wrap(fileKey []byte) ([]*age.Stanza, error) { return p.rcpt.Wrap(fileKey) }

// WrapWithLabels implements [age.RecipientWithLabels], keeping the
// "postquantum" label so age refuses to mix p with classic recipients.
func (p *PublicKey) WrapWithLabels(fileKey []byte) ([]*age.Stanza, []string, error) {
	return p.rcpt.WrapWithLabels(fileKey)
}

// fingerprintDomain separates fingerprints from every other SHA-256 use.
const fingerprintDomain = "watchword fingerprint v1\x00"

// Fingerprint returns the hash of both keys that humans compare at approval
// time, so that swapping either key changes what they see.
func (p *PublicKey) Fingerprint() Fingerprint {
	h := sha256.New()
	h.Write([]byte(fingerprintDomain))
	h.Write(p.auth)
	h.Write([]byte(p.rcpt.String()))
	var f Fingerprint
	h.Sum(f[:0])
	return f
}

var keyIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// KeyID is the stable machine identity of a principal: lowercase unpadded
// base32 of the SHA-256 of its Ed25519 auth key (52 characters). It depends on
// the auth key only, so the hub can identify a TLS peer from its certificate
// alone; invites use it to pin the hub.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return strings.ToLower(keyIDEncoding.EncodeToString(sum[:]))
}

// ErrUnexpectedPeer is returned by the function from [VerifyPeerKeyID] when
// the peer presents another key than the pinned one.
var ErrUnexpectedPeer = errors.New("unexpected peer key")

// PeerKey extracts the Ed25519 key from a (self-signed) peer certificate.
// In TLS the peer proves it holds the matching private key, so the key is
// what identifies the peer, not the certificate's signature or names.
func PeerKey(cert *x509.Certificate) (ed25519.PublicKey, error) {
	if cert == nil {
		return nil, errors.New("peer certificate: missing")
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("peer certificate %q: key is %s, not Ed25519", cert.Subject.CommonName, cert.PublicKeyAlgorithm)
	}
	return pub, nil
}

// VerifyPeerKeyID returns a function for tls.Config.VerifyPeerCertificate that
// accepts only a peer whose certificate key has the given [KeyID]. Use it with
// InsecureSkipVerify (no CA) on clients that pin the hub.
func VerifyPeerKeyID(keyID string) func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	return func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		if len(rawCerts) == 0 {
			return errors.New("verify peer: no certificate")
		}
		cert, err := x509.ParseCertificate(rawCerts[0])
		if err != nil {
			return fmt.Errorf("verify peer: %w", err)
		}
		pub, err := PeerKey(cert)
		if err != nil {
			return fmt.Errorf("verify peer: %w", err)
		}
		if got := KeyID(pub); got != keyID {
			return fmt.Errorf("verify peer: key %s, want %s: %w", got, keyID, ErrUnexpectedPeer)
		}
		return nil
	}
}

// ParseRecipient parses an "age1pq1…" hybrid post-quantum recipient, such as a
// tenant's recovery recipient. Classic X25519 recipients are refused.
func ParseRecipient(s string) (*age.HybridRecipient, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "age1pq1") {
		return nil, fmt.Errorf("parse recipient: %w: not an age1pq1 hybrid recipient", ErrMalformed)
	}
	r, err := age.ParseHybridRecipient(s)
	if err != nil {
		// age quotes the whole 2000-character input: keep the message short.
		return nil, fmt.Errorf("parse recipient: %w: bad age1pq1 hybrid recipient", ErrMalformed)
	}
	// Refuse non-canonical encodings (such as upper case) so one key has one
	// string, as fingerprints and comparisons assume.
	if r.String() != s {
		return nil, fmt.Errorf("parse recipient: %w: not in canonical form", ErrMalformed)
	}
	return r, nil
}

// Fingerprint is a hash of a device's public keys, rendered for people to
// compare aloud or by eye as 16 groups of 5 digits, each group one big-endian
// 16-bit word (00000–65535).
type Fingerprint [32]byte

// String renders f as "01234 56789 …" (16 groups of 5 digits).
func (f Fingerprint) String() string {
	var b strings.Builder
	for i := 0; i < len(f); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%05d", uint16(f[i])<<8|uint16(f[i+1]))
	}
	return b.String()
}

// Lines renders f on four lines of four groups, easier to read aloud.
func (f Fingerprint) Lines() []string {
	groups := strings.Fields(f.String())
	lines := make([]string, 0, 4)
	for i := 0; i < len(groups); i += 4 {
		lines = append(lines, strings.Join(groups[i:i+4], " "))
	}
	return lines
}

// ParseFingerprint parses the rendering of [Fingerprint.String]. It ignores
// spaces, dashes and line breaks, so a fingerprint typed in groups, copied
// with dashes or pasted over several lines parses alike. Errors wrap
// [ErrMalformed].
func ParseFingerprint(s string) (Fingerprint, error) {
	var digits []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '\t' || c == '\n' || c == '\r':
		default:
			return Fingerprint{}, fmt.Errorf("parse fingerprint: %w: unexpected character", ErrMalformed)
		}
	}
	var f Fingerprint
	if len(digits) != 5*len(f)/2 {
		return Fingerprint{}, fmt.Errorf("parse fingerprint: %w: %d digits, want %d", ErrMalformed, len(digits), 5*len(f)/2)
	}
	for g := 0; g < len(f)/2; g++ {
		v := 0
		for _, c := range digits[5*g : 5*g+5] {
			v = v*10 + int(c-'0')
		}
		if v > 0xffff {
			return Fingerprint{}, fmt.Errorf("parse fingerprint: %w: group %d out of range", ErrMalformed, g+1)
		}
		f[2*g], f[2*g+1] = byte(v>>8), byte(v)
	}
	return f, nil
}
