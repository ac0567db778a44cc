package hub_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// oneAccount starts a hub with one active tech and one agent and returns the agent's plan entry for the tech.
func oneAccount(t *testing.T, username, driver string) (*hubtest.Harness, *hubtest.Tech, *hubtest.Agent, wire.PlanAccount) {
	t.Helper()
	h := hubtest.New(t)
	tech := h.ActiveTech(username)
	agent := h.NewAgent("contoso.local", driver)
	plan, err := agent.Plan(testCtx(t), 0)
	if err != nil || len(plan.Accounts) != 1 {
		t.Fatalf("plan: %+v, %v", plan, err)
	}
	return h, tech, agent, plan.Accounts[0]
}

// planEntry returns the agent's current plan and its entry for account id.
func planEntry(t *testing.T, agent *hubtest.Agent, id int64) (*wire.Plan, wire.PlanAccount) {
	t.Helper()
	plan, err := agent.PlanWait(testCtx(t), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range plan.Accounts {
		if a.AccountID == id {
			return plan, a
		}
	}
	t.Fatalf("account %d not in the plan: %+v", id, plan.Accounts)
	return nil, wire.PlanAccount{}
}

// account reads one account through the admin API.
func account(t *testing.T, h *hubtest.Harness, techID, id int64) wire.Account {
	t.Helper()
	accs, err := h.Owner.Accounts(testCtx(t), techID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("account %d not listed: %+v", id, accs)
	return wire.Account{}
}

// auditOf returns the tenant's audit events of one action.
func auditOf(t *testing.T, h *hubtest.Harness, action string) []wire.AuditEvent {
	t.Helper()
	ev, err := h.Owner.Audit(testCtx(t), wire.AuditQuery{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestAgentReportsFailed: an agent that halts an account reports it failed with a reason; the hub keeps it, shows
// it to admins, audits it, plans the account halted and never due — whatever rotation was requested — and a later
// "present" from a pass that did not touch it does not clear it.
func TestAgentReportsFailed(t *testing.T) {
	ctx := testCtx(t)
	h, alice, agent, pa := oneAccount(t, "alice", wire.DriverAD)
	plan, got := planEntry(t, agent, pa.AccountID)
	confirm(t, agent, plan, got, "v1")
	reason := "verification of CN=alice-tm,OU=Watchword,DC=contoso,DC=local could reach the domain's lockout threshold (5): halted"
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountFailed, Error: reason}}); err != nil {
		t.Fatalf("report failed: %v", err)
	}
	acc := account(t, h, alice.ID, pa.AccountID)
	if acc.State != wire.AccountFailed || acc.LastError != reason {
		t.Fatalf("account after the failure: %+v", acc)
	}
	ev := auditOf(t, h, "account.failed")
	if len(ev) != 1 || ev[0].ActorKind != "agent" || ev[0].ActorID != agent.ID ||
		ev[0].Target != fmt.Sprintf("account %d agent=%d tech=%d", pa.AccountID, agent.ID, alice.ID) ||
		!strings.Contains(ev[0].Detail, "lockout threshold") || !strings.Contains(ev[0].Detail, `name="alice-tm"`) {
		t.Fatalf("account.failed audit: %+v", ev)
	}
	// Rotate now, then the schedule: the account stays halted, never due.
	if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AccountID: pa.AccountID}); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(30 * 24 * time.Hour)
	plan, got = planEntry(t, agent, pa.AccountID)
	if !got.Halted || got.HaltReason != reason || got.Due || got.DueReason != "" {
		t.Fatalf("plan entry of a failed account: %+v", got)
	}
	if !plan.NextDueAt.IsZero() {
		t.Fatalf("a halted account wakes the long poll at %v", plan.NextDueAt)
	}
	// A pass that did not touch it reports it present: it stays failed until an admin acts.
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountPresent}}); err != nil {
		t.Fatal(err)
	}
	if acc := account(t, h, alice.ID, pa.AccountID); acc.State != wire.AccountFailed || acc.LastError != reason {
		t.Fatalf("a present report cleared the failure: %+v", acc)
	}
	// The agent cannot rotate it either.
	env := hubtest.Seal(t, plan, got, got.CurrentVersion+1, "v2")
	if err := agent.Stage(ctx, pa.AccountID, got.CurrentVersion+1, env); !isField(err, wire.CodeConflict, "accountId") {
		t.Fatalf("stage on a failed account: %v", err)
	}
	// An invalid state is still refused, and a failure's text follows the same rules as an error's.
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountFailed, Error: "a\nb"}}); !isField(err, wire.CodeInvalid, "accounts[0].error") {
		t.Fatalf("failure with a newline: %v", err)
	}
}

