package authority

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// techEventTag separates a device's signature over one of its tech's events from every other signature its key
// makes (its TLS handshakes) and from the agents' envelope statements and the admins' updates.
const techEventTag = "watchword/authority/v1 tech event\n"

// TechEventJIT is the kind of a tech's request for a just-in-time window; wire.EventReveal and wire.EventCopy are
// the kinds of the events a device reports about a password, wire.EventTAPReveal and wire.EventTAPCopy about a
// window's Temporary Access Pass (the grant ID in Version). The kind is signed, so a pass's reveal can never be read
// as a reveal of the password version whose number is the grant's ID, and an event of an older device, which knows
// only the password kinds, signs the same bytes as it always has.
const TechEventJIT = "jit-request"

// ErrTechEventSignature: a tech event carries a signature that is not its tech's device's, or the device is not
// the one the signed authority approved for that tech.
var ErrTechEventSignature = errors.New("tech event not signed by the tech's approved device")

// TechEventStatement is what a tech's device signs about something its tech did: a reveal or a copy of a version,
// or a request for a just-in-time window (with its duration and reason). The hub writes these events into its
// audit log; with the device's signature kept beside each, a hub whose database an attacker writes can no longer
// invent a reveal its tech never made, or change the reason a request gave. SignedAt is the device's clock, for
// people reading the log: nothing checks it against another clock. It is encoded as deterministic CBOR, as
// updates are.
type TechEventStatement struct {
	Tenant   string `cbor:"1,keyasint"` // the tenant's client GUID
	Tech     int64  `cbor:"2,keyasint"` // the tech's ID at the hub
	Kind     string `cbor:"3,keyasint"` // wire.EventReveal, wire.EventCopy, wire.EventTAPReveal, wire.EventTAPCopy or TechEventJIT
	Account  int64  `cbor:"4,keyasint"`
	Version  int64  `cbor:"5,keyasint,omitempty"` // the version revealed or copied; a pass's grant ID
	Duration int64  `cbor:"6,keyasint,omitempty"` // a JIT request's window, in seconds
	Reason   string `cbor:"7,keyasint,omitempty"` // a JIT request's reason
	SignedAt int64  `cbor:"8,keyasint"`           // Unix seconds, as the device's clock said
}

// TechEventOf is the statement of an event a device reports (reveal or copy), signed at ev.SignedAt.
func TechEventOf(tenant string, tech int64, ev wire.EventRequest) TechEventStatement {
	return TechEventStatement{Tenant: tenant, Tech: tech, Kind: ev.Kind, Account: ev.AccountID, Version: ev.Version,
		SignedAt: unixOf(ev.SignedAt)}
}

// JITRequestOf is the statement of a request for a just-in-time window, signed at req.SignedAt.
func JITRequestOf(tenant string, tech int64, req wire.JITRequest) TechEventStatement {
	return TechEventStatement{Tenant: tenant, Tech: tech, Kind: TechEventJIT, Account: req.AccountID,
		Duration: req.DurationSeconds, Reason: req.Reason, SignedAt: unixOf(req.SignedAt)}
}

// unixOf is t in Unix seconds; the zero time (an event that says no time) is 0, not year 1's negative count.
func unixOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// SignedBytes is what the device signs: a domain tag and the statement's canonical CBOR. A verifier outside
// Watchword checks a signature over exactly these bytes (testdata/techevents.txt has vectors).
func (st TechEventStatement) SignedBytes() []byte {
	b, err := encMode.Marshal(st)
	if err != nil {
		// The statement holds only strings and integers: encoding it cannot fail.
		panic(fmt.Sprintf("authority: encode tech event statement: %v", err))
	}
	return append([]byte(techEventTag), b...)
}

func (st TechEventStatement) String() string {
	switch st.Kind {
	case TechEventJIT:
		return fmt.Sprintf("tech %d's request for %d s on account %d", st.Tech, st.Duration, st.Account)
	case wire.EventTAPReveal, wire.EventTAPCopy:
		return fmt.Sprintf("tech %d's %s of the access pass of window %d of account %d", st.Tech, st.Kind, st.Version, st.Account)
	default:
		return fmt.Sprintf("tech %d's %s of version %d of account %d", st.Tech, st.Kind, st.Version, st.Account)
	}
}

// SignTechEvent is the device's signature over st, with its Ed25519 auth key (seal.Identity.Signer).
func SignTechEvent(key ed25519.PrivateKey, st TechEventStatement) []byte {
	return ed25519.Sign(key, st.SignedBytes())
}

// VerifyTechEvent checks that sig is st signed with key, the device's Ed25519 auth key (seal.PublicKey.AuthKey).
// The hub checks it against the key the request came with; a verifier that does not trust the hub's word for the
// key also checks it against the signed state (State.VerifyTechEvent).
func VerifyTechEvent(key ed25519.PublicKey, st TechEventStatement, sig []byte) error {
	switch {
	case len(key) != ed25519.PublicKeySize:
		return fmt.Errorf("%w: %s: no device key", ErrTechEventSignature, st)
	case len(sig) == 0:
		return fmt.Errorf("%w: %s carries no device signature", ErrTechEventSignature, st)
	case !ed25519.Verify(key, st.SignedBytes(), sig):
		return fmt.Errorf("%w: the signature of %s is not device %s's", ErrTechEventSignature, st, seal.KeyID(key))
	}
	return nil
}

// VerifyTechEvent checks sig as VerifyTechEvent does, and that key is the device the signed state approved for
// st's tech in st's tenant: the hub names the key, the signed authority says whether it is the tech's.
func (s *State) VerifyTechEvent(key ed25519.PublicKey, st TechEventStatement, sig []byte) error {
	if !s.Started() {
		return fmt.Errorf("%w: no signed authority verified yet", ErrTechEventSignature)
	}
	if st.Tenant != s.Tenant {
		return fmt.Errorf("%w: event of tenant %q, the signed authority is %q's", ErrTechEventSignature, st.Tenant, s.Tenant)
	}
	t, ok := s.Techs[st.Tech]
	switch {
	case !ok:
		return fmt.Errorf("%w: tech %d is not approved in the signed authority", ErrTechEventSignature, st.Tech)
	case len(key) != ed25519.PublicKeySize || seal.KeyID(key) != t.KeyID:
		return fmt.Errorf("%w: the key named for tech %d is not the device the signed authority approved", ErrTechEventSignature, st.Tech)
	}
	return VerifyTechEvent(key, st, sig)
}
