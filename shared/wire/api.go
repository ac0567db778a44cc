package wire

import (
	"strconv"
	"strings"
	"time"
)

// Paths of the API. Every path except Healthz, Metrics and OpenAPI requires a TLS client certificate; the tenant
// is named by HeaderClient.
const (
	PathHealthz = "/healthz"
	PathMetrics = "/metrics"
	PathOpenAPI = "/v1/openapi.json" // the API's OpenAPI 3.1 description (docs/openapi.json)

	PathTechRegister    = "/v1/tech/register"
	PathTechStatus      = "/v1/tech/status"
	PathTechCredentials = "/v1/tech/credentials"
	PathTechChanges     = "/v1/tech/changes"
	PathTechEvents      = "/v1/tech/events"

	PathAgentEnroll   = "/v1/agent/enroll"
	PathAgentPlan     = "/v1/agent/plan"
	PathAgentStage    = "/v1/agent/stage"
	PathAgentConfirm  = "/v1/agent/confirm"
	PathAgentFail     = "/v1/agent/fail"
	PathAgentAccounts = "/v1/agent/accounts"

	PathAdminClaim       = "/v1/admin/claim"
	PathAdminTenant      = "/v1/admin/tenant"
	PathAdminPolicy      = "/v1/admin/policy"
	PathAdminAdmins      = "/v1/admin/admins"
	PathAdminClaimTokens = "/v1/admin/claim-tokens"
	PathAdminTechs       = "/v1/admin/techs"
	PathAdminTechGroups  = "/v1/admin/techgroups"
	PathAdminAgentGroups = "/v1/admin/agentgroups"
	PathAdminRights      = "/v1/admin/rights"
	PathAdminTriplets    = "/v1/admin/triplets"
	PathAdminTokens      = "/v1/admin/enrollment-tokens"
	PathAdminAgents      = "/v1/admin/agents"
	PathAdminRotate      = "/v1/admin/rotate"
	PathAdminAudit       = "/v1/admin/audit"
	PathAdminAuditVerify = "/v1/admin/audit/verify"
	PathAdminAccess      = "/v1/admin/access"
	PathAdminAccounts    = "/v1/admin/accounts" // GET ?tech= or ?agent=; POST …/{id}/retry, …/{id}/adopt (AdoptRequest)
)

// ---- tech ----

// RegisterRequest registers the calling device as a tech of the tenant; the tech starts pending. PublicKey is the
// full seal.PublicKey string; its auth key must be the key of the TLS client certificate.
type RegisterRequest struct {
	PublicKey    string `json:"publicKey"`
	Username     string `json:"username"`
	DisplayName  string `json:"displayName"`
	Email        string `json:"email"`
	Organization string `json:"organization,omitempty"`
}

// TechStatusResponse is all a pending, rejected or disabled tech can learn.
type TechStatusResponse struct {
	TechID      int64      `json:"techId"`
	Username    string     `json:"username"`
	Status      TechStatus `json:"status"`
	Fingerprint string     `json:"fingerprint"`
	TenantName  string     `json:"tenantName,omitempty"` // only once active
}

// Credential is one account of the calling tech and the sealed versions it can open. Open each envelope with the
// context (ClientGUID, AgentID, AccountName, Version).
type Credential struct {
	AccountID   int64    `json:"accountId"`
	AgentID     int64    `json:"agentId"`
	AgentName   string   `json:"agentName"`
	Driver      string   `json:"driver"`
	AccountName string   `json:"accountName"`
	Rights      []string `json:"rights"`
	// Groups are the target groups the rights make the account a member of on this target (Domain Admins, sudo):
	// what the tech really gets. Empty from a hub that does not send them.
	Groups         []string            `json:"groups,omitempty"`
	Versions       []CredentialVersion `json:"versions"` // newest first: the confirmed one and any newer staged ones
	NextRotationAt time.Time           `json:"nextRotationAt,omitzero"`
	// RotatesAfterUseAt is when a reveal or copy made the account due for rotation ("rotates at … after use"); zero
	// when none is pending.
	RotatesAfterUseAt time.Time `json:"rotatesAfterUseAt,omitzero"`
	// JIT accounts (jit.go): disabled, and sealed to the recovery recipient only, outside a window. JITMaxSeconds
	// bounds a request's duration, JITApproval says an approver must agree first, and JITGrant is the account's
	// latest grant (open or not), nil when none was ever requested. Versions then hold only what this device can
	// open: nothing outside a window.
	JIT           bool      `json:"jit,omitempty"`
	JITMaxSeconds int64     `json:"jitMaxSeconds,omitempty"`
	JITApproval   bool      `json:"jitApproval,omitempty"`
	JITGrant      *JITGrant `json:"jitGrant,omitempty"`
}