// TestHubBoundsUnresolvedRotations: the hub itself halts an account after wire.MaxUnresolved unresolved rotations
// since its last confirmed version, however the agent counts (an agent that restarts forgets): staged versions
// never confirmed (an agent that dies after setting the password) and failed ones (a target that refuses) both
// count. The hub hands out a bounded number of due rotations, then none, and its long poll does not spin. A normal
// account whose failures are each followed by a confirmed rotation is never halted.
func TestHubBoundsUnresolvedRotations(t *testing.T) {
	ctx := testCtx(t)

	t.Run("occasional failures", func(t *testing.T) {
		h, alice, agent, pa := oneAccount(t, "alice", wire.DriverAD)
		v := int64(0)
		for round := range 3 {
			for range wire.MaxUnresolved - 1 {
				plan, got := planEntry(t, agent, pa.AccountID)
				if got.Halted || !got.Due {
					t.Fatalf("round %d: %+v", round, got)
				}
				v++
				if err := agent.Stage(ctx, pa.AccountID, v, hubtest.Seal(t, plan, got, v, "x")); err != nil {
					t.Fatal(err)
				}
				if err := agent.Fail(ctx, pa.AccountID, v, "constraint violation"); err != nil {
					t.Fatal(err)
				}
			}
			plan, got := planEntry(t, agent, pa.AccountID)
			if got.Halted {
				t.Fatalf("round %d: halted after %d failures: %+v", round, wire.MaxUnresolved-1, got)
			}
			v++
			got.CurrentVersion = v - 1
			confirm(t, agent, plan, got, "ok")
			if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AccountID: pa.AccountID}); err != nil {
				t.Fatal(err)
			}
		}
		if acc := account(t, h, alice.ID, pa.AccountID); acc.State == wire.AccountFailed {
			t.Fatalf("account with occasional failures: %+v", acc)
		}
		if ev := auditOf(t, h, "account.failed"); len(ev) != 0 {
			t.Fatalf("account.failed audited: %+v", ev)
		}
	})

	for _, mode := range []string{"crash after stage", "target refuses"} {
		t.Run(mode, func(t *testing.T) {
			h, alice, agent, pa := oneAccount(t, "alice", wire.DriverAD)
			plan, got := planEntry(t, agent, pa.AccountID)
			confirm(t, agent, plan, got, "v1")
			if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{AccountID: pa.AccountID}); err != nil {
				t.Fatal(err)
			}
			// The agent does whatever the plan says is due, and every attempt stays unresolved. It "restarts"
			// between attempts: nothing of its own count survives, only the hub's.
			handedOut := 0
			for range 50 {
				plan, got = planEntry(t, agent, pa.AccountID)
				if !got.Due {
					break
				}
				handedOut++
				v := got.CurrentVersion + 1
				if err := agent.Stage(ctx, pa.AccountID, v, hubtest.Seal(t, plan, got, v, "x")); err != nil {
					t.Fatalf("attempt %d: %v", handedOut, err)
				}
				if mode == "target refuses" {
					if err := agent.Fail(ctx, pa.AccountID, v, "LDAP Result Code 19 \"Constraint Violation\""); err != nil {
						t.Fatal(err)
					}
				}
			}
			t.Logf("%s: the hub handed out %d due rotations before halting", mode, handedOut)
			if handedOut != wire.MaxUnresolved {
				t.Fatalf("the hub handed out %d due rotations, want %d", handedOut, wire.MaxUnresolved)
			}
			if !got.Halted || got.Due || !strings.HasPrefix(got.HaltReason, fmt.Sprintf("%d rotations unresolved since the last confirmed version: ", wire.MaxUnresolved)) {
				t.Fatalf("plan entry after the bound: %+v", got)
			}
			if mode == "target refuses" && !strings.Contains(got.HaltReason, "Constraint Violation") {
				t.Fatalf("halt reason without the last failure: %q", got.HaltReason)
			}
			acc := account(t, h, alice.ID, pa.AccountID)
			if acc.State != wire.AccountFailed || acc.LastError != got.HaltReason {
				t.Fatalf("account after the bound: %+v", acc)
			}
			ev := auditOf(t, h, "account.failed")
			if len(ev) != 1 || ev[0].ActorKind != "system" || !strings.Contains(ev[0].Detail, "by=hub") ||
				!strings.Contains(ev[0].Target, fmt.Sprintf("agent=%d", agent.ID)) {
				t.Fatalf("account.failed audit: %+v", ev)
			}
			// Its schedule passes: still not due, and the agent's long poll waits instead of spinning.
			h.Clock.Advance(60 * 24 * time.Hour)
			plan, got = planEntry(t, agent, pa.AccountID)
			if got.Due || !got.Halted {
				t.Fatalf("halted account after its schedule: %+v", got)
			}
			start := time.Now()
			polled, err := agent.PlanWait(ctx, plan.Revision, 400*time.Millisecond)
			if err != nil || polled.Changed || time.Since(start) < 300*time.Millisecond {
				t.Fatalf("long poll with a halted account: changed %t after %v, %v", polled != nil && polled.Changed, time.Since(start), err)
			}
			if ev := auditOf(t, h, "account.failed"); len(ev) != 1 {
				t.Fatalf("the halt was audited %d times", len(ev))
			}
		})
	}
}

