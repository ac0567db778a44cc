package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Security state of the data set:
//   - the MSP's techs need 2FA too (SecurityPolicy.TOTPForMSPTechs); Chen Li has enrolled, Dmitri Volkov's 2FA
//     is paused for 24 hours;
//   - Alice Moreau (LockedTech) is locked out after five failed passphrase unlocks on her device;
//   - Ben Okafor (RekeyTech) lost his laptop: his new device asks to replace it (a pending re-key);
//   - two CSV imports are in the history: an atomic one refused for its exceptions, then the same file per row.
const (
	LockedTech = "amoreau"
	RekeyTech  = "bokafor"
	TOTPTech   = "chenli"
	PausedTech = "dvolkov"
)

// ImportCSV is the file both demo imports read: two good rows, a bad address and a username already taken.
const ImportCSV = wire.ImportTemplateHeader + "\n" +
	"mrossi,Marco Rossi,mrossi@contoso.com,Contoso Ltd,\n" +
	"nsato,Naomi Sato,nsato@northwind-it.com,,Helpdesk tier 1\n" +
	"opatel,Omar Patel,not-an-address,,\n" +
	"amoreau,Alice Moreau,amoreau@northwind-it.com,,\n"

func security(ctx context.Context, inv wire.Invite, owner *hubclient.Client, w *World, devices map[string]*hubclient.Client) error {
	p := wire.DefaultSecurityPolicy()
	p.TOTPForMSPTechs = true
	if _, err := owner.SetSecurityPolicy(ctx, p); err != nil {
		return fmt.Errorf("demo security policy: %w", err)
	}
	en, err := devices[TOTPTech].EnrollTOTP(ctx)
	if err != nil {
		return fmt.Errorf("demo 2FA enrolment: %w", err)
	}
	code, err := totp.GenerateCode(en.Secret, time.Now())
	if err != nil {
		return fmt.Errorf("demo 2FA code: %w", err)
	}
	if _, err := devices[TOTPTech].ConfirmTOTP(ctx, code); err != nil {
		return fmt.Errorf("demo 2FA confirmation: %w", err)
	}
	if _, err := owner.PauseTOTP(ctx, w.Techs[PausedTech], wire.Pause24h); err != nil {
		return fmt.Errorf("demo 2FA pause: %w", err)
	}
	for range p.LockoutAttempts {
		if _, err := devices[LockedTech].ReportUnlock(ctx, wire.UnlockFailed); err != nil && !hubclient.IsLocked(err) {
			return fmt.Errorf("demo lockout: %w", err)
		}
	}
	id, err := seal.GenerateIdentity()
	if err != nil {
		return err
	}
	c, err := hubclient.New(inv, id)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Rekey(ctx, wire.RekeyRequest{Username: RekeyTech, Email: Email(Tech{Username: RekeyTech})}); err != nil {
		return fmt.Errorf("demo re-key: %w", err)
	}
	for _, mode := range []string{wire.ImportAtomic, wire.ImportPerRow} {
		if _, err := owner.ImportTechs(ctx, ImportCSV, mode); err != nil {
			return fmt.Errorf("demo import (%s): %w", mode, err)
		}
	}
	return nil
}
