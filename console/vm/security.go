package vm

// Two-factor, lockout, device replacement and CSV import of techs on the Console side (the hub side is
// docs/tech-security.md).
//
// Each tech's 2FA and lockout state and the pending device replacements are part of the Snapshot (every role may
// read them; a Co-managed Manager sees its organization's). The CSV import history is read by the import screen
// itself (LoadImports), since only the roles that read the whole tenant may.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// loadSecurity fills the snapshot's 2FA states and pending re-keys, as far as the hub has them (wire.CapTwoFactor,
// wire.CapRekey).
func loadSecurity(ctx context.Context, sa *hubclient.Client, s *Snapshot, load func(string, func() error)) {
	if sa.Supports(wire.CapTwoFactor) {
		s.Security = map[int64]wire.TechSecurity{}
		load("two-factor states", func() error {
			ts, err := sa.TechSecurities(ctx)
			for _, t := range ts {
				s.Security[t.TechID] = t
			}
			return err
		})
	}
	if sa.Supports(wire.CapRekey) {
		load("device replacements", func() (err error) { s.Rekeys, err = sa.Rekeys(ctx, wire.RekeyPending); return })
	}
}

// PendingRekeys lists the device replacements waiting for a decision, oldest first.
func (a *App) PendingRekeys() []wire.Rekey {
	out := slices.Clone(a.Snapshot().Rekeys)
	out = slices.DeleteFunc(out, func(r wire.Rekey) bool { return r.Status != wire.RekeyPending })
	slices.SortFunc(out, func(x, y wire.Rekey) int { return x.CreatedAt.Compare(y.CreatedAt) })
	return out
}

// RekeyWarning is the confirmation text of approving a device replacement.
func (a *App) RekeyWarning(r wire.Rekey) string {
	n := 0
	for _, accs := range a.Snapshot().Accounts {
		for _, acc := range accs {
			if acc.TechID == r.TechID {
				n++
			}
		}
	}
	accounts := "every account of the tech"
	if n > 0 {
		accounts = fmt.Sprintf("all %d accounts of the tech", n)
	}
	warn := fmt.Sprintf("Approving makes the new device %s's only key. The old device is revoked at once (it gets nothing more), "+
		"every password envelope sealed to it is retired, and %s rotate now. Approve only if the tech confirms both fingerprints "+
		"and that the old device is lost or wiped.", r.Username, accounts)
	return contestNotice(r) + warn
}

// contestNotice warns that other devices asked to replace the same tech while this request waited: the hub refused
// them, so the tech's real new device may be one of those and this request an impostor's.
func contestNotice(r wire.Rekey) string {
	if r.Contested == 0 {
		return ""
	}
	times := "once"
	if r.Contested > 1 {
		times = fmt.Sprintf("%d times", r.Contested)
	}
	return fmt.Sprintf("Another device asked to replace %s's device while this request was waiting (%s, the last on %s, "+
		"fingerprint %s) and was refused. Call %s: if the fingerprint their new device shows is not this request's, reject "+
		"this request; the tech can then ask again from the right device.\n\n",
		r.Username, times, r.ContestedAt.Local().Format("2 Jan 15:04"), r.ContestedFingerprint, r.Username)
}

// ApproveRekey makes the new device the tech's and rotates every account of the tech. The signed authority
// approves the new device's key, which must be the one whose fingerprint the admin compared: the hub's word for
// the key is checked against it before anything is signed.
func (a *App) ApproveRekey(ctx context.Context, id int64) error {
	var seen *wire.Rekey
	for _, r := range a.PendingRekeys() {
		if r.ID == id {
			seen = &r
		}
	}
	var tech wire.Tech
	return a.signed(ctx, fmt.Sprintf("approve device replacement %d", id), func(api *hubclient.Client) error {
		if _, err := api.ApproveRekey(ctx, id); err != nil {
			return err
		}
		if seen == nil || a.Chain() == nil {
			return nil
		}
		techs, err := api.Techs(ctx, "")
		if err != nil {
			return err
		}
		t := find(techs, func(t wire.Tech) bool { return t.ID == seen.TechID })
		if t == nil {
			return fmt.Errorf("tech %d not found after the replacement", seen.TechID)
		}
		tech = *t
		return nil
	}, func(state *authority.State) ([]authority.Op, error) {
		if seen == nil {
			return nil, fmt.Errorf("device replacement %d: not among the pending ones this Console showed", id)
		}
		key, err := seal.ParsePublicKey(tech.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("tech %q: device key: %w", tech.Username, err)
		}
		if key.Fingerprint().String() != seen.Fingerprint {
			return nil, fmt.Errorf("tech %q: the hub's new key is not the device whose fingerprint was approved", tech.Username)
		}
		org := tech.Organization
		if t, ok := state.Techs[tech.ID]; ok {
			org = t.Org
		}
		return []authority.Op{authority.ApproveTech(tech.ID, tech.Username, org, key)}, nil
	})
}

// RejectRekey refuses a device replacement; the tech keeps the old device.
func (a *App) RejectRekey(ctx context.Context, id int64) error {
	return a.do(ctx, fmt.Sprintf("reject device replacement %d", id), func(api *hubclient.Client) error {
		_, err := api.RejectRekey(ctx, id)
		return err
	})
}