// TestRetryAccount: an admin retries a failed account: present again, its error cleared, a rotation requested,
// the unresolved count restarted from the retry; other states are refused and nothing changes.
func TestRetryAccount(t *testing.T) {
	ctx := testCtx(t)
	h, alice, agent, pa := oneAccount(t, "alice", wire.DriverAD)
	plan, got := planEntry(t, agent, pa.AccountID)
	confirm(t, agent, plan, got, "v1")

	if _, err := h.Owner.RetryAccount(ctx, pa.AccountID); !isField(err, wire.CodeConflict, "action") || !strings.Contains(err.Error(), "only a failed account") {
		t.Fatalf("retry a present account: %v", err)
	}
	if _, err := h.Owner.RetryAccount(ctx, pa.AccountID+100); !errors.Is(err, hubclient.ErrNotFound) {
		t.Fatalf("retry an unknown account: %v", err)
	}
	if ev := auditOf(t, h, "account.retry"); len(ev) != 0 {
		t.Fatalf("refused retries audited: %+v", ev)
	}
	// Five unresolved rotations: the hub halts it.
	for range wire.MaxUnresolved {
		plan, got = planEntry(t, agent, pa.AccountID)
		v := got.CurrentVersion + 1
		noErr(t, agent.Stage(ctx, pa.AccountID, v, hubtest.Seal(t, plan, got, v, "x")))
		noErr(t, agent.Fail(ctx, pa.AccountID, v, "bind refused"))
	}
	if _, got = planEntry(t, agent, pa.AccountID); !got.Halted {
		t.Fatalf("not halted: %+v", got)
	}
	acc, err := h.Owner.RetryAccount(ctx, pa.AccountID)
	if err != nil || acc.State != wire.AccountPresent || acc.LastError != "" {
		t.Fatalf("retry: %+v, %v", acc, err)
	}
	if acc := account(t, h, alice.ID, pa.AccountID); acc.State != wire.AccountPresent || acc.LastError != "" {
		t.Fatalf("account after the retry: %+v", acc)
	}
	ev := auditOf(t, h, "account.retry")
	if len(ev) != 1 || ev[0].ActorKind != "admin" || !strings.Contains(ev[0].Detail, "was=failed") || !strings.Contains(ev[0].Detail, "bind refused") {
		t.Fatalf("account.retry audit: %+v", ev)
	}
	// Rotated at once, and the count starts again: four more failures do not halt it, the fifth does.
	for i := range wire.MaxUnresolved {
		plan, got = planEntry(t, agent, pa.AccountID)
		if got.Halted || !got.Due || (i == 0 && got.DueReason != wire.DueRotateNow) {
			t.Fatalf("attempt %d after the retry: %+v", i, got)
		}
		v := got.CurrentVersion + 1
		noErr(t, agent.Stage(ctx, pa.AccountID, v, hubtest.Seal(t, plan, got, v, "x")))
		noErr(t, agent.Fail(ctx, pa.AccountID, v, "bind refused again"))
	}
	if _, got = planEntry(t, agent, pa.AccountID); !got.Halted || !strings.Contains(got.HaltReason, "bind refused again") {
		t.Fatalf("after five more failures: %+v", got)
	}
	// An account the agent reported in error can be retried too.
	noErr(t, agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountDisabled}}))
	noErr(t, agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountError, Error: "group missing"}}))
	if acc, err := h.Owner.RetryAccount(ctx, pa.AccountID); err != nil || acc.State != wire.AccountPresent {
		t.Fatalf("retry an account in error: %+v, %v", acc, err)
	}
}

