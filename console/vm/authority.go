package vm

// The tenant's signed authority (package shared/authority) as this Console keeps it: a verified copy of the chain,
// pinned to an anchor that never comes from the hub silently — the genesis this Console signed itself, or the hash
// an admin pasted from the owner's Console. Every refresh checks the hub's head against it and fetches what is new;
// a head that is older (rollback) or another (fork) becomes an alert and is never applied.
//
// Once the authority is on, every action of this view-model that widens or changes who can read a password also
// signs the matching operations with this Console's key, all of one action in one update (sign). The operations
// come from the action's inputs and this Console's own verified state — the key the admin saw, the members the
// chain holds plus the one added — never from what the hub answers afterwards.

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// signRetries bounds how often an action signs again after another admin's update moved the head first.
const signRetries = 5

// genesisChunk is how many operations go into each update of a genesis too large for one (authority.MaxOps).
const genesisChunk = 500

// AuthorityStatus is what the Console shows of the signed authority.
type AuthorityStatus struct {
	// Supported says the hub relays a signed authority (its capability version); Pinned that this Console holds
	// an anchor and verifies the chain from it.
	Supported, Pinned bool
	// Seq and Head are the newest update this Console verified; Genesis the pinned genesis.
	Seq           uint64
	Head, Genesis authority.Hash
	// HubHead is the head the hub announced at the last refresh (nil: it has none).
	HubHead *wire.AuthorityHead
	// Alert says why this Console refused what the hub served (rollback, fork, an update that does not verify);
	// "" when all is well.
	Alert string
	// AuditAlert says that the audit history the admins signed a checkpoint of was rewritten (VerifyAudit). It
	// stays until a verification of the audit log succeeds again: a refresh does not clear it.
	AuditAlert string
}

// On reports whether this Console verifies a started chain.
func (s AuthorityStatus) On() bool { return s.Pinned && !s.Genesis.IsZero() }

// Fingerprint is a hash as two admins read it to each other: its first 16 hex digits in groups of four.
func Fingerprint(h authority.Hash) string {
	x := h.String()[:16]
	return x[0:4] + " " + x[4:8] + " " + x[8:12] + " " + x[12:16]
}

// Describe is the status bar's line on the authority: "" while it is off and the hub has none.
func (s AuthorityStatus) Describe() string {
	switch {
	case s.Alert != "" || s.AuditAlert != "":
		return "Signed authority: ALERT"
	case s.On():
		return fmt.Sprintf("Signed authority %d · %s", s.Seq, Fingerprint(s.Head))
	case s.HubHead != nil:
		return "Signed authority not verified here"
	}
	return ""
}

// authorityPin is the Console's signer and its verified chain, and how it keeps the chain across starts.
type authorityPin struct {
	signer ed25519.PrivateKey
	chain  *authority.Chain // nil: not pinned
	save   func(*authority.Chain) error
	alert  string
	hub    *wire.AuthorityHead
	// auditAlert is VerifyAudit's finding of a rewritten audit history; syncAuthority never touches it.
	auditAlert string
}

// UseAuthority gives the view-model the admin's signing key (the Console identity's Signer, which never leaves
// this process), the chain it verified before (nil: none pinned yet) and save, which keeps a chain and its anchor
// across starts (package session writes the anchor in console.json and the chain beside it).
func (a *App) UseAuthority(signer ed25519.PrivateKey, chain *authority.Chain, save func(*authority.Chain) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if save == nil {
		save = func(*authority.Chain) error { return nil }
	}
	a.auth = authorityPin{signer: signer, chain: chain, save: save}
}

// Chain returns the verified chain, nil before one is pinned.
func (a *App) Chain() *authority.Chain {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.auth.chain
}

func (a *App) authorityStatus(api *hubclient.Client) AuthorityStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := AuthorityStatus{Supported: api.Supports(wire.CapAuthority), Pinned: a.auth.chain != nil, Alert: a.auth.alert,
		AuditAlert: a.auth.auditAlert, HubHead: a.auth.hub}
	if c := a.auth.chain; c != nil {
		st.Genesis = c.Anchor().Genesis
		if c.State() != nil {
			st.Seq, st.Head = c.Head()
		}
	}
	return st
}

