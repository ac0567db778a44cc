package wire

import "time"

// A tech's life after registration, as an admin handles it: editing (and moving between organizations),
// deleting, and their device.

// Account states of a deleted tech's accounts: AccountDeleting until the agent deleted the account from its
// target, then AccountDeleted. An account left on the target stays AccountDisabled.
const (
	AccountDeleting = "deleting"
	AccountDeleted  = "deleted"
)

// TechEditRequest (PUT PathAdminTechs/{id}) changes a tech's display name and email, and with Organization its
// organization ("" for MSP staff). A pending or rejected tech's organization is only the suggestion the pending
// list shows and changes freely; an approved (active or disabled) tech's is read-only unless an admin moves the
// tech: Move says so, and names the TechGroups the tech leaves and joins, the entitlements' only lever. A
// Co-managed Manager may edit names and emails of its organization's techs, and moves none.
type TechEditRequest struct {
	DisplayName  string  `json:"displayName"`
	Email        string  `json:"email"`
	Organization *string `json:"organization,omitempty"` // nil: unchanged
	Move         bool    `json:"move,omitempty"`
	Leave        []int64 `json:"leave,omitempty"` // TechGroup IDs
	Join         []int64 `json:"join,omitempty"`
}

// TechDeleteRequest (DELETE PathAdminTechs/{id}) deletes a disabled tech. With DeleteAccounts the agents delete
// the tech's accounts from their targets (those Watchword created; adopted ones stay disabled) and report each;
// without, the accounts stay on the targets, disabled. The tech's row stays as a tombstone the audit log and the
// accounts still name, out of the tech list.
type TechDeleteRequest struct {
	DeleteAccounts bool `json:"deleteAccounts,omitempty"`
}

// PathAdminTechDevice is GET PathAdminTechs/{id}/device: the tech's device.
const PathAdminTechDevice = "/device"

// TechDevice is a tech's device as the hub knows it: the key it registered, when the hub last saw it and with
// which release of the TechClient, and every replacement of it (device re-keys), newest first.
type TechDevice struct {
	TechID       int64     `json:"techId"`
	Registered   time.Time `json:"registered"`
	LastSeen     time.Time `json:"lastSeen,omitzero"`
	Version      string    `json:"version,omitempty"` // the TechClient's release, as its requests say
	Fingerprint  string    `json:"fingerprint"`
	Replacements []Rekey   `json:"replacements"`
}

// TechsDeleted is the status query of PathAdminTechs that lists the deleted techs (their tombstones) instead.
const TechsDeleted = "deleted"