// TestAdoptAccount: adopting the existing account of a target needs the account's name typed again; a wrong name
// changes nothing. Adopted, the account leaves its failure, rotates, and the plan carries Adopt from then on.
func TestAdoptAccount(t *testing.T) {
	ctx := testCtx(t)
	h, alice, agent, pa := oneAccount(t, "victim", wire.DriverAD)
	collision := "an account named victim-tm exists at CN=victim-tm,CN=Users,DC=contoso,DC=local and Watchword did not create it"
	noErr(t, agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountFailed, Error: collision}}))
	if _, got := planEntry(t, agent, pa.AccountID); !got.Halted || got.Adopt {
		t.Fatalf("collision: %+v", got)
	}
	before := auditCount(t, h)
	for _, name := range []string{"", "victim", "VICTIM-TM", "victim-tm "} {
		if _, err := h.Owner.AdoptAccount(ctx, pa.AccountID, name); !isField(err, wire.CodeInvalid, "accountName") || !strings.Contains(err.Error(), `"victim-tm"`) {
			t.Fatalf("adopt naming %q: %v", name, err)
		}
	}
	if acc := account(t, h, alice.ID, pa.AccountID); acc.Adopted || acc.State != wire.AccountFailed || acc.LastError != collision {
		t.Fatalf("a refused adoption changed the account: %+v", acc)
	}
	if n := auditCount(t, h); n != before {
		t.Fatalf("refused adoptions audited: %d events, had %d", n, before)
	}
	acc, err := h.Owner.AdoptAccount(ctx, pa.AccountID, "victim-tm")
	if err != nil || !acc.Adopted || acc.State != wire.AccountPresent || acc.LastError != "" {
		t.Fatalf("adopt: %+v, %v", acc, err)
	}
	ev := auditOf(t, h, "account.adopt")
	if len(ev) != 1 || ev[0].ActorKind != "admin" || !strings.Contains(ev[0].Detail, `name="victim-tm"`) || !strings.Contains(ev[0].Detail, `"contoso.local"`) ||
		!strings.Contains(ev[0].Target, fmt.Sprintf("agent=%d", agent.ID)) || !strings.Contains(ev[0].Detail, "Watchword did not create it") {
		t.Fatalf("account.adopt audit: %+v", ev)
	}
	plan, got := planEntry(t, agent, pa.AccountID)
	if !got.Adopt || got.Halted || !got.Due {
		t.Fatalf("plan after adoption: %+v", got)
	}
	confirm(t, agent, plan, got, "taken over")
	if _, got = planEntry(t, agent, pa.AccountID); !got.Adopt || got.Due {
		t.Fatalf("plan after the first rotation of the adopted account: %+v", got)
	}
	if acc := account(t, h, alice.ID, pa.AccountID); !acc.Adopted {
		t.Fatalf("admin API: %+v", acc)
	}
	if _, err := h.Owner.AdoptAccount(ctx, pa.AccountID, "victim-tm"); !isField(err, wire.CodeConflict, "action") {
		t.Fatalf("adopt twice: %v", err)
	}
	if _, err := h.Owner.AdoptAccount(ctx, pa.AccountID+100, "victim-tm"); !errors.Is(err, hubclient.ErrNotFound) {
		t.Fatalf("adopt an unknown account: %v", err)
	}
}

