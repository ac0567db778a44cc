package vm

// The audit log as people read it: each event with its actor by name and a sentence that names the objects
// ("Alice Moreau approved bob (Contoso Ltd)"), the device-signature verdict of a tech's event, read a page at a
// time newest first, and exported (every event the filter keeps, oldest first) as CSV or JSON lines with the chain
// hashes, which `watchword-hub verify-audit --file` checks away from the hub (shared/auditexport).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// AuditRow is one event as the audit screen shows it.
type AuditRow struct {
	Event   wire.AuditEvent
	Actor   string // who acted, by name
	Summary string // the event in a sentence, with the objects by name
	// Device is the device-signature verdict of a tech's reveal, copy or JIT request in a word (device-signed,
	// unsigned, FORGED, not checked, by hub); DeviceWhy says what was checked. Both empty for other events.
	Device    string
	DeviceWhy string
}

// AuditPage is one page of the audit log, newest first; More says an older page exists (ask with Before set to
// the last row's seq).
type AuditPage struct {
	Rows []AuditRow
	More bool
}

// auditPageSize is what the audit screen shows at once.
const auditPageSize = 200

// AuditPage reads the newest page of events matching f (before f.Before when set), with names and verdicts.
func (a *App) AuditPage(ctx context.Context, f AuditFilter) (*AuditPage, error) {
	if f.Limit == 0 {
		f.Limit = auditPageSize
	}
	want := f.Limit
	f.Limit++ // one more says whether an older page exists
	evs, err := a.Audit(ctx, f)
	if err != nil {
		return nil, err
	}
	p := &AuditPage{More: len(evs) > want}
	if p.More {
		evs = evs[:want]
	}
	p.Rows = a.auditRows(ctx, evs)
	return p, nil
}

// auditRows names evs and checks the tech events among them.
func (a *App) auditRows(ctx context.Context, evs []wire.AuditEvent) []AuditRow {
	n := a.auditNamer(ctx)
	checks := map[int64]TechEventCheck{}
	for _, c := range a.CheckTechEvents(evs) {
		checks[c.Event.Seq] = c
	}
	rows := make([]AuditRow, len(evs))
	for i, e := range evs {
		rows[i] = AuditRow{Event: e, Actor: n.actor(e), Summary: n.summary(e)}
		if c, ok := checks[e.Seq]; ok {
			rows[i].Device, rows[i].DeviceWhy = deviceWord(c.Status), c.Why
		}
	}
	return rows
}

// deviceWord is a verdict in the word the audit table shows.
func deviceWord(status string) string {
	switch status {
	case TechEventSigned:
		return "device-signed"
	case TechEventUnsigned:
		return "unsigned"
	case TechEventForged:
		return "FORGED"
	case TechEventByHub:
		return "by hub"
	}
	return "not checked"
}

// ErrExportUnsupported: the hub sends no chain hashes with its events (before CapAuditQuery), so an export could
// not be verified.
var ErrExportUnsupported = errors.New("this hub is too old to export its audit log with the chain hashes; update it")

// ExportAudit writes every event matching f (f.Before and f.Limit aside), oldest first, to w in format, with the
// chain hashes and the names, and returns how many it wrote.
func (a *App) ExportAudit(ctx context.Context, f AuditFilter, w io.Writer, format auditexport.Format) (int, error) {
	api, err := a.client()
	if err != nil {
		return 0, err
	}
	if !api.Supports(wire.CapAuditQuery) {
		return 0, ErrExportUnsupported
	}
	out, err := auditexport.NewWriter(w, format)
	if err != nil {
		return 0, err
	}
	q, local := f.query()
	q.BeforeSeq, q.Limit, q.Newest = 0, 1000, false
	n := 0
	for {
		evs, err := api.Audit(ctx, q)
		if err != nil {
			return n, fmt.Errorf("export audit log: %w", err)
		}
		var keep []wire.AuditEvent
		for _, e := range evs {
			if local(e) {
				keep = append(keep, e)
			}
		}
		for _, r := range a.auditRows(ctx, keep) {
			if err := out.Write(auditexport.Row{AuditEvent: r.Event, Actor: r.Actor, Summary: r.Summary, Device: r.Device}); err != nil {
				return n, fmt.Errorf("export audit log: %w", err)
			}
			n++
		}
		if len(evs) < q.Limit {
			break
		}
		q.AfterSeq = evs[len(evs)-1].Seq
	}
	if err := out.Flush(); err != nil {
		return n, fmt.Errorf("export audit log: %w", err)
	}
	return n, nil
}

