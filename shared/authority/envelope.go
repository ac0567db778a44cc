package authority

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
)

// envelopeTag separates an agent's signature over an envelope statement from every other signature its key makes
// (its TLS handshakes) and from the admins' signatures over updates.
const envelopeTag = "watchword/authority/v1 envelope\n"

// ErrEnvelopeSignature: an envelope carries no signature, or one that is not its agent's, or its agent is not
// enrolled in the signed authority. A TechClient shows such an envelope to no one.
var ErrEnvelopeSignature = errors.New("envelope not signed by an agent the admins enrolled")

// EnvelopeStatement is what an agent signs when it stages a version: which tenant, agent, account and version the
// envelope is, and the SHA-256 of its bytes. age does not authenticate who sealed a file; the statement does, and
// a TechClient checks it against the signed state before it opens anything, so a hub can no longer hand a tech
// an envelope of its own making. It is encoded as deterministic CBOR, as updates are.
type EnvelopeStatement struct {
	Tenant      string `cbor:"1,keyasint"` // the tenant's client GUID
	Agent       int64  `cbor:"2,keyasint"` // the agent's ID, as the signed authority enrolled it
	Account     int64  `cbor:"3,keyasint"` // the account's ID at the hub
	AccountName string `cbor:"4,keyasint"` // the account's name on the target
	Version     int64  `cbor:"5,keyasint"`
	Envelope    []byte `cbor:"6,keyasint"` // SHA-256 of the envelope (the age file) as staged
}

// NewEnvelopeStatement is the statement of one staged version of envelope.
func NewEnvelopeStatement(tenant string, agent, account int64, accountName string, version int64, envelope []byte) EnvelopeStatement {
	h := sha256.Sum256(envelope)
	return EnvelopeStatement{Tenant: tenant, Agent: agent, Account: account, AccountName: accountName, Version: version, Envelope: h[:]}
}

func (st EnvelopeStatement) signedBytes() []byte {
	b, err := encMode.Marshal(st)
	if err != nil {
		// The statement holds only strings, integers and bytes: encoding it cannot fail.
		panic(fmt.Sprintf("authority: encode envelope statement: %v", err))
	}
	return append([]byte(envelopeTag), b...)
}

// SignEnvelope is the agent's signature over st, with its Ed25519 key (seal.Identity.Signer).
func SignEnvelope(key ed25519.PrivateKey, st EnvelopeStatement) []byte {
	return ed25519.Sign(key, st.signedBytes())
}

// VerifyEnvelope checks that sig is st signed by the agent st names, and that the signed state enrolls that agent
// (with that key) in st's tenant. The caller computes st from the envelope it is about to open and the account it
// shows it under, never from what the hub says the statement is.
func (s *State) VerifyEnvelope(st EnvelopeStatement, sig []byte) error {
	switch {
	case !s.Started():
		return fmt.Errorf("%w: no signed authority verified yet", ErrEnvelopeSignature)
	case st.Tenant != s.Tenant:
		return fmt.Errorf("%w: envelope of tenant %q, the signed authority is %q's", ErrEnvelopeSignature, st.Tenant, s.Tenant)
	case len(sig) == 0:
		return fmt.Errorf("%w: version %d of %q carries no agent signature", ErrEnvelopeSignature, st.Version, st.AccountName)
	}
	a, ok := s.Agents[st.Agent]
	if !ok || len(a.Key) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: agent %d is not enrolled in the signed authority", ErrEnvelopeSignature, st.Agent)
	}
	if !ed25519.Verify(a.Key, st.signedBytes(), sig) {
		return fmt.Errorf("%w: the signature of version %d of %q is not agent %d's", ErrEnvelopeSignature, st.Version, st.AccountName, st.Agent)
	}
	return nil
}
