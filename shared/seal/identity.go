package seal

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"time"

	"filippo.io/age"
)

// Identity is a device's private keys: an age hybrid post-quantum identity
// that opens envelopes, and an Ed25519 key that authenticates the device.
//
// Formatting an Identity with fmt prints a redacted form; only String returns
// the secret serialisation.
type Identity struct {
	age  *age.HybridIdentity
	auth ed25519.PrivateKey
	pub  *PublicKey
}

var (
	_ age.Identity   = (*Identity)(nil)
	_ fmt.Formatter  = (*Identity)(nil)
	_ fmt.GoStringer = (*Identity)(nil)
)

// identityPrefix starts the secret serialisation. The second part is the
// Ed25519 seed (base64url), the third the age secret key verbatim, so a
// device key can be handed to the age CLI if ever needed.
const identityPrefix = "WW1SECRET"

// b64 encodes the Ed25519 halves of the serialisations.
var b64 = base64.RawURLEncoding.Strict()

// GenerateIdentity creates a fresh identity from the system's random source.
func GenerateIdentity() (*Identity, error) {
	hy, err := age.GenerateHybridIdentity()
	if err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	_, auth, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	return newIdentity(hy, auth), nil
}

func newIdentity(hy *age.HybridIdentity, auth ed25519.PrivateKey) *Identity {
	return &Identity{
		age:  hy,
		auth: auth,
		pub: &PublicKey{
			rcpt: hy.Recipient(),
			auth: auth.Public().(ed25519.PublicKey),
		},
	}
}

// ParseIdentity parses the secret serialisation produced by [Identity.String].
// Its errors wrap [ErrMalformed] and never repeat the input.
func ParseIdentity(s string) (*Identity, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 || parts[0] != identityPrefix {
		return nil, fmt.Errorf("parse identity: %w: not a %s key", ErrMalformed, identityPrefix)
	}
	seed, err := b64.DecodeString(parts[1])
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("parse identity: %w: bad auth key", ErrMalformed)
	}
	// age's parse errors may quote parts of the key: never pass them on.
	hy, err := age.ParseHybridIdentity(parts[2])
	if err != nil {
		return nil, fmt.Errorf("parse identity: %w: bad age hybrid identity", ErrMalformed)
	}
	return newIdentity(hy, ed25519.NewKeyFromSeed(seed)), nil
}

// String returns the secret serialisation of i, for the keystore only. Never
// log it, send it, or write it to disk unsealed.
func (i *Identity) String() string {
	return identityPrefix + "." + b64.EncodeToString(i.auth.Seed()) + "." + i.age.String()
}

// Format redacts the identity for every fmt verb, so an identity that slips
// into a log line or an error shows only its public key ID.
func (i *Identity) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, i.GoString())
}

// GoString returns a redacted form, for %#v.
func (i *Identity) GoString() string {
	if i == nil || i.pub == nil {
		return "seal.Identity(nil)"
	}
	return "seal.Identity{ID: " + i.pub.ID() + ", secret: REDACTED}"
}

// Public returns the public half of i.
func (i *Identity) Public() *PublicKey { return i.pub }

// Unwrap implements [age.Identity], so an Identity can be passed to [Open] or
// to age.Decrypt directly.
func (i *Identity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	return i.age.Unwrap(stanzas)
}

// AgeIdentity returns the age hybrid identity inside i.
func (i *Identity) AgeIdentity() *age.HybridIdentity { return i.age }

// Signer returns the Ed25519 key that authenticates the device.
func (i *Identity) Signer() ed25519.PrivateKey { return i.auth }

// TLSCertificate returns a self-signed certificate for the Ed25519 key, usable
// as a TLS client or server certificate. Peers do not trust it through a CA:
// they identify it by [PeerKey] and [KeyID], as Syncthing identifies devices.
func (i *Identity) TLSCertificate() (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate for %s: %w", i.pub.ID(), err)
	}
	id := i.pub.ID()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: id, Organization: []string{"Watchword"}},
		// The validity window is not what makes the certificate trusted (the
		// pinned key is), so it is generous to survive clock skew.
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{id + ".watchword.invalid"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, i.pub.auth, i.auth)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate for %s: %w", id, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate for %s: %w", id, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: i.auth, Leaf: leaf}, nil
}
