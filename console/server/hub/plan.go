package hub

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/watchword/watchword/console/server/hub/entitle"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// schedule says when an account rotates next. Jitter spreads rotations of one interval over its last tenth,
// deterministically per account, so thousands of accounts created together do not rotate in the same second.
func schedule(tenant *store.Tenant, acc *store.Account, interval time.Duration) time.Time {
	if acc.RotatedAt.IsZero() {
		return time.Time{}
	}
	window := interval / 10
	var jitter time.Duration
	if window > 0 {
		f := fnv.New64a()
		fmt.Fprintf(f, "%s/%d", tenant.GUID, acc.ID)
		jitter = time.Duration(f.Sum64() % uint64(window))
	}
	return acc.RotatedAt.Add(interval - jitter)
}

// due decides whether an account needs a fresh password now, and why.
func due(tenant *store.Tenant, acc *store.Account, latest *store.Version, interval time.Duration, now time.Time) (bool, string, time.Time) {
	next := schedule(tenant, acc, interval)
	requested := acc.RotateRequestedAt.After(acc.RotatedAt)
	if requested && !acc.RotatedAt.IsZero() && acc.RotateRequestedAt.Before(next) {
		next = acc.RotateRequestedAt
	}
	switch {
	case latest != nil && latest.State == wire.VersionStaged:
		// Staged but never confirmed: the target may hold it or not. Never retry the same password; rotate afresh.
		return true, wire.DueUnconfirmed, next
	case acc.RotatedAt.IsZero():
		return true, wire.DueNew, next
	case requested && !now.Before(acc.RotateRequestedAt):
		if acc.RotateReason == wire.DueAfterReveal {
			return true, wire.DueAfterReveal, next
		}
		return true, wire.DueRotateNow, next
	case !now.Before(next):
		return true, wire.DueSchedule, next
	}
	return false, "", next
}

func (v *view) intervalFor(tenant *store.Tenant, agent int64) time.Duration {
	if s, ok := v.interval[agent]; ok {
		return time.Duration(s) * time.Second
	}
	return tenant.Policy.Interval()
}

// rightNames renders right IDs as names and the target groups for a driver kind, both sorted and unique.
func (v *view) rightNames(ids []int64, driver string) (names, groups []string) {
	for _, id := range ids {
		r, ok := v.rights[id]
		if !ok {
			continue
		}
		names = append(names, r.Name)
		groups = append(groups, r.Targets[driver]...)
	}
	slices.Sort(names)
	slices.Sort(groups)
	return slices.Compact(names), slices.Compact(groups)
}

