// Package authority is the signed record of who may read a password: a hash-chained log of updates, each signed by
// a tenant admin's Ed25519 key, that every verifier (the agents, the Consoles, the TechClients) replays to the same
// state. The hub stores and relays the log; it holds no key that can extend it, so a hub whose database is written
// by an attacker can refuse service but cannot approve a device, swap the recovery recipient, grant a group or
// change the naming format on its own.
//
// The model is Tailscale's tailnet lock (authority update messages replayed from a genesis, every signer trusted in
// the parent's state) with Watchword's own operations: approving a tech's device, enrolling an agent, the tenant's
// admins and recovery recipient, and the entitlement itself (groups, rights and their target groups, triplets,
// the naming format). docs/crypto.md gives the reasoning; in short:
//
//   - An [Update] carries the tenant's client GUID, its sequence number, its parent's hash, a list of [Op]s and the
//     admins' signatures. It is encoded as deterministic CBOR and decoded strictly ([Decode] refuses anything a
//     re-encoding would not reproduce byte for byte), so one update has one hash.
//   - [State] is what the log says now. [State.Apply] checks an update against it (sequence, parent, tenant, every
//     signer an admin of the parent state whose role may make every op, each op valid) and returns the next state,
//     or an error and no change: an update applies whole or not at all.
//   - [Chain] is a verifier's position: the anchor it pinned out of band (tenant and genesis hash), the newest head
//     it verified, and the state. [Chain.Advance] accepts only updates that extend that head, so an old head
//     (rollback) or a sibling (fork) is refused and reported with [ErrRollback] or [ErrFork].
//   - [State.CheckPlan] is the agent's check of the hub's plan: every recipient an approved device of an entitled
//     tech or the signed recovery recipient, every group one a signed right names for the agent's driver, every
//     account name the signed naming format's.
//   - [AuditCheckpoint] is an admin's signed statement that the tenant's audit event with a given sequence number has
//     a given hash: since each event's hash covers its predecessor's, it pins every earlier event, and the newest
//     one ([State].Audit) is the audit log's signed backbone. A checkpoint never moves back.
//   - [State.VerifyEnvelope] is the TechClient's check of an envelope: the agent that staged it signed an
//     [EnvelopeStatement] (tenant, agent, account, version, the envelope's hash) with the key the admins enrolled.
//   - [SignTechEvent] is a tech's device signing what its tech did (a reveal, a copy, a JIT request) as a
//     [TechEventStatement]; the hub keeps the signature in the audit event, and [State.VerifyTechEvent] checks it
//     against the device key the admins approved, so a hub cannot invent an event about a tech.
//
// Files: update.go (the wire form, hashing, signing, strict decoding), op.go (the operations and who may make
// them, the audit checkpoint among them), state.go (the state and Apply), chain.go (a verifier's position),
// plan.go (the agent's check of a plan), envelope.go (the agent's signature over a staged envelope and its check),
// techevent.go (a device's signature over its tech's events and its check), testdata/ (vectors read by
// vectors_test.go, which also seed the fuzz tests; techevents.txt by techevent_test.go).
package authority
