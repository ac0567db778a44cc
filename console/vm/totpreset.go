package vm

import (
	"context"
	"fmt"

	"github.com/watchword/watchword/shared/hubclient"
)

// ResetTOTPWarning is the confirmation text of resetting a tech's authenticator.
func ResetTOTPWarning(username string) string {
	return fmt.Sprintf("Forget the authenticator %s enrolled, for a lost or replaced phone? Their session ends now and any 2FA pause "+
		"with it; their TechClient asks them to enrol a new authenticator at its next start and gets no passwords until they do. "+
		"Confirm who is asking by a way other than that phone first. This is recorded in the audit log under your name (tech.totp-reset).",
		username)
}

// ResetTOTP forgets a tech's enrolled authenticator: the tech enrols a new one at the TechClient's next start; audited.
func (a *App) ResetTOTP(ctx context.Context, tech int64) error {
	return a.do(ctx, "reset the authenticator of "+a.techName(tech), func(api *hubclient.Client) error {
		_, err := api.ResetTOTP(ctx, tech)
		return err
	})
}
