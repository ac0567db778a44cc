// Package vm is the Console's view-model: the MSP admin's screens as state and actions, without widgets.
//
// An App holds the connected hub client (*hubclient.Client, the one typed client of the hub's API) and the
// Snapshot every screen renders, read in one Refresh. Actions reach the hub, then refresh, so every screen shows
// their effect. Who keeps an App connected and fresh is package session; who draws it is package view.
//
// # Reading guide
//
//   - vm.go: Sections (the navigation), the App (connection, Refresh, the Snapshot, change listeners), the tech
//     filters of the Techs screen.
//   - role.go: who this Console is signed in as (Me), what its role may read and do, and which sections it sees.
//   - actions.go: what the admin changes — approve, reject, deactivate, groups, rights, triplets, enrolment,
//     rotation — and do, which runs each change and refreshes.
//   - access.go: effective access computed from the snapshot with the triplet each grant comes through, the target
//     groups behind it, standing or just-in-time, the account as its agent reported it or the naming problem that
//     keeps one from being made, and what deleting a triplet would take away.
//   - naming.go: a tech's naming problems on its row and the short name that fixes them, set and signed.
//   - onboard.go: the co-managed onboarding of a client organization as a plan, its preview and its atomic
//     application.
//   - placement.go: where an approved tech belongs (an organization, which makes it co-managed, or MSP staff).
//   - reservation.go: a registration under a username a CSV import reserved, reserved vs typed.
//   - registrations.go: the tenant's queue of pending registrations, full or nearly.
//   - security.go, totpreset.go: each tech's 2FA and lockout, pausing and resetting 2FA, device replacements, and
//     the CSV import of techs.
//   - techlife.go: editing a tech (a move between organizations previewed and signed), deleting a deactivated
//     one with or without its accounts (signed), and its device.
//   - tombstones.go: the deleted techs, each with how far the deletion of its accounts has come.
//   - accounts.go: a tech's accounts, failed ones with Retry and Adopt, the failure notifications, and the naming
//     format without a fixed part.
//   - agents.go: agents waiting for approval, offline agents (against the Console's clock) and their
//     notifications, retiring and restoring an agent, the enrolment drivers.
//   - jit.go: a triplet's mode (standing or just-in-time), the queue of requests, the open windows, and WatchJIT,
//     the long poll that shows a new request at once.
//   - orgs.go: organizations and co-management, console admins and their roles, seats.
//   - policy.go: the policy form and its live naming preview.
//   - authority.go: the signed authority — the verified chain pinned to its anchor, turning it on (the genesis),
//     signing each action's operations in one update, rollback and fork alerts, and each agent's receipt.
//   - audit.go: the audit log's filters and the hash chain's verification, compared with the newest audit checkpoint
//     of the signed authority and extended by a new one.
//   - auditlog.go: the audit log as people read it (actors and objects by name, a sentence per event, the device
//     verdict of tech events), a page at a time newest first, and its export as CSV or JSON lines with the hashes.
//   - auditstream.go: the syslog collectors the hub streams the audit log to, the state of each stream, alerts.
//   - techevents.go: whether each reveal, copy and JIT request by a tech carries its device's signature, and the
//     forged ones as alerts (TechEventAlerts).
//   - demo/: the demo data set the tests, the -demo mode and the screenshots share.
//
// Features an older hub may not have (just-in-time access, 2FA, device replacements) are read only when the hub's
// capability version says it has them (hubclient.Client.Supports). Every call that reaches the hub takes a context
// and may block: views call them off the UI goroutine and redraw through fyne.Do when the listeners fire. Tests
// drive the same view-model against the in-process hub (internal/testsupport/hubtest).
package vm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2/data/binding"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// Section is one entry of the Console's navigation.
type Section struct {
	ID    string
	Title string
	// About says in one sentence what the admin does there.
	About string
}

