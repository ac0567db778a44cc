package wire

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Just-in-time access.
//
// A triplet is either standing (the default: its rights are held all the time) or jit. An account is JIT when every
// triplet that grants it is jit. Outside a window a JIT account exists on the target but is disabled, holds no
// group membership, and its password is sealed to the tenant's recovery recipient only: the tech's device cannot
// open anything. The tech's credential entry says so (Credential.JIT) and carries the limits of a request.
//
// The flow, for the TechClient and the Console:
//
//  1. The tech picks a JIT account (Credential.JIT), a duration of MinJITDuration up to Credential.JITMaxSeconds, a
//     reason (required, at most MaxJITReason characters, no control characters), and clicks Enable:
//     hubclient.RequestJIT → a JITGrant. Without approval it is approved at once; with Credential.JITApproval it
//     is pending and the Console's admins (Owner, Administrator, and the Co-managed Manager of the tech's
//     organization) are notified through their long poll: hubclient.ListJITRequests(JITPending), then ApproveJIT or
//     RefuseJIT (a refusal may carry a note).
//  2. On approval the window opens: ExpiresAt = approval time + duration. The hub wakes the agent's long poll; the
//     agent enables the account, applies the rights and rotates to a fresh password sealed to the tech (the usual
//     stage → set → verify → confirm cycle). The confirmation makes the grant active (EnabledAt) and the new version
//     appears in the tech's credential list (its long poll wakes): reveal/copy as for any account. Goal: within 2 s
//     of the request or the approval.
//  3. At ExpiresAt, or when the tech clicks Done (hubclient.EndJIT), the window closes (expired / ended): the agent
//     removes the memberships, disables the account and rotates again to a password sealed to the recovery
//     recipient only. The agent enforces ExpiresAt from its own clock and its last plan, kept on disk, even while
//     the hub is unreachable or after a restart.
//
// One open request (pending, approved or active) per account at a time. Every step is audited with the reason
// (jit.request, jit.approve, jit.refuse, jit.enable, jit.end, jit.expire). The Credential entry carries the latest
// grant of the account (Credential.JITGrant) so the UI can show "pending approval", "active until …" or the
// refusal.
const (
	PathTechJIT  = "/v1/tech/jit"  // GET: the calling tech's grants (ListMyJIT); POST JITRequest (RequestJIT)
	PathAdminJIT = "/v1/admin/jit" // GET ?status=: every grant the admin may see (ListJITRequests)
)

// JIT actions: POST PathTechJIT/{id}/done (the tech), POST PathAdminJIT/{id}/approve|refuse|end (an approver; end
// closes an open window early, or withdraws a pending request, as the tech's Done does).
const (
	ActionJITDone    = "done"
	ActionJITApprove = "approve"
	ActionJITRefuse  = "refuse"
	ActionJITEnd     = "end"
)

// TechJITPath and AdminJITPath name one grant's action route.
func TechJITPath(id int64, action string) string {
	return PathTechJIT + "/" + strconv.FormatInt(id, 10) + "/" + action
}
func AdminJITPath(id int64, action string) string {
	return PathAdminJIT + "/" + strconv.FormatInt(id, 10) + "/" + action
}

// Triplet modes.
const (
	TripletStanding = "standing"
	TripletJIT      = "jit"
)

// JIT limits.
const (
	MinJITDuration     = time.Minute
	DefaultJITDuration = time.Hour // a jit triplet's MaxDurationSeconds when none is given
	MaxJITDuration     = 7 * 24 * time.Hour
	MaxJITReason       = 500 // characters
)

// JITStatus is the lifecycle of one JIT grant.
type JITStatus string

const (
	JITPending  JITStatus = "pending"  // waiting for an approver
	JITApproved JITStatus = "approved" // the window is open; the agent has not confirmed the tech's password yet
	JITActive   JITStatus = "active"   // the agent enabled the account and confirmed a password sealed to the tech
	JITEnded    JITStatus = "ended"    // the tech clicked Done (or an admin ended it) before expiry
	JITRefused  JITStatus = "refused"  // an approver refused it
	JITExpired  JITStatus = "expired"  // the window ran out (or a pending request was never decided in time)
)

// JITOpen is a filter of the grant lists, not a status: pending, approved and active grants.
const JITOpen JITStatus = "open"

// Open says whether the grant still holds or waits for an account's window.
func (s JITStatus) Open() bool { return s == JITPending || s == JITApproved || s == JITActive }

// Due reasons of JIT rotations.
const (
	DueJITStart = "jit-start" // a window opened: a fresh password sealed to the tech
	DueJITEnd   = "jit-end"   // a window closed: a fresh password sealed to the recovery recipient only
	// DueJITStanding: the account became standing (its triplets changed mode) while its password was sealed to the
	// recovery recipient only: a fresh password sealed to the tech.
	DueJITStanding = "jit-standing"
)