// auditNamer names the principals and objects of audit events from the last Refresh and the tenant's admins.
type auditNamer struct {
	s      *Snapshot
	admins map[int64]wire.Admin
}

// auditNamer reads the admins (a role that may not read them sees "admin #ID").
func (a *App) auditNamer(ctx context.Context) auditNamer {
	n := auditNamer{s: a.Snapshot(), admins: map[int64]wire.Admin{}}
	if n.s == nil {
		n.s = &Snapshot{}
	}
	if api, err := a.client(); err == nil {
		n.admins = adminsByID(ctx, api)
	}
	return n
}

func adminsByID(ctx context.Context, api *hubclient.Client) map[int64]wire.Admin {
	out := map[int64]wire.Admin{}
	if as, err := api.Admins(ctx); err == nil {
		for _, ad := range as {
			out[ad.ID] = ad
		}
	}
	return out
}

// actor names who did e: a person's display name, an agent's name, "the hub".
func (n auditNamer) actor(e wire.AuditEvent) string {
	switch e.ActorKind {
	case "admin":
		if ad, ok := n.admins[e.ActorID]; ok && ad.Name != "" {
			return ad.Name
		}
	case "tech":
		if t := n.s.Tech(e.ActorID); t != nil {
			return techName(t)
		}
	case "system":
		return "the hub"
	}
	return n.s.Actor(e)
}

// techName is a tech's display name with the username, "Bob Martin (bob)", or the username alone.
func techName(t *wire.Tech) string {
	if t.DisplayName != "" && t.DisplayName != t.Username {
		return t.DisplayName + " (" + t.Username + ")"
	}
	return t.Username
}

// object names what "KIND ID" refers to: a tech with its organization, an account with its host, a group, a right,
// a triplet in its three parts, an admin. What the Console does not know (deleted since) keeps the name the
// event's detail gives, or its kind and number.
func (n auditNamer) object(kind string, id int64, action, detail string) string {
	s := n.s
	switch kind {
	case "tech":
		if t := s.Tech(id); t != nil {
			if t.Organization != "" {
				return t.Username + " (" + t.Organization + ")"
			}
			return t.Username
		}
	case "agent":
		if ag := s.Agent(id); ag != nil {
			return ag.Name
		}
	case "account":
		for agID, accs := range s.Accounts {
			for _, acc := range accs {
				if acc.ID == id {
					host := "agent " + strconv.FormatInt(agID, 10)
					if ag := s.Agent(agID); ag != nil {
						host = ag.Name
					}
					return acc.Name + " on " + host
				}
			}
		}
	case "group":
		if g := s.Group(strings.HasPrefix(action, "agentgroup."), id); g != nil {
			return "group " + g.Name
		}
	case "right":
		if r := s.Right(id); r != nil {
			return "right " + r.Name
		}
	case "triplet":
		for _, t := range s.Triplets {
			if t.ID == id {
				return "triplet " + n.triplet(t)
			}
		}
	case "admin":
		if ad, ok := n.admins[id]; ok && ad.Name != "" {
			return "admin " + ad.Name
		}
	}
	if f, err := detailFields(detail); err == nil && f["name"] != "" {
		return kind + " " + f["name"]
	}
	return kind + " " + strconv.FormatInt(id, 10)
}