// syncAuthority checks the hub's head against the chain and verifies what is new; a rollback, a fork or an update
// that does not verify sets the alert (the snapshot shows it; it is no refresh error) and applies nothing past the
// last good update. Without a pin it only notes the hub's head.
func (a *App) syncAuthority(ctx context.Context, api *hubclient.Client) error {
	if !api.Supports(wire.CapAuthority) {
		return nil
	}
	a.mu.Lock()
	chain, save := a.auth.chain, a.auth.save
	a.mu.Unlock()
	if chain == nil {
		resp, err := api.Authority(ctx, 1<<62) // nothing after: only the head
		if err != nil {
			return fmt.Errorf("signed authority: %w", err)
		}
		a.setAuthority(resp.Head, "")
		return nil
	}
	alert, head, advanced, err := advance(ctx, api, chain)
	if err != nil {
		return err
	}
	a.setAuthority(head, alert)
	if advanced {
		if err := save(chain); err != nil {
			return fmt.Errorf("keep the signed authority: %w", err)
		}
	}
	return nil
}

// errAuthorityAlert is an action refused because the hub contradicts the chain this Console verified.
var errAuthorityAlert = errors.New("signed authority refused")

// advance fetches and verifies the hub's updates after the chain's head, a batch at a time. A verification
// failure comes back as alert (what the admin must see), a failure to reach the hub as err.
func advance(ctx context.Context, api *hubclient.Client, chain *authority.Chain) (alert string, head *wire.AuthorityHead, advanced bool, err error) {
	for range 1000 {
		since := int64(-1)
		if chain.State() != nil {
			seq, _ := chain.Head()
			since = int64(seq)
		}
		resp, err := api.Authority(ctx, since)
		if err != nil {
			return "", nil, advanced, fmt.Errorf("signed authority: %w", err)
		}
		head = resp.Head
		if head == nil {
			if chain.State() != nil {
				seq, _ := chain.Head()
				return fmt.Sprintf("the hub serves no signed authority; this Console verified update %d", seq), nil, advanced, nil
			}
			return "", nil, advanced, nil
		}
		h, err := authority.ParseHash(head.Hash)
		if err != nil {
			return "the hub's head: " + err.Error(), head, advanced, nil
		}
		if err := chain.CheckHead(head.Seq, h); err != nil {
			return err.Error(), head, advanced, nil
		}
		n, err := chain.Advance(resp.Updates...)
		advanced = advanced || n > 0
		if err != nil {
			return err.Error(), head, advanced, nil
		}
		if !resp.More {
			seq, mine := chain.Head()
			if seq != head.Seq || mine != h {
				return fmt.Sprintf("the hub announces update %d (%s) but served up to %d", head.Seq, Fingerprint(h), seq), head, advanced, nil
			}
			return "", head, advanced, nil
		}
	}
	return "the hub's signed authority does not end", head, advanced, nil
}

func (a *App) setAuthority(head *wire.AuthorityHead, alert string) {
	a.mu.Lock()
	a.auth.hub, a.auth.alert = head, alert
	a.mu.Unlock()
}

// PinAuthority pins the tenant's signed authority to the genesis hash an admin read from the owner's Console (64
// hex digits), verifies the hub's chain from it and keeps it. A hub whose genesis is another refuses to verify.
func (a *App) PinAuthority(ctx context.Context, genesis string) error {
	api, err := a.client()
	if err != nil {
		return err
	}
	h, err := authority.ParseHash(strings.TrimSpace(genesis))
	if err != nil {
		return fmt.Errorf("pin the signed authority: %w", err)
	}
	chain := authority.NewChain(authority.Anchor{Tenant: api.ClientGUID(), Genesis: h})
	alert, head, _, err := advance(ctx, api, chain)
	if err != nil {
		return err
	}
	if alert == "" && chain.State() == nil {
		alert = "the hub serves no signed authority"
	}
	if alert != "" {
		return fmt.Errorf("pin the signed authority at %s: %s", Fingerprint(h), alert)
	}
	a.mu.Lock()
	a.auth.chain, a.auth.hub, a.auth.alert = chain, head, ""
	save := a.auth.save
	a.mu.Unlock()
	if save != nil {
		if err := save(chain); err != nil {
			return fmt.Errorf("keep the signed authority: %w", err)
		}
	}
	return a.Refresh(ctx)
}

