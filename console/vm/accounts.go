package vm

// Accounts that need an admin: a failed account (its agent stopped working on it, or the hub's bound on unresolved
// rotations halted it) waits for Retry, and one that collides with an existing account of the target Watchword did
// not create waits for Adopt, which the admin confirms by typing the account's name. A tech's plan problems (an
// entitlement that cannot become an account) show on the tech. A refresh that finds an account newly failed tells
// the failure listeners, for a desktop notification.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// TechAccount is one of a tech's accounts with the name of its domain or host.
type TechAccount struct {
	wire.Account
	AgentName string
}

// AccountsOfTech lists a tech's accounts on every agent, by domain or host name.
func (s *Snapshot) AccountsOfTech(tech int64) []TechAccount {
	var out []TechAccount
	for agent, accs := range s.Accounts {
		for _, acc := range accs {
			if acc.TechID == tech {
				out = append(out, TechAccount{Account: acc, AgentName: s.agentName(agent)})
			}
		}
	}
	slices.SortFunc(out, func(x, y TechAccount) int { return cmp.Compare(x.AgentName, y.AgentName) })
	return out
}

// Account returns the account with id, or nil.
func (s *Snapshot) Account(id int64) *TechAccount {
	for agent, accs := range s.Accounts {
		for _, acc := range accs {
			if acc.ID == id {
				return &TechAccount{Account: acc, AgentName: s.agentName(agent)}
			}
		}
	}
	return nil
}

// FailedAccounts lists the failed accounts, by domain or host and name.
func (s *Snapshot) FailedAccounts() []TechAccount {
	var out []TechAccount
	for agent, accs := range s.Accounts {
		for _, acc := range accs {
			if acc.State == wire.AccountFailed {
				out = append(out, TechAccount{Account: acc, AgentName: s.agentName(agent)})
			}
		}
	}
	slices.SortFunc(out, func(x, y TechAccount) int {
		return cmp.Or(cmp.Compare(x.AgentName, y.AgentName), cmp.Compare(x.Name, y.Name))
	})
	return out
}

// AccountStateText is an account's state in words, with its last error.
func AccountStateText(acc wire.Account) string {
	var s string
	switch acc.State {
	case wire.AccountFailed:
		s = "FAILED, waits for an admin"
	case wire.AccountError:
		s = "error"
	case "planned":
		s = "planned, not created yet"
	default:
		s = acc.State
	}
	if acc.Adopted {
		s += " (adopted)"
	}
	if acc.LastError != "" {
		s += ": " + acc.LastError
	}
	return s
}

// CanRetry says whether Retry applies: a failed account or one in error.
func CanRetry(acc wire.Account) bool {
	return acc.State == wire.AccountFailed || acc.State == wire.AccountError
}

// CanAdopt says whether Adopt applies: a failed account not adopted yet, whose name is not a built-in one.
func CanAdopt(acc wire.Account) bool {
	return acc.State == wire.AccountFailed && !acc.Adopted && !entitle.Reserved(acc.Name)
}

// RetryAccount clears an account's failure: the agent tries again at once, and the count of unresolved rotations
// starts afresh.
func (a *App) RetryAccount(ctx context.Context, id int64) error {
	api, err := a.client()
	if err != nil {
		return err
	}
	return a.do(ctx, "retry "+a.describeAccount(id), func(*hubclient.Client) error {
		_, err := api.RetryAccount(ctx, id)
		return err
	})
}

// AdoptWarning is what the adoption dialog says before the admin types the account's name.
func AdoptWarning(acc TechAccount) string {
	return fmt.Sprintf("Adopt the existing account %s on %s?\n\n"+
		"Watchword did not create it. Adopting lets the agent take it over: set its groups to exactly what the tech's rights name "+
		"(removing any others), give it a new password only the tech's device opens, and manage it from now on. "+
		"Adopt only an account you know belongs to this tech; never a shared, service or administrator account.\n\n"+
		"Type the account name to confirm:", acc.Name, acc.AgentName)
}

// AdoptAccount lets the agent take over the existing account of the target that account id collides with;
// typed must repeat the account's name exactly.
func (a *App) AdoptAccount(ctx context.Context, id int64, typed string) error {
	api, err := a.client()
	if err != nil {
		return err
	}
	what := "adopt " + a.describeAccount(id)
	if acc := a.Snapshot().Account(id); acc != nil && typed != acc.Name {
		err := fmt.Errorf("%s: type the account name %q exactly to adopt it", what, acc.Name)
		_ = a.Notice.Set(err.Error())
		return err
	}
	return a.do(ctx, what, func(*hubclient.Client) error {
		_, err := api.AdoptAccount(ctx, id, typed)
		return err
	})
}

