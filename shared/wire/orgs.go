package wire

import "time"

// Organizations, the co-management switch, console roles and seats.
//
// A client organization is a record of its own; techs name theirs at registration (a tech with an organization
// is co-managed). Co-management is switched per tenant and per organization. Turning it off is a two-step
// exchange: the first request (no Confirm) answers a CoManagementPlan saying exactly what will change and a
// confirmation code; the second, carrying that code, applies the plan if nothing changed in between. The audit
// log and credential history are never deleted.
const (
	PathAdminOrgs         = "/v1/admin/orgs"
	PathAdminCoManagement = "/v1/admin/comanagement"
	PathAdminInvites      = "/v1/admin/invites"
	PathAdminSeats        = "/v1/admin/seats"
)

// Console roles beyond owner and admin.
const (
	// RoleAuditor reads everything (audit log, effective access) and changes nothing.
	RoleAuditor Role = "auditor"
	// RoleCoManager approves, deactivates and unlocks only the techs of their own organization and sees only
	// their organization's techs and domains.
	RoleCoManager Role = "comanager"
)

// AdminStatus is a console admin's state: an invited admin is pending until an owner approves its key.
type AdminStatus string

const (
	AdminPending AdminStatus = "pending"
	AdminActive  AdminStatus = "active"
)

// Admin actions of POST PathAdminAdmins/{id}/{action}.
const (
	ActionRemove = "remove"
)

// Org is a client organization.
type Org struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CoManaged bool      `json:"coManaged"` // co-management enabled for this organization
	Techs     int       `json:"techs"`     // techs naming this organization, any state
	Active    int       `json:"active"`    // of which active
	CreatedAt time.Time `json:"createdAt"`
}

// OrgsResponse lists the organizations and the tenant's switch.
type OrgsResponse struct {
	CoManagement bool  `json:"coManagement"` // co-management enabled for the tenant
	Orgs         []Org `json:"orgs"`
}

// OrgRequest creates an organization.
type OrgRequest struct {
	Name string `json:"name"`
}

// CoManagementRequest switches co-management for the tenant (PUT PathAdminCoManagement) or one organization
// (PUT PathAdminOrgs/{id}/comanagement). Disabling without Confirm only previews.
type CoManagementRequest struct {
	Enabled bool   `json:"enabled"`
	Confirm string `json:"confirm,omitempty"`
}

// CoManagementPlan says what switching co-management off does (or did, when Applied).
type CoManagementPlan struct {
	Applied       bool     `json:"applied"`
	Enabled       bool     `json:"enabled"`
	Organizations []string `json:"organizations"` // whose switch changes
	// Deactivate lists the co-managed techs (active or pending) that become disabled.
	Deactivate []Tech `json:"deactivate"`
	// RemoveAssociations lists the triplets of the organizations' co-managed groups that are deleted; the groups
	// and their members stay.
	RemoveAssociations []Triplet `json:"removeAssociations"`
	// Summary is the confirmation text shown to the admin.
	Summary string `json:"summary"`
	// Confirm is the code to send back to apply exactly this plan.
	Confirm string `json:"confirm,omitempty"`
}

// InviteRequest creates a single-use admin invite (owner only). Organization is required for RoleCoManager.
type InviteRequest struct {
	Role         Role   `json:"role"`
	Organization string `json:"organization,omitempty"`
	TTLSeconds   int64  `json:"ttlSeconds,omitempty"`
	// API (CapAPIIdentity) invites an API identity: a script's admin, whose key is generated where the script runs
	// and which an owner approves by fingerprint like any admin. The hub refuses it from APIExpiresAt on (zero:
	// never) and from an address outside APISources (CIDRs; none: anywhere).
	API          bool      `json:"api,omitempty"`
	APIExpiresAt time.Time `json:"apiExpiresAt,omitzero"`
	APISources   []string  `json:"apiSources,omitempty"`
}

// AdminRoleRequest changes an admin's role (owner only). The last owner cannot be demoted.
type AdminRoleRequest struct {
	Role         Role   `json:"role"`
	Organization string `json:"organization,omitempty"`
}

// Seat kinds: co-managed licences are billable apart from the MSP's own techs.
const (
	SeatMSPTech       = "msp-tech"
	SeatCoManagedTech = "co-managed-tech"
	SeatAgent         = "agent"
)

// Seat is one active tech or agent and when its current active period started.
type Seat struct {
	Kind         string    `json:"kind"`
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Organization string    `json:"organization,omitempty"`
	Since        time.Time `json:"since"`
}

// SeatsResponse lists active seats, oldest first, with a count per kind.
type SeatsResponse struct {
	Counts map[string]int `json:"counts"`
	Seats  []Seat         `json:"seats"`
}

// ApproveRequest is the optional body of POST {PathAdminTechs}/{id}/approve: where the approved tech belongs. The
// organization typed at registration (or named by a CSV reservation) is only a suggestion; being co-managed, and
// with it the two-factor requirement, follows this decision. Organization names a recorded organization (or the
// one the tech typed): the tech is co-managed. MSPStaff makes the tech the MSP's own: no organization. With
// neither (or no body) the tech is placed as the pending list shows it: in the suggested organization, MSP staff
// when it names none. A Co-managed Manager places techs in its own organization only.
//
// Groups are TechGroups the tech joins in the same transaction, before it is active (a new MSP tech joins the MSP
// techs' group, so it never holds an active state without the access the Console signs for it).
//
// A co-managed tech approved while a triplet gives AllTechs every domain (the All triplet, or any triplet of
// AllTechs on AllDomains) would reach every other client's domains: the hub refuses it, naming the triplets, unless
// OverrideTriplets lists each of them, the admin's explicit and audited decision to approve anyway. The co-managed
// onboarding is the way that needs no override (OnboardRequest).
type ApproveRequest struct {
	Organization     string  `json:"organization,omitempty"`
	MSPStaff         bool    `json:"mspStaff,omitempty"`
	Groups           []int64 `json:"groups,omitempty"`
	OverrideTriplets []int64 `json:"overrideTriplets,omitempty"`
}
