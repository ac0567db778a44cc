package vm_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestDeletedTechsFollowTheDeletion: the deleted techs listed from the hub's tombstones, the last deleted first,
// each with how far the deletion of its accounts has come as the agents report it: waiting for an agent, an agent's
// error, deleted; or its accounts left on the targets disabled, as the admin chose.
func TestDeletedTechsFollowTheDeletion(t *testing.T) {
	ctx := testCtx(t)
	a, h, w := world(t)
	// Two more domains, in All domains: every active tech gets an account on each.
	ag1, ag2 := h.NewAgent("extra1.local", wire.DriverAD), h.NewAgent("extra2.local", wire.DriverAD)
	ben, dmitri := w.Techs["bokafor"], w.Techs["dvolkov"]
	benAcc := map[string]int64{}
	for name, ag := range map[string]*hubtest.Agent{"extra1.local": ag1, "extra2.local": ag2} {
		p, err := ag.Plan(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var reps []wire.AccountReport
		for _, acc := range p.Accounts {
			reps = append(reps, wire.AccountReport{AccountID: acc.AccountID, State: wire.AccountPresent})
			if acc.TechID == ben {
				benAcc[name] = acc.AccountID
			}
		}
		if benAcc[name] == 0 {
			t.Fatalf("no account of bokafor on %s in %+v", name, p.Accounts)
		}
		if err := ag.ReportAccounts(ctx, reps); err != nil {
			t.Fatal(err)
		}
	}
	list := func(f vm.TechFilter) []vm.DeletedTech {
		t.Helper()
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := a.DeletedTechs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := list(vm.TechFilter{}); len(got) != 0 {
		t.Fatalf("deleted techs before any deletion: %+v", got)
	}

	if err := a.Deactivate(ctx, dmitri); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteTech(ctx, dmitri, false); err != nil {
		t.Fatal(err)
	}
	if err := a.Deactivate(ctx, ben); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteTech(ctx, ben, true); err != nil {
		t.Fatal(err)
	}
	got := list(vm.TechFilter{})
	if len(got) != 2 || got[0].ID != ben || got[1].ID != dmitri {
		t.Fatalf("deleted techs %+v, want bokafor then dvolkov", got)
	}
	b, e := got[0], got[1]
	n := len(b.Accounts)
	if n < 2 || b.Done() || !strings.HasPrefix(b.Progress(), fmt.Sprintf("0 of %d deleted; %d waiting for their agent (", n, n)) ||
		!strings.Contains(b.Progress(), fmt.Sprintf(" and %d more)", n-3)) || b.Fate() != "accounts deleted from the domains and hosts" {
		t.Fatalf("bokafor just deleted: %q (%d accounts, %s)", b.Progress(), n, b.Fate())
	}
	// tailspin-ldap reports an error about every account (the demo's broken LDAP group).
	if len(e.Accounts) < 2 || !e.Done() || e.Progress() != fmt.Sprintf("1 with an error (tailspin-ldap); %d left on the targets, disabled", len(e.Accounts)-1) ||
		e.Fate() != "accounts kept there, disabled" {
		t.Fatalf("dvolkov deleted keeping the accounts: %q (%d accounts, %s)", e.Progress(), len(e.Accounts), e.Fate())
	}
	if got := list(vm.TechFilter{Query: "dmitri", Status: wire.TechActive}); len(got) != 1 || got[0].ID != dmitri {
		t.Fatalf("the search for dmitri lists %+v", got)
	}
	if got := list(vm.TechFilter{Organization: "Contoso Ltd"}); len(got) != 0 {
		t.Fatalf("Contoso's deleted techs: %+v", got)
	}

	// Each agent's plan asks for the deletion: one reports it done, the other an error (tried again).
	for name, ag := range map[string]*hubtest.Agent{"extra1.local": ag1, "extra2.local": ag2} {
		p, err := ag.Plan(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Delete) != 1 || p.Delete[0].AccountID != benAcc[name] {
			t.Fatalf("%s's plan deletes %+v, want bokafor's account %d", name, p.Delete, benAcc[name])
		}
	}
	if err := ag1.ReportAccounts(ctx, []wire.AccountReport{{AccountID: benAcc["extra1.local"], State: wire.AccountDeleted}}); err != nil {
		t.Fatal(err)
	}
	if err := ag2.ReportAccounts(ctx, []wire.AccountReport{{AccountID: benAcc["extra2.local"], State: wire.AccountError, Error: "delete: target unreachable"}}); err != nil {
		t.Fatal(err)
	}
	b = list(vm.TechFilter{})[0]
	want := fmt.Sprintf("1 of %d deleted; %d waiting for their agent (", n, n-2)
	if b.Done() || !strings.HasPrefix(b.Progress(), want) || !strings.HasSuffix(b.Progress(), "; 1 to try again after an error (extra2.local)") ||
		strings.Contains(b.Progress(), "extra1.local") {
		t.Fatalf("after the agents' reports: %q, want %q… and extra2.local's error", b.Progress(), want)
	}
	// The driver refuses it (an adopted account): the deletion ends there, the account says why.
	if err := ag2.ReportAccounts(ctx, []wire.AccountReport{{AccountID: benAcc["extra2.local"], State: wire.AccountFailed, Error: "delete: adopted"}}); err != nil {
		t.Fatal(err)
	}
	if b := list(vm.TechFilter{})[0]; !strings.HasSuffix(b.Progress(), "; 1 not deleted, see the error (extra2.local)") {
		t.Fatalf("after the driver's refusal: %q", b.Progress())
	}
}