// Sections lists the Console's navigation in the order an MSP admin works through it.
var Sections = []Section{
	{"pending", "Pending techs", "Approve or reject technicians after comparing their device fingerprint."},
	{"jit", "JIT requests", "Just-in-time access: approve or refuse the techs' requests; the open windows and their time left."},
	{"techs", "Techs", "Every technician, their status, 2FA and lockout, and their effective access; deactivate to offboard."},
	{"import", "CSV import", "Reserve techs in bulk from a CSV file; each row waits for its tech's device to register."},
	{"techgroups", "TechGroups", "Named sets of technicians. AllTechs holds every active tech."},
	{"agentgroups", "AgentGroups", "Named sets of managed domains and hosts. AllDomains holds every agent."},
	{"rights", "Rights", "Named privileges, resolved on each target by group name."},
	{"triplets", "Triplets", "TechGroup × AgentGroup × Right: who gets which rights where."},
	{"access", "Effective access", "Every domain and right a tech gets, and through which triplet."},
	{"agents", "Agents", "Enrolled domains and hosts; approval of new agents; enrollment tokens."},
	{"onboarding", "Co-managed onboarding", "Give a client's own IT staff their domains only, in one atomic step."},
	{"orgs", "Organizations", "Client organizations and their co-management switch."},
	{"admins", "Console admins", "Who administers this tenant, in which role; invite, approve, change roles."},
	{"seats", "Seats", "Active seats by kind and the date each started: co-managed licences are billable."},
	{"policy", "Policy", "Rotation interval, password rules and account naming."},
	{"authority", "Signed authority", "What the admins signed: who may read a password, verified here; the head to compare, each agent's receipt."},
	{"audit", "Audit log", "Every change, approval, rotation, reveal and copy, hash-chained."},
	{"auditstream", "Audit streaming", "The syslog collectors (SIEMs) the hub streams the audit log to: connected or not, the last event sent, the backlog."},
	{"invite", "Invite", "What technicians paste into their TechClient to register."},
}

// ErrNotConnected is returned by every action before Connect.
var ErrNotConnected = errors.New("not connected to a hub")

// Snapshot is everything the screens render, read from the hub in one Refresh.
type Snapshot struct {
	Tenant      wire.Tenant
	Techs       []wire.Tech
	TechGroups  []wire.Group
	AgentGroups []wire.Group
	Rights      []wire.Right
	Triplets    []wire.Triplet
	Agents      []wire.Agent
	Accounts    map[int64][]wire.Account // agent ID → its accounts
	// Security is each tech's 2FA and lockout state by tech ID; Rekeys the pending device replacements.
	Security map[int64]wire.TechSecurity
	Rekeys   []wire.Rekey
	// JIT holds the just-in-time grants this Console may see that are pending or open, newest first, read at
	// JITRevision (jit.go).
	JIT         []wire.JITGrant
	JITRevision int64
	// Registrations is the tenant's queue of pending registrations (RegistrationNotice), when the hub says.
	Registrations *wire.Registrations
	// Me is who this Console is signed in as: what it may read and do.
	Me Me
	// Authority is the signed authority as this Console verified it, and any alert (authority.go); Refused the
	// recent reports of TechClients that refused to open a version no enrolled agent signed, newest first.
	Authority AuthorityStatus
	Refused   []wire.AuditEvent
	// Forged lists, in words, the tech events of the last week whose device signature does not verify
	// (techevents.go), newest first: loaded like Refused, while this Console verifies the signed authority.
	Forged []string
	At     time.Time
}

// Tech returns the tech with id, or nil.
func (s *Snapshot) Tech(id int64) *wire.Tech {
	return find(s.Techs, func(t wire.Tech) bool { return t.ID == id })
}

// Agent returns the agent with id, or nil.
func (s *Snapshot) Agent(id int64) *wire.Agent {
	return find(s.Agents, func(a wire.Agent) bool { return a.ID == id })
}

// Group returns the TechGroup (agents false) or AgentGroup with id, or nil.
func (s *Snapshot) Group(agents bool, id int64) *wire.Group {
	gs := s.TechGroups
	if agents {
		gs = s.AgentGroups
	}
	return find(gs, func(g wire.Group) bool { return g.ID == id })
}

// Right returns the right with id, or nil.
func (s *Snapshot) Right(id int64) *wire.Right {
	return find(s.Rights, func(r wire.Right) bool { return r.ID == id })
}

// GroupName, RightName and friends render IDs for people, falling back to the number.
func (s *Snapshot) GroupName(agents bool, id int64) string {
	if g := s.Group(agents, id); g != nil {
		return g.Name
	}
	return fmt.Sprintf("#%d", id)
}

func (s *Snapshot) RightName(id int64) string {
	if r := s.Right(id); r != nil {
		return r.Name
	}
	return fmt.Sprintf("#%d", id)
}

