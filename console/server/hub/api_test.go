package hub_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// auditCount is the number of audit events of the harness's tenant.
func auditCount(t *testing.T, h *hubtest.Harness) int {
	ev, err := h.Owner.Audit(context.Background(), wire.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}

func TestBadInputChangesNothing(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	me := h.NewIdentity()
	r := newRaw(t, h, me)
	before := auditCount(t, h)
	pk := fmt.Sprintf(`"publicKey":%q,`, me.Public().String())
	cases := []struct {
		body  string
		code  string
		field string
	}{
		{`{"username":"x","email":"x@y.z","bogus":1}`, wire.CodeInvalid, "bogus"},
		{`{"username":5}`, wire.CodeInvalid, "username"},
		{`not json`, wire.CodeBadRequest, ""},
		{`{} {}`, wire.CodeBadRequest, ""},
		{`{"publicKey":"ww1pub.nope","username":"ok","email":"a@b.c"}`, wire.CodeInvalid, "publicKey"},
		{`{` + pk + `"username":"Bad Name","email":"a@b.c"}`, wire.CodeInvalid, "username"},
		{`{` + pk + `"username":"` + strings.Repeat("a", 33) + `","email":"a@b.c"}`, wire.CodeInvalid, "username"},
		{`{` + pk + `"username":"ok","email":"not-an-address"}`, wire.CodeInvalid, "email"},
		{`{` + pk + `"username":"ok"}`, wire.CodeInvalid, "email"},
		{`{` + pk + `"username":"ok","email":"a@b.c","displayName":"tab\there"}`, wire.CodeInvalid, "displayName"},
		{`{"username":"ok","email":"` + strings.Repeat("a", 2<<20) + `"}`, wire.CodeTooLarge, ""},
	}
	for _, c := range cases {
		status, e := r.do("POST", wire.PathTechRegister, []byte(c.body))
		if status < 400 || e.Code != c.code || (c.field != "" && e.Field != c.field && !strings.Contains(e.Message, c.field)) {
			t.Errorf("register %.60q: %d %+v, want %s on %q", c.body, status, e, c.code, c.field)
		}
	}
	// A valid key that is not the caller's own: proof of possession fails.
	other := h.NewIdentity()
	status, e := r.do("POST", wire.PathTechRegister, []byte(fmt.Sprintf(`{"publicKey":%q,"username":"ok","email":"a@b.c"}`, other.Public().String())))
	if status != 400 || e.Field != "publicKey" {
		t.Errorf("foreign key: %d %+v", status, e)
	}
	// Validation reports every bad field at once.
	tech := h.Client(h.NewIdentity())
	_, err := tech.Register(ctx, wire.RegisterRequest{Username: "UPPER", Email: "nope"})
	we, _ := wire.AsError(err)
	if !errors.Is(err, hubclient.ErrInvalid) || we == nil || len(we.Errors) != 2 || we.Errors[0].Field != "username" || we.Errors[1].Field != "email" {
		t.Errorf("typed client validation: %v (%+v)", err, we)
	}
	if techs, _ := h.Owner.Techs(ctx, ""); len(techs) != 0 {
		t.Fatalf("bad requests created techs: %+v", techs)
	}
	if n := auditCount(t, h); n != before {
		t.Fatalf("bad requests were audited as changes: %d → %d", before, n)
	}
	// Duplicate username and duplicate device.
	h.NewTech("dup")
	if _, err := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: "dup", Email: "d@x.y"}); !isField(err, wire.CodeConflict, "username") {
		t.Fatalf("duplicate username: %v", err)
	}
	// Admin side: policy and groups.
	bad := wire.DefaultPolicy()
	bad.IntervalSeconds = 5
	if _, err := h.Owner.SetPolicy(ctx, bad); !isField(err, wire.CodeInvalid, "intervalSeconds") {
		t.Fatalf("policy interval: %v", err)
	}
	bad = wire.DefaultPolicy()
	bad.NamingFormat = "{user}"
	if _, err := h.Owner.SetPolicy(ctx, bad); !isField(err, wire.CodeInvalid, "namingFormat") {
		t.Fatalf("policy naming: %v", err)
	}
	if _, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: ""}); !isField(err, wire.CodeInvalid, "name") {
		t.Fatalf("empty group name: %v", err)
	}
	if _, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "X", Members: []int64{424242}}); !isField(err, wire.CodeInvalid, "members") {
		t.Fatalf("unknown member: %v", err)
	}
	if groups, _ := h.Owner.TechGroups(ctx); len(groups) != 1 {
		t.Fatalf("a failed group creation left a group: %+v", groups)
	}
	if _, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "R", Targets: map[string][]string{"windows": {"Administrators"}}}); !isField(err, wire.CodeInvalid, "targets") {
		t.Fatalf("unknown driver in right: %v", err)
	}
	if _, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: 1, AgentGroupID: 1, RightID: 1}); !isField(err, wire.CodeInvalid, "agentGroupId") {
		t.Fatalf("triplet with a tech group as agent group: %v", err)
	}
	if _, err := h.Owner.Audit(ctx, wire.AuditQuery{}); err != nil {
		t.Fatal(err)
	}
	status, e = newRaw(t, h, h.OwnerID).do("GET", wire.PathAdminAudit+"?since=yesterday", nil)
	if status != 400 || e.Field != "since" {
		t.Fatalf("audit since: %d %+v", status, e)
	}
}

