package hub

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/entitle"
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
	// Read after the revision, so that a plan never names an older head than its revision has (authority.go).
	if plan.Authority, err = h.readAuthorityHead(ctx, tenant.ID); err != nil {
		return nil, err
	}
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
		if acc.State == wire.AccountDeleting || acc.State == wire.AccountDeleted { // a deleted tech's (techlife.go)
			if acc.State == wire.AccountDeleting {
				plan.Delete = append(plan.Delete, wire.PlanDisable{AccountID: acc.ID, TechID: acc.TechID, AccountName: acc.Name})
			}
			continue
		}
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