// TripletLabel renders a triplet as "TechGroup × AgentGroup × Right".
func (s *Snapshot) TripletLabel(t wire.Triplet) string {
	return s.GroupName(false, t.TechGroupID) + " × " + s.GroupName(true, t.AgentGroupID) + " × " + s.RightName(t.RightID)
}

// Organizations lists the client organizations of the techs, sorted.
func (s *Snapshot) Organizations() []string {
	var out []string
	for _, t := range s.Techs {
		if t.Organization != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, t.Organization) }) {
			out = append(out, t.Organization)
		}
	}
	slices.Sort(out)
	return out
}

// GroupsOf lists the TechGroups holding a tech; AllTechs holds every active tech.
func (s *Snapshot) GroupsOf(tech int64) []string {
	t := s.Tech(tech)
	var out []string
	for _, g := range s.TechGroups {
		if isAllTechs(g) && t != nil && t.Status == wire.TechActive || slices.Contains(g.Members, tech) {
			out = append(out, g.Name)
		}
	}
	return out
}

// AgentErrors lists the errors the agent's accounts reported (missing groups and the like), deduplicated.
func (s *Snapshot) AgentErrors(agent int64) []string {
	var out []string
	for _, a := range s.Accounts[agent] {
		if a.LastError != "" && !slices.Contains(out, a.LastError) {
			out = append(out, a.LastError)
		}
	}
	return out
}

func isAllTechs(g wire.Group) bool   { return g.Builtin && g.Name == wire.AllTechs }
func isAllDomains(g wire.Group) bool { return g.Builtin && g.Name == wire.AllDomains }

func find[T any](xs []T, ok func(T) bool) *T {
	for i := range xs {
		if ok(xs[i]) {
			return &xs[i]
		}
	}
	return nil
}

// App is the Console's top-level view-model.
type App struct {
	// Selected is the ID of the section on screen.
	Selected binding.String
	// Hub describes the hub this Console talks to, or that it has none yet.
	Hub binding.String
	// Notice is the last outcome or error of an action, for the status line.
	Notice binding.String

	mu     sync.Mutex
	api    *hubclient.Client
	invite wire.Invite
	// hubURLs are the public URLs the hub's health answer names (serve --public-url); hubURLsKnown once read.
	hubURLs      []string
	hubURLsKnown bool
	snap         *Snapshot
	listeners    []func()
	me           Me // cached by whoami
	meKnown      bool
	// jitSeen holds the pending JIT requests already announced; jitListeners hear of new ones (jit.go).
	jitSeen      map[int64]bool
	jitListeners []func(wire.JITGrant)
	// failedSeen holds the accounts failed at the last refresh; failedListeners hear of newly failed ones
	// (accounts.go).
	failedSeen      map[failure]bool
	failedListeners []func(TechAccount)
	// refreshes counts the refreshes started, published the number of the one whose snapshot is on screen: a
	// refresh that finishes after a later one has published is dropped, not shown over newer state.
	refreshes, published uint64
	// auth is the signing key and the verified chain of the signed authority (authority.go); now dates the updates
	// this Console signs (for people reading them: nothing checks it against a clock).
	auth authorityPin
	now  func() time.Time
}

// New returns the view-model of a Console that is not connected to any hub yet.
func New() *App {
	a := &App{Selected: binding.NewString(), Hub: binding.NewString(), Notice: binding.NewString(), snap: &Snapshot{}}
	_ = a.Selected.Set(Sections[0].ID)
	_ = a.Hub.Set("Not connected to a hub")
	return a
}

// clock is the time updates are signed at.
func (a *App) clock() func() time.Time {
	if a.now != nil {
		return a.now
	}
	return time.Now
}

// Section returns the section with the given ID, and false if there is none.
func (a *App) Section(id string) (Section, bool) {
	for _, s := range Sections {
		if s.ID == id {
			return s, true
		}
	}
	return Section{}, false
}

// Select puts the section id on screen; an unknown id is ignored.
func (a *App) Select(id string) {
	if _, ok := a.Section(id); ok {
		_ = a.Selected.Set(id)
	}
}

// Connect points the Console at a hub; describe says which, for the status line. Call Refresh next.
func (a *App) Connect(api *hubclient.Client, invite wire.Invite, describe string) {
	a.mu.Lock()
	a.api, a.invite = api, invite
	a.meKnown = false
	a.hubURLs, a.hubURLsKnown = nil, false
	a.mu.Unlock()
	_ = a.Hub.Set(describe)
}

// Connected reports whether Connect was called.
func (a *App) Connected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.api != nil
}

