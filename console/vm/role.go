package vm

// The Console's own role (on the Console side).
//
// The hub answers a route the admin's role may not use with 403, so a Console that fetched everything would show
// an Auditor or a Co-managed Manager a wall of errors. Refresh first learns who this Console is (Me), then reads
// only what the role may read; the screens hide the sections the role cannot read (VisibleSections) and disable
// the actions it may not take (Me.Can…). An invited admin the owner has not approved yet gets 403 pending on
// every route: the Console shows "waiting for the owner's approval" with its own fingerprint, to read out to the
// owner, instead of the raw error, and keeps polling until approved.
//
// The hub has no "who am I" route: the Console finds itself in the admin list by its key ID. A Co-managed Manager
// may not read that list, and it is the only active role that may not, so a 403 there means Co-managed Manager
// (the hub audits that one refusal per connection; the answer is cached until a refresh meets a 403 again).

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// Me is the admin this Console is signed in as.
type Me struct {
	// Role is the console role; "" until the first refresh has found it: the Console then offers everything and
	// the hub still decides.
	Role         wire.Role
	Name         string
	Organization string // a Co-managed Manager's organization, when known
	// Pending is true while an owner has not approved this Console's key.
	Pending bool
	// Fingerprint is this Console's key fingerprint, to compare with what the owner sees.
	Fingerprint string
	KeyID       string
}

// can reports whether this Console may use the permission: never while pending, always when the role is unknown
// (the hub still decides), otherwise as wire's role table says.
func (m Me) can(p wire.Permission) bool { return !m.Pending && (m.Role == "" || m.Role.Can(p)) }

// CanChange reports whether the role may change the tenant's configuration (owner and administrator).
func (m Me) CanChange() bool { return m.can(wire.PermChange) }

// CanManageTechs reports whether the role may approve, reject, deactivate and unlock techs and decide device
// replacements (a Co-managed Manager: only its organization's).
func (m Me) CanManageTechs() bool { return m.can(wire.PermManageTechs) }

// CanReadAll reports whether the role reads the whole tenant: groups, rights, triplets, accounts, audit, admins.
func (m Me) CanReadAll() bool { return m.can(wire.PermReadAll) }

// IsOwner reports whether the role manages admins.
func (m Me) IsOwner() bool { return m.can(wire.PermManageAdmins) }

// Describe is the role for the status bar.
func (m Me) Describe() string {
	switch {
	case m.Pending:
		return "Waiting for the owner's approval"
	case m.Role == "":
		return ""
	}
	s := "Signed in as " + RoleTitle(m.Role)
	if m.Organization != "" {
		s += " of " + m.Organization
	}
	if m.Name != "" {
		s = m.Name + " · " + s
	}
	return s
}

// PendingText is what a pending admin reads instead of the hub's 403.
func (m Me) PendingText() string {
	return "This Console is waiting for the owner's approval. Read this fingerprint out to the tenant's owner: " +
		"they approve you under Console admins once every group matches what they see."
}

// sectionNeeds says which sections a role must be able to read or act on; sections not listed are open to all.
var sectionNeeds = map[string]func(Me) bool{
	"techgroups":  Me.CanReadAll,
	"agentgroups": Me.CanReadAll,
	"rights":      Me.CanReadAll,
	"triplets":    Me.CanReadAll,
	"access":      Me.CanReadAll,
	"onboarding":  Me.CanChange,
	"import":      Me.CanReadAll,
	"orgs":        Me.CanReadAll,
	"admins":      Me.CanReadAll,
	"seats":       Me.CanReadAll,
	"policy":      Me.CanReadAll,
	"audit":       Me.CanReadAll,
	"auditstream": Me.CanReadAll,
	"authority":   Me.CanReadAll,
}

// VisibleSections lists the sections this Console's role may use, in navigation order. A pending admin sees only
// the first (where the approval notice shows).
func (a *App) VisibleSections() []Section {
	me := a.Snapshot().Me
	if me.Pending {
		return Sections[:1]
	}
	var out []Section
	for _, s := range Sections {
		if need, ok := sectionNeeds[s.ID]; !ok || need(me) {
			out = append(out, s)
		}
	}
	return out
}

// isPending reports whether the hub refused because this key is known but not approved yet.
func isPending(err error) bool { return errors.Is(err, hubclient.ErrPending) }

// isForbidden reports whether the hub refused the call for this role.
func isForbidden(err error) bool { return errors.Is(err, hubclient.ErrForbidden) }

// whoami finds this Console's role; cached in a.me until forget.
func (a *App) whoami(ctx context.Context, api *hubclient.Client) (Me, error) {
	a.mu.Lock()
	me, known := a.me, a.meKnown
	a.mu.Unlock()
	if known {
		return me, nil
	}
	pk := api.PublicKey()
	me = Me{Fingerprint: pk.Fingerprint().String(), KeyID: pk.ID()}
	as, err := api.Admins(ctx)
	switch {
	case isForbidden(err):
		me.Role = wire.RoleCoManager
	case err != nil:
		return me, fmt.Errorf("who am I: %w", err)
	default:
		for _, ad := range as {
			if ad.KeyID == me.KeyID {
				me.Role, me.Name, me.Organization = ad.Role, ad.Name, ad.Organization
			}
		}
		if me.Role == "" {
			return me, fmt.Errorf("who am I: key %s is not in the admin list", me.KeyID)
		}
	}
	a.mu.Lock()
	a.me, a.meKnown = me, true
	a.mu.Unlock()
	return me, nil
}

// forget drops the cached role: the owner may have changed it.
func (a *App) forget() {
	a.mu.Lock()
	a.meKnown = false
	a.mu.Unlock()
}

// pendingMe is the Me of a Console whose key waits for approval.
func pendingMe(api *hubclient.Client) Me {
	pk := api.PublicKey()
	return Me{Pending: true, Fingerprint: pk.Fingerprint().String(), KeyID: pk.ID()}
}

// coManagerOrg guesses a Co-managed Manager's organization from the techs it may see (all of its organization).
func coManagerOrg(ts []wire.Tech) string {
	org := ""
	for _, t := range ts {
		if t.Organization == "" {
			continue
		}
		if org != "" && !strings.EqualFold(org, t.Organization) {
			return ""
		}
		org = t.Organization
	}
	return org
}
