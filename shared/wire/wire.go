// Package wire is the one vocabulary the hub and its clients share: the JSON bodies of every request and response
// of the hub's HTTP API, the invite string that points a client at a hub, and the error shape.
//
// Everything here is plain data. The hub (console/server/hub) serves these types, the typed client (shared/hubclient)
// sends them; the agent, the TechClient and the Console only ever see them through that client.
//
// Two numbers version the protocol. ProtocolVersion changes only when a body's meaning changes so that an older
// peer would misread it: the hub refuses a major version it does not speak. CapabilityVersion grows by one with
// every feature a peer may or may not have (its history is the list below it); each side sends its own, and
// code asks "does the other side have N?" instead of probing for methods or routes. Adding an optional field
// needs neither: the hub is strict only about what a client sends it, and clients decode leniently.
//
// Secrets never travel in these types: an Envelope is a sealed age file the hub cannot open.
package wire

import (
	"errors"
	"fmt"
	"time"
)

// ProtocolVersion is sent by clients in HeaderProtocol; the hub rejects a major version it does not speak.
const ProtocolVersion = 1

// CapabilityVersion is what this build of the hub or a client can do, as one number that only grows. Clients
// send theirs in HeaderCapability on every request; the hub answers its own in the same header on every response
// and in its health answer. A feature that needs both sides is used only when the peer's number is at least the
// one that introduced it.
//
// History (add a line, never change one):
//
//	1: registration, approval, credentials, plans, staging and confirmation, long polls (the first protocol)
//	2: credential deltas (CredentialsSince a revision) and wake-up signatures
//	3: just-in-time access: requests, windows, approvals, held polls
//	4: two-factor sessions for co-managed techs and authenticator reset
//	5: device replacement (re-key) and its contests
//	6: organizations, console roles, admin invites and seats
//	7: credential history and rotate-after-use
//	8: failed accounts, retry and adoption; halted plans; agent enrolment approval
//	9: the signed authority: admins publish signed updates, every principal reads them, plans name the head
//	10: agents sign each staged version's envelope statement; the hub keeps the signature and hands it out
//	11: devices sign their tech's events (reveal, copy, JIT request); the hub checks and audits the signature
//	12: an approval carries the TechGroups the tech joins and the admin's override of the triplets that give
//	    AllTechs every domain (without it the hub refuses a co-managed approval); onboarding again extends
//	13: a tech's short name (PUT PathAdminTechs/{id}/short-name), which stands for its username in account names
//	14: the audit log is filtered by action prefix and by the principal an event is about, read newest first a
//	    page at a time, and each event carries its tenant and previous hash (an export verifies offline)
//	15: a tech edited (name, email) and moved between organizations with its TechGroups, deleted with or without
//	    its accounts on the targets (plans list the accounts to delete), and its device (last seen, release,
//	    replacements)
//	16: API identities: an admin invite for a script's own key, with a role, an expiry and the source addresses
//	    it may call from
//	17: the audit log streamed to syslog collectors over TLS (PathAdminAuditCollectors: an owner configures them,
//	    every admin reads their state)
//	18: just-in-time windows carry a Temporary Access Pass the agent sealed to the tech's device and signed
//	    (PathAgentJITTAP; Credential.JITGrant.TAP), for targets whose sign-in needs a second factor (Entra ID)
//	19: the health answer names the hub's public URLs (serve --public-url) and the database it is connected to
//	    (engine, role, synchronous standbys); invites carry several URLs of the same hub
//	20: a device reports the reveal and the copy of a just-in-time window's Temporary Access Pass
//	    (EventRequest kinds EventTAPReveal and EventTAPCopy, the grant as the version), signed like a password's
const CapabilityVersion = 20

// MinCapabilityVersion is the oldest client the hub serves: the features every current route assumes.
const MinCapabilityVersion = 1