// Invite is the invite of this tenant's hub, as the agents' enrolment command carries it. When the hub names its
// public URLs (its replicas or load balancers: serve --public-url), the invite carries those, in the hub's order,
// instead of the address this Console reaches it at (which may be an inside one), so TechClients and agents can
// fail over between them; otherwise it is the Console's own.
func (a *App) Invite() wire.Invite {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.invite.WithURLs(a.hubURLs...)
}

// learnHubURLs reads the hub's public URLs once per connection, from a hub that names them.
func (a *App) learnHubURLs(ctx context.Context, api *hubclient.Client) {
	a.mu.Lock()
	known := a.hubURLsKnown
	a.mu.Unlock()
	if known || !api.Supports(wire.CapHubURLs) {
		return
	}
	h, err := api.Health(ctx)
	if err != nil {
		return // the next refresh asks again; until then invites carry the Console's own address
	}
	a.mu.Lock()
	if a.api == api {
		a.hubURLs, a.hubURLsKnown = h.URLs, true
	}
	a.mu.Unlock()
}

// TechInvite is the invite TechClients paste to register. Once this Console verifies the tenant's signed
// authority it carries the genesis hash, the anchor a device pins: it comes from the admin's Console, never
// from the hub, so a device opens only envelopes signed by agents the admins enrolled.
func (a *App) TechInvite() wire.Invite {
	inv := a.Invite()
	if c := a.Chain(); c != nil {
		inv.Authority = c.Anchor().Genesis.String()
	}
	return inv
}

// OnChange registers fn to run after every Refresh, on the goroutine that refreshed.
func (a *App) OnChange(fn func()) {
	a.mu.Lock()
	a.listeners = append(a.listeners, fn)
	a.mu.Unlock()
}

// Snapshot returns the hub state of the last Refresh. Callers must not modify it.
func (a *App) Snapshot() *Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.snap
}

func (a *App) client() (*hubclient.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.api == nil {
		return nil, ErrNotConnected
	}
	return a.api, nil
}

// Refresh reads what the screens show from the hub — only what this Console's role may read (role.go) — then
// tells the listeners. A Console whose key waits for an owner's approval gets a snapshot saying so, not an error.
func (a *App) Refresh(ctx context.Context) error {
	api, err := a.client()
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.refreshes++
	seq := a.refreshes
	a.mu.Unlock()
	s := &Snapshot{Accounts: map[int64][]wire.Account{}, At: time.Now()}
	tenant, err := api.Tenant(ctx)
	if isPending(err) {
		s.Me = pendingMe(api)
		a.forget()
		a.publish(s, seq)
		_ = a.Notice.Set("waiting for the owner's approval")
		return nil
	}
	if err != nil {
		return fmt.Errorf("refresh tenant: %w", err)
	}
	s.Tenant = *tenant
	a.learnHubURLs(ctx, api)
	if s.Me, err = a.whoami(ctx, api); err != nil {
		return err
	}
	var errs []error
	load := func(what string, fn func() error) {
		if err := fn(); err != nil {
			errs = append(errs, fmt.Errorf("refresh %s: %w", what, err))
		}
	}
	load("techs", func() (err error) { s.Techs, err = api.Techs(ctx, ""); return })
	load("agents", func() (err error) { s.Agents, err = api.Agents(ctx); return })
	if s.Me.CanReadAll() { // a Co-managed Manager reads its organization's techs and domains only
		load("tech groups", func() (err error) { s.TechGroups, err = api.TechGroups(ctx); return })
		load("agent groups", func() (err error) { s.AgentGroups, err = api.AgentGroups(ctx); return })
		load("rights", func() (err error) { s.Rights, err = api.Rights(ctx); return })
		load("triplets", func() (err error) { s.Triplets, err = api.Triplets(ctx); return })
		for _, ag := range s.Agents {
			load("accounts of "+ag.Name, func() error {
				accs, err := api.Accounts(ctx, 0, ag.ID)
				s.Accounts[ag.ID] = accs
				return err
			})
		}
	}
	loadSecurity(ctx, api, s, load)
	loadRegistrations(ctx, api, s, load)
	loadJIT(ctx, api, s, load)
	load("signed authority", func() error { return a.syncAuthority(ctx, api) })
	if s.Me.CanReadAll() && a.Chain() != nil {
		load("refused envelopes", func() (err error) { s.Refused, err = a.refusedEnvelopes(ctx, api); return })
		load("tech events", func() (err error) { s.Forged, err = a.forgedTechEvents(ctx, api, s); return })
	}
	if err := errors.Join(errs...); err != nil {
		if isForbidden(err) {
			a.forget() // the owner may have changed this Console's role: ask again next time
		}
		return err
	}
	if s.Me.Role == wire.RoleCoManager && s.Me.Organization == "" {
		s.Me.Organization = coManagerOrg(s.Techs)
	}
	s.Authority = a.authorityStatus(api)
	slices.SortFunc(s.Techs, func(x, y wire.Tech) int { return strings.Compare(x.Username, y.Username) })
	slices.SortFunc(s.Agents, func(x, y wire.Agent) int { return strings.Compare(x.Name, y.Name) })
	a.publish(s, seq)
	return nil
}