// CredentialVersion is one sealed password.
type CredentialVersion struct {
	Version     int64        `json:"version"`
	State       VersionState `json:"state"`
	Envelope    []byte       `json:"envelope"` // age binary, base64 in JSON
	StagedAt    time.Time    `json:"stagedAt"`
	ConfirmedAt time.Time    `json:"confirmedAt,omitzero"`
	// Signature is the staging agent's signature over the version's envelope statement (StageRequest.Signature),
	// empty for a version staged without one; the statement's agent is the credential's AgentID.
	Signature []byte `json:"signature,omitempty"`
}

// CredentialsResponse lists what the tech's entitlements grant, at a tenant revision.
//
// A device that holds a list asks for the difference: GET PathTechCredentials?since=REV&grants=FP, with the
// Revision and Grants of the list it holds. When the hub can answer from there, Delta is true, Credentials holds
// only the accounts that changed after since (whole entries: replace them) and Removed the accounts to drop;
// every other entry stands. Otherwise (since 0 or older than the hub remembers, or the tech's grants changed
// shape: other hosts, rights, names or intervals) the hub answers with the full list and Delta false.
type CredentialsResponse struct {
	ClientGUID  string       `json:"clientGuid"`
	Revision    int64        `json:"revision"`
	Credentials []Credential `json:"credentials"`
	// Grants fingerprints the shape of the tech's grants at Revision; send it back with since.
	Grants  string  `json:"grants,omitempty"`
	Delta   bool    `json:"delta,omitempty"`
	Removed []int64 `json:"removed,omitempty"`
}

// ChangesResponse answers a long poll: Changed is false when the wait timed out.
type ChangesResponse struct {
	Revision int64 `json:"revision"`
	Changed  bool  `json:"changed"`
}

// Event kinds a tech reports.
const (
	EventReveal = "reveal"
	EventCopy   = "copy"
	// EventUnsigned: the device pins the tenant's signed authority and refused to open the version, which no
	// agent the admins enrolled signed. The admins' Consoles raise it as an alert.
	EventUnsigned = "unsigned"
	// EventTAPReveal and EventTAPCopy: the reveal and the copy of a just-in-time window's Temporary Access Pass
	// (JITTAP), whose EventRequest.Version is the window's grant ID. Sent only to a hub of CapTAPEvents: an older
	// one refuses the kind.
	EventTAPReveal = "tap-reveal"
	EventTAPCopy   = "tap-copy"
)

// IsTAPEvent reports whether kind is the reveal or the copy of a Temporary Access Pass.
func IsTAPEvent(kind string) bool { return kind == EventTAPReveal || kind == EventTAPCopy }

// EventRequest reports a reveal or copy of a credential version on the tech's device, or its refusal to open one;
// or the reveal or copy of a just-in-time window's Temporary Access Pass.
type EventRequest struct {
	Kind      string `json:"kind"`
	AccountID int64  `json:"accountId"`
	Version   int64  `json:"version"` // the password's version; a pass's grant ID (EventTAPReveal, EventTAPCopy)
	// Signature is the device's signature over the event's statement (authority.SignTechEvent), made at SignedAt by
	// the device's clock. Sent only to a hub of CapTechEventSignature: an older one refuses unknown fields.
	Signature []byte    `json:"signature,omitempty"`
	SignedAt  time.Time `json:"signedAt,omitzero"`
}

