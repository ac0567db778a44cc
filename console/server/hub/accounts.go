package hub

// Accounts that must not harm their target: failed accounts, their retry and adoption, and the problems of
// entitlements that cannot become an account.
//
// An account is failed (wire.AccountFailed) when its agent stopped working on it — a rotation stayed unresolved
// too often, another try could lock it out, or the target holds an account of that name that Watchword did not
// create — or when the hub itself counts wire.MaxUnresolved unresolved rotations (failed, or staged and never
// confirmed) since the later of its last confirmed version and its last retry. The hub's count survives agent
// restarts: an agent that forgets its own count cannot rotate an account forever. A failed account is planned
// Halted and never due, and only an admin brings it back: retry (a fresh start, rotated at once) or adopt (the
// existing account of the target may be taken over, confirmed by typing its name).

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/wire"
)

// maxHaltReason bounds the reason a halt carries: the agent's report limit, with room for the hub's prefix.
const maxHaltReason = 480

// accountTarget names an account in audit events, with its agent and tech so that the Console's audit filters
// find it under either.
func accountTarget(acc *store.Account) string {
	return fmt.Sprintf("account %d agent=%d tech=%d", acc.ID, acc.AgentID, acc.TechID)
}

func accountWire(a *store.Account) wire.Account {
	return wire.Account{ID: a.ID, TechID: a.TechID, AgentID: a.AgentID, Name: a.Name, State: a.State, LastError: a.LastError,
		CurrentVersion: a.CurrentVersion, RotatedAt: a.RotatedAt, Adopted: a.Adopted}
}

// clip shortens s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && (s[cut]&0xc0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// haltUnresolved moves to failed the accounts of agent with wire.MaxUnresolved or more unresolved rotations, and
// returns the accounts as they are afterwards. Only an account whose newest version is not confirmed can have any,
// so a plan of settled accounts reads nothing more.
func (h *Hub) haltUnresolved(ctx context.Context, tenant *store.Tenant, accounts []store.Account, latest map[int64]store.Version) error {
	var candidates []*store.Account
	for i := range accounts {
		acc := &accounts[i]
		if l, ok := latest[acc.ID]; ok && l.State != wire.VersionConfirmed && acc.State != wire.AccountFailed {
			candidates = append(candidates, acc)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	type halt struct {
		acc    *store.Account
		n      int
		reason string
	}
	var halts []halt
	err := h.st.Read(ctx, func(tx store.Tx) error {
		for _, acc := range candidates {
			n, reason, err := tx.Unresolved(tenant.ID, acc.ID)
			if err != nil {
				return err
			}
			if n >= wire.MaxUnresolved {
				halts = append(halts, halt{acc, n, reason})
			}
		}
		return nil
	})
	if err != nil || len(halts) == 0 {
		return err
	}
	return h.mutate(ctx, tenant, principal{kind: "system"}, func(c *change) error {
		c.bump = false // the agent reads it in the plan it asked for; the Console polls
		for _, ht := range halts {
			acc, err := c.tx.Account(tenant.ID, ht.acc.ID)
			if err != nil {
				return err
			}
			if acc.State == wire.AccountFailed { // an agent's report came first
				*ht.acc = *acc
				continue
			}
			last := cmp.Or(ht.reason, acc.LastError, "staged and never confirmed")
			since := "the last confirmed version"
			if acc.RetryVersion > 0 {
				since = "the last confirmed version or retry"
			}
			acc.State = wire.AccountFailed
			acc.LastError = clip(fmt.Sprintf("%d rotations unresolved since %s: %s", ht.n, since, last), maxHaltReason)
			if err := c.tx.UpdateAccount(acc); err != nil {
				return err
			}
			*ht.acc = *acc
			if err := c.audit("account.failed", accountTarget(acc), fmt.Sprintf("name=%q by=hub unresolved=%d reason=%q", acc.Name, ht.n, acc.LastError)); err != nil {
				return err
			}
		}
		if c.events == 0 {
			return errNoChange
		}
		return nil
	})
}

// haltPlan marks a failed account's plan entry halted: never due, whatever its schedule or requests say.
func haltPlan(pa *wire.PlanAccount, acc *store.Account) {
	pa.Halted, pa.HaltReason = true, cmp.Or(acc.LastError, "failed; waits for an admin")
	pa.Due, pa.DueReason = false, ""
}

func (h *Hub) adminAccountAction(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	action := r.PathValue("action")
	var req wire.AdoptRequest
	switch action {
	case wire.AccountRetry:
	case wire.AccountAdopt:
		if err := r.decode(&req); err != nil {
			return nil, err
		}
	default:
		return nil, wire.Invalid("action", "must be retry or adopt")
	}
	var acc *store.Account
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if acc, err = c.tx.Account(r.tenant.ID, id); err != nil {
			return err
		}
		was, reason := acc.State, acc.LastError
		switch action {
		case wire.AccountRetry:
			if acc.State != wire.AccountFailed && acc.State != wire.AccountError {
				return &wire.Error{Code: wire.CodeConflict, Field: "action",
					Message: fmt.Sprintf("account %q is %s: only a failed account or one in error can be retried", acc.Name, acc.State)}
			}
		case wire.AccountAdopt:
			if req.AccountName != acc.Name {
				return wire.Invalid("accountName", "must repeat the account's name %q exactly, to confirm which account the agent may take over", acc.Name)
			}
			if entitle.Reserved(acc.Name) {
				return wire.Invalid("accountName", "%q is a built-in or privileged account: it cannot be adopted", acc.Name)
			}
			if acc.Adopted {
				return &wire.Error{Code: wire.CodeConflict, Field: "action", Message: fmt.Sprintf("account %q is already adopted", acc.Name)}
			}
			acc.Adopted = true
		}
		// A fresh start: the failure is cleared, the count of unresolved rotations starts from here, and the account
		// rotates at once (an adopted account's password is nobody's yet).
		if acc.State == wire.AccountFailed || acc.State == wire.AccountError {
			acc.State = wire.AccountPresent
		}
		acc.LastError = ""
		acc.RetriedAt, acc.RetryVersion = c.at, acc.CurrentVersion
		acc.RotateRequestedAt, acc.RotateReason = c.at, wire.DueRotateNow
		if err := c.tx.UpdateAccount(acc); err != nil {
			return err
		}
		c.concerns() // the agent acts on it; the tech's list changes when it stages
		agent := fmt.Sprintf("agent %d", acc.AgentID)
		if a, err := c.tx.Agent(r.tenant.ID, acc.AgentID); err == nil {
			agent = fmt.Sprintf("agent %d %q", a.ID, a.Name)
		}
		return c.audit("account."+action, accountTarget(acc), fmt.Sprintf("name=%q on=%s was=%s reason=%q", acc.Name, agent, was, reason))
	})
	if err != nil {
		return nil, err
	}
	return accountWire(acc), nil
}