func (a *App) describeAccount(id int64) string {
	if acc := a.Snapshot().Account(id); acc != nil {
		return fmt.Sprintf("%s on %s", acc.Name, acc.AgentName)
	}
	return fmt.Sprintf("account %d", id)
}

// DescribeFailure is a failed account in words, for notifications: "bokafor-tm on backup01 (bokafor): reason".
func (s *Snapshot) DescribeFailure(acc TechAccount) string {
	who := fmt.Sprintf("tech %d", acc.TechID)
	if t := s.Tech(acc.TechID); t != nil {
		who = t.Username
	}
	return fmt.Sprintf("%s on %s (%s): %s", acc.Name, acc.AgentName, who, cmp.Or(acc.LastError, "no reason given"))
}

// OnAccountFailed registers fn to run for every account a refresh finds failed that the previous refresh did not
// (not for those already failed when the Console connected: the Techs screen and its navigation count show them).
func (a *App) OnAccountFailed(fn func(TechAccount)) {
	a.mu.Lock()
	a.failedListeners = append(a.failedListeners, fn)
	a.mu.Unlock()
}

// failure is one failure of an account: the account and its reason. The same account failing for another reason
// is another failure, even when no refresh saw it recover in between.
type failure struct {
	account int64
	reason  string
}

// newFailuresLocked returns the failures of s that the previous snapshot that read accounts did not show, and
// remembers s's; a.mu is held. A snapshot without accounts (a role that may not read them) changes nothing. An
// account that recovers and fails again for the same reason between two refreshes is not seen to fail again.
func (a *App) newFailuresLocked(s *Snapshot) []TechAccount {
	if len(s.Accounts) == 0 {
		return nil
	}
	first := a.failedSeen == nil
	seen := map[failure]bool{}
	var out []TechAccount
	for _, acc := range s.FailedAccounts() {
		f := failure{acc.ID, acc.LastError}
		seen[f] = true
		if !first && !a.failedSeen[f] {
			out = append(out, acc)
		}
	}
	a.failedSeen = seen
	return out
}

// TechProblemsText is a tech's plan problems and failed accounts, one per line, or "" when there are none.
func (a *App) TechProblemsText(id int64) string {
	s := a.Snapshot()
	var lines []string
	if t := s.Tech(id); t != nil {
		for _, p := range t.Problems {
			lines = append(lines, "⚠ "+p)
		}
	}
	for _, acc := range s.AccountsOfTech(id) {
		if acc.State == wire.AccountFailed {
			lines = append(lines, fmt.Sprintf("✗ %s on %s failed: %s", acc.Name, acc.AgentName, cmp.Or(acc.LastError, "no reason given")))
		}
	}
	return strings.Join(lines, "\n")
}

// NoFixedPartWarning says, for a naming format the policy form is about to save, why it needs a confirmation: it
// has no fixed part (no literal character and no {abbrev}) and differs from the current one. "" needs none.
func (a *App) NoFixedPartWarning(format string) string {
	if format == a.Snapshot().Tenant.Policy.NamingFormat || entitle.HasFixedPart(format) {
		return ""
	}
	return fmt.Sprintf("The naming format %q has no fixed part: no prefix, suffix or {abbrev}.\n\n"+
		"Each tech's account name would be their bare username, so a tech whose username matches an existing account of a "+
		"domain or host (a colleague's own account, a service account) would collide with it. The agents refuse to take over "+
		"an account Watchword did not create, and report the collision, but such techs get no account until an admin adopts it.\n\n"+
		"Use a format like {username}-{abbrev} unless your targets need bare usernames.", format)
}

// SavePolicyConfirmed replaces the tenant's policy, confirming a naming format without a fixed part.
func (a *App) SavePolicyConfirmed(ctx context.Context, p wire.Policy) error {
	api, err := a.client()
	if err != nil {
		return err
	}
	return a.do(ctx, "save policy", func(*hubclient.Client) error {
		_, err := api.SetPolicyRequest(ctx, wire.PolicyRequest{Policy: p, ConfirmNoFixedPart: true})
		return err
	})
}
