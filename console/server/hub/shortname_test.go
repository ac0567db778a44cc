package hub_test

import (
	"strings"
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestTechShortName: a tech whose account name is too long for AD has a problem that names the domain and the
// length; the admin's short name makes the account on the next plan and the problem goes, the Linux account
// created under the username keeps its name, the change is audited, and a short name that is another tech's
// username, a bad one or one set by an auditor is refused.
func TestTechShortName(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	ad := h.NewAgent("contoso.local", wire.DriverAD)
	web := h.NewAgent("web1", wire.DriverLinux)
	long := h.NewTech("maximilian_oz") // "maximilian_oz-tm": fine; the policy below makes it too long
	p := wire.DefaultPolicy()
	p.NamingFormat = "{username}-contoso"
	_, err := h.Owner.SetPolicy(ctx, p)
	noErr(t, err)
	tech, err := h.Owner.ApproveTech(ctx, long.ID)
	noErr(t, err)
	if len(tech.Problems) != 1 || !strings.Contains(tech.Problems[0], "no account on contoso.local") ||
		!strings.Contains(tech.Problems[0], `"maximilian_oz-contoso" is 21 characters`) {
		t.Fatalf("problems at approval: %q", tech.Problems)
	}
	if plan, err := web.Plan(ctx, 0); err != nil || len(plan.Accounts) != 1 || plan.Accounts[0].AccountName != "maximilian_oz-contoso" {
		t.Fatalf("linux plan before: %+v, %v", plan, err)
	}

	bob := h.ActiveTech("bob")
	if _, err := h.Owner.SetTechShortName(ctx, long.ID, "bob"); !isCode(err, wire.CodeConflict) {
		t.Fatalf("another tech's username: %v", err)
	}
	if _, err := h.Owner.SetTechShortName(ctx, long.ID, "Max O"); !isCode(err, wire.CodeInvalid) {
		t.Fatalf("a bad short name: %v", err)
	}
	auditor := h.Client(invitedAdmin(t, h, wire.RoleAuditor, "", true))
	if _, err := auditor.SetTechShortName(ctx, long.ID, "maxo"); err == nil {
		t.Fatal("an auditor set a short name")
	}

	tech, err = h.Owner.SetTechShortName(ctx, long.ID, "maxo")
	noErr(t, err)
	if tech.ShortName != "maxo" || len(tech.Problems) != 0 {
		t.Fatalf("after the short name: %+v", tech)
	}
	if _, err := h.Owner.SetTechShortName(ctx, bob.ID, "maxo"); !isCode(err, wire.CodeConflict) {
		t.Fatalf("another tech's short name: %v", err)
	}
	techs, err := h.Owner.Techs(ctx, "")
	noErr(t, err)
	if len(problemsOf(techs, long.ID)) != 0 || !slicesHasShort(techs, long.ID, "maxo") {
		t.Fatalf("tech list: %+v", techs)
	}
	plan, err := ad.Plan(ctx, 0)
	noErr(t, err)
	if planProblem(plan, long.ID, "") || shortAccountName(plan, long.ID) != "maxo-contoso" {
		t.Fatalf("AD plan after the short name: %+v", plan)
	}
	if plan, err := web.Plan(ctx, 0); err != nil || shortAccountName(plan, long.ID) != "maximilian_oz-contoso" {
		t.Fatalf("the Linux account keeps its name: %+v, %v", plan, err)
	}
	acc, err := h.Owner.Access(ctx, long.ID, 0)
	noErr(t, err)
	for _, a := range acc {
		if a.AgentID == ad.ID && a.AccountName != "maxo-contoso" {
			t.Fatalf("access names %q", a.AccountName)
		}
	}
	ev := auditOf(t, h, "tech.short-name")
	if len(ev) != 1 || !strings.Contains(ev[0].Detail, `shortName="maxo" was=""`) {
		t.Fatalf("audit: %+v", ev)
	}
	// Setting it again changes nothing and records nothing; taking it away brings the problem back.
	_, err = h.Owner.SetTechShortName(ctx, long.ID, "maxo")
	noErr(t, err)
	tech, err = h.Owner.SetTechShortName(ctx, long.ID, "")
	noErr(t, err)
	if tech.ShortName != "" || len(tech.Problems) != 1 || len(auditOf(t, h, "tech.short-name")) != 2 {
		t.Fatalf("after taking it away: %+v", tech)
	}
	if !h.Owner.Supports(wire.CapShortName) {
		t.Fatal("the hub does not say it has short names")
	}
}

func shortAccountName(p *wire.Plan, tech int64) string {
	for _, a := range p.Accounts {
		if a.TechID == tech {
			return a.AccountName
		}
	}
	return ""
}

func slicesHasShort(techs []wire.Tech, id int64, short string) bool {
	for _, t := range techs {
		if t.ID == id {
			return t.ShortName == short
		}
	}
	return false
}
