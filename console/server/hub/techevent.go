package hub

import (
	"encoding/base64"
	"errors"
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

// A reveal or a copy of a just-in-time window's Temporary Access Pass (wire.EventTAPReveal, wire.EventTAPCopy) is a
// tech event like a password's: the device signs it with the grant's ID as the version, the hub checks the signature
// and audits it as credential.tap-reveal or credential.tap-copy with grant= instead of version= (tapEvent).

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

// tapEvent audits the reveal or copy of the Temporary Access Pass of acc's just-in-time window req.Version, after
// deviceSignature checked the device's signature. The grant must be one of tech's windows on acc that opened; it
// may have closed since, as a device reports what it did offline when it reaches the hub again. A pass is not the
// account's password: its use makes no rotation due (the window's close revokes the pass).
func tapEvent(c *change, tech int64, acc *store.Account, req wire.EventRequest, devsig string) error {
	g, err := c.tx.JITGrant(c.tenant.ID, req.Version)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (g.AccountID != acc.ID || g.TechID != tech)) {
		return wire.Invalid("version", "no just-in-time window %d of yours on account %d", req.Version, acc.ID)
	}
	if err != nil {
		return err
	}
	if g.ExpiresAt.IsZero() {
		return wire.Invalid("version", "the just-in-time window %d of account %d never opened", g.ID, acc.ID)
	}
	return c.audit("credential."+req.Kind, fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("grant=%d name=%q", g.ID, acc.Name)+devsig)
}
