package authority

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/watchword/watchword/shared/seal"
)

// FormatVersion is the version of the update encoding. A verifier refuses an update of another version rather than
// guess at it: an unknown field could be a restriction it would otherwise drop.
const FormatVersion = 1

// Limits of one update, checked on decoding and on building. An update travels base64-encoded in a request body
// the hub caps at 1 MiB (wire.MaxBodyBytes), so it must stay well under three quarters of that; 1,000 tech
// approvals take about 150 KiB.
const (
	MaxUpdateBytes = 512 << 10
	MaxOps         = 1000
	MaxSigs        = 16
)

// Domain tags keep a signature over an update from ever verifying as anything else the same keys sign (TLS
// handshakes, envelopes statements), and a hash of an update from colliding with any other hash of Watchword's.
const (
	sigTag  = "watchword/authority/v1 signed update\n"
	hashTag = "watchword/authority/v1 update\n"
)

// Hash names an update: SHA-256 over its full encoding, signatures included.
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero hash (no update).
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash reads a hash as String writes it.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%w: hash %q is not 64 hex digits", ErrMalformed, s)
	}
	copy(h[:], b)
	return h, nil
}

// Update is one signed change of a tenant's authority. The genesis has Seq 0 and no parent; every later update
// names the hash of the one before it and the genesis it descends from.
type Update struct {
	Version int    `cbor:"1,keyasint"`
	Tenant  string `cbor:"2,keyasint"` // the tenant's client GUID
	Seq     uint64 `cbor:"3,keyasint"`
	Parent  []byte `cbor:"4,keyasint,omitempty"`
	Genesis []byte `cbor:"5,keyasint,omitempty"`
	// Time is when the admin signed, for people reading the log; nothing checks it against a clock.
	Time int64 `cbor:"6,keyasint"`
	Ops  []Op  `cbor:"7,keyasint"`
	Sigs []Sig `cbor:"8,keyasint,omitempty"`
}

// Sig is one admin's signature over an update's signed bytes.
type Sig struct {
	KeyID     string `cbor:"1,keyasint"`
	Signature []byte `cbor:"2,keyasint"`
}

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	if encMode, err = cbor.CTAP2EncOptions().EncMode(); err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   16,
		MaxArrayElements:  4 * MaxOps,
		MaxMapPairs:       1024,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Encode returns the update's canonical encoding.
func (u *Update) Encode() ([]byte, error) {
	b, err := encMode.Marshal(u)
	if err != nil {
		return nil, fmt.Errorf("encode update %d: %w", u.Seq, err)
	}
	if len(b) > MaxUpdateBytes {
		return nil, fmt.Errorf("%w: update %d is %d bytes, more than %d", ErrTooLarge, u.Seq, len(b), MaxUpdateBytes)
	}
	return b, nil
}

// Decode reads an update and refuses any encoding but the canonical one, so that an update has exactly one
// hash: duplicate or unknown keys, indefinite lengths, tags and non-minimal integers are all refused.
func Decode(b []byte) (*Update, error) {
	if len(b) > MaxUpdateBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, len(b), MaxUpdateBytes)
	}
	var u Update
	if err := decMode.Unmarshal(b, &u); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	again, err := encMode.Marshal(&u)
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not the canonical encoding", ErrMalformed)
	}
	if u.Version != FormatVersion {
		return nil, fmt.Errorf("%w: update format %d, this build reads %d", ErrVersion, u.Version, FormatVersion)
	}
	if len(u.Ops) > MaxOps || len(u.Sigs) > MaxSigs {
		return nil, fmt.Errorf("%w: %d operations and %d signatures (at most %d and %d)", ErrTooLarge, len(u.Ops), len(u.Sigs), MaxOps, MaxSigs)
	}
	return &u, nil
}

// Hash returns the update's hash over its canonical encoding.
func (u *Update) Hash() (Hash, error) {
	b, err := u.Encode()
	if err != nil {
		return Hash{}, err
	}
	return hashOf(b), nil
}

func hashOf(encoded []byte) Hash {
	h := sha256.New()
	h.Write([]byte(hashTag))
	h.Write(encoded)
	var out Hash
	h.Sum(out[:0])
	return out
}

// signedBytes is what a signature covers: the domain tag and the update without its signatures.
func (u *Update) signedBytes() ([]byte, error) {
	v := *u
	v.Sigs = nil
	b, err := v.Encode()
	if err != nil {
		return nil, err
	}
	return append([]byte(sigTag), b...), nil
}

// Sign adds the signature of key (an admin's Ed25519 key; seal.Identity.Signer) to the update. A key signs an
// update once.
func (u *Update) Sign(key ed25519.PrivateKey) error {
	id := seal.KeyID(key.Public().(ed25519.PublicKey))
	for _, s := range u.Sigs {
		if s.KeyID == id {
			return fmt.Errorf("update %d: already signed by %s", u.Seq, id)
		}
	}
	msg, err := u.signedBytes()
	if err != nil {
		return err
	}
	u.Sigs = append(u.Sigs, Sig{KeyID: id, Signature: ed25519.Sign(key, msg)})
	return nil
}

// New starts an update that extends head (the zero Chain's head for a genesis). The caller adds Ops, then Sign.
func New(tenant string, seq uint64, parent, genesis Hash, now time.Time, ops ...Op) *Update {
	u := &Update{Version: FormatVersion, Tenant: tenant, Seq: seq, Time: now.Unix(), Ops: ops}
	if seq > 0 {
		u.Parent, u.Genesis = parent[:], genesis[:]
	}
	return u
}

// Sentinel errors; a verifier branches on them to say what went wrong.
var (
	ErrMalformed     = errors.New("malformed authority update")
	ErrTooLarge      = errors.New("authority update too large")
	ErrVersion       = errors.New("authority update of an unknown format")
	ErrBadSignature  = errors.New("authority update not signed by an admin who may make it")
	ErrInvalidOp     = errors.New("invalid authority operation")
	ErrRollback      = errors.New("authority head older than one already verified")
	ErrFork          = errors.New("authority head diverges from the one already verified")
	ErrWrongTenant   = errors.New("authority update of another tenant or genesis")
	ErrNotAuthorized = errors.New("not authorized by the signed authority")
)