// Genesis is the first signed state of a tenant, built from what the hub holds now and signed by the owner's key,
// not yet published: TurnOnAuthority publishes exactly these updates.
type Genesis struct {
	Updates [][]byte
	Head    authority.Hash // the last update's hash: the head once published
	Hash    authority.Hash // the genesis hash agents and other Consoles pin
	Covers  Coverage
}

// Coverage counts what a genesis signs.
type Coverage struct {
	Admins, Techs, Agents, TechGroups, AgentGroups, Rights, Triplets int
	Naming, Abbrev                                                   string
	// Left lists what it cannot sign (an admin whose key the hub does not hand out, a tech whose key does not
	// parse), one line each.
	Left []string
}

// Summary says what a genesis covers, for the confirmation.
func (c Coverage) Summary() string {
	s := fmt.Sprintf("%d admin(s), the recovery recipient, naming %q (abbreviation %q), %d approved tech(s), %d enrolled agent(s), "+
		"%d TechGroup(s), %d AgentGroup(s), %d right(s), %d triplet(s).", c.Admins, c.Naming, c.Abbrev, c.Techs, c.Agents,
		c.TechGroups, c.AgentGroups, c.Rights, c.Triplets)
	if len(c.Left) > 0 {
		s += "\nNot covered: " + strings.Join(c.Left, "; ") + "."
	}
	return s
}

// GenesisTrustNote is what the Console says about the first signed state.
const GenesisTrustNote = "The first signed state trusts what the hub holds at this moment: the techs' device keys, the agents' keys, the " +
	"recovery recipient, groups, rights and triplets as the hub hands them to this Console now. Check them before turning it on; " +
	"from then on the hub cannot change any of it without an admin's signature."

// PrepareAuthority builds and signs the genesis from the hub's current state as the owner reads it (a fresh
// refresh): this owner, the tenant's recovery recipient, naming format and abbreviation, every active tech's
// approval with its current device key, every active agent's enrolment, the TechGroups, AgentGroups, rights and
// triplets with their hub IDs. This first state trusts what the hub holds at that moment (GenesisTrustNote);
// nothing is published yet.
func (a *App) PrepareAuthority(ctx context.Context) (*Genesis, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	signer, pinned := a.auth.signer, a.auth.chain != nil
	a.mu.Unlock()
	if signer == nil {
		return nil, errors.New("turn on the signed authority: this Console has no signing key")
	}
	if pinned {
		return nil, errors.New("turn on the signed authority: it is on already")
	}
	if err := a.Refresh(ctx); err != nil {
		return nil, err
	}
	s := a.Snapshot()
	if !s.Me.IsOwner() || s.Me.Role != wire.RoleOwner {
		return nil, errors.New("turn on the signed authority: only the tenant's owner may")
	}
	if s.Authority.HubHead != nil {
		return nil, errors.New("turn on the signed authority: the hub has one already; paste its genesis hash from the owner's Console")
	}
	if !bytesEqual(signer.Public().(ed25519.PublicKey), api.PublicKey().AuthKey()) {
		return nil, errors.New("turn on the signed authority: the signing key is not this Console's")
	}
	admins, err := api.Admins(ctx)
	if err != nil {
		return nil, fmt.Errorf("turn on the signed authority: %w", err)
	}
	ops, cov := genesisOps(s, signer, admins)
	return signGenesis(s.Tenant.ClientGUID, ops, cov, signer, a.clock())
}

func bytesEqual(x, y []byte) bool { return string(x) == string(y) }