// TechSecurity returns a tech's 2FA and lockout state, and false if the hub did not say.
func (a *App) TechSecurity(tech int64) (wire.TechSecurity, bool) {
	s, ok := a.Snapshot().Security[tech]
	return s, ok
}

// TwoFactorText says a tech's 2FA state in a few words, for the techs table.
func TwoFactorText(s wire.TechSecurity, now time.Time) string {
	var parts []string
	switch {
	case s.Enrolled:
		parts = append(parts, "enrolled")
	case s.Required:
		parts = append(parts, "required, not enrolled")
	default:
		parts = append(parts, "not required")
	}
	if s.PausedUntil.After(now) {
		parts = append(parts, "paused until "+s.PausedUntil.Local().Format("Jan 2 15:04"))
	}
	if s.PauseNextLogin {
		parts = append(parts, "paused for the next login")
	}
	return strings.Join(parts, ", ")
}

// LockText says a tech's lockout state in a few words.
func LockText(s wire.TechSecurity) string {
	switch {
	case s.Locked && s.LockReason != "":
		return "locked: " + s.LockReason
	case s.Locked:
		return "locked"
	case s.Failures > 0:
		return fmt.Sprintf("%d failed attempt(s)", s.Failures)
	}
	return "—"
}

// PauseWarning is the confirmation text of pausing a tech's 2FA.
func PauseWarning(username, kind string) string {
	how := "for their next login only"
	if kind == wire.Pause24h {
		how = "for the next 24 hours"
	}
	return fmt.Sprintf("%s may open a session without a code %s. 2FA is paused, never switched off: it applies again afterwards. "+
		"This is recorded in the audit log under your name (tech.totp-pause).", username, how)
}

// PauseTOTP pauses a tech's 2FA for the next login (wire.PauseNextLogin) or 24 hours (wire.Pause24h); audited.
func (a *App) PauseTOTP(ctx context.Context, tech int64, kind string) error {
	return a.do(ctx, fmt.Sprintf("pause 2FA of %s (%s)", a.techName(tech), kind), func(api *hubclient.Client) error {
		_, err := api.PauseTOTP(ctx, tech, kind)
		return err
	})
}

// UnlockTech lifts a tech's lockout; audited.
func (a *App) UnlockTech(ctx context.Context, tech int64) error {
	return a.do(ctx, "unlock "+a.techName(tech), func(api *hubclient.Client) error {
		_, err := api.UnlockTech(ctx, tech)
		return err
	})
}

func (a *App) techName(id int64) string {
	if t := a.Snapshot().Tech(id); t != nil {
		return t.Username
	}
	return fmt.Sprintf("tech %d", id)
}

// Imports is what the CSV import screen shows.
type Imports struct {
	History      []wire.Import
	Reservations []wire.Reservation
}

// LoadImports reads the import history and the reservations it made.
func (a *App) LoadImports(ctx context.Context) (*Imports, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	var out Imports
	if out.History, err = api.Imports(ctx); err != nil {
		return nil, fmt.Errorf("import history: %w", err)
	}
	if out.Reservations, err = api.Reservations(ctx); err != nil {
		return nil, fmt.Errorf("reservations: %w", err)
	}
	return &out, nil
}

// ImportTemplate returns the CSV template to save and fill in.
func (a *App) ImportTemplate(ctx context.Context) (*wire.ImportTemplate, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	t, err := api.ImportTemplate(ctx)
	if err != nil {
		return nil, fmt.Errorf("import template: %w", err)
	}
	return t, nil
}

// ImportTechs imports a CSV file in mode wire.ImportAtomic or wire.ImportPerRow. The answer lists the rows that
// were not imported with their reasons; in atomic mode any exception means nothing was imported.
func (a *App) ImportTechs(ctx context.Context, csv, mode string) (*wire.Import, error) {
	var out *wire.Import
	err := a.do(ctx, "import techs ("+mode+")", func(api *hubclient.Client) (err error) {
		out, err = api.ImportTechs(ctx, csv, mode)
		return err
	})
	if err == nil {
		_ = a.Notice.Set(ImportOutcome(*out))
	}
	return out, err
}

// ImportOutcome says what an import did, in one sentence.
func ImportOutcome(im wire.Import) string {
	switch {
	case len(im.Exceptions) == 0:
		return fmt.Sprintf("Imported all %d row(s): %d tech(s) reserved, waiting for their devices to register.", im.Rows, im.Created)
	case im.Mode == wire.ImportAtomic && im.Created == 0:
		return fmt.Sprintf("Nothing imported: the import is atomic and %d of %d row(s) have exceptions. Fix them, or import per row.", len(im.Exceptions), im.Rows)
	}
	return fmt.Sprintf("Imported %d of %d row(s); %d row(s) not imported, see the exceptions.", im.Created, im.Rows, len(im.Exceptions))
}

// ModeTitle is an import mode's name on screen.
func ModeTitle(mode string) string {
	if mode == wire.ImportAtomic {
		return "Atomic (all rows or none)"
	}
	return "Per row (import the good rows)"
}