// JITRequest asks for a window on one of the calling tech's JIT accounts.
type JITRequest struct {
	AccountID       int64  `json:"accountId"`
	DurationSeconds int64  `json:"durationSeconds"` // MinJITDuration up to the account's JITMaxSeconds
	Reason          string `json:"reason"`
	// Signature and SignedAt are the device's signature over the request, as EventRequest's.
	Signature []byte    `json:"signature,omitempty"`
	SignedAt  time.Time `json:"signedAt,omitzero"`
}

// JITDecision approves or refuses a pending grant; Note is optional (the refusal's reason, shown to the tech).
type JITDecision struct {
	Note string `json:"note,omitempty"`
}

// JITGrant is one request for a window and what became of it.
type JITGrant struct {
	ID               int64     `json:"id"`
	TechID           int64     `json:"techId"`
	Username         string    `json:"username"`
	Organization     string    `json:"organization,omitempty"`
	AccountID        int64     `json:"accountId"`
	AccountName      string    `json:"accountName"`
	AgentID          int64     `json:"agentId"`
	AgentName        string    `json:"agentName,omitempty"`
	Status           JITStatus `json:"status"`
	Reason           string    `json:"reason"`
	DurationSeconds  int64     `json:"durationSeconds"`
	ApprovalRequired bool      `json:"approvalRequired,omitempty"`
	RequestedAt      time.Time `json:"requestedAt"`
	ApprovedBy       string    `json:"approvedBy,omitempty"` // the deciding admin's name (approved or refused); "auto" without approval
	DecidedAt        time.Time `json:"decidedAt,omitzero"`
	Note             string    `json:"note,omitempty"`     // the approver's note
	EnabledAt        time.Time `json:"enabledAt,omitzero"` // the agent confirmed the tech's password
	ExpiresAt        time.Time `json:"expiresAt,omitzero"` // set when the window opens
	EndedAt          time.Time `json:"endedAt,omitzero"`   // ended, expired or refused
	// TAP is the window's Temporary Access Pass, sealed to the tech's device: set only in the tech's own lists
	// while the window is open and the agent has issued one.
	TAP *JITTAP `json:"tap,omitempty"`
}

// Temporary Access Pass (Entra ID): where the target's sign-in needs a second factor the tech does not have on the
// client's tenant, the agent issues a time-limited pass for the window (driver.TemporaryAccess), seals it to the
// tech's device and the recovery recipient exactly like a password, signs its statement, and hands it to the hub
// (POST PathAgentJITTAP, a JITTAPRequest); the hub keeps the age file and serves it with the grant. At the window's
// end the agent revokes the pass on the target.
//
// The envelope is bound to TAPAccount(account name) and the grant's ID as the version (seal.Context, and the
// authority.EnvelopeStatement the agent signs), so a pass can never be served, opened or verified as one of the
// account's passwords.
const PathAgentJITTAP = "/v1/agent/jit/tap"

// TAPAccount is the account name a Temporary Access Pass's envelope and statement are bound to: no target's
// account name holds a colon, so it is never a password's.
func TAPAccount(account string) string { return "tap:" + account }

// JITTAPRequest stores the sealed Temporary Access Pass of an open window of one of the agent's accounts.
type JITTAPRequest struct {
	GrantID   int64     `json:"grantId"`
	AccountID int64     `json:"accountId"`
	Envelope  []byte    `json:"envelope"`            // age binary, sealed to the tech's device(s) and the recovery recipient
	Signature []byte    `json:"signature,omitempty"` // the agent's signature over the envelope statement
	ExpiresAt time.Time `json:"expiresAt"`           // when the pass stops working on the target
}

// JITTAP is a window's sealed Temporary Access Pass as the tech's device receives it. Open it with the context
// (ClientGUID, AgentID, TAPAccount(AccountName), grant ID) and verify Signature as a version's.
type JITTAP struct {
	Envelope  []byte    `json:"envelope"`
	Signature []byte    `json:"signature,omitempty"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// JITGrantsResponse lists grants, newest first. Revision is the tenant revision it was read at (send it back as
// since to wait for the next change); Changed is false when such a wait timed out.
type JITGrantsResponse struct {
	Revision int64      `json:"revision"`
	Changed  bool       `json:"changed"`
	Grants   []JITGrant `json:"grants"`
}

// PlanJIT is present on a PlanAccount whose account is JIT.
//
// When Enabled is false, or the agent's own clock has passed ExpiresAt, the agent keeps the account disabled with
// no memberships (whatever Groups says) and seals any new password to the recovery recipient only (no
// Recipients). When Enabled, it enables the account with Groups and seals to the tech as usual. The agent keeps
// ExpiresAt on disk and disables at that moment even without the hub.
type PlanJIT struct {
	Enabled   bool      `json:"enabled"`
	GrantID   int64     `json:"grantId,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// Active says whether the window is open at now.
func (j *PlanJIT) Active(now time.Time) bool {
	return j != nil && j.Enabled && now.Before(j.ExpiresAt)
}

// ValidJITReason checks a request's reason: required, bounded, printable.
func ValidJITReason(s string) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("must be UTF-8")
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("is required")
	case utf8.RuneCountInString(s) > MaxJITReason:
		return fmt.Errorf("must be at most %d characters", MaxJITReason)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("must not hold control characters")
		}
	}
	return nil
}
