package wire

import "time"

// Two-factor authentication and lockout of techs.
//
// A co-managed tech must use TOTP (RFC 6238): the TechClient enrols at first approval (PathTechTOTPEnroll hands
// out the secret and its otpauth URI for a QR code, PathTechTOTPConfirm checks the first code), then opens a
// session with a code (PathTechSession) before the hub hands out envelopes. Without a session the credential list
// answers 403 forbidden with Field FieldTOTP. MSP techs need it only when SecurityPolicy.TOTPForMSPTechs is set.
// An admin may pause the requirement for one tech for the next login or for 24 hours; never switch it off.
//
// Wrong codes and failed passphrase unlocks reported by the TechClient count towards SecurityPolicy.LockoutAttempts;
// at that many the hub locks the tech (403 forbidden, Field FieldLocked, on the credential list and sessions) until
// an admin, or the Co-managed Manager of the tech's organization, unlocks it.
const (
	PathTechTOTPEnroll   = "/v1/tech/totp/enroll"
	PathTechTOTPConfirm  = "/v1/tech/totp/confirm"
	PathTechSession      = "/v1/tech/session"
	PathTechSecurity     = "/v1/tech/security"
	PathTechUnlockReport = "/v1/tech/unlock-report"

	PathAdminSecurityPolicy = "/v1/admin/security-policy"
	// PathAdminTechSecurity lists every tech's two-factor and lockout state; POST …/{id}/pause, …/{id}/unlock and
	// …/{id}/reset (forget the enrolled authenticator: the tech enrols a new one) act on one.
	PathAdminTechSecurity = "/v1/admin/tech-security"
)

// Fields of a 403 forbidden answer that tell the TechClient what to do.
const (
	FieldTOTP   = "totp"   // open a session with a TOTP code (or enrol first)
	FieldLocked = "locked" // the tech is locked out: ask an admin to unlock
	FieldCode   = "code"   // the code was wrong
)

// SecurityPolicy is a tenant's policy for tech authentication.
type SecurityPolicy struct {
	// TOTPForMSPTechs requires TOTP of the MSP's own techs too; co-managed techs always need it.
	TOTPForMSPTechs bool `json:"totpForMspTechs"`
	// LockoutAttempts is how many failed codes or passphrase unlocks in a row lock a tech (3 to 20).
	LockoutAttempts int `json:"lockoutAttempts"`
	// SessionHours is how long a session opened with a code lets the device fetch envelopes (1 to 24).
	SessionHours int `json:"sessionHours"`
}

// DefaultSecurityPolicy is a new tenant's security policy.
func DefaultSecurityPolicy() SecurityPolicy {
	return SecurityPolicy{LockoutAttempts: 5, SessionHours: 12}
}

// TOTPEnrollment is the secret a tech's authenticator app takes: Secret typed in, or URI shown as a QR code.
type TOTPEnrollment struct {
	Secret string `json:"secret"` // base32
	URI    string `json:"uri"`    // otpauth://totp/…
	Digits int    `json:"digits"`
	Period int    `json:"period"` // seconds
}

// CodeRequest carries a TOTP code.
type CodeRequest struct {
	Code string `json:"code"`
}

// Unlock report results.
const (
	UnlockFailed = "failed"
	UnlockOK     = "ok"
)

// UnlockReport is what the TechClient reports after a passphrase unlock of its keystore.
type UnlockReport struct {
	Result string `json:"result"` // UnlockFailed or UnlockOK
}

// Pause kinds of TOTPPauseRequest.
const (
	PauseNextLogin = "next-login"
	Pause24h       = "24h"
)

// TOTPPauseRequest pauses one tech's TOTP requirement.
type TOTPPauseRequest struct {
	For string `json:"for"` // PauseNextLogin or Pause24h
}

// TechSecurity is one tech's two-factor and lockout state.
type TechSecurity struct {
	TechID         int64     `json:"techId"`
	Username       string    `json:"username"`
	Organization   string    `json:"organization,omitempty"`
	CoManaged      bool      `json:"coManaged"`
	Required       bool      `json:"required"` // TOTP is required of this tech
	Enrolled       bool      `json:"enrolled"`
	EnrolledAt     time.Time `json:"enrolledAt,omitzero"`
	PauseNextLogin bool      `json:"pauseNextLogin"`
	PausedUntil    time.Time `json:"pausedUntil,omitzero"`
	SessionUntil   time.Time `json:"sessionUntil,omitzero"` // for this device (tech endpoint) or any (admin list)
	Failures       int       `json:"failures"`
	Locked         bool      `json:"locked"`
	LockedAt       time.Time `json:"lockedAt,omitzero"`
	LockReason     string    `json:"lockReason,omitempty"`
}

// TechSecurityResponse lists techs' security states.
type TechSecurityResponse struct {
	Techs []TechSecurity `json:"techs"`
}