// ---- plan problems ----

// problemScope limits what problems may name for a Co-managed Manager: its organization's domains and techs.
// nil names everything.
type problemScope struct {
	agents map[int64]bool
	org    string
}

func (ps *problemScope) agentName(a *store.Agent) (string, bool) {
	if ps == nil || ps.agents[a.ID] {
		return a.Name, true
	}
	return "", false
}

func (ps *problemScope) techName(t *store.Tech) string {
	if ps == nil || t.CoManaged && strings.EqualFold(t.Organization, ps.org) {
		return fmt.Sprintf("tech %q's", t.Username)
	}
	return "another tech's"
}

// problemScopeOf is the scope of the request's admin: nil but for a Co-managed Manager.
func problemScopeOf(r *request, tx store.Tx) (*problemScope, error) {
	org, ok := r.coManager()
	if !ok {
		return nil, nil
	}
	domains, err := orgDomains(tx, r.tenant.ID, org)
	return &problemScope{agents: domains, org: org}, err
}

// techProblems lists, for each active tech of ids, the entitlements that cannot become an account under the
// tenant's naming format: a name invalid or reserved on a driver kind the tech reaches, or one another active
// tech's name renders to on a target both reach. It is cheap for the common case: a name valid everywhere and
// unique costs three checks, and only a tech with a problem walks its grants. Domains and techs outside scope
// are counted, not named.
func techProblems(v *view, tenant *store.Tenant, ids []int64, scope *problemScope) map[int64][]string {
	naming := entitle.Naming{Format: tenant.Policy.NamingFormat, Abbrev: tenant.Abbrev}
	var byName map[string][]int64 // built on first need
	out := map[int64][]string{}
	for _, id := range ids {
		t := v.techs[id]
		if t == nil || t.Status != wire.TechActive {
			continue
		}
		name := naming.Name(entitle.Base(t.Username, t.ShortName))
		bad := map[string]error{}
		for _, d := range []string{wire.DriverAD, wire.DriverLinux, wire.DriverLDAP, wire.DriverEntra} {
			if err := entitle.CheckName(d, name); err != nil {
				bad[d] = err
			}
		}
		if byName == nil {
			byName = map[string][]int64{}
			for _, o := range v.techs {
				if o.Status == wire.TechActive {
					n := naming.Name(entitle.Base(o.Username, o.ShortName))
					byName[n] = append(byName[n], o.ID)
				}
			}
		}
		if len(bad) == 0 && len(byName[name]) < 2 {
			continue
		}
		grants := v.idx.ForTech(id)
		perDriver := map[string][]string{}
		hidden := map[string]int{}
		mine := map[int64]bool{}
		for _, g := range grants {
			mine[g.Agent.ID] = true
			if a := v.agents[g.Agent.ID]; a != nil && bad[a.Driver] != nil {
				if name, ok := scope.agentName(a); ok {
					perDriver[a.Driver] = append(perDriver[a.Driver], name)
				} else {
					hidden[a.Driver]++
				}
			}
		}
		var probs []string
		for _, d := range []string{wire.DriverAD, wire.DriverLinux, wire.DriverLDAP, wire.DriverEntra} {
			if len(perDriver[d]) > 0 || hidden[d] > 0 {
				probs = append(probs, fmt.Sprintf("no account on %s: %v", listNames(perDriver[d], hidden[d]), bad[d]))
			}
		}
		for _, o := range byName[name] {
			if o == id {
				continue
			}
			var shared []string
			others := 0
			for _, g := range v.idx.ForTech(o) {
				if mine[g.Agent.ID] {
					if a := v.agents[g.Agent.ID]; a != nil && bad[a.Driver] == nil {
						if name, ok := scope.agentName(a); ok {
							shared = append(shared, name)
						} else {
							others++
						}
					}
				}
			}
			if len(shared) > 0 || others > 0 {
				probs = append(probs, fmt.Sprintf("no account on %s: account name %q would also be %s, and two techs never share an account",
					listNames(shared, others), name, scope.techName(v.techs[o])))
			}
		}
		if len(probs) > 0 {
			out[id] = probs
		}
	}
	return out
}

