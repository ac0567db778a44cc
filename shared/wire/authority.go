package wire

// The signed authority (package shared/authority) as the hub relays it. The hub stores each tenant's updates and
// hands them out; it cannot make one. Updates travel as their canonical CBOR bytes (base64 in JSON), never
// re-encoded on the way, so a verifier hashes exactly what the admin signed.
const (
	// PathAuthority answers the tenant's updates after a sequence number to any principal of the tenant: an
	// agent, a tech device or an admin (GET ?since=N, the verifier's own head; since=-1 from the genesis).
	PathAuthority = "/v1/authority"
	// PathAdminAuthority takes one admin-signed update (POST AuthorityPublish). The hub checks that it extends
	// its head (409 conflict otherwise: the Console fetches, re-applies its change and signs again) and that it
	// verifies against the state the hub replays, then stores it and wakes the tenant's agents and devices.
	PathAdminAuthority = "/v1/admin/authority"
)

// CapAuthority is the capability version that brought the signed authority (see CapabilityVersion's history).
const CapAuthority = 9

// MaxAuthorityBatch bounds the updates one AuthorityResponse carries; a verifier further behind asks again.
const MaxAuthorityBatch = 500

// AuthorityHead names a tenant's newest update: its sequence number and its hash (64 hex digits). A tenant without
// a signed authority has no head (nil in the messages that carry one).
type AuthorityHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// AuthorityResponse carries updates in order, from the one after Since, and the hub's head. More says the batch
// was cut at MaxAuthorityBatch.
type AuthorityResponse struct {
	Updates [][]byte       `json:"updates"`
	Head    *AuthorityHead `json:"head,omitempty"`
	More    bool           `json:"more,omitempty"`
}

// AuthorityPublish is one signed update for the hub to store and relay.
type AuthorityPublish struct {
	Update []byte `json:"update"`
}

// PathAgentAuthority is where an agent reports the signed authority head it verified and, when it refuses the
// hub's plan, why (POST AgentAuthorityReport). The Console shows each agent's head beside the tenant's, and an
// alert for every agent that refuses: a plan that widens access without a signature is the sign of a breached hub.
const PathAgentAuthority = "/v1/agent/authority"

// AgentAuthorityReport is an agent's receipt of the authority: the head it verified (nil before any) and, when it
// refuses to act, the reason (one line, naming accounts and what was wrong; never a secret). An empty Refusal
// clears an earlier one.
type AgentAuthorityReport struct {
	Head    *AuthorityHead `json:"head,omitempty"`
	Refusal string         `json:"refusal,omitempty"`
}