// Capability versions that gate a feature, named where code branches on them.
const (
	CapDeltaChanges = 2
	CapJIT          = 3
	CapTwoFactor    = 4
	CapRekey        = 5
	CapOrgs         = 6
	CapHistory      = 7
	CapAdoption     = 8
	// CapEnvelopeSignature: a hub that takes StageRequest.Signature (an older one refuses the unknown field).
	CapEnvelopeSignature = 10
	// CapTechEventSignature: a hub that takes EventRequest's and JITRequest's Signature and SignedAt.
	CapTechEventSignature = 11
	// CapApproveInto: a hub that takes ApproveRequest's Groups and OverrideTriplets (an older one refuses them).
	CapApproveInto = 12
	// CapShortName: a hub that sets a tech's short name (TechShortNameRequest).
	CapShortName = 13
	// CapAuditQuery: a hub that takes AuditQuery's ActionPrefix, About, BeforeSeq and Newest (an older one ignores
	// them and would answer unfiltered) and fills AuditEvent's Tenant and PrevHash.
	CapAuditQuery = 14
	// CapTechLife: a hub that edits, moves and deletes techs and shows their device (techlife.go).
	CapTechLife = 15
	// CapAPIIdentity: a hub that takes InviteRequest's API fields and shows an admin's expiry and sources.
	CapAPIIdentity = 16
	// CapAuditStream: a hub that streams the audit log to the collectors of PathAdminAuditCollectors.
	CapAuditStream = 17
	// CapJITTAP: a hub that stores a window's sealed Temporary Access Pass (PathAgentJITTAP) and hands it to the tech.
	CapJITTAP = 18
	// CapHubURLs: a hub whose health answer (Health) names its public URLs and its database.
	CapHubURLs = 19
	// CapTAPEvents: a hub that takes EventRequest's EventTAPReveal and EventTAPCopy (an older one refuses the kind).
	CapTAPEvents = 20
)

// HTTP headers of the protocol.
const (
	HeaderProtocol   = "Watchword-Protocol"   // decimal ProtocolVersion
	HeaderCapability = "Watchword-Capability" // decimal CapabilityVersion of the sender
	HeaderClient     = "Watchword-Client"     // the tenant's client GUID the request is about
)

// MaxBodyBytes bounds every request body the hub accepts.
const MaxBodyBytes = 1 << 20

// MaxWait is the longest a long poll is held open by the hub.
const MaxWait = 30 * time.Second

// TechStatus is a tech's lifecycle state; only active techs receive anything but their own status.
type TechStatus string

const (
	TechPending  TechStatus = "pending"
	TechActive   TechStatus = "active"
	TechDisabled TechStatus = "disabled"
	TechRejected TechStatus = "rejected"
)

// AgentStatus is an agent's state; an agent that is not active gets nothing but an error. An agent enrolled with a
// token that was not created "approve on use" is pending until an admin, having compared its key fingerprint,
// approves it (active) or rejects it (rejected, for good).
type AgentStatus string

const (
	AgentPending  AgentStatus = "pending"
	AgentActive   AgentStatus = "active"
	AgentDisabled AgentStatus = "disabled"
	AgentRejected AgentStatus = "rejected"
)

// Role of a console admin. The owner is the first admin of a tenant and cannot be removed.
type Role string

const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
)

// Driver kinds of agents. Account names are validated per kind.
const (
	DriverAD    = "ad"
	DriverLinux = "linux"
	DriverLDAP  = "ldap"
	// DriverEntra: Microsoft Entra ID (Microsoft 365) over Graph; a right's groups there are directory role names
	// ("User Administrator") and role-assignable groups.
	DriverEntra = "entra"
)

// Names of the built-ins every tenant starts with.
const (
	AllTechs   = "AllTechs"
	AllDomains = "AllDomains"
	AllRights  = "AllRights"
)

// VersionState is the lifecycle of one sealed credential version.
type VersionState string

const (
	VersionStaged     VersionState = "staged"     // sealed and stored; the target may or may not hold it yet
	VersionConfirmed  VersionState = "confirmed"  // the target holds it and it was verified
	VersionSuperseded VersionState = "superseded" // an older version replaced by a newer confirmed one
	VersionFailed     VersionState = "failed"     // the agent knows the target never took it
)

// Due reasons for a rotation in a plan.
const (
	DueNew         = "new"                        // no confirmed version yet
	DueSchedule    = "schedule"                   // the rotation interval elapsed
	DueRotateNow   = "rotate-now"                 // an admin asked for it
	DueUnconfirmed = "unconfirmed-stage-recovery" // a staged version was never confirmed: rotate afresh
	DueAfterReveal = "after-reveal"               // the tech revealed the password and the grace period passed
)

