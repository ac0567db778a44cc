package wire

import "time"

// Device replacement. A tech whose laptop is lost registers the new device under the same
// username with PathTechRekey: the request is pending as a re-key, shown to admins with the old and the new
// fingerprint side by side. The new device polls GET PathTechRekey (it is not the tech's key yet). On approval the
// hub makes the new key the tech's, the old key stops authenticating, every live envelope of the tech is retired and
// every account of the tech is due for rotation at once, so no envelope sealed to the old key stays current.
// A deactivated tech cannot re-register under the same username.
const (
	PathTechRekey   = "/v1/tech/rekey"
	PathAdminRekeys = "/v1/admin/rekeys" // GET lists; POST …/{id}/approve or …/{id}/reject
)

// Re-key statuses.
const (
	RekeyPending  = "pending"
	RekeyApproved = "approved"
	RekeyRejected = "rejected"
)

// RekeyRequest registers this device as the replacement of an existing tech's.
type RekeyRequest struct {
	Username  string `json:"username"`
	Email     string `json:"email"` // must be the tech's registered address
	PublicKey string `json:"publicKey"`
}

// Rekey is one device replacement request.
type Rekey struct {
	ID             int64     `json:"id"`
	TechID         int64     `json:"techId"`
	Username       string    `json:"username"`
	Organization   string    `json:"organization,omitempty"`
	Status         string    `json:"status"`
	OldFingerprint string    `json:"oldFingerprint"`
	Fingerprint    string    `json:"fingerprint"` // the new device's
	CreatedAt      time.Time `json:"createdAt"`
	DecidedAt      time.Time `json:"decidedAt,omitzero"`
	// Rotated is how many accounts were set to rotate at approval.
	Rotated int `json:"rotated,omitempty"`
	// Contested counts the requests of other devices to replace the same tech that were refused while this one was
	// pending (at most one re-key per tech waits); the last one's fingerprint and time. Admins only.
	Contested            int       `json:"contested,omitempty"`
	ContestedFingerprint string    `json:"contestedFingerprint,omitempty"`
	ContestedAt          time.Time `json:"contestedAt,omitzero"`
}

// RekeysResponse lists re-key requests, newest first.
type RekeysResponse struct {
	Rekeys []Rekey `json:"rekeys"`
}