// ---- agent ----

// EnrollRequest enrolls the calling key as an agent with a single-use token.
type EnrollRequest struct {
	Token     string `json:"token"`
	PublicKey string `json:"publicKey"`
	Name      string `json:"name"`   // e.g. contoso.local
	Driver    string `json:"driver"` // ad, linux, ldap
	Version   string `json:"version,omitempty"`
}

// EnrollResponse identifies the new agent.
type EnrollResponse struct {
	AgentID    int64  `json:"agentId"`
	ClientGUID string `json:"clientGuid"`
	// Status is AgentPending unless the token was created "approve on use"; Fingerprint is the agent key's, for the
	// admin to compare before approving.
	Status      AgentStatus `json:"status"`
	Fingerprint string      `json:"fingerprint"`
}

// Plan is everything an agent must hold on its target.
type Plan struct {
	ClientGUID string        `json:"clientGuid"`
	AgentID    int64         `json:"agentId"`
	Driver     string        `json:"driver"`
	Revision   int64         `json:"revision"`
	Recovery   string        `json:"recovery"` // the tenant's recovery recipient: seal every envelope to it too
	Policy     Policy        `json:"policy"`
	Accounts   []PlanAccount `json:"accounts"`
	Disable    []PlanDisable `json:"disable"`            // accounts no longer entitled
	Problems   []PlanProblem `json:"problems"`           // entitled accounts the hub could not plan (bad or colliding names)
	NextDueAt  time.Time     `json:"nextDueAt,omitzero"` // the earliest scheduled rotation not yet due
	Changed    bool          `json:"changed"`            // false when a long poll timed out without a change
	// Authority is the tenant's signed authority head when it has one: an agent pinned to the tenant's anchor
	// fetches the updates up to it and checks the plan against the state they sign before acting on it.
	Authority *AuthorityHead `json:"authority,omitempty"`
	// Delete lists the accounts of techs an admin deleted with their accounts (techlife.go): the agent deletes
	// each from the target, if Watchword created it, and reports it AccountDeleted.
	Delete []PlanDisable `json:"delete,omitempty"`
}

// PlanAccount is one account the agent must hold.
type PlanAccount struct {
	AccountID      int64     `json:"accountId"`
	TechID         int64     `json:"techId"`
	Username       string    `json:"username"`
	DisplayName    string    `json:"displayName,omitempty"`
	AccountName    string    `json:"accountName"`
	Rights         []string  `json:"rights"`     // names of the rights
	Groups         []string  `json:"groups"`     // target group names for this agent's driver kind
	Recipients     []string  `json:"recipients"` // the tech's age1pq1… recipients
	Due            bool      `json:"due"`
	DueReason      string    `json:"dueReason,omitempty"`
	CurrentVersion int64     `json:"currentVersion"` // the highest version staged so far; stage CurrentVersion+1
	NextRotationAt time.Time `json:"nextRotationAt,omitzero"`
	// JIT is set when the account is JIT (jit.go): outside its window the agent keeps it disabled, without groups,
	// and seals only to the recovery recipient.
	JIT *PlanJIT `json:"jit,omitempty"`
	// Adopt says an admin adopted an existing account of this name on the target (a confirmed, audited action):
	// the agent may take it over although Watchword did not create it, and marks it as adopted. Built-in and
	// privileged accounts are refused all the same.
	Adopt bool `json:"adopt,omitempty"`
	// Halted says the account failed (AccountFailed) and waits for an admin: the agent does not touch it.
	Halted     bool   `json:"halted,omitempty"`
	HaltReason string `json:"haltReason,omitempty"`
	// RetriedAt is when an admin last retried or adopted the account: an account the agent halted on its own is
	// released when it changes.
	RetriedAt time.Time `json:"retriedAt,omitzero"`
}