// Policy is a tenant's rotation and naming policy.
type Policy struct {
	IntervalSeconds int64  `json:"intervalSeconds"` // rotation interval
	Length          int    `json:"length"`          // password length
	Digits          int    `json:"digits"`          // minimum digits
	Symbols         int    `json:"symbols"`         // minimum symbols
	NoUpper         bool   `json:"noUpper,omitempty"`
	NoAmbiguous     bool   `json:"noAmbiguous,omitempty"` // avoid characters such as l, 1, O, 0
	NamingFormat    string `json:"namingFormat"`          // e.g. "{username}-{abbrev}"
	// RotateAfterUseSeconds, when positive, rotates a password that long after its tech revealed or copied it
	// (Windows LAPS's post-authentication action); 0 turns it off. An agent group may override it.
	RotateAfterUseSeconds int64 `json:"rotateAfterUseSeconds"`
	// HistoryDepth is how many confirmed versions of each account the hub keeps (the current one included), sealed
	// as they were; older ones are deleted. 0 in a stored policy means DefaultHistoryDepth.
	HistoryDepth int `json:"historyDepth"`
}

// PolicyRequest is the body of PUT PathAdminPolicy: the policy, and the admin's confirmations of settings that
// need one. A plain Policy is a PolicyRequest without confirmations.
type PolicyRequest struct {
	Policy
	// ConfirmNoFixedPart confirms a naming format without a fixed part (no literal character and no {abbrev},
	// such as "{username}"): account names then equal the usernames, and a tech's name could meet an existing
	// account of the target. The hub refuses such a format without it, and audits its use.
	ConfirmNoFixedPart bool `json:"confirmNoFixedPart,omitempty"`
}

// Policy defaults and bounds of rotate-after-use and the password history.
const (
	DefaultRotateAfterUse = 8 * time.Hour
	MaxRotateAfterUse     = 30 * 24 * time.Hour
	DefaultHistoryDepth   = 5
	MaxHistoryDepth       = 50
)

// History returns the history depth, DefaultHistoryDepth when unset.
func (p Policy) History() int {
	if p.HistoryDepth <= 0 {
		return DefaultHistoryDepth
	}
	return p.HistoryDepth
}

// Interval returns the rotation interval as a duration.
func (p Policy) Interval() time.Duration { return time.Duration(p.IntervalSeconds) * time.Second }

// DefaultPolicy is what a new tenant starts with.
func DefaultPolicy() Policy {
	return Policy{IntervalSeconds: int64(24 * time.Hour / time.Second), Length: 24, Digits: 4, Symbols: 4,
		NoAmbiguous: true, NamingFormat: "{username}-{abbrev}",
		RotateAfterUseSeconds: int64(DefaultRotateAfterUse / time.Second), HistoryDepth: DefaultHistoryDepth}
}

// Tenant is one MSP on a hub, seen by its admins.
type Tenant struct {
	ClientGUID string    `json:"clientGuid"`
	Name       string    `json:"name"`
	Abbrev     string    `json:"abbrev"`
	Recovery   string    `json:"recovery"` // age1pq1… recovery recipient
	Policy     Policy    `json:"policy"`
	Revision   int64     `json:"revision"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Tech is a technician as admins see it.
type Tech struct {
	ID           int64      `json:"id"`
	Username     string     `json:"username"`
	DisplayName  string     `json:"displayName"`
	Email        string     `json:"email"`
	Organization string     `json:"organization,omitempty"`
	CoManaged    bool       `json:"coManaged,omitempty"`
	Status       TechStatus `json:"status"`
	PublicKey    string     `json:"publicKey"`
	Fingerprint  string     `json:"fingerprint"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	// ShortName, when an admin set one, stands for the username in the tech's account names (TechShortNameRequest).
	ShortName string `json:"shortName,omitempty"`
	// LastSeen is the device's last request; DeletedAt is set on a deleted tech (listed with the status
	// TechsDeleted only), DeleteAccounts when its accounts are deleted from the targets too (techlife.go).
	LastSeen       time.Time `json:"lastSeen,omitzero"`
	DeletedAt      time.Time `json:"deletedAt,omitzero"`
	DeleteAccounts bool      `json:"deleteAccounts,omitempty"`
	// Problems lists, for an active tech, the entitlements that cannot become an account: a name too long or
	// invalid on a target kind, a reserved name, a name another tech's account would share. Each says where.
	Problems []string `json:"problems,omitempty"`
	// Reservation is set while a tech who registered under a CSV reservation waits for approval.
	Reservation *TechReservation `json:"reservation,omitempty"`
}