func isField(err error, code, field string) bool {
	e, ok := wire.AsError(err)
	return ok && e.Code == code && e.Field == field
}

func TestRateLimits(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.RateBurst, c.RateEvery = 3, time.Hour }))
	var err error
	for i := range 4 {
		_, err = h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: fmt.Sprintf("t%d", i), Email: "t@x.y"})
		if i < 3 && err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
	}
	if !errors.Is(err, hubclient.ErrRateLimited) {
		t.Fatalf("fourth registration: %v", err)
	}
	// Enrollment has its own bucket; a failed attempt still counts.
	agent := h.Client(h.NewIdentity())
	for i := range 4 {
		_, err = agent.Enroll(ctx, wire.EnrollRequest{Token: "wrong", Name: "x", Driver: "ad"})
		if i < 3 && !errors.Is(err, hubclient.ErrForbidden) {
			t.Fatalf("enroll %d: %v", i, err)
		}
	}
	if !errors.Is(err, hubclient.ErrRateLimited) {
		t.Fatalf("fourth enrollment: %v", err)
	}
	// Authenticated routes are not limited this way.
	for range 10 {
		if _, err := h.Owner.Tenant(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEnrollmentTokens(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	tok, err := h.Owner.CreateEnrollmentToken(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a1 := h.Client(h.NewIdentity())
	// A bad request does not use the token up.
	if _, err := a1.Enroll(ctx, wire.EnrollRequest{Token: tok.Token, Name: "x", Driver: "windows"}); !isField(err, wire.CodeInvalid, "driver") {
		t.Fatalf("bad driver: %v", err)
	}
	resp, err := a1.Enroll(ctx, wire.EnrollRequest{Token: tok.Token, Name: "contoso.local", Driver: "ad"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Client(h.NewIdentity()).Enroll(ctx, wire.EnrollRequest{Token: tok.Token, Name: "y", Driver: "ad"}); !errors.Is(err, hubclient.ErrForbidden) {
		t.Fatalf("reused token: %v", err)
	}
	if resp.Status != wire.AgentPending {
		t.Fatalf("agent of a token without approve-on-use: %s, want pending", resp.Status)
	}
	_, err = h.Owner.ApproveAgent(ctx, resp.AgentID)
	noErr(t, err)
	groups, _ := h.Owner.AgentGroups(ctx)
	if groups[0].Name != wire.AllDomains || !slices.Contains(groups[0].Members, resp.AgentID) {
		t.Fatalf("approved agent not in AllDomains: %+v", groups)
	}
	tok2, _ := h.Owner.CreateEnrollmentToken(ctx, time.Minute)
	h.Clock.Advance(2 * time.Minute)
	if _, err := h.Client(h.NewIdentity()).Enroll(ctx, wire.EnrollRequest{Token: tok2.Token, Name: "z", Driver: "ad"}); !errors.Is(err, hubclient.ErrForbidden) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := h.Owner.CreateEnrollmentToken(ctx, 5*time.Second); !isField(err, wire.CodeInvalid, "ttlSeconds") {
		t.Fatalf("tiny ttl: %v", err)
	}
	agents, _ := h.Owner.Agents(ctx)
	if len(agents) != 1 || agents[0].Name != "contoso.local" || agents[0].Version == "" && false {
		t.Fatalf("agents: %+v", agents)
	}
}

// TestEntitlementsThroughAPI builds a co-managed setup with the admin API and checks plans and credentials.
func TestEntitlementsThroughAPI(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	bob := h.ActiveTech("bob")
	ad := h.NewAgent("contoso.local", wire.DriverAD)
	lx := h.NewAgent("web1", wire.DriverLinux)

	// Built-ins hold their names and shape.
	tgs, _ := h.Owner.TechGroups(ctx)
	ags, _ := h.Owner.AgentGroups(ctx)
	rights, _ := h.Owner.Rights(ctx)
	trips, _ := h.Owner.Triplets(ctx)
	if len(tgs) != 1 || tgs[0].Name != wire.AllTechs || len(ags) != 1 || len(rights) != 1 || len(trips) != 1 || !trips[0].Builtin {
		t.Fatalf("built-ins: %+v %+v %+v %+v", tgs, ags, rights, trips)
	}
	if rights[0].Targets[wire.DriverAD][0] != "Domain Admins" || rights[0].Targets[wire.DriverLinux][0] != "sudo" {
		t.Fatalf("AllRights targets: %+v", rights[0].Targets)
	}
	if _, err := h.Owner.UpdateGroup(ctx, false, tgs[0].ID, wire.GroupRequest{Name: "Everyone"}); !isCode(err, wire.CodeInvalid) && !isCode(err, wire.CodeConflict) {
		t.Fatalf("rename AllTechs: %v", err)
	}
	if err := h.Owner.DeleteGroup(ctx, true, ags[0].ID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("delete AllDomains: %v", err)
	}
	if _, err := h.Owner.EditMembers(ctx, false, tgs[0].ID, []int64{alice.ID}, nil); !isCode(err, wire.CodeConflict) {
		t.Fatalf("edit AllTechs members: %v", err)
	}
	if err := h.Owner.DeleteRight(ctx, rights[0].ID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("delete AllRights: %v", err)
	}
	if _, err := h.Owner.UpdateRight(ctx, rights[0].ID, wire.RightRequest{Name: "Other", Targets: rights[0].Targets}); !isCode(err, wire.CodeConflict) {
		t.Fatalf("rename AllRights: %v", err)
	}
	if _, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: wire.AllTechs}); !isField(err, wire.CodeInvalid, "name") {
		t.Fatalf("a second AllTechs: %v", err)
	}

	// Everyone gets everything through the All triplet.
	plan, err := ad.Plan(ctx, 0)
	if err != nil || len(plan.Accounts) != 2 {
		t.Fatalf("AD plan: %+v, %v", plan, err)
	}
	// Co-managed onboarding: L2 techs get sudo+adm on Linux servers only; the All triplet goes.
	l2, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "L2", Members: []int64{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	servers, err := h.Owner.CreateAgentGroup(ctx, wire.GroupRequest{Name: "Linux servers", Members: []int64{lx.ID}, IntervalSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "Ops", Targets: map[string][]string{wire.DriverLinux: {"sudo", "adm"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: l2.ID, AgentGroupID: servers.ID, RightID: ops.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: l2.ID, AgentGroupID: servers.ID, RightID: ops.ID}); !isCode(err, wire.CodeConflict) {
		t.Fatalf("duplicate triplet: %v", err)
	}
	if err := h.Owner.DeleteTriplet(ctx, trips[0].ID); err != nil {
		t.Fatalf("delete the All triplet: %v", err)
	}

	plan, err = ad.Plan(ctx, 0)
	if err != nil || len(plan.Accounts) != 0 || len(plan.Disable) != 2 {
		t.Fatalf("AD plan after onboarding: %+v, %v", plan, err)
	}
	lplan, err := lx.Plan(ctx, 0)
	if err != nil || len(lplan.Accounts) != 1 {
		t.Fatalf("Linux plan: %+v, %v", lplan, err)
	}
	pa := lplan.Accounts[0]
	if pa.TechID != bob.ID || pa.AccountName != "bob-tm" || !slices.Equal(pa.Groups, []string{"adm", "sudo"}) || !slices.Equal(pa.Rights, []string{"Ops"}) {
		t.Fatalf("Linux plan account: %+v", pa)
	}
	if lplan.Policy.IntervalSeconds != 3600 {
		t.Fatalf("agent group interval override: %+v", lplan.Policy)
	}
	access, err := h.Owner.Access(ctx, bob.ID, 0)
	if err != nil || len(access) != 1 || access[0].AgentID != lx.ID {
		t.Fatalf("bob's access: %+v, %v", access, err)
	}
	if access, err := h.Owner.Access(ctx, alice.ID, 0); err != nil || len(access) != 0 {
		t.Fatalf("alice's access: %+v, %v", access, err)
	}
	if access, err := h.Owner.Access(ctx, 0, lx.ID); err != nil || len(access) != 1 || access[0].TechID != bob.ID {
		t.Fatalf("web1's access: %+v, %v", access, err)
	}
	// Alice gets no credentials at all; Bob only web1's.
	if c, err := alice.Credentials(ctx); err != nil || len(c.Credentials) != 0 {
		t.Fatalf("alice's credentials: %+v, %v", c, err)
	}
	// Removing Bob from L2 takes web1 away too.
	if _, err := h.Owner.EditMembers(ctx, false, l2.ID, nil, []int64{bob.ID}); err != nil {
		t.Fatal(err)
	}
	lplan, _ = lx.Plan(ctx, 0)
	if len(lplan.Accounts) != 0 || len(lplan.Disable) != 1 || lplan.Disable[0].TechID != bob.ID {
		t.Fatalf("Linux plan after removal: %+v", lplan)
	}
	// The agent disables and reports; the account leaves the disable list.
	if err := lx.ReportAccounts(ctx, []wire.AccountReport{{AccountID: lplan.Disable[0].AccountID, State: wire.AccountDisabled}}); err != nil {
		t.Fatal(err)
	}
	lplan, _ = lx.Plan(ctx, 0)
	if len(lplan.Disable) != 0 {
		t.Fatalf("disabled account still listed: %+v", lplan.Disable)
	}
	if err := h.Owner.DeleteGroup(ctx, false, l2.ID); err != nil {
		t.Fatal(err)
	}
	if trips, _ := h.Owner.Triplets(ctx); len(trips) != 0 {
		t.Fatalf("triplets after deleting L2: %+v", trips)
	}
}

func TestNamingProblems(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	h.ActiveTech("jonathan1")
	h.ActiveTech("jonathan2")
	h.ActiveTech("mary.ann")
	lx := h.NewAgent("web1", wire.DriverLinux)
	p := wire.DefaultPolicy()
	p.NamingFormat = "{username:8}-{abbrev}"
	if _, err := h.Owner.SetPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	plan, err := lx.Plan(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Accounts) != 0 || len(plan.Problems) != 3 {
		t.Fatalf("plan: %+v", plan)
	}
	reasons := ""
	for _, pr := range plan.Problems {
		reasons += pr.Username + ": " + pr.Reason + "\n"
	}
	if strings.Count(reasons, "collision") != 2 || !strings.Contains(reasons, "mary.ann: bad account name") {
		t.Fatalf("problems:\n%s", reasons)
	}
}

// TestOffboardingReachesAgentsAtOnce disables a tech while an agent holds a long poll open.
func TestOffboardingReachesAgentsAtOnce(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, err := agent.Plan(ctx, 0)
	if err != nil || len(plan.Accounts) != 1 {
		t.Fatalf("plan: %+v, %v", plan, err)
	}
	confirm(t, agent, plan, plan.Accounts[0], "first")
	plan, _ = agent.PlanWait(ctx, 0, 0)
	type result struct {
		p   *wire.Plan
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		p, err := agent.PlanWait(ctx, plan.Revision, 20*time.Second)
		done <- result{p, err, time.Now()}
	}()
	time.Sleep(200 * time.Millisecond) // let the poll park
	disabledAt := time.Now()
	if _, err := h.Owner.DisableTech(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || !r.p.Changed || len(r.p.Accounts) != 0 || len(r.p.Disable) != 1 {
			t.Fatalf("plan after offboarding: %+v, %v", r.p, r.err)
		}
		if lag := r.at.Sub(disabledAt); lag > time.Second {
			t.Fatalf("offboarding reached the agent after %v", lag)
		} else {
			t.Logf("offboarding reached the agent's long poll in %v", lag)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not return after the tech was disabled")
	}
	if _, err := alice.Credentials(ctx); !errors.Is(err, hubclient.ErrPending) {
		t.Fatalf("disabled tech credentials: %v", err)
	}
	if st, err := alice.Status(ctx); err != nil || st.Status != wire.TechDisabled || st.TenantName != "" {
		t.Fatalf("disabled tech status: %+v, %v", st, err)
	}
	ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{Action: "tech.disable"})
	if len(ev) != 1 || ev[0].ActorKind != "admin" {
		t.Fatalf("offboarding audit: %+v", ev)
	}
	// Reactivation brings the account back with a fresh password.
	if _, err := agent.PlanWait(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: plan.Accounts[0].AccountID, State: wire.AccountDisabled}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Owner.EnableTech(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	plan, _ = agent.PlanWait(ctx, 0, 0)
	if len(plan.Accounts) != 1 || !plan.Accounts[0].Due || plan.Accounts[0].DueReason != wire.DueRotateNow {
		t.Fatalf("plan after reactivation: %+v", plan.Accounts)
	}
}

// confirm stages and confirms the next version of a plan account.
func confirm(t *testing.T, agent *hubtest.Agent, p *wire.Plan, a wire.PlanAccount, secret string) int64 {
	t.Helper()
	ctx := context.Background()
	v := a.CurrentVersion + 1
	if err := agent.Stage(ctx, a.AccountID, v, hubtest.Seal(t, p, a, v, secret)); err != nil {
		t.Fatalf("stage: %v", err)
	}
	if err := agent.Confirm(ctx, a.AccountID, v); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	return v
}

// TestTechSeesRotationWithinASecond holds the TechClient's long poll open while the agent rotates.
func TestTechSeesRotationWithinASecond(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, _ := agent.Plan(ctx, 0)
	confirm(t, agent, plan, plan.Accounts[0], "one")
	creds, err := alice.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changes: the poll times out with Changed false.
	start := time.Now()
	ch, err := alice.WaitChanges(ctx, creds.Revision, 300*time.Millisecond)
	if err != nil || ch.Changed || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("idle poll: %+v, %v after %v", ch, err, time.Since(start))
	}
	done := make(chan time.Time, 1)
	go func() {
		ch, err := alice.WaitChanges(ctx, creds.Revision, 20*time.Second)
		if err != nil || !ch.Changed {
			t.Errorf("poll: %+v, %v", ch, err)
		}
		done <- time.Now()
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := h.Owner.RotateNow(ctx, wire.RotateRequest{TechID: alice.ID}); err != nil {
		t.Fatal(err)
	}
	plan, _ = agent.PlanWait(ctx, 0, 0)
	if !plan.Accounts[0].Due || plan.Accounts[0].DueReason != wire.DueRotateNow {
		t.Fatalf("rotate now: %+v", plan.Accounts[0])
	}
	start = time.Now()
	confirm(t, agent, plan, plan.Accounts[0], "two")
	select {
	case at := <-done:
		t.Logf("tech's long poll returned %v after the agent began staging the new version", at.Sub(start))
		if at.Sub(start) > time.Second {
			t.Fatalf("tech saw the rotation after %v", at.Sub(start))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tech's long poll did not return")
	}
	creds, _ = alice.Credentials(ctx)
	v := creds.Credentials[0].Versions[0]
	if v.Version != 2 || v.State != wire.VersionConfirmed || len(creds.Credentials[0].Versions) != 1 {
		t.Fatalf("versions after rotation: %+v", creds.Credentials[0].Versions)
	}
}

func TestRotationStates(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	bob := h.ActiveTech("bob")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	other := h.NewAgent("other.local", wire.DriverAD)
	plan, _ := agent.Plan(ctx, 0)
	var pa wire.PlanAccount
	for _, a := range plan.Accounts {
		if a.TechID == alice.ID {
			pa = a
		}
	}
	confirm(t, agent, plan, pa, "v1")
	plan, _ = agent.PlanWait(ctx, 0, 0)
	for _, a := range plan.Accounts {
		if a.TechID == alice.ID && (a.Due || a.NextRotationAt.IsZero()) {
			t.Fatalf("fresh account due: %+v", a)
		}
	}
	pa.CurrentVersion = 1
	env := hubtest.Seal(t, plan, pa, 2, "v2")
	// Versions must increase; envelopes must be age files; accounts belong to their agent.
	if err := agent.Stage(ctx, pa.AccountID, 1, env); !isField(err, wire.CodeInvalid, "version") {
		t.Fatalf("restage version 1: %v", err)
	}
	if err := agent.Stage(ctx, pa.AccountID, 2, []byte("hunter2")); !isField(err, wire.CodeInvalid, "envelope") {
		t.Fatalf("plaintext envelope: %v", err)
	}
	if err := other.Stage(ctx, pa.AccountID, 2, env); !isField(err, wire.CodeInvalid, "accountId") {
		t.Fatalf("stage another agent's account: %v", err)
	}
	if err := bob.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventReveal, AccountID: pa.AccountID, Version: 1}); !isField(err, wire.CodeInvalid, "accountId") {
		t.Fatalf("bob reports on alice's account: %v", err)
	}
	// Staged but never confirmed (the agent crashed after setting it, maybe): the tech may open it, and the
	// account is due for a fresh rotation.
	if err := agent.Stage(ctx, pa.AccountID, 2, env); err != nil {
		t.Fatal(err)
	}
	creds, _ := alice.Credentials(ctx)
	vs := creds.Credentials[0].Versions
	if len(vs) != 2 || vs[0].Version != 2 || vs[0].State != wire.VersionStaged || vs[1].State != wire.VersionConfirmed {
		t.Fatalf("versions with a pending stage: %+v", vs)
	}
	plan, _ = agent.PlanWait(ctx, 0, 0)
	for _, a := range plan.Accounts {
		if a.TechID == alice.ID && (!a.Due || a.DueReason != wire.DueUnconfirmed || a.CurrentVersion != 2) {
			t.Fatalf("unconfirmed stage: %+v", a)
		}
	}
	// The agent knows the target refused: version 2 is failed and disappears for the tech.
	if err := agent.Fail(ctx, pa.AccountID, 2, "constraint violation"); err != nil {
		t.Fatal(err)
	}
	if err := agent.Confirm(ctx, pa.AccountID, 2); !isCode(err, wire.CodeConflict) {
		t.Fatalf("confirm a failed version: %v", err)
	}
	creds, _ = alice.Credentials(ctx)
	if vs := creds.Credentials[0].Versions; len(vs) != 1 || vs[0].Version != 1 {
		t.Fatalf("versions after a failure: %+v", vs)
	}
	// Rotate after use off, so that the reveal below leaves the schedule to decide (history_test.go tests it).
	noAfterUse := wire.DefaultPolicy()
	noAfterUse.RotateAfterUseSeconds = 0
	if _, err := h.Owner.SetPolicy(ctx, noAfterUse); err != nil {
		t.Fatal(err)
	}
	if err := alice.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventReveal, AccountID: pa.AccountID, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := alice.ReportEvent(ctx, wire.EventRequest{Kind: "print", AccountID: pa.AccountID, Version: 1}); !isField(err, wire.CodeInvalid, "kind") {
		t.Fatalf("bad event kind: %v", err)
	}
	// The schedule: after the interval (less jitter) the account is due again.
	h.Clock.Advance(25 * time.Hour)
	plan, _ = agent.PlanWait(ctx, 0, 0)
	for _, a := range plan.Accounts {
		if a.TechID == alice.ID && (!a.Due || a.DueReason != wire.DueSchedule) {
			t.Fatalf("after the interval: %+v", a)
		}
	}
	ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{ActorKind: "tech", Action: "credential.reveal"})
	if len(ev) != 1 || ev[0].ActorID != alice.ID {
		t.Fatalf("reveal audit: %+v", ev)
	}
	accs, err := h.Owner.Accounts(ctx, alice.ID, 0)
	if err != nil || len(accs) != 1 || accs[0].CurrentVersion != 2 {
		t.Fatalf("accounts: %+v, %v", accs, err)
	}
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountError, Error: "group Domain Admins missing"}}); err != nil {
		t.Fatal(err)
	}
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: "gone"}}); !isCode(err, wire.CodeInvalid) {
		t.Fatalf("bad state: %v", err)
	}
	accs, _ = h.Owner.Accounts(ctx, alice.ID, 0)
	if accs[0].State != wire.AccountError || accs[0].LastError != "group Domain Admins missing" {
		t.Fatalf("reported error: %+v", accs[0])
	}
}