// plan computes an agent's plan, creating account rows for new entitlements (audited as the agent's doing).
func (h *Hub) plan(ctx context.Context, tenant *store.Tenant, agent *store.Agent) (*wire.Plan, error) {
	v, err := h.view(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var accounts []store.Account
	var latest map[int64]store.Version
	read := func() error {
		return h.st.Read(ctx, func(tx store.Tx) error {
			var err error
			if accounts, err = tx.AccountsByAgent(tenant.ID, agent.ID); err != nil {
				return err
			}
			latest, err = tx.LatestVersions(tenant.ID, agent.ID)
			return err
		})
	}
	if err := read(); err != nil {
		return nil, err
	}
	// The hub's own bound on unresolved rotations (accounts.go), before anything is planned due.
	if err := h.haltUnresolved(ctx, tenant, accounts, latest); err != nil {
		return nil, err
	}
	byTech := make(map[int64]*store.Account, len(accounts))
	taken := make(map[string]int64, len(accounts))
	for i := range accounts {
		byTech[accounts[i].TechID] = &accounts[i]
		taken[accounts[i].Name] = accounts[i].TechID
	}
	naming := entitle.Naming{Format: tenant.Policy.NamingFormat, Abbrev: tenant.Abbrev}
	planned, problems := v.idx.Plan(agent.ID, naming, taken)
	// An account created under a reserved name before such names were refused is never planned (nor disabled,
	// below): it would be a built-in principal of the target.
	planned = slices.DeleteFunc(planned, func(p entitle.Planned) bool {
		acc := byTech[p.Tech.ID]
		if acc == nil || !entitle.Reserved(acc.Name) {
			return false
		}
		problems = append(problems, entitle.Problem{Grant: p.Grant, AccountName: acc.Name,
			Err: fmt.Errorf("%w: %q is a built-in or privileged account on the target", entitle.ErrReserved, acc.Name)})
		return true
	})

	var missing []entitle.Planned
	for _, p := range planned {
		if byTech[p.Tech.ID] == nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		err := h.mutate(ctx, tenant, principal{kind: "agent", id: agent.ID}, func(c *change) error {
			c.bump = false
			for _, p := range missing {
				a, err := c.tx.EnsureAccount(tenant.ID, p.Tech.ID, agent.ID, p.AccountName, c.at)
				if err != nil {
					return err
				}
				c.touched(a)
				if err := c.audit("account.create", fmt.Sprintf("account %d", a.ID),
					fmt.Sprintf("tech=%d agent=%d name=%q", p.Tech.ID, agent.ID, a.Name)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if err := read(); err != nil {
			return nil, err
		}
		clear(byTech)
		for i := range accounts {
			byTech[accounts[i].TechID] = &accounts[i]
		}
	}

	// JIT windows of this agent's accounts (jit.go): expired ones are closed first, so the plan never shows one.
	var grants map[int64]*store.JITGrant
	if v.jit != nil {
		h.expireJIT(ctx, tenant)
		if grants, err = h.openGrants(ctx, tenant, agent.ID); err != nil {
			return nil, err
		}
	}
	rev, _ := h.notify.Current(tenant)
	now := h.now()
	interval := v.intervalFor(tenant, agent.ID)
	plan := &wire.Plan{ClientGUID: tenant.GUID, AgentID: agent.ID, Driver: agent.Driver, Revision: rev,
		Recovery: tenant.Recovery, Policy: tenant.Policy, Accounts: make([]wire.PlanAccount, 0, len(planned)),
		Disable: []wire.PlanDisable{}, Problems: []wire.PlanProblem{}}
	plan.Policy.IntervalSeconds = int64(interval / time.Second)
	entitled := make(map[int64]bool, len(planned))
	for _, p := range planned {
		acc := byTech[p.Tech.ID]
		if acc == nil {
			continue
		}
		entitled[p.Tech.ID] = true
		var lv *store.Version
		if l, ok := latest[acc.ID]; ok {
			lv = &l
		}
		isDue, reason, next := due(tenant, acc, lv, interval, now)
		names, groups := v.rightNames(p.Rights, agent.Driver)
		tech := v.techs[p.Tech.ID]
		pa := wire.PlanAccount{AccountID: acc.ID, TechID: p.Tech.ID, Username: p.Tech.Username, AccountName: acc.Name,
			Rights: names, Groups: groups, Recipients: v.recipients[p.Tech.ID], Due: isDue, DueReason: reason,
			CurrentVersion: acc.CurrentVersion, NextRotationAt: next}
		if tech != nil {
			pa.DisplayName = tech.DisplayName
		}
		if rule := v.jitOf(p.Tech.ID, agent.ID); !rule.jit && lv != nil && lv.RecoveryOnly && lv.State != wire.VersionStaged {
			// No longer JIT, but the tech cannot open the password on the target (jit.go).
			pa.Due, pa.DueReason, isDue = true, wire.DueJITStanding, true
		} else if rule.jit {
			jitPlan(&pa, grants[acc.ID], lv, now)
			if pa.JIT.Enabled && (plan.NextDueAt.IsZero() || pa.JIT.ExpiresAt.Before(plan.NextDueAt)) {
				plan.NextDueAt = pa.JIT.ExpiresAt // the long poll returns at expiry
			}
			isDue = pa.Due
		}
		if pa.Groups == nil {
			pa.Groups = []string{}
		}
		pa.Adopt, pa.RetriedAt = acc.Adopted, acc.RetriedAt
		if acc.State == wire.AccountFailed {
			// Halted: never due, and its schedule does not wake the long poll (accounts.go).
			haltPlan(&pa, acc)
			plan.Accounts = append(plan.Accounts, pa)
			continue
		}
		plan.Accounts = append(plan.Accounts, pa)
		if !isDue && !next.IsZero() && (plan.NextDueAt.IsZero() || next.Before(plan.NextDueAt)) {
			plan.NextDueAt = next
		}
	}
	for _, acc := range accounts {
		if !entitled[acc.TechID] && acc.State != wire.AccountDisabled && !entitle.Reserved(acc.Name) {
			plan.Disable = append(plan.Disable, wire.PlanDisable{AccountID: acc.ID, TechID: acc.TechID, AccountName: acc.Name})
		}
	}
	for _, p := range problems {
		plan.Problems = append(plan.Problems, wire.PlanProblem{TechID: p.Tech.ID, Username: p.Tech.Username,
			AccountName: p.AccountName, Reason: p.Err.Error()})
	}
	h.auditProblems(ctx, tenant, agent, plan.Problems) // accounts.go
	return plan, nil
}

// credentials lists what a tech's entitlements grant right now, with the envelopes the tech can open: only what
// changed after since when the device's list (revision since, grants fingerprint grants) allows a delta.
//
// A full list comes back without its versions when paged is true: the caller writes it with a credentialPages,
// which reads them a page at a time.
func (h *Hub) credentials(ctx context.Context, tenant *store.Tenant, tech *store.Tech, since int64, grants string, paged bool) (*wire.CredentialsResponse, *credentialPages, error) {
	// The revision before the view: a view is never older than the revision read before it (notify replaces both
	// at once), so a change published in between wakes the device again rather than being taken as held.
	rev, _ := h.notify.Current(tenant)
	v, err := h.view(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	out := &wire.CredentialsResponse{ClientGUID: tenant.GUID, Revision: rev, Credentials: []wire.Credential{}}
	all := v.idx.ForTech(tech.ID)
	out.Grants = v.fingerprint(tenant, tech.ID, all)
	if since > 0 && grants == out.Grants {
		if changed, ok := h.notify.ChangedSince(tenant, tech.ID, since); ok {
			out.Delta = true
			if err := h.delta(ctx, tenant, v, tech, all, changed, out); err != nil {
				return nil, nil, err
			}
			return out, nil, h.jitDecorate(ctx, tenant, v, tech.ID, out)
		}
	}
	if len(all) == 0 {
		return out, nil, nil
	}
	pages := &credentialPages{h: h, ctx: ctx, tenant: tenant, v: v, tech: tech.ID}
	err = h.st.Read(ctx, func(tx store.Tx) error {
		accounts, err := tx.AccountsByTech(tenant.ID, tech.ID)
		if err != nil {
			return err
		}
		byAgent := map[int64]*store.Account{}
		for i := range accounts {
			byAgent[accounts[i].AgentID] = &accounts[i]
		}
		for _, g := range all {
			acc := byAgent[g.Agent.ID]
			if acc == nil {
				continue // the agent has not planned it yet
			}
			out.Credentials = append(out.Credentials, v.credential(tenant, g, acc, nil))
			pages.items = append(pages.items, pageItem{g, acc})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := h.jitDecorate(ctx, tenant, v, tech.ID, out); err != nil {
		return nil, nil, err
	}
	if !paged {
		if err := pages.fill(out.Credentials, 0, len(out.Credentials)); err != nil {
			return nil, nil, err
		}
		return out, nil, nil
	}
	return out, pages, nil
}

// delta fills out with the entries of the accounts in changed: their current entry, or their ID in Removed when
// the tech no longer holds them.
func (h *Hub) delta(ctx context.Context, tenant *store.Tenant, v *view, tech *store.Tech, all []entitle.Grant, changed []int64, out *wire.CredentialsResponse) error {
	if len(changed) == 0 {
		return nil
	}
	slices.Sort(changed)
	changed = slices.Compact(changed)
	byAgent := make(map[int64]entitle.Grant, len(all))
	for _, g := range all {
		byAgent[g.Agent.ID] = g
	}
	return h.st.Read(ctx, func(tx store.Tx) error {
		for _, id := range changed {
			acc, err := tx.Account(tenant.ID, id)
			if errors.Is(err, store.ErrNotFound) {
				out.Removed = append(out.Removed, id)
				continue
			}
			if err != nil {
				return err
			}
			g, ok := byAgent[acc.AgentID]
			if !ok || acc.TechID != tech.ID {
				out.Removed = append(out.Removed, id)
				continue
			}
			versions, err := tx.Versions(tenant.ID, acc.ID)
			if err != nil {
				return err
			}
			// Newest first, as LiveVersionsByTech returns them.
			slices.SortFunc(versions, func(a, b store.Version) int { return cmp.Compare(b.Version, a.Version) })
			out.Credentials = append(out.Credentials, v.credential(tenant, g, acc, versions))
		}
		return nil
	})
}

// credential renders one account of a grant with its live versions (newest first).
func (v *view) credential(tenant *store.Tenant, g entitle.Grant, acc *store.Account, versions []store.Version) wire.Credential {
	agent := v.agents[g.Agent.ID]
	names, _ := v.rightNames(g.Rights, agent.Driver)
	c := wire.Credential{AccountID: acc.ID, AgentID: agent.ID, AgentName: agent.Name, Driver: agent.Driver,
		AccountName: acc.Name, Rights: names, Versions: []wire.CredentialVersion{},
		NextRotationAt: schedule(tenant, acc, v.intervalFor(tenant, agent.ID)), RotatesAfterUseAt: rotatesAfterUseAt(acc)}
	// Every staged version above the confirmed one (the target may hold any of them), then the confirmed one.
	// Failed and superseded versions are not handed out.
	for _, ver := range versions {
		if ver.RecoveryOnly { // a JIT account outside its window: only the recovery recipient opens it
			if ver.State == wire.VersionConfirmed {
				break
			}
			continue
		}
		if ver.State == wire.VersionStaged || ver.State == wire.VersionConfirmed {
			c.Versions = append(c.Versions, wire.CredentialVersion{Version: ver.Version, State: ver.State,
				Envelope: ver.Envelope, StagedAt: ver.StagedAt, ConfirmedAt: ver.ConfirmedAt})
		}
		if ver.State == wire.VersionConfirmed {
			break
		}
	}
	return c
}

// fingerprint hashes the shape of a tech's grants — hosts, names, drivers, rights, intervals — which decides every
// field of its credential list but the accounts' own (name, versions, rotation time), which the account log
// covers. Two lists with the same fingerprint differ only in accounts the log names.
func (v *view) fingerprint(tenant *store.Tenant, tech int64, grants []entitle.Grant) string {
	key := fpKey{tech: tech, interval: tenant.Policy.Interval(), guid: tenant.GUID}
	v.fpMu.Lock()
	fp, ok := v.fps[key]
	v.fpMu.Unlock()
	if ok {
		return fp
	}
	hs := sha256.New()
	keyID := ""
	if t := v.techs[tech]; t != nil {
		keyID = t.KeyID // a re-keyed device needs its whole list again
	}
	fmt.Fprintf(hs, "%s\n%d\n%s\n", tenant.GUID, key.interval, keyID)
	for _, g := range grants {
		agent := v.agents[g.Agent.ID]
		if agent == nil {
			continue
		}
		names, _ := v.rightNames(g.Rights, agent.Driver)
		fmt.Fprintf(hs, "%d\x00%q\x00%s\x00%q\x00%d\n", agent.ID, agent.Name, agent.Driver, names, v.intervalFor(tenant, agent.ID))
		if rule := v.jitOf(tech, agent.ID); rule.jit { // the JIT fields of the entry
			fmt.Fprintf(hs, "jit\x00%d\x00%t\n", rule.max, rule.approval)
		}
	}
	fp = base64.RawURLEncoding.EncodeToString(hs.Sum(nil)[:12])
	v.fpMu.Lock()
	if v.fps == nil {
		v.fps = map[fpKey]string{}
	}
	v.fps[key] = fp
	v.fpMu.Unlock()
	return fp
}

type fpKey struct {
	tech     int64
	interval time.Duration
	guid     string
}
