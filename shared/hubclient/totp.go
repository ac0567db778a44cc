package hubclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/watchword/watchword/shared/wire"
)

// Two-factor authentication and lockout: see wire/totp.go.

// forbiddenField reports whether err is a hub's 403 forbidden naming field.
func forbiddenField(err error, field string) bool {
	var e *Error
	return errors.As(err, &e) && e.Wire.Code == wire.CodeForbidden && e.Wire.Field == field
}

// IsTOTPRequired reports whether the hub refused because the device needs a TOTP session (or an enrolment).
func IsTOTPRequired(err error) bool { return forbiddenField(err, wire.FieldTOTP) }

// IsLocked reports whether the hub refused because the tech is locked out.
func IsLocked(err error) bool { return forbiddenField(err, wire.FieldLocked) }

// IsWrongCode reports whether the hub refused a TOTP code.
func IsWrongCode(err error) bool { return forbiddenField(err, wire.FieldCode) }

// Security returns this tech's two-factor and lockout state.
func (c *Client) Security(ctx context.Context) (*wire.TechSecurity, error) {
	var out wire.TechSecurity
	return &out, c.get(ctx, wire.PathTechSecurity, nil, &out)
}

// EnrollTOTP starts an enrolment: the secret and otpauth URI for the authenticator app.
func (c *Client) EnrollTOTP(ctx context.Context) (*wire.TOTPEnrollment, error) {
	var out wire.TOTPEnrollment
	return &out, c.post(ctx, wire.PathTechTOTPEnroll, struct{}{}, &out)
}

// ConfirmTOTP completes the enrolment with the app's first code and opens a session.
func (c *Client) ConfirmTOTP(ctx context.Context, code string) (*wire.TechSecurity, error) {
	var out wire.TechSecurity
	return &out, c.post(ctx, wire.PathTechTOTPConfirm, wire.CodeRequest{Code: code}, &out)
}

// OpenSession opens a session with a TOTP code ("" when an admin paused the requirement for the next login).
func (c *Client) OpenSession(ctx context.Context, code string) (*wire.TechSecurity, error) {
	var out wire.TechSecurity
	return &out, c.post(ctx, wire.PathTechSession, wire.CodeRequest{Code: code}, &out)
}

// ReportUnlock reports a passphrase unlock on this device (wire.UnlockFailed or wire.UnlockOK).
func (c *Client) ReportUnlock(ctx context.Context, result string) (*wire.TechSecurity, error) {
	var out wire.TechSecurity
	return &out, c.post(ctx, wire.PathTechUnlockReport, wire.UnlockReport{Result: result}, &out)
}

// SecurityPolicy returns the tenant's tech authentication policy.
func (c *Client) SecurityPolicy(ctx context.Context) (*wire.SecurityPolicy, error) {
	var out wire.SecurityPolicy
	return &out, c.get(ctx, wire.PathAdminSecurityPolicy, nil, &out)
}

// SetSecurityPolicy replaces the tenant's tech authentication policy.
func (c *Client) SetSecurityPolicy(ctx context.Context, p wire.SecurityPolicy) (*wire.SecurityPolicy, error) {
	var out wire.SecurityPolicy
	return &out, c.do(ctx, http.MethodPut, wire.PathAdminSecurityPolicy, nil, p, &out, 0)
}

// TechSecurities lists the two-factor and lockout state of every tech the admin may see.
func (c *Client) TechSecurities(ctx context.Context) ([]wire.TechSecurity, error) {
	var out wire.TechSecurityResponse
	return out.Techs, c.get(ctx, wire.PathAdminTechSecurity, nil, &out)
}

// PauseTOTP pauses a tech's TOTP requirement (wire.PauseNextLogin or wire.Pause24h); audited.
func (c *Client) PauseTOTP(ctx context.Context, tech int64, kind string) (*wire.TechSecurity, error) {
	var out wire.TechSecurity
	return &out, c.post(ctx, fmt.Sprintf("%s/%d/pause", wire.PathAdminTechSecurity, tech), wire.TOTPPauseRequest{For: kind}, &out)
}

// UnlockTech lifts a tech's lockout; audited.
func (c *Client) UnlockTech(ctx context.Context, tech int64) (*wire.TechSecurity, error) {
	var out wire.TechSecurity
	return &out, c.post(ctx, fmt.Sprintf("%s/%d/unlock", wire.PathAdminTechSecurity, tech), struct{}{}, &out)
}

// ResetTOTP forgets a tech's enrolled authenticator (a lost phone): the tech's session ends and the TechClient asks
// for a new enrolment at its next start; audited.
func (c *Client) ResetTOTP(ctx context.Context, tech int64) (*wire.TechSecurity, error) {
	var out wire.TechSecurity
	return &out, c.post(ctx, fmt.Sprintf("%s/%d/reset", wire.PathAdminTechSecurity, tech), struct{}{}, &out)
}