// publish makes s, read by refresh number seq, the snapshot and tells the listeners — unless a later refresh has
// published already.
func (a *App) publish(s *Snapshot, seq uint64) {
	a.mu.Lock()
	if seq < a.published {
		a.mu.Unlock()
		return
	}
	a.published = seq
	a.snap = s
	ls := slices.Clone(a.listeners)
	fresh, jls := a.newJITRequestsLocked(s), slices.Clone(a.jitListeners)
	failed, fls := a.newFailuresLocked(s), slices.Clone(a.failedListeners)
	a.mu.Unlock()
	for _, fn := range ls {
		fn()
	}
	for _, g := range fresh {
		for _, fn := range jls {
			fn(g)
		}
	}
	for _, acc := range failed {
		for _, fn := range fls {
			fn(acc)
		}
	}
}

// Pending lists the techs waiting for approval, oldest first.
func (a *App) Pending() []wire.Tech {
	var out []wire.Tech
	for _, t := range a.Snapshot().Techs {
		if t.Status == wire.TechPending {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(x, y wire.Tech) int { return x.CreatedAt.Compare(y.CreatedAt) })
	return out
}

// NavTitle is a section's title in the navigation, with the count of pending techs and device replacements on
// "Pending techs" and of pending requests on "JIT requests".
func (a *App) NavTitle(s Section) string {
	switch s.ID {
	case "pending":
		if n := len(a.Pending()) + len(a.PendingRekeys()); n > 0 {
			return fmt.Sprintf("%s (%d)", s.Title, n)
		}
	case "jit":
		if n := len(a.PendingJIT()); n > 0 {
			return fmt.Sprintf("%s (%d)", s.Title, n)
		}
	case "techs":
		if n := len(a.TechsNeedingAttention()); n > 0 {
			return fmt.Sprintf("%s (%d need attention)", s.Title, n)
		}
	case "agents":
		if n := len(a.PendingAgents()); n > 0 {
			return fmt.Sprintf("%s (%d pending)", s.Title, n)
		}
	}
	return s.Title
}

// TechsNeedingAttention lists the techs with plan problems or a failed account.
func (a *App) TechsNeedingAttention() []wire.Tech {
	s := a.Snapshot()
	failed := map[int64]bool{}
	for _, acc := range s.FailedAccounts() {
		failed[acc.TechID] = true
	}
	var out []wire.Tech
	for _, t := range s.Techs {
		if len(t.Problems) > 0 || failed[t.ID] {
			out = append(out, t)
		}
	}
	return out
}

// TechFilter selects techs on the Techs screen; zero values do not filter.
type TechFilter struct {
	Status       wire.TechStatus
	Organization string // "MSP" for the MSP's own techs
	Query        string // matched against username, name and email
}

// Techs lists the techs matching f.
func (a *App) Techs(f TechFilter) []wire.Tech {
	var out []wire.Tech
	for _, t := range a.Snapshot().Techs {
		if f.Matches(t) {
			out = append(out, t)
		}
	}
	return out
}

// Matches says whether t passes the filter.
func (f TechFilter) Matches(t wire.Tech) bool {
	q := strings.ToLower(strings.TrimSpace(f.Query))
	switch {
	case f.Status != "" && t.Status != f.Status:
	case f.Organization == "MSP" && t.Organization != "":
	case f.Organization != "" && f.Organization != "MSP" && !strings.EqualFold(f.Organization, t.Organization):
	case q != "" && !strings.Contains(strings.ToLower(t.Username+" "+t.DisplayName+" "+t.Email), q):
	default:
		return true
	}
	return false
}