// PlanDisable is an account the agent must disable (memberships removed, never deleted here).
type PlanDisable struct {
	AccountID   int64  `json:"accountId"`
	TechID      int64  `json:"techId"`
	AccountName string `json:"accountName"`
}

// PlanProblem names an entitlement that could not become an account.
type PlanProblem struct {
	TechID      int64  `json:"techId"`
	Username    string `json:"username"`
	AccountName string `json:"accountName"`
	Reason      string `json:"reason"`
}

// StageRequest stores a sealed new version before the agent sets it on the target. Version must be higher than
// every version staged so far for the account.
type StageRequest struct {
	AccountID int64  `json:"accountId"`
	Version   int64  `json:"version"`
	Envelope  []byte `json:"envelope"`
	// RecoveryOnly says the envelope is sealed to the recovery recipient alone (a JIT account outside its
	// window): the hub never hands it to the tech.
	RecoveryOnly bool `json:"recoveryOnly,omitempty"`
	// Signature is the agent's Ed25519 signature over the version's envelope statement (authority.SignEnvelope:
	// tenant, agent, account, version and the envelope's SHA-256). The hub stores it with the version and hands it
	// out with the envelope; a TechClient pinned to the signed authority opens only envelopes it verifies.
	Signature []byte `json:"signature,omitempty"`
}

// ConfirmRequest marks a staged version as held by the target and verified.
type ConfirmRequest struct {
	AccountID int64 `json:"accountId"`
	Version   int64 `json:"version"`
}

// FailRequest marks a staged version as never taken by the target.
type FailRequest struct {
	AccountID int64  `json:"accountId"`
	Version   int64  `json:"version"`
	Reason    string `json:"reason"`
}

// Account states an agent reports.
//
// AccountFailed is an account the agent stopped working on: a rotation stayed unresolved too often, another try
// could lock it out, or the target holds an account of that name that Watchword did not create. The hub plans it
// Halted, and the agent leaves it alone until an admin retries it (or adopts the existing account).
const (
	AccountPresent  = "present"
	AccountDisabled = "disabled"
	AccountError    = "error"
	AccountFailed   = "failed"
)

// MaxUnresolved bounds the rotations of one account that may stay unresolved (failed, or staged and never
// confirmed) since its last confirmed version: past it the account is halted until an admin retries it.
const MaxUnresolved = 5

// AccountReport is the observed state of one account on the target.
type AccountReport struct {
	AccountID int64  `json:"accountId"`
	State     string `json:"state"`
	Error     string `json:"error,omitempty"` // e.g. a missing group; never a secret
}

// AccountsReport reports observed states after a sync.
type AccountsReport struct {
	Accounts []AccountReport `json:"accounts"`
}

// ---- admin ----

// ClaimRequest turns the calling key into an admin of the tenant with a single-use claim token (the owner
// claim token printed by `watchword-hub init`, or one an owner created).
type ClaimRequest struct {
	Token     string `json:"token"`
	PublicKey string `json:"publicKey"`
	Name      string `json:"name"`
}

// ClaimResponse describes the new admin.
type ClaimResponse struct {
	Admin      Admin  `json:"admin"`
	ClientGUID string `json:"clientGuid"`
}

// TokenResponse carries a new single-use token: shown once, stored hashed.
type TokenResponse struct {
	Token        string    `json:"token"`
	ExpiresAt    time.Time `json:"expiresAt"`
	ApproveOnUse bool      `json:"approveOnUse,omitempty"`
}

// TokenRequest asks for an enrollment or claim token.
type TokenRequest struct {
	TTLSeconds int64 `json:"ttlSeconds,omitempty"` // default one day, at most 30 days
	// ApproveOnUse (enrollment tokens only): the agent that uses the token is active at once. Without it the agent
	// is pending until an admin approves it.
	ApproveOnUse bool `json:"approveOnUse,omitempty"`
}