// TestReservedNames: the hub refuses reserved tech usernames at registration and in CSV imports, never plans an
// account whose name renders to a built-in principal under any format, never disables an account of such a name,
// and a naming format without a fixed part needs a confirmation, which is audited.
func TestReservedNames(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	for _, u := range []string{"administrator", "admin", "guest", "krbtgt", "defaultaccount", "wdagutilityaccount", "root", "daemon", "bin", "sys", "sync", "nobody"} {
		_, err := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: u, Email: u + "@example.com"})
		if !isField(err, wire.CodeInvalid, "username") || !strings.Contains(err.Error(), "built-in or privileged") {
			t.Fatalf("register %q: %v", u, err)
		}
	}
	if techs, _ := h.Owner.Techs(ctx, ""); len(techs) != 0 {
		t.Fatalf("reserved usernames registered: %+v", techs)
	}
	im, err := h.Owner.ImportTechs(ctx, wire.ImportTemplateHeader+"\nroot,Root,root@example.com,,\nkrbtgt,K,k@example.com,,\njdoe,J,j@example.com,,\n", wire.ImportPerRow)
	if err != nil || len(im.Exceptions) != 2 || im.Exceptions[0].Field != "username" || !strings.Contains(im.Exceptions[0].Reason, "built-in or privileged") {
		t.Fatalf("import with reserved usernames: %+v, %v", im, err)
	}
	if res, _ := h.Owner.Reservations(ctx); len(res) != 1 || res[0].Username != "jdoe" {
		t.Fatalf("reservations: %+v", res)
	}

	// A format without a fixed part: refused, then accepted with the confirmation, which is audited.
	p := wire.DefaultPolicy()
	for _, f := range []string{"{username}", "{username:8}", "{username}{username:2}"} {
		p.NamingFormat = f
		if _, err := h.Owner.SetPolicy(ctx, p); !isField(err, wire.CodeInvalid, "namingFormat") || !strings.Contains(err.Error(), "no fixed part") {
			t.Fatalf("format %q without confirmation: %v", f, err)
		}
	}
	if tn, _ := h.Owner.Tenant(ctx); tn.Policy.NamingFormat != wire.DefaultPolicy().NamingFormat {
		t.Fatalf("a refused format was stored: %q", tn.Policy.NamingFormat)
	}
	p.NamingFormat = "{username:5}"
	if _, err := h.Owner.SetPolicyRequest(ctx, wire.PolicyRequest{Policy: p, ConfirmNoFixedPart: true}); err != nil {
		t.Fatalf("confirmed format: %v", err)
	}
	if ev := auditOf(t, h, "policy.confirm-no-fixed-part"); len(ev) != 1 || !strings.Contains(ev[0].Detail, `"{username:5}"`) {
		t.Fatalf("confirmation audit: %+v", ev)
	}
	// The stored policy does not carry the confirmation, and saving it again unchanged needs none.
	p.IntervalSeconds = 3600
	if tn, err := h.Owner.SetPolicy(ctx, p); err != nil || tn.Policy.NamingFormat != "{username:5}" {
		t.Fatalf("resave: %+v, %v", tn, err)
	}

	// "administrator2" renders to "admin": a problem, never an account.
	admin2 := h.ActiveTech("administrator2")
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, err := agent.Plan(ctx, 0)
	noErr(t, err)
	if len(plan.Accounts) != 1 || plan.Accounts[0].TechID != alice.ID || len(plan.Problems) != 1 ||
		plan.Problems[0].TechID != admin2.ID || !strings.Contains(plan.Problems[0].Reason, "reserved") {
		t.Fatalf("plan with a reserved name: accounts %+v problems %+v", plan.Accounts, plan.Problems)
	}
	if techs, _ := h.Owner.Techs(ctx, wire.TechActive); !hasProblem(techs, admin2.ID, "reserved") {
		t.Fatalf("tech problems: %q", problemsOf(techs, admin2.ID))
	}

	// An account created under a reserved name before such names were refused (here written into the store as an
	// older hub would have): never planned, never disabled, even when its tech is deactivated.
	bob := h.ActiveTech("bob")
	noErr(t, h.Store.Write(ctx, func(tx store.Tx) error {
		tn, err := tx.Tenant(h.GUID)
		if err != nil {
			return err
		}
		_, err = tx.EnsureAccount(tn.ID, bob.ID, agent.ID, "Administrator", h.Clock.Now())
		return err
	}))
	plan, err = agent.Plan(ctx, 0)
	noErr(t, err)
	for _, a := range plan.Accounts {
		if a.TechID == bob.ID {
			t.Fatalf("account of a reserved name planned: %+v", a)
		}
	}
	if !planProblem(plan, bob.ID, `"Administrator" is a built-in or privileged account`) {
		t.Fatalf("no problem for the legacy account: %+v", plan.Problems)
	}
	_, err = h.Owner.DisableTech(ctx, bob.ID)
	noErr(t, err)
	plan, err = agent.Plan(ctx, 0)
	noErr(t, err)
	for _, d := range plan.Disable {
		if strings.EqualFold(d.AccountName, "administrator") {
			t.Fatalf("the hub asks to disable %q: %+v", d.AccountName, plan.Disable)
		}
	}
}

