package hub

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Tech events signed by the device (authority.SignTechEvent): a reveal, a copy or a JIT request carries its
// device's signature over what the tech did, and the audit event keeps it, so a Console can later tell an event
// the device made from one somebody wrote into the hub's database (console/vm/techevents.go).
//
// The device's key goes with it: the hub keeps only a tech's current key, and a Console checks an event of a device
// replaced since against the key the event names, whose ID the signed authority approved (or not).
//
// The signature goes into the audit event's detail, not a column of its own: the detail is covered by the audit
// chain's hash (and so by the admins' signed checkpoints of it), every reader of the log already carries it, and
// neither the store, its conformance suite nor wire.AuditEvent has to change for a value only the Console reads.

// Detail fields of a tech event's audit record; console/vm/techevents.go reads them.
const (
	detailDevSig   = "devsig"   // the signature in standard base64, or devsigNone
	detailDevKey   = "devkey"   // the device's Ed25519 auth key in standard base64, to check the signature with later
	detailSignedAt = "signedat" // the device's time, RFC 3339 in UTC
	devsigNone     = "none"     // an older TechClient that signs nothing
)

// deviceSignature checks sig, the tech's device's signature over st made at signedAt, with the key the device
// registered, and returns what the audit event's detail records of it (with a leading space). A request without a
// signature comes from a TechClient older than wire.CapTechEventSignature: it is accepted and recorded as unsigned.
// A signature that does not verify is refused before anything is written.
func deviceSignature(tech *store.Tech, st authority.TechEventStatement, sig []byte, signedAt time.Time) (string, error) {
	if len(sig) == 0 {
		return " " + detailDevSig + "=" + devsigNone, nil
	}
	if signedAt.IsZero() {
		return "", wire.Invalid("signedAt", "the device's time is required with a signature")
	}
	key, err := seal.ParsePublicKey(tech.PublicKey)
	if err != nil {
		return "", fmt.Errorf("tech %d's registered key: %w", tech.ID, err)
	}
	if err := authority.VerifyTechEvent(key.AuthKey(), st, sig); err != nil {
		return "", wire.Invalid("signature", "does not verify with the device key tech %d registered: %v", tech.ID, err)
	}
	return fmt.Sprintf(" %s=%s %s=%s %s=%s", detailDevKey, base64.StdEncoding.EncodeToString(key.AuthKey()), detailSignedAt, signedAt.UTC().Format(time.RFC3339),
		detailDevSig, base64.StdEncoding.EncodeToString(sig)), nil
}