// genesisOps are the operations of the first signed state, in an order every later one may rely on: admins, the
// recovery recipient and naming (all in the genesis proper), techs and agents, then groups, rights and triplets.
func genesisOps(s *Snapshot, signer ed25519.PrivateKey, admins []wire.Admin) ([]authority.Op, Coverage) {
	cov := Coverage{Admins: 1, Naming: s.Tenant.Policy.NamingFormat, Abbrev: s.Tenant.Abbrev}
	name := s.Me.Name
	if name == "" {
		name = "Owner"
	}
	ops := []authority.Op{
		authority.SetAdmin(signer.Public().(ed25519.PublicKey), wire.RoleOwner, name, ""),
		authority.SetRecovery(s.Tenant.Recovery),
		authority.SetNaming(s.Tenant.Policy.NamingFormat, s.Tenant.Abbrev),
	}
	// keep adds a key's op (1 to count), or records why the key cannot be signed (0).
	keep := func(op authority.Op, err error) int {
		if err != nil {
			cov.Left = append(cov.Left, err.Error())
			return 0
		}
		ops = append(ops, op)
		return 1
	}
	// The other active admins, with the keys the hub holds for them: like the techs' keys, trusted as the hub
	// holds them at this moment.
	for _, ad := range admins {
		if ad.Status != wire.AdminActive || ad.KeyID == seal.KeyID(signer.Public().(ed25519.PublicKey)) {
			continue
		}
		cov.Admins += keep(adminOp(ad))
	}
	for _, t := range s.Techs {
		if t.Status != wire.TechActive {
			continue
		}
		if keep(approveOp(t, t.Organization, t.PublicKey)) == 1 {
			cov.Techs++
			ops = append(ops, shortNameOps(t)...)
		}
	}
	for _, ag := range s.Agents {
		if ag.Status != wire.AgentActive {
			continue
		}
		cov.Agents += keep(enrollOp(ag))
	}
	for _, g := range s.TechGroups {
		ops = append(ops, authority.SetGroup(authority.TechGroup, g.ID, g.Name, isAllTechs(g), g.Members))
		cov.TechGroups++
	}
	for _, g := range s.AgentGroups {
		ops = append(ops, authority.SetGroup(authority.AgentGroup, g.ID, g.Name, isAllDomains(g), g.Members))
		cov.AgentGroups++
	}
	for _, r := range s.Rights {
		ops = append(ops, authority.SetRight(r.ID, r.Name, r.Targets))
		cov.Rights++
	}
	for _, t := range s.Triplets {
		ops = append(ops, authority.SetTriplet(t.ID, t.TechGroupID, t.AgentGroupID, t.RightID))
		cov.Triplets++
	}
	return ops, cov
}

// approveOp approves tech t's device key as pub (the key string the admin saw), placed in org.
func approveOp(t wire.Tech, org, pub string) (authority.Op, error) {
	key, err := seal.ParsePublicKey(pub)
	if err != nil {
		return authority.Op{}, fmt.Errorf("tech %q: device key: %w", t.Username, err)
	}
	return authority.ApproveTech(t.ID, t.Username, org, key), nil
}

// adminOp trusts admin ad's key (as the hub lists it) to sign in its role.
func adminOp(ad wire.Admin) (authority.Op, error) {
	key, err := seal.ParsePublicKey(ad.PublicKey)
	if err != nil {
		return authority.Op{}, fmt.Errorf("admin %q: key: %w", ad.Name, err)
	}
	if key.ID() != ad.KeyID {
		return authority.Op{}, fmt.Errorf("admin %q: the key is not the one the hub names", ad.Name)
	}
	return authority.SetAdmin(key.AuthKey(), ad.Role, ad.Name, ad.Organization), nil
}

func enrollOp(ag wire.Agent) (authority.Op, error) {
	key, err := seal.ParsePublicKey(ag.PublicKey)
	if err != nil {
		return authority.Op{}, fmt.Errorf("agent %q: key: %w", ag.Name, err)
	}
	return authority.EnrollAgent(ag.ID, ag.Name, ag.Driver, key.AuthKey()), nil
}