func hasProblem(techs []wire.Tech, id int64, part string) bool {
	ps := problemsOf(techs, id)
	return len(ps) > 0 && strings.Contains(strings.Join(ps, "\n"), part)
}

func problemsOf(techs []wire.Tech, id int64) []string {
	for _, t := range techs {
		if t.ID == id {
			return t.Problems
		}
	}
	return nil
}

func planProblem(p *wire.Plan, tech int64, part string) bool {
	for _, pr := range p.Problems {
		if pr.TechID == tech && strings.Contains(pr.Reason, part) {
			return true
		}
	}
	return false
}

// TestPlanProblemsVisible: a tech whose account name cannot be valid where they are entitled (too long for AD's
// 20 characters under the default format, ending in a dot) is told at approval, listed with the tech, and audited
// when approved and when an agent's plan first meets it — once, not at every poll. Techs whose names would
// collide are told too. A tech without problems shows none.
func TestPlanProblemsVisible(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	ad := h.NewAgent("contoso.local", wire.DriverAD)
	h.NewAgent("web1", wire.DriverLinux)
	long := h.NewTech("christopher.vandenb") // "christopher.vandenb-tm": 22 characters
	tech, err := h.Owner.ApproveTech(ctx, long.ID)
	noErr(t, err)
	if len(tech.Problems) != 2 || !strings.Contains(tech.Problems[0], "contoso.local") || !strings.Contains(tech.Problems[0], "1 to 20 characters") ||
		!strings.Contains(tech.Problems[1], "web1") || !strings.Contains(tech.Problems[1], "Linux user name") {
		t.Fatalf("approval answer: %+v", tech.Problems)
	}
	ev := auditOf(t, h, "account.problem")
	if len(ev) != 1 || ev[0].ActorKind != "admin" || ev[0].Target != fmt.Sprintf("tech %d", long.ID) || !strings.Contains(ev[0].Detail, "1 to 20 characters") {
		t.Fatalf("account.problem audit at approval: %+v", ev)
	}
	alice := h.ActiveTech("alice")
	techs, err := h.Owner.Techs(ctx, "")
	noErr(t, err)
	if !hasProblem(techs, long.ID, "contoso.local") || len(problemsOf(techs, alice.ID)) != 0 {
		t.Fatalf("tech list: %q, %q", problemsOf(techs, long.ID), problemsOf(techs, alice.ID))
	}
	for range 3 { // the agent polls again and again: audited once
		plan, err := ad.Plan(ctx, 0)
		noErr(t, err)
		if len(plan.Accounts) != 1 || !planProblem(plan, long.ID, "1 to 20 characters") {
			t.Fatalf("plan: %+v", plan)
		}
	}
	ev = auditOf(t, h, "account.problem")
	if len(ev) != 2 || ev[1].ActorKind != "agent" || ev[1].ActorID != ad.ID || ev[1].Target != fmt.Sprintf("tech=%d agent=%d", long.ID, ad.ID) {
		t.Fatalf("account.problem audit from the plan: %+v", ev)
	}

	// A name ending in a dot (invalid on AD), and two names that collide.
	j1, j2 := h.ActiveTech("jonathan1"), h.ActiveTech("jonathan2")
	p := wire.DefaultPolicy()
	p.NamingFormat = "adm-{username:4}"
	_, err = h.Owner.SetPolicy(ctx, p)
	noErr(t, err)
	ended := h.NewTech("bob.smith") // "adm-bob.": ends in a dot
	tech, err = h.Owner.ApproveTech(ctx, ended.ID)
	noErr(t, err)
	if !strings.Contains(strings.Join(tech.Problems, "\n"), "cannot end with a dot") {
		t.Fatalf("approval of a name ending in a dot: %+v", tech.Problems)
	}
	techs, err = h.Owner.Techs(ctx, wire.TechActive)
	noErr(t, err)
	for _, id := range []int64{j1.ID, j2.ID} {
		if !hasProblem(techs, id, "would also be tech") {
			t.Fatalf("collision of tech %d not shown: %q", id, problemsOf(techs, id))
		}
	}
	if ps := problemsOf(techs, alice.ID); len(ps) != 0 {
		t.Fatalf("alice: %q", ps)
	}
}

