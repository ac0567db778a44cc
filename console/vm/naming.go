package vm

import (
	"context"
	"fmt"
	"strings"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// A tech's naming problems are the entitlements the hub cannot turn into an account (wire.Tech.Problems): a name
// too long or invalid for a target kind, or one another tech's would share. The admin's fix is a short name that
// stands for the username in the naming format. It changes account names, which agents pinned to the signed
// authority check against the signed naming, so it is signed too (authority.SetTechShortName).

// TechRowName is a tech's username as a list shows it: marked when some of its access cannot become an account.
func TechRowName(t wire.Tech) string {
	if len(t.Problems) > 0 {
		return "⚠ " + t.Username
	}
	return t.Username
}

// ShortNameText says what a tech's account names are rendered from, for the screen that sets the short name.
func (s *Snapshot) ShortNameText(t wire.Tech) string {
	n := entitle.Naming{Format: s.Tenant.Policy.NamingFormat, Abbrev: s.Tenant.Abbrev}
	if t.ShortName == "" {
		return fmt.Sprintf("Account names come from the username: %s.", n.Name(t.Username))
	}
	return fmt.Sprintf("Account names come from the short name %q: %s (accounts created before keep their names).", t.ShortName, n.Name(t.ShortName))
}

// SetShortName sets the short name of tech id ("" takes it away) and signs it. The hub refuses one that is
// another tech's username or short name, or that no target could hold. Afterwards the notice says which
// naming problems remain.
func (a *App) SetShortName(ctx context.Context, id int64, short string) error {
	short = strings.TrimSpace(short)
	if short != "" {
		if err := entitle.CheckShortName(short); err != nil {
			return fmt.Errorf("short name of tech %d: %w", id, err)
		}
	}
	t := a.Snapshot().Tech(id)
	if t == nil {
		return fmt.Errorf("short name of tech %d: not found", id)
	}
	if t.Status == wire.TechPending {
		// A pending tech's approval by onboarding signs no short name: set it once the tech is approved.
		return fmt.Errorf("short name of %q: approve the tech first", t.Username)
	}
	var after *wire.Tech
	err := a.signed(ctx, fmt.Sprintf("short name of %q", t.Username), func(api *hubclient.Client) error {
		var err error
		after, err = api.SetTechShortName(ctx, id, short)
		return err
	}, func(state *authority.State) ([]authority.Op, error) {
		st, ok := state.Techs[id]
		if !ok || st.ShortName == short {
			return nil, nil // not approved in the signed state: its approval carries the short name (shortNameOps)
		}
		return []authority.Op{authority.SetTechShortName(id, short)}, nil
	})
	if err == nil && after != nil && len(after.Problems) > 0 {
		_ = a.Notice.Set(fmt.Sprintf("short name of %q: done, but %s", t.Username, strings.Join(after.Problems, "; ")))
	}
	return err
}

// shortNameOps are the operations that give a tech being approved in the signed state the short name the hub
// holds for it: an approval after a deactivation, or in the genesis, starts without one.
func shortNameOps(t wire.Tech) []authority.Op {
	if t.ShortName == "" {
		return nil
	}
	return []authority.Op{authority.SetTechShortName(t.ID, t.ShortName)}
}