// signGenesis signs ops as a genesis and, past authority's limits, the updates that continue it, each verified
// against the state before it.
func signGenesis(tenant string, ops []authority.Op, cov Coverage, signer ed25519.PrivateKey, now func() time.Time) (*Genesis, error) {
	state := &authority.State{}
	g := &Genesis{Covers: cov}
	for len(ops) > 0 {
		n := min(len(ops), genesisChunk)
		u := authority.New(tenant, uint64(len(g.Updates)), state.Head, state.Genesis, now(), ops[:n]...)
		b, next, err := signApply(state, u, signer)
		if err != nil {
			return nil, fmt.Errorf("sign the genesis: %w", err)
		}
		g.Updates, state, ops = append(g.Updates, b), next, ops[n:]
	}
	g.Head, g.Hash = state.Head, state.Genesis
	return g, nil
}

// signApply signs u and checks it applies to state, returning its encoding and the state after it.
func signApply(state *authority.State, u *authority.Update, signer ed25519.PrivateKey) ([]byte, *authority.State, error) {
	if err := u.Sign(signer); err != nil {
		return nil, nil, err
	}
	b, err := u.Encode()
	if err != nil {
		return nil, nil, err
	}
	next, err := state.Apply(u)
	if err != nil {
		return nil, nil, err
	}
	return b, next, nil
}

// TurnOnAuthority publishes a prepared genesis, pins it as this Console's anchor and keeps the chain. From then on
// the Console signs every change it makes, and prints the genesis hash in the agents' enrolment command.
func (a *App) TurnOnAuthority(ctx context.Context, g *Genesis) error {
	api, err := a.client()
	if err != nil {
		return err
	}
	chain := authority.NewChain(authority.Anchor{Tenant: api.ClientGUID(), Genesis: g.Hash})
	for _, b := range g.Updates {
		if _, err := api.PublishAuthority(ctx, b); err != nil {
			err = fmt.Errorf("turn on the signed authority: %w", err)
			_ = a.Notice.Set(err.Error())
			return err
		}
		if _, err := chain.Advance(b); err != nil {
			return fmt.Errorf("turn on the signed authority: %w", err)
		}
	}
	a.mu.Lock()
	a.auth.chain, a.auth.alert = chain, ""
	save := a.auth.save
	a.mu.Unlock()
	if save != nil {
		if err := save(chain); err != nil {
			return fmt.Errorf("keep the signed authority: %w", err)
		}
	}
	if err := a.Refresh(ctx); err != nil {
		return err
	}
	_ = a.Notice.Set("signed authority on: genesis " + Fingerprint(g.Hash))
	return nil
}

// sign publishes, in one update signed by this Console, the operations build computes from the chain's verified
// state for an action the admin took. Nothing happens while the authority is off. When another admin's update
// moved the head first (409), it fetches, verifies and builds the operations again on the new state, a bounded
// number of times. It refuses to sign on a chain the hub contradicts (the alert says why).
func (a *App) sign(ctx context.Context, api *hubclient.Client, build func(*authority.State) ([]authority.Op, error)) error {
	a.mu.Lock()
	chain, signer, save := a.auth.chain, a.auth.signer, a.auth.save
	a.mu.Unlock()
	if chain == nil {
		return nil
	}
	if signer == nil {
		return errors.New("sign the authority: this Console has no signing key")
	}
	for range signRetries {
		alert, head, advanced, err := advance(ctx, api, chain)
		if err != nil {
			return err
		}
		a.setAuthority(head, alert)
		if advanced {
			if err := save(chain); err != nil {
				return fmt.Errorf("keep the signed authority: %w", err)
			}
		}
		if alert != "" {
			return fmt.Errorf("%w, nothing signed: %s", errAuthorityAlert, alert)
		}
		state := chain.State()
		if state == nil {
			return errors.New("sign the authority: no verified state")
		}
		ops, err := build(state)
		if err != nil {
			return fmt.Errorf("sign the authority: %w", err)
		}
		if len(ops) == 0 {
			return nil
		}
		u := authority.New(state.Tenant, state.Seq+1, state.Head, state.Genesis, a.clock()(), ops...)
		b, _, err := signApply(state, u, signer)
		if err != nil {
			return fmt.Errorf("sign the authority: %w", err)
		}
		if _, err := api.PublishAuthority(ctx, b); errors.Is(err, hubclient.ErrConflict) {
			continue
		} else if err != nil {
			return fmt.Errorf("publish the signed authority: %w", err)
		}
		if _, err := chain.Advance(b); err != nil {
			return fmt.Errorf("sign the authority: %w", err)
		}
		return save(chain)
	}
	return fmt.Errorf("sign the authority: the head moved %d times while signing; try again", signRetries)
}