// TestProblemsScopedForCoManager: a Co-managed Manager sees its techs' problems naming its organization's domains
// only; the others are counted, not named.
func TestProblemsScopedForCoManager(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	s := onboardContoso(t, h)
	// Every tech on every domain again, besides the onboarding's triplets: bob reaches fabrikam.local too.
	tgs, err := h.Owner.TechGroups(ctx)
	noErr(t, err)
	ags, err := h.Owner.AgentGroups(ctx)
	noErr(t, err)
	rights, err := h.Owner.Rights(ctx)
	noErr(t, err)
	var all wire.TripletRequest
	for _, g := range tgs {
		if g.Builtin {
			all.TechGroupID = g.ID
		}
	}
	for _, g := range ags {
		if g.Builtin {
			all.AgentGroupID = g.ID
		}
	}
	for _, r := range rights {
		if r.Builtin {
			all.RightID = r.ID
		}
	}
	_, err = h.Owner.CreateTriplet(ctx, all)
	noErr(t, err)
	p := wire.DefaultPolicy()
	p.NamingFormat = "{username}-{abbrev}." // ends in a dot: no AD account for anyone
	_, err = h.Owner.SetPolicy(ctx, p)
	noErr(t, err)

	owner, err := h.Owner.Techs(ctx, wire.TechActive)
	noErr(t, err)
	if !hasProblem(owner, s.bob, "no account on contoso.local, fabrikam.local: ") {
		t.Fatalf("owner's view of bob's problems: %q", problemsOf(owner, s.bob))
	}
	cm := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Contoso", true))
	mine, err := cm.Techs(ctx, wire.TechActive)
	noErr(t, err)
	got := strings.Join(problemsOf(mine, s.bob), "\n")
	if !strings.Contains(got, "no account on contoso.local and 1 more: ") || strings.Contains(got, "fabrikam") {
		t.Fatalf("Co-managed Manager's view of bob's problems: %q", got)
	}
}