// TestJitterSpreadsRotations checks that accounts confirmed in the same second fall due at different times.
func TestJitterSpreadsRotations(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	for i := range 20 {
		h.ActiveTech(fmt.Sprintf("t%02d", i))
	}
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, _ := agent.Plan(ctx, 0)
	for _, a := range plan.Accounts {
		confirm(t, agent, plan, a, "x")
	}
	plan, _ = agent.PlanWait(ctx, 0, 0)
	seen := map[time.Time]bool{}
	for _, a := range plan.Accounts {
		seen[a.NextRotationAt.Truncate(time.Second)] = true
	}
	if len(seen) < 15 {
		t.Fatalf("20 accounts share %d rotation seconds", len(seen))
	}
}

// TestZeroKnowledge runs rotations with random passwords and greps every byte the hub wrote — the database, its
// WAL, a backup and the logs — for each of them.
func TestZeroKnowledge(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		h.ActiveTech(u)
	}
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	var secrets []string
	var envelopes [][]byte
	for round := range 3 {
		h.Owner.RotateNow(ctx, wire.RotateRequest{})
		plan, err := agent.PlanWait(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range plan.Accounts {
			secret := fmt.Sprintf("Zk-%d-%d-%x", round, a.AccountID, time.Now().UnixNano())
			secrets = append(secrets, secret)
			v := a.CurrentVersion + 1
			env := hubtest.Seal(t, plan, a, v, secret)
			envelopes = append(envelopes, env)
			if err := agent.Stage(ctx, a.AccountID, v, env); err != nil {
				t.Fatal(err)
			}
			if round < 2 {
				if err := agent.Confirm(ctx, a.AccountID, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	h.RequireSQLite("greps the database file, its WAL and a file backup for the passwords")
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := h.Store.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	for _, p := range []string{h.DBPath, h.DBPath + "-wal", backup} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	blobs = append(blobs, h.Logs.Bytes())
	all := bytes.Join(blobs, nil)
	// The check can fail: the envelopes themselves are in the files.
	if !bytes.Contains(all, envelopes[len(envelopes)-1][:200]) {
		t.Fatal("the envelopes are not in the database files: the grep looks in the wrong place")
	}
	for _, s := range secrets {
		for _, form := range [][]byte{[]byte(s), utf16le(s)} {
			if bytes.Contains(all, form) {
				t.Fatalf("a password the test sealed is stored by the hub in plain")
			}
		}
	}
	// Field by field too: no column of any table holds a secret.
	db, err := sql.Open("sqlite", "file:"+backup+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, _ := db.Query("SELECT name FROM sqlite_master WHERE type = 'table'")
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	cells := 0
	for _, tbl := range names {
		rows, err := db.Query("SELECT * FROM " + tbl)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for i, v := range vals {
				cells++
				cell := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					cell = string(b)
				}
				for _, s := range secrets {
					if strings.Contains(cell, s) {
						t.Fatalf("%s.%s holds a password", tbl, cols[i])
					}
				}
			}
		}
		rows.Close()
	}
	if cells < 100 {
		t.Fatalf("only %d cells read", cells)
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

func TestAuditThroughAPI(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, _ := agent.Plan(ctx, 0)
	confirm(t, agent, plan, plan.Accounts[0], "pw")
	g, _ := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "G", Members: []int64{alice.ID}})
	h.Owner.DeleteGroup(ctx, false, g.ID)
	events, err := h.Owner.Audit(ctx, wire.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	want := []string{"tenant.create", "admin.claim", "tech.register", "tech.approve", "token.create", "agent.enroll",
		"account.create", "version.stage", "version.confirm", "techgroup.create", "techgroup.delete"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit actions:\n got %v\nwant %v", actions, want)
	}
	if ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{ActorKind: "agent"}); len(ev) != 4 {
		t.Fatalf("agent events: %+v", ev)
	}
	if ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{AfterSeq: 9, Limit: 1}); len(ev) != 1 || ev[0].Seq != 10 {
		t.Fatalf("paging: %+v", ev)
	}
	for _, e := range events {
		if strings.Contains(e.Detail, "pw") && e.Action == "version.stage" {
			t.Fatalf("stage detail mentions the secret: %q", e.Detail)
		}
	}
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	h.RequireSQLite("alters the audit log in the SQLite file")
	db, _ := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	defer db.Close()
	if _, err := db.Exec("UPDATE audit SET detail = 'approved by nobody' WHERE action = 'tech.approve'"); err != nil {
		t.Fatal(err)
	}
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || v.OK {
		t.Fatalf("verify after tampering: %+v, %v", v, err)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.MetricsKey = testScrapeKey }))
	alice := h.ActiveTech("alice")
	if _, err := alice.Credentials(ctx); err != nil {
		t.Fatal(err)
	}
	r := newRaw(t, h, nil)
	if status, _ := r.do("GET", wire.PathHealthz, nil); status != 200 {
		t.Fatalf("healthz: %d", status)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", h.URL+wire.PathMetrics, nil)
	req.Header.Set("Authorization", "Bearer "+testScrapeKey)
	resp, err := r.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	m := b.String()
	for _, want := range []string{
		`watchword_hub_requests_total{route="GET /v1/tech/credentials",status="200"} 1`,
		`watchword_hub_requests_total{route="POST /v1/tech/register",status="200"} 1`,
		`watchword_hub_request_seconds_count{route="GET /v1/tech/credentials"} 1`,
		`watchword_hub_entitlement_recompute_seconds_count`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	for _, secret := range []string{"alice", h.GUID, alice.Identity.Public().ID()} {
		if strings.Contains(m, secret) {
			t.Errorf("metrics mention %q", secret)
		}
	}
	if status, e := r.do("GET", "/v1/nothing", nil); status != 404 || e.Code != wire.CodeNotFound {
		t.Fatalf("unknown path: %d %+v", status, e)
	}
}

// TestEmbeddedHub is what the Console does: a hub in-process on 127.0.0.1, owner added directly, and a shutdown
// that ends open long polls promptly.
func TestEmbeddedHub(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	srv, err := hubserve.Listen(h.Hub, "127.0.0.1:0", hubserve.Config{})
	if err != nil {
		t.Fatal(err)
	}
	nt, err := h.Hub.CreateTenant(ctx, hub.TenantSpec{Name: "Solo", Abbrev: "solo", Recovery: h.Recovery.Public().Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	console := h.NewIdentity()
	if _, err := h.Hub.AddAdmin(ctx, nt.GUID, console.Public(), "Console", wire.RoleOwner); err != nil {
		t.Fatal(err)
	}
	c, _ := hubclient.New(h.Hub.Invite(srv.URL, nt.GUID), console)
	if tn, err := c.Tenant(ctx); err != nil || tn.Name != "Solo" {
		t.Fatalf("tenant: %+v, %v", tn, err)
	}
	tech, _ := hubclient.New(h.Hub.Invite(srv.URL, nt.GUID), h.NewIdentity())
	if _, err := tech.Register(ctx, wire.RegisterRequest{Username: "z", Email: "z@z.z"}); err != nil {
		t.Fatal(err)
	}
	techs, _ := c.Techs(ctx, "")
	c.ApproveTech(ctx, techs[0].ID)
	polled := make(chan error, 1)
	go func() {
		_, err := tech.WaitChanges(ctx, 1<<40, 25*time.Second)
		polled <- err
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v with a long poll open", d)
	}
	select {
	case <-polled:
	case <-time.After(5 * time.Second):
		t.Fatal("long poll still open after shutdown")
	}
}

// TestRotateAfterReveal: with a grace period set, a copy or a reveal schedules a rotation that the agent's plan
// shows once the grace period has passed (history_test.go tests the default, overrides and turning it off).
func TestRotateAfterReveal(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	p := wire.DefaultPolicy()
	p.RotateAfterUseSeconds = 3600
	if _, err := h.Owner.SetPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, _ := agent.Plan(ctx, 0)
	v := confirm(t, agent, plan, plan.Accounts[0], "pw")
	if err := alice.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventCopy, AccountID: plan.Accounts[0].AccountID, Version: v}); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(time.Minute) // a copy counts as a use too; a later reveal does not postpone the rotation
	if err := alice.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventReveal, AccountID: plan.Accounts[0].AccountID, Version: v}); err != nil {
		t.Fatal(err)
	}
	plan, _ = agent.PlanWait(ctx, 0, 0)
	a := plan.Accounts[0]
	if a.Due || a.NextRotationAt.After(h.Clock.Now().Add(time.Hour-time.Minute)) || !plan.NextDueAt.Equal(a.NextRotationAt) {
		t.Fatalf("within the grace period: %+v (next due %v)", a, plan.NextDueAt)
	}
	h.Clock.Advance(time.Hour - time.Minute + time.Second)
	plan, _ = agent.PlanWait(ctx, 0, 0)
	if a := plan.Accounts[0]; !a.Due || a.DueReason != wire.DueAfterReveal {
		t.Fatalf("after the grace period: %+v", a)
	}
	confirm(t, agent, plan, plan.Accounts[0], "pw2")
	plan, _ = agent.PlanWait(ctx, 0, 0)
	if plan.Accounts[0].Due {
		t.Fatalf("still due after rotating: %+v", plan.Accounts[0])
	}
}
