// Package seal is the cryptography every part of Watchword trusts: device
// identities, the envelopes that carry passwords, and the fingerprints humans
// compare when they approve a device.
//
// # Identities
//
// A device creates its own [Identity] with [GenerateIdentity] and never sends it
// anywhere. An Identity holds two keys:
//
//   - an age hybrid post-quantum identity (ML-KEM-768 + X25519, recipients
//     "age1pq1…") that opens envelopes sealed to the device, and
//   - an Ed25519 key that authenticates the device to the hub, as the key of a
//     self-signed TLS certificate ([Identity.TLSCertificate]).
//
// Its public half, [PublicKey], is one copyable line ("ww1pub.…"). The hub
// names a principal by [KeyID], a hash of the Ed25519 key alone, so it can tell
// who is calling from the TLS peer certificate ([PeerKey]). Humans compare the
// [Fingerprint], which covers both keys, at approval time.
//
// Identity.String is the secret serialisation, meant for the keystore only;
// fmt verbs (%v, %+v, %#v, %s) print a redacted form instead.
//
// # Envelopes
//
// [Seal] encrypts a small secret with filippo.io/age to every recipient: the
// technician's device keys and the tenant's offline recovery recipient. All of
// them are hybrid post-quantum recipients, because age refuses to mix
// post-quantum and classic recipients in one file. The envelope is a plain age
// file, so the MSP owner can break glass with
//
//	age -d -i recovery-identity.txt envelope.age
//
// Inside, the plaintext starts with a short human-readable header that binds it
// to its [Context] (tenant, agent, account, version), then a blank line, then
// the secret. [Open] checks that header against the context the caller expects,
// so an envelope copied to another account or replayed as another version is
// rejected with [ErrWrongContext].
//
// # Errors
//
// Callers branch on four sentinels with errors.Is: [ErrWrongKey] (no identity
// matched), [ErrTampered] (authentication failed), [ErrWrongContext] and
// [ErrMalformed]. Error messages name the object but never include key material
// or secrets.
//
// age recipient stanzas are anonymous by design: a modified byte inside the
// stanza addressed to the caller's own key looks exactly like an envelope for
// someone else, so it is reported as ErrWrongKey, not ErrTampered. Changes to
// the header MAC or the payload are reported as ErrTampered.
//
// An age envelope proves nothing about who sealed it: anyone holding a
// device's public key can seal to it. The context header stops an envelope
// from being moved, not from being forged by a holder of public keys; the hub
// authenticates agents before it stores what they seal.
package seal