// Group is a TechGroup or an AgentGroup.
type Group struct {
	ID              int64   `json:"id"`
	Name            string  `json:"name"`
	Builtin         bool    `json:"builtin,omitempty"`
	Members         []int64 `json:"members"`                   // tech or agent IDs; empty for AllTechs (implicit)
	IntervalSeconds int64   `json:"intervalSeconds,omitempty"` // AgentGroup only: overrides the tenant's interval
	// RotateAfterUseSeconds (AgentGroup only), when set, overrides the tenant's rotate-after-use grace; 0 turns it
	// off for the group's agents.
	RotateAfterUseSeconds *int64 `json:"rotateAfterUseSeconds,omitempty"`
}

// Right is a named privilege resolved on each target by its group names per driver kind.
type Right struct {
	ID      int64               `json:"id"`
	Name    string              `json:"name"`
	Builtin bool                `json:"builtin,omitempty"`
	Targets map[string][]string `json:"targets"` // driver kind → group names on that kind of target
}

// Triplet grants a Right to every tech of a TechGroup on every agent of an AgentGroup.
type Triplet struct {
	ID           int64 `json:"id"`
	TechGroupID  int64 `json:"techGroupId"`
	AgentGroupID int64 `json:"agentGroupId"`
	RightID      int64 `json:"rightId"`
	Builtin      bool  `json:"builtin,omitempty"`
	// Mode is TripletStanding (also when empty) or TripletJIT (jit.go); MaxDurationSeconds bounds a JIT window and
	// ApprovalRequired makes each request wait for an approver.
	Mode               string `json:"mode,omitempty"`
	MaxDurationSeconds int64  `json:"maxDurationSeconds,omitempty"`
	ApprovalRequired   bool   `json:"approvalRequired,omitempty"`
}

// Agent is an enrolled agent as admins see it.
type Agent struct {
	ID        int64       `json:"id"`
	Name      string      `json:"name"` // chosen by whoever ran the enroll command
	Driver    string      `json:"driver"`
	Status    AgentStatus `json:"status"`
	PublicKey string      `json:"publicKey"`
	// Fingerprint is the agent key's fingerprint (seal.Fingerprint), which watchword-agent enroll prints: the admin
	// compares the two before approving a pending agent.
	Fingerprint string    `json:"fingerprint,omitempty"`
	Version     string    `json:"version,omitempty"`
	LastSeen    time.Time `json:"lastSeen,omitzero"`
	CreatedAt   time.Time `json:"createdAt"`
	// AuthorityHead is the signed authority head the agent last reported verifying; AuthorityRefusal, when set,
	// is why it refuses the hub's plan (AgentAuthorityReport).
	AuthorityHead    *AuthorityHead `json:"authorityHead,omitempty"`
	AuthorityRefusal string         `json:"authorityRefusal,omitempty"`
}

// Admin is a console admin of a tenant.
type Admin struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	KeyID     string    `json:"keyId"`
	CreatedAt time.Time `json:"createdAt"`
	// Organization is a Co-managed Manager's organization; Status is pending until an owner approves (orgs.go).
	Organization string      `json:"organization,omitempty"`
	Status       AdminStatus `json:"status,omitempty"`
	Fingerprint  string      `json:"fingerprint,omitempty"`
	// PublicKey is the admin's public key (seal.PublicKey's form): an owner's Console signs it into the tenant's
	// signed authority after comparing its fingerprint.
	PublicKey string `json:"publicKey,omitempty"`
	// API marks an API identity (InviteRequest.API), with its expiry (zero: none) and source CIDRs (none: any).
	API       bool      `json:"api,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	Sources   []string  `json:"sources,omitempty"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Code    string  `json:"code"`             // one of the Code* constants
	Message string  `json:"message"`          // for humans
	Field   string  `json:"field,omitempty"`  // the offending field of the request, when there is one
	Errors  []Error `json:"errors,omitempty"` // every field error when validation found several; the first is above
}

// Error codes; hubclient maps them onto sentinel errors.
const (
	CodeBadRequest      = "bad_request"
	CodeInvalid         = "invalid" // a field failed validation; Field names it
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
	CodePending         = "pending" // the principal is known but not (or no longer) active
	CodeNotFound        = "not_found"
	CodeConflict        = "conflict"
	CodeRateLimited     = "rate_limited"
	CodeTooLarge        = "too_large"
	CodeInternal        = "internal"
)

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Invalid builds a validation error naming field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