// TechAction is applied by POST PathAdminTechs/{id}/{action}.
const (
	ActionApprove = "approve"
	ActionReject  = "reject"
	ActionDisable = "disable"
	ActionEnable  = "enable"
)

// TechShortNameRequest is the body of PUT PathAdminTechs/{id}/short-name (CapShortName): the short name that
// stands for the tech's username in the naming format, for a username that renders too long for a target or to
// another tech's account name. Empty takes it away. Accounts already created keep their names.
type TechShortNameRequest struct {
	ShortName string `json:"shortName"`
}

// GroupRequest creates or updates a group. Members replaces the member list when not nil.
type GroupRequest struct {
	Name            string  `json:"name"`
	Members         []int64 `json:"members,omitempty"`
	IntervalSeconds int64   `json:"intervalSeconds,omitempty"`
	// RotateAfterUseSeconds overrides the tenant's rotate-after-use grace for an agent group (nil: inherit, 0: off).
	RotateAfterUseSeconds *int64 `json:"rotateAfterUseSeconds,omitempty"`
}

// MembersRequest adds and removes members of a group.
type MembersRequest struct {
	Add    []int64 `json:"add,omitempty"`
	Remove []int64 `json:"remove,omitempty"`
}

// RightRequest creates or updates a right.
type RightRequest struct {
	Name    string              `json:"name"`
	Targets map[string][]string `json:"targets"`
}

// TripletRequest creates a triplet (POST), or changes its mode (PUT PathAdminTriplets/{id}: the group and right
// IDs may be zero or the triplet's own; to change them, delete and create). Mode is TripletStanding (or empty) or
// TripletJIT; MaxDurationSeconds (JIT only) defaults to DefaultJITDuration and lies within MinJITDuration and
// MaxJITDuration; ApprovalRequired (JIT only) makes every request wait for an approver.
type TripletRequest struct {
	TechGroupID        int64  `json:"techGroupId"`
	AgentGroupID       int64  `json:"agentGroupId"`
	RightID            int64  `json:"rightId"`
	Mode               string `json:"mode,omitempty"`
	MaxDurationSeconds int64  `json:"maxDurationSeconds,omitempty"`
	ApprovalRequired   bool   `json:"approvalRequired,omitempty"`
}

// RotateRequest asks for an immediate rotation of every account matching all of the given (non-zero) IDs.
type RotateRequest struct {
	TechID    int64 `json:"techId,omitempty"`
	AgentID   int64 `json:"agentId,omitempty"`
	AccountID int64 `json:"accountId,omitempty"`
}

// RotateResponse counts the accounts marked.
type RotateResponse struct {
	Accounts int `json:"accounts"`
}

