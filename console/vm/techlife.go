package vm

// A tech's life after approval, from the Techs screen: edit (and move between organizations with its TechGroups),
// delete a deactivated tech with or without its accounts, and its device. Each change the signed authority
// covers is signed with it: a move re-approves the tech's key under its new organization and changes the signed
// TechGroups; a deletion withdraws any approval left and takes the tech out of the signed TechGroups.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// Move is what moving a tech to an organization ("" for MSP staff) changes: the TechGroups it leaves and joins, and
// the domains and hosts it reaches before and after, as the onboarding's preview says it.
type Move struct {
	To            string
	Leave, Join   []wire.Group
	Before, After []string // agent names
}

// Text is the move's preview in sentences.
func (m Move) Text(username string) string {
	to := m.To
	if to == "" {
		to = "MSP staff"
	}
	names := func(gs []wire.Group) string {
		var out []string
		for _, g := range gs {
			out = append(out, g.Name)
		}
		return joinOrNone(out)
	}
	return fmt.Sprintf("Move %s to %s.\n\nLeaves: %s\nJoins: %s\n\nReaches today: %s\nReaches after: %s\n\nThe move is audited (tech.move).",
		username, to, names(m.Leave), names(m.Join), joinOrNone(m.Before), joinOrNone(m.After))
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// NeedsMove says whether changing tech id's organization to org is a move: an approved tech's organization is
// read-only otherwise.
func (s *Snapshot) NeedsMove(id int64, org string) bool {
	t := s.Tech(id)
	return t != nil && (t.Status == wire.TechActive || t.Status == wire.TechDisabled) && !strings.EqualFold(t.Organization, org)
}

// PreviewMove says what moving tech id to org changes. It leaves the non-built-in TechGroups that reach
// domains for its present organization's kind (the MSP's groups, or its organization's) and joins those of org:
// the groups whose members are all of org's techs (MSP staff: the MSP TechGroups).
func (a *App) PreviewMove(id int64, org string) (Move, error) {
	s := a.Snapshot()
	t := s.Tech(id)
	if t == nil {
		return Move{}, fmt.Errorf("move tech %d: not found", id)
	}
	m := Move{To: org}
	for _, g := range s.TechGroups {
		if g.Builtin {
			continue
		}
		if slices.Contains(g.Members, id) {
			m.Leave = append(m.Leave, g)
		}
	}
	if org == "" {
		m.Join = s.MSPGroups()
	} else {
		for _, g := range s.TechGroups {
			if g.Builtin || len(g.Members) == 0 || slices.Contains(g.Members, id) {
				continue
			}
			all := true
			for _, mid := range g.Members {
				if mt := s.Tech(mid); mt == nil || !strings.EqualFold(mt.Organization, org) {
					all = false
				}
			}
			if all {
				m.Join = append(m.Join, g)
			}
		}
	}
	m.Before = grantNames(a.AccessForTech(id))
	after := *s
	after.TechGroups = nil
	for _, g := range s.TechGroups {
		g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(x int64) bool { return x == id })
		if slices.ContainsFunc(m.Join, func(j wire.Group) bool { return j.ID == g.ID }) {
			g.Members = append(g.Members, id)
		}
		after.TechGroups = append(after.TechGroups, g)
	}
	m.After = grantNames(filterGrants(ComputeAccess(&after), func(g Grant) bool { return g.Tech.ID == id }))
	return m, nil
}