// signed is do for an action that changes authority: change runs at the hub, then the operations build computes
// are signed and published in one update.
func (a *App) signed(ctx context.Context, what string, change func(*hubclient.Client) error, build func(*authority.State) ([]authority.Op, error)) error {
	err := a.do(ctx, what, func(api *hubclient.Client) error {
		if err := change(api); err != nil {
			return err
		}
		return a.sign(ctx, api, build)
	})
	if st := a.Snapshot().Authority; err == nil && !st.Pinned && st.HubHead != nil {
		// The agents pinned to the authority will not act on an unsigned change: say so where the admin looks.
		_ = a.Notice.Set(what + ": done at the hub, not signed: this Console does not verify the signed authority yet (Signed authority: paste the genesis hash)")
	}
	return err
}

// Ops builders over the verified state: each says what an action changes, as operations.

// withMember is the signed group g of kind with tech or agent id added (or removed).
func withMember(state *authority.State, kind string, groupID, id int64, add bool) (authority.Op, bool) {
	groups := state.TechGroups
	if kind == authority.AgentGroup {
		groups = state.AgentGroups
	}
	g, ok := groups[groupID]
	if !ok || g.All || g.Members[id] == add {
		return authority.Op{}, false
	}
	var members []int64
	for m := range g.Members {
		if m != id {
			members = append(members, m)
		}
	}
	if add {
		members = append(members, id)
	}
	return authority.SetGroup(kind, groupID, g.Name, g.All, members), true
}

// groupByName finds a signed TechGroup by name.
func groupByName(state *authority.State, name string) (int64, bool) {
	for id, g := range state.TechGroups {
		if strings.EqualFold(g.Name, name) {
			return id, true
		}
	}
	return 0, false
}