// triplet is "Tier 1 → All domains: Helpdesk".
func (n auditNamer) triplet(t wire.Triplet) string {
	name := func(g *wire.Group, id int64) string {
		if g == nil {
			return "#" + strconv.FormatInt(id, 10)
		}
		return g.Name
	}
	right := "#" + strconv.FormatInt(t.RightID, 10)
	if r := n.s.Right(t.RightID); r != nil {
		right = r.Name
	}
	return name(n.s.Group(false, t.TechGroupID), t.TechGroupID) + " → " + name(n.s.Group(true, t.AgentGroupID), t.AgentGroupID) + ": " + right
}

// target names every principal and object e's target refers to: "tech 8" or "tech=8 agent=3 account=12".
func (n auditNamer) target(e wire.AuditEvent) string {
	if kind, num, ok := strings.Cut(e.Target, " "); ok {
		if id, err := strconv.ParseInt(num, 10, 64); err == nil && !strings.Contains(num, " ") {
			return n.object(kind, id, e.Action, e.Detail)
		}
		return e.Target
	}
	var parts []string
	for _, fld := range strings.Fields(e.Target) {
		kind, num, ok := strings.Cut(fld, "=")
		id, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			return e.Target
		}
		parts = append(parts, n.object(kind, id, e.Action, ""))
	}
	if len(parts) == 0 {
		return e.Target
	}
	return strings.Join(parts, ", ")
}

// auditVerbs says what an action did, placed between the actor and the target ("approved" → "Alice approved bob").
var auditVerbs = map[string]string{
	"tech.register": "registered as", "tech.approve": "approved", "tech.reject": "rejected", "tech.disable": "deactivated",
	"tech.lock": "locked", "tech.unlock": "unlocked", "tech.totp-reset": "reset the authenticator of",
	"tech.import": "imported techs in", "tech.update": "edited", "tech.delete": "deleted",
	"credential.reveal": "revealed the password of", "credential.copy": "copied the password of",
	"credential.history": "read the password history of", "credential.unsigned": "refused an unsigned password of",
	"credential.tap-reveal": "revealed the Temporary Access Pass of", "credential.tap-copy": "copied the Temporary Access Pass of",
	"version.stage": "staged a new password for", "version.confirm": "confirmed the new password of",
	"version.fail": "failed to set the password of", "account.create": "created the account", "account.state": "reported the state of",
	"account.problem": "could not plan an account for", "account.failed": "marked failed", "rotate.now": "asked to rotate",
	"agent.enroll": "enrolled", "agent.approve": "approved", "agent.retire": "retired",
	"triplet.create": "created", "triplet.delete": "deleted", "triplet.update": "changed",
	"right.create": "created", "right.update": "changed", "right.delete": "deleted",
	"techgroup.create": "created", "techgroup.update": "changed", "techgroup.delete": "deleted", "techgroup.members": "changed the members of",
	"agentgroup.create": "created", "agentgroup.update": "changed", "agentgroup.delete": "deleted", "agentgroup.members": "changed the members of",
	"admin.claim": "claimed the tenant as", "admin.approve": "approved", "admin.remove": "removed", "admin.role": "changed the role of",
	"admin.invite": "invited an admin with", "token.create": "created the enrolment", "policy.update": "changed the policy of",
	"jit.request": "asked for just-in-time access to", "jit.approve": "approved", "jit.end": "ended", "jit.enable": "opened",
	"jit.expire": "closed", "authority.update": "signed", "onboard.comanaged": "onboarded",
	"org.create": "created", "org.comanagement": "switched co-management of",
	"comanagement.enable": "turned co-management on for", "comanagement.disable": "turned co-management off for",
}

// summary is e in a sentence: "Alice Moreau approved bob (Contoso Ltd)".
func (n auditNamer) summary(e wire.AuditEvent) string {
	verb, ok := auditVerbs[e.Action]
	if !ok {
		verb = e.Action
	}
	target := n.target(e)
	if target == "" {
		return n.actor(e) + " " + verb
	}
	return n.actor(e) + " " + verb + " " + target
}