func grantNames(gs []Grant) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Agent.Name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// EditTech saves a tech's display name and email, and its organization: a pending tech's suggestion as is, an
// approved tech's by the move PreviewMove describes (its TechGroups change with it, signed).
func (a *App) EditTech(ctx context.Context, id int64, display, email, org string) error {
	s := a.Snapshot()
	t := s.Tech(id)
	if t == nil {
		return fmt.Errorf("edit tech %d: not found", id)
	}
	seen := *t
	req := wire.TechEditRequest{DisplayName: display, Email: email}
	var move Move
	if !strings.EqualFold(org, t.Organization) || org != t.Organization {
		o := org
		req.Organization = &o
	}
	moving := s.NeedsMove(id, org)
	if moving {
		var err error
		if move, err = a.PreviewMove(id, org); err != nil {
			return err
		}
		req.Move = true
		for _, g := range move.Leave {
			req.Leave = append(req.Leave, g.ID)
		}
		for _, g := range move.Join {
			req.Join = append(req.Join, g.ID)
		}
	}
	return a.signed(ctx, fmt.Sprintf("edit %q", t.Username), func(api *hubclient.Client) error {
		_, err := api.EditTech(ctx, id, req)
		return err
	}, func(state *authority.State) ([]authority.Op, error) {
		if !moving {
			return nil, nil
		}
		var ops []authority.Op
		if _, ok := state.Techs[id]; ok {
			op, err := approveOp(seen, org, seen.PublicKey)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
		for _, g := range move.Leave {
			if op, ok := withMember(state, authority.TechGroup, g.ID, id, false); ok {
				ops = append(ops, op)
			}
		}
		for _, g := range move.Join {
			if op, ok := withMember(state, authority.TechGroup, g.ID, id, true); ok {
				ops = append(ops, op)
			}
		}
		return ops, nil
	})
}

// DeleteWarning is what the confirmation says before deleting a deactivated tech.
func (a *App) DeleteWarning(id int64) string {
	t := a.Snapshot().Tech(id)
	if t == nil {
		return ""
	}
	return fmt.Sprintf("Delete %s (%s)?\n\nThey leave every TechGroup and the tech list; the audit log keeps their history. "+
		"Choose what happens to their %d accounts on the domains and hosts: deleted by each agent (only accounts Watchword created; "+
		"adopted ones stay disabled), or left there disabled.", t.DisplayName, t.Username, len(a.Snapshot().AccountsOfTech(id)))
}

// DeleteTech deletes a deactivated tech; with deleteAccounts the agents delete its accounts from their targets and
// report each, without they stay there disabled. The signed authority loses the tech from its TechGroups (and any
// approval left).
func (a *App) DeleteTech(ctx context.Context, id int64, deleteAccounts bool) error {
	s := a.Snapshot()
	groups := s.TechGroups
	return a.techAction(ctx, "delete", id, func(api *hubclient.Client) (*wire.Tech, error) { return api.DeleteTech(ctx, id, deleteAccounts) },
		func(state *authority.State) ([]authority.Op, error) {
			ops, _ := removeTech(id)(state)
			for _, g := range groups {
				if op, ok := withMember(state, authority.TechGroup, g.ID, id, false); ok {
					ops = append(ops, op)
				}
			}
			return ops, nil
		})
}

// TechDevice reads tech id's device from the hub: registered, last seen, TechClient release, replacements.
func (a *App) TechDevice(ctx context.Context, id int64) (*wire.TechDevice, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	return api.TechDevice(ctx, id)
}

// DeviceText is a tech's device in lines, its replacement history newest first.
func DeviceText(d *wire.TechDevice) string {
	seen := "never"
	if !d.LastSeen.IsZero() {
		seen = d.LastSeen.Local().Format("2006-01-02 15:04")
	}
	lines := []string{
		"Registered: " + d.Registered.Local().Format("2006-01-02 15:04"),
		"Last seen: " + seen,
		"TechClient: " + cmpOr(d.Version, "unknown"),
		"Key fingerprint: " + d.Fingerprint,
	}
	if len(d.Replacements) == 0 {
		lines = append(lines, "Replacements: none")
	}
	for _, r := range d.Replacements {
		lines = append(lines, fmt.Sprintf("Replacement %s on %s: %s → %s", r.Status, r.CreatedAt.Local().Format("2006-01-02 15:04"), r.OldFingerprint, r.Fingerprint))
	}
	return strings.Join(lines, "\n")
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