// tripletsUsing lists the removal of the signed triplets that use a group or a right, which the hub deletes with it.
func tripletsUsing(state *authority.State, use func(authority.Triplet) bool) []authority.Op {
	var ids []int64
	for id, t := range state.Triplets {
		if use(t) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ops := make([]authority.Op, len(ids))
	for i, id := range ids {
		ops[i] = authority.RemoveTriplet(id)
	}
	return ops
}

// AgentReceipt is one agent's receipt of the authority as the Console shows it.
type AgentReceipt struct {
	Text  string // "at head", "behind: update 3", "no receipt", the refusal
	Alert bool   // the agent refuses the hub's plan, or reports a head this Console did not verify
}

// Receipt says where agent ag stands against the authority this Console verified.
func (s *Snapshot) Receipt(ag wire.Agent) AgentReceipt {
	st := s.Authority
	if !st.On() && ag.AuthorityHead == nil && ag.AuthorityRefusal == "" {
		return AgentReceipt{Text: "—"}
	}
	if ag.AuthorityRefusal != "" {
		return AgentReceipt{Text: "refuses: " + ag.AuthorityRefusal, Alert: true}
	}
	h := ag.AuthorityHead
	switch {
	case h == nil:
		return AgentReceipt{Text: "no receipt (not pinned?)"}
	case !st.On():
		return AgentReceipt{Text: fmt.Sprintf("update %d (not verified here)", h.Seq)}
	case h.Seq == st.Seq && h.Hash == st.Head.String():
		return AgentReceipt{Text: "at head"}
	case h.Seq < st.Seq:
		return AgentReceipt{Text: fmt.Sprintf("behind: update %d of %d", h.Seq, st.Seq)}
	}
	return AgentReceipt{Text: fmt.Sprintf("reports update %d (%s), not what this Console verified", h.Seq, shortHash(h.Hash)), Alert: true}
}

// versionOf is "version N" from an event's detail ("version=N name=…").
func versionOf(detail string) string {
	for _, f := range strings.Fields(detail) {
		if v, ok := strings.CutPrefix(f, "version="); ok {
			return "version " + v
		}
	}
	return "a version"
}

func shortHash(h string) string {
	if p, err := authority.ParseHash(h); err == nil {
		return Fingerprint(p)
	}
	return "malformed"
}

// showAuthority publishes the snapshot on screen again with the authority's status as it is now (an audit alert
// set or cleared, a checkpoint signed), without reading everything else again.
func (a *App) showAuthority(api *hubclient.Client) {
	st := a.authorityStatus(api)
	a.mu.Lock()
	if a.snap == nil {
		a.mu.Unlock()
		return
	}
	s := *a.snap
	seq := a.published
	a.mu.Unlock()
	s.Authority = st
	a.publish(&s, seq)
}

// refusedAction is the audit action of a TechClient's report that it refused to open a version.
const refusedAction = "credential." + wire.EventUnsigned

// refusedWindow is how far back the Console looks for refused versions: long enough to be seen after a weekend.
const refusedWindow = 7 * 24 * time.Hour

// refusedEnvelopes reads the TechClients' reports of versions they refused to open, of the last refusedWindow.
func (a *App) refusedEnvelopes(ctx context.Context, api *hubclient.Client) ([]wire.AuditEvent, error) {
	evs, err := api.Audit(ctx, wire.AuditQuery{Action: refusedAction, Since: a.clock()().Add(-refusedWindow), Limit: 100})
	if err != nil {
		return nil, err
	}
	slices.Reverse(evs)
	return evs, nil
}

// AuthorityAlerts lists what the admin must look at: this Console's own alert, a rewritten audit history, every
// agent that refuses the hub's plan or reports a head this Console did not verify, then every version a
// TechClient refused to open, then every tech event whose device signature is FORGED.
func (s *Snapshot) AuthorityAlerts() []string {
	var out []string
	if s.Authority.Alert != "" {
		out = append(out, "This Console refuses the hub's signed authority: "+s.Authority.Alert)
	}
	if s.Authority.AuditAlert != "" {
		out = append(out, s.Authority.AuditAlert)
	}
	for _, ag := range s.Agents {
		if r := s.Receipt(ag); r.Alert {
			out = append(out, ag.Name+" "+r.Text)
		}
	}
	for _, e := range s.Refused {
		out = append(out, fmt.Sprintf("%s's TechClient refused %s, %s (%s): not signed by an enrolled agent, so someone else made it",
			s.Actor(e), e.Target, versionOf(e.Detail), e.At.Local().Format("2006-01-02 15:04")))
	}
	return append(out, s.Forged...)
}

// UnsignedAgents lists the active agents the verified state has not enrolled (approved on use, or before the
// authority was on): a pinned agent refuses every plan until an admin signs its enrolment (SignAgent).
func (s *Snapshot) UnsignedAgents(state *authority.State) []wire.Agent {
	if state == nil {
		return nil
	}
	var out []wire.Agent
	for _, ag := range s.Agents {
		if _, ok := state.Agents[ag.ID]; ag.Status == wire.AgentActive && !ok {
			out = append(out, ag)
		}
	}
	return out
}

// SignAgent signs the enrolment of an active agent whose key fingerprint the admin compared (an agent approved on
// use is active without an admin's look).
func (a *App) SignAgent(ctx context.Context, id int64) error {
	ag := a.Snapshot().Agent(id)
	if ag == nil {
		return fmt.Errorf("sign agent %d: not found", id)
	}
	seen := *ag
	return a.signed(ctx, "sign the enrolment of "+seen.Name, func(*hubclient.Client) error { return nil },
		func(*authority.State) ([]authority.Op, error) {
			op, err := enrollOp(seen)
			return []authority.Op{op}, err
		})
}

// AuthorityLine is the status bar's line on the signed authority: the head and its fingerprint, or how many
// alerts wait (this Console's own and the agents' refusals); "" while it is off and the hub has none.
func (s *Snapshot) AuthorityLine() (line string, alert bool) {
	if n := len(s.AuthorityAlerts()); n > 0 {
		return fmt.Sprintf("Signed authority: %d alert(s)", n), true
	}
	return s.Authority.Describe(), false
}