// AuditEvent is one entry of the hash-chained audit log.
type AuditEvent struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	ActorKind string    `json:"actorKind"` // tech, agent, admin, system
	ActorID   int64     `json:"actorId"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Detail    string    `json:"detail,omitempty"`
	Hash      string    `json:"hash"`
	// PrevHash is the hash of the event before (Seq-1) and Tenant the hub's number of the tenant: with them an
	// event's Hash can be computed again away from the hub (watchword-hub verify-audit --file). Empty from a hub
	// before CapAuditQuery.
	PrevHash string `json:"prevHash,omitempty"`
	Tenant   int64  `json:"tenant,omitempty"`
}

// AuditQuery filters the audit log; zero values do not filter.
type AuditQuery struct {
	Action    string
	ActorKind string
	ActorID   int64
	Since     time.Time
	Until     time.Time
	AfterSeq  int64
	Limit     int
	// ActionPrefix keeps the events whose action starts with it ("tech." or "triplet.delete"); About ("tech 8",
	// "agent 3") the events done by that principal or about it (the target names it, as "tech 8" or a
	// "tech=8" field). BeforeSeq keeps the events before it; Newest lists newest first, so that the newest page
	// of a long log is one query (CapAuditQuery).
	ActionPrefix string
	About        string
	BeforeSeq    int64
	Newest       bool
}

// AboutPrincipal reads About, "KIND ID" with a kind of lowercase letters and an ID above 0; ok is false for
// anything else.
func (q AuditQuery) AboutPrincipal() (kind string, id int64, ok bool) {
	kind, num, ok := strings.Cut(q.About, " ")
	id, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || id < 1 || kind == "" || strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", 0, false
	}
	return kind, id, true
}

// AuditResponse is one page of audit events, oldest first (newest first when the query asked for Newest).
type AuditResponse struct {
	Events []AuditEvent `json:"events"`
}

// VerifyResponse is the result of checking the audit chain.
type VerifyResponse struct {
	OK     bool   `json:"ok"`
	Events int64  `json:"events"`
	Error  string `json:"error,omitempty"`
}

// Access is the effective access of a tech or an agent: one entry per (tech, agent) pair with rights.
type Access struct {
	TechID      int64    `json:"techId"`
	Username    string   `json:"username"`
	AgentID     int64    `json:"agentId"`
	AgentName   string   `json:"agentName"`
	AccountName string   `json:"accountName,omitempty"`
	Rights      []string `json:"rights"`
}

// AccessResponse lists effective access.
type AccessResponse struct {
	Access []Access `json:"access"`
}

// Account is an account row as admins see it.
type Account struct {
	ID             int64     `json:"id"`
	TechID         int64     `json:"techId"`
	AgentID        int64     `json:"agentId"`
	Name           string    `json:"name"`
	State          string    `json:"state"`
	LastError      string    `json:"lastError,omitempty"`
	CurrentVersion int64     `json:"currentVersion"`
	RotatedAt      time.Time `json:"rotatedAt,omitzero"`
	Adopted        bool      `json:"adopted,omitempty"` // an admin adopted an existing account of this name
}

// Account actions of POST PathAdminAccounts/{id}/{action}.
const (
	AccountRetry = "retry" // a failed account: clear the failure and rotate afresh
	AccountAdopt = "adopt" // take over the existing account of this name on the target (AdoptRequest)
)

// AdoptRequest adopts the existing account of the target that collides with a Watchword account: AccountName
// must repeat the account's name, as the admin's confirmation of which account the agent may take over.
type AdoptRequest struct {
	AccountName string `json:"accountName"`
}

// AccountsResponse lists accounts.
type AccountsResponse struct {
	Accounts []Account `json:"accounts"`
}

// TechsResponse lists techs.
type TechsResponse struct {
	Techs []Tech `json:"techs"`
	// Registrations is the state of the tenant's registration queue, for the Console's notice when it is full.
	Registrations *Registrations `json:"registrations,omitempty"`
}

// Registrations is a tenant's queue of pending registrations as the hub holds it.
type Registrations struct {
	Pending      int  `json:"pending"`      // the tenant's pending techs
	PendingLimit int  `json:"pendingLimit"` // the most the hub holds; a registration beyond is refused
	Full         bool `json:"full"`         // pending ≥ pendingLimit: devices cannot register now
	// Refused counts the registrations refused for the limit since RefusedSince, the first refusal since the queue
	// last had room (as this hub process saw it); zero when none was.
	Refused      int64     `json:"refused,omitempty"`
	RefusedSince time.Time `json:"refusedSince,omitempty"`
}

// GroupsResponse lists groups.
type GroupsResponse struct {
	Groups []Group `json:"groups"`
}

// RightsResponse lists rights.
type RightsResponse struct {
	Rights []Right `json:"rights"`
}

// TripletsResponse lists triplets.
type TripletsResponse struct {
	Triplets []Triplet `json:"triplets"`
}

// AgentsResponse lists agents.
type AgentsResponse struct {
	Agents []Agent `json:"agents"`
}

// AdminsResponse lists admins.
type AdminsResponse struct {
	Admins []Admin `json:"admins"`
}