// listNames renders a few names, sorted, and how many more there are, counting hidden ones that cannot be named.
func listNames(names []string, hidden int) string {
	names = slices.Clone(names)
	slices.Sort(names)
	more := hidden
	if len(names) > 3 {
		more += len(names) - 3
		names = names[:3]
	}
	switch {
	case len(names) == 0:
		return fmt.Sprintf("%d domains or hosts", more)
	case more > 0:
		return fmt.Sprintf("%s and %d more", strings.Join(names, ", "), more)
	}
	return strings.Join(names, ", ")
}

// problemKey is one plan problem of one agent, for auditing each only when it first appears.
type problemKey struct {
	tenant, agent, tech int64
	reason              string
}

// auditProblems records the plan problems of an agent that this hub process has not recorded yet (account.problem,
// as the agent's plan) and forgets those that went away, so that a problem that comes back is recorded again. A
// restarted hub records the standing problems once more.
func (h *Hub) auditProblems(ctx context.Context, tenant *store.Tenant, agent *store.Agent, problems []wire.PlanProblem) {
	h.mu.Lock()
	if h.problems == nil {
		h.problems = map[problemKey]bool{}
	}
	current := map[problemKey]bool{}
	var fresh []wire.PlanProblem
	for _, p := range problems {
		k := problemKey{tenant.ID, agent.ID, p.TechID, p.Reason}
		current[k] = true
		if !h.problems[k] {
			fresh = append(fresh, p)
		}
	}
	for k := range h.problems {
		if k.tenant == tenant.ID && k.agent == agent.ID && !current[k] {
			delete(h.problems, k)
		}
	}
	h.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	err := h.mutate(ctx, tenant, principal{kind: "agent", id: agent.ID}, func(c *change) error {
		c.bump = false
		for _, p := range fresh {
			if err := c.audit("account.problem", fmt.Sprintf("tech=%d agent=%d", p.TechID, agent.ID),
				fmt.Sprintf("username=%q name=%q on=%q reason=%q", p.Username, p.AccountName, agent.Name, p.Reason)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.log.Warn("audit plan problems", "agent", agent.ID, "err", err)
		return
	}
	h.mu.Lock()
	for _, p := range fresh {
		h.problems[problemKey{tenant.ID, agent.ID, p.TechID, p.Reason}] = true
	}
	h.mu.Unlock()
}

// ---- an admin's accounts and rotation requests ----

func (h *Hub) adminAccounts(r *request) (any, error) {
	tech, err := r.queryInt("tech")
	if err != nil {
		return nil, err
	}
	agent, err := r.queryInt("agent")
	if err != nil {
		return nil, err
	}
	if (tech == 0) == (agent == 0) {
		return nil, wire.Invalid("tech", "give exactly one of tech or agent")
	}
	return read(h, r, func(tx store.Tx) (*wire.AccountsResponse, error) {
		var as []store.Account
		var err error
		if tech != 0 {
			as, err = tx.AccountsByTech(r.tenant.ID, tech)
		} else {
			as, err = tx.AccountsByAgent(r.tenant.ID, agent)
		}
		out := &wire.AccountsResponse{Accounts: []wire.Account{}}
		for i := range as {
			out.Accounts = append(out.Accounts, accountWire(&as[i]))
		}
		return out, err
	})
}

func (h *Hub) adminRotate(r *request) (any, error) {
	var req wire.RotateRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	if req.TechID < 0 || req.AgentID < 0 || req.AccountID < 0 {
		return nil, wire.Invalid("techId", "IDs must be positive")
	}
	var n int
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if n, err = c.tx.RequestRotation(r.tenant.ID, req.TechID, req.AgentID, req.AccountID, c.at); err != nil {
			return err
		}
		c.concerns() // the agents act on it; a tech's list changes only when they stage
		return c.audit("rotate.now", fmt.Sprintf("tech=%d agent=%d account=%d", req.TechID, req.AgentID, req.AccountID), fmt.Sprintf("accounts=%d", n))
	})
	if err != nil {
		return nil, err
	}
	return &wire.RotateResponse{Accounts: n}, nil
}
