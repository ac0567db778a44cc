package hub_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// jitAll turns the built-in All triplet into a jit one and returns its ID.
func jitAll(t *testing.T, h *hubtest.Harness, max int64, approval bool) int64 {
	t.Helper()
	ctx := testCtx(t)
	trips, err := h.Owner.Triplets(ctx)
	noErr(t, err)
	if len(trips) != 1 || !trips[0].Builtin {
		t.Fatalf("triplets %+v", trips)
	}
	tr, err := h.Owner.UpdateTriplet(ctx, trips[0].ID, wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: max, ApprovalRequired: approval})
	noErr(t, err)
	if tr.Mode != wire.TripletJIT || tr.MaxDurationSeconds != max || tr.ApprovalRequired != approval {
		t.Fatalf("updated triplet %+v", tr)
	}
	return tr.ID
}

// sealRecovery seals secret to the recovery recipient alone, as an agent does outside a window.
func sealRecovery(t *testing.T, p *wire.Plan, a wire.PlanAccount, version int64, secret string) []byte {
	t.Helper()
	r, err := seal.ParseRecipient(p.Recovery)
	noErr(t, err)
	env, err := seal.Seal([]byte(secret), hubclient.SealContext(p.ClientGUID, p.AgentID, a.AccountName, version), []age.Recipient{r}...)
	noErr(t, err)
	return env
}

func confirmRecovery(t *testing.T, agent *hubtest.Agent, p *wire.Plan, a wire.PlanAccount, secret string) int64 {
	t.Helper()
	ctx := testCtx(t)
	v := a.CurrentVersion + 1
	noErr(t, agent.StageRecoveryOnly(ctx, a.AccountID, v, sealRecovery(t, p, a, v, secret)))
	noErr(t, agent.Confirm(ctx, a.AccountID, v))
	return v
}

// onlyPlan returns the agent's plan and the account of tech in it.
func onlyPlan(t *testing.T, agent *hubtest.Agent, tech int64) (*wire.Plan, wire.PlanAccount) {
	t.Helper()
	p, err := agent.Plan(testCtx(t), 0)
	noErr(t, err)
	return p, accountOf(t, p, tech)
}

func accountOf(t *testing.T, p *wire.Plan, tech int64) wire.PlanAccount {
	t.Helper()
	for _, a := range p.Accounts {
		if a.TechID == tech {
			return a
		}
	}
	t.Fatalf("no account of tech %d in %+v", tech, p.Accounts)
	return wire.PlanAccount{}
}

func onlyCred(t *testing.T, tech *hubtest.Tech) wire.Credential {
	t.Helper()
	c, err := tech.Credentials(testCtx(t))
	if err != nil || len(c.Credentials) != 1 {
		t.Fatalf("credentials: %v %+v", err, c)
	}
	return c.Credentials[0]
}

// TestJITTripletMode: the mode fields are validated on create and update, a bad request changes nothing, and
// the group and right of a triplet cannot change through an update.
func TestJITTripletMode(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	trips, err := h.Owner.Triplets(ctx)
	noErr(t, err)
	all := trips[0]
	for _, tc := range []struct {
		req   wire.TripletRequest
		field string
	}{
		{wire.TripletRequest{Mode: "sometimes"}, "mode"},
		{wire.TripletRequest{Mode: wire.TripletStanding, MaxDurationSeconds: 600}, "maxDurationSeconds"},
		{wire.TripletRequest{ApprovalRequired: true}, "approvalRequired"},
		{wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: 59}, "maxDurationSeconds"},
		{wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: 8 * 24 * 3600}, "maxDurationSeconds"},
		{wire.TripletRequest{Mode: wire.TripletJIT, RightID: all.RightID + 99}, "rightId"},
	} {
		if _, err := h.Owner.UpdateTriplet(ctx, all.ID, tc.req); !isField(err, wire.CodeInvalid, tc.field) {
			t.Errorf("update %+v: %v, want invalid %s", tc.req, err, tc.field)
		}
	}
	if _, err := h.Owner.UpdateTriplet(ctx, all.ID+1000, wire.TripletRequest{Mode: wire.TripletJIT}); !isCode(err, wire.CodeNotFound) {
		t.Errorf("update a missing triplet: %v", err)
	}
	if after, _ := h.Owner.Triplets(ctx); after[0] != all || all.Mode != wire.TripletStanding {
		t.Fatalf("a refused update changed the triplet: %+v → %+v", all, after[0])
	}
	// Create with the mode; the default maximum is an hour.
	g, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "oncall"})
	noErr(t, err)
	tr, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: g.ID, AgentGroupID: all.AgentGroupID, RightID: all.RightID, Mode: wire.TripletJIT})
	noErr(t, err)
	if tr.Mode != wire.TripletJIT || tr.MaxDurationSeconds != 3600 || tr.ApprovalRequired {
		t.Fatalf("created jit triplet %+v", tr)
	}
	if _, err := h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: g.ID, AgentGroupID: all.AgentGroupID, RightID: all.RightID, Mode: "x"}); !isField(err, wire.CodeInvalid, "mode") {
		t.Fatalf("create with a bad mode: %v", err)
	}
	if !auditHas(t, h, "triplet.create", "mode=jit maxDuration=3600") {
		t.Error("triplet.create audit lacks the mode")
	}
}

// TestJITFlow: outside a window the account is disabled, without groups, sealed to the recovery recipient only and
// the tech sees no password; a request with a reason opens a window at once (no approval), wakes the agent's long
// poll, the confirmation makes it active; Done and expiry close it and the next password is the recovery's only.
// Every step is audited with the reason.
func TestJITFlow(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice, bob := h.ActiveTech("alice"), h.ActiveTech("bob")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	jitAll(t, h, 600, false)

	// Outside a window.
	p, a := onlyPlan(t, agent, alice.ID)
	if a.JIT == nil || a.JIT.Enabled || len(a.Groups) != 0 || len(a.Recipients) != 0 || !a.Due || a.DueReason != wire.DueNew {
		t.Fatalf("closed jit account in the plan: %+v %+v", a, a.JIT)
	}
	v := a.CurrentVersion + 1
	if err := agent.Stage(ctx, a.AccountID, v, hubtest.Seal(t, p, a, v, "sealed-to-alice")); !isField(err, wire.CodeInvalid, "recoveryOnly") {
		t.Fatalf("stage sealed to the tech outside a window: %v", err)
	}
	confirmRecovery(t, agent, p, a, "recovery-only-1")
	c := onlyCred(t, alice)
	if !c.JIT || c.JITMaxSeconds != 600 || c.JITApproval || c.JITGrant != nil || len(c.Versions) != 0 {
		t.Fatalf("closed jit credential: %+v", c)
	}
	if hist, err := alice.History(ctx, c.AccountID); !historyRefused(err, "outside its window") {
		t.Fatalf("history of a closed jit account: %+v, %v; want refused", hist, err)
	}
	if _, a = onlyPlan(t, agent, alice.ID); a.Due {
		t.Fatalf("closed account with a recovery-only password still due: %+v", a)
	}

	// Bad requests change nothing.
	for _, tc := range []struct {
		req         wire.JITRequest
		code, field string
	}{
		{wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 300}, wire.CodeInvalid, "reason"},
		{wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 300, Reason: "ticket\n42"}, wire.CodeInvalid, "reason"},
		{wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 300, Reason: strings.Repeat("x", 501)}, wire.CodeInvalid, "reason"},
		{wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 30, Reason: "ticket 42"}, wire.CodeInvalid, "durationSeconds"},
		{wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 601, Reason: "ticket 42"}, wire.CodeInvalid, "durationSeconds"},
		{wire.JITRequest{AccountID: c.AccountID + 1000, DurationSeconds: 300, Reason: "ticket 42"}, wire.CodeNotFound, "accountId"},
	} {
		if _, err := alice.RequestJIT(ctx, tc.req); !isField(err, tc.code, tc.field) {
			t.Errorf("request %+v: %v, want %s %s", tc.req, err, tc.code, tc.field)
		}
	}
	// Another tech's account does not exist for bob.
	if _, err := bob.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 300, Reason: "ticket 42"}); !isCode(err, wire.CodeNotFound) {
		t.Errorf("bob asks for alice's account: %v", err)
	}
	if gs, _ := alice.ListMyJIT(ctx); len(gs) != 0 {
		t.Fatalf("refused requests left grants: %+v", gs)
	}

	// A request opens the window and wakes the agent's long poll at once.
	type polled struct {
		p   *wire.Plan
		err error
		at  time.Time
	}
	woke := make(chan polled, 1)
	// Nothing may be due, or the long poll answers at once: bob's account gets its recovery-only password too.
	cur, bobAcc := onlyPlan(t, agent, bob.ID)
	confirmRecovery(t, agent, cur, bobAcc, "bob-recovery-only")
	cur, _ = onlyPlan(t, agent, alice.ID)
	go func() {
		pl, err := agent.PlanWait(ctx, cur.Revision, 20*time.Second)
		woke <- polled{pl, err, time.Now()}
	}()
	time.Sleep(200 * time.Millisecond)
	asked := time.Now()
	g, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 120, Reason: "ticket 4711: printer GPO"})
	noErr(t, err)
	if g.Status != wire.JITApproved || g.ApprovedBy != "auto" || g.ExpiresAt.Sub(g.RequestedAt) != 120*time.Second || g.AccountName == "" || g.Username != "alice" {
		t.Fatalf("granted %+v", g)
	}
	w := <-woke
	noErr(t, w.err)
	if d := w.at.Sub(asked); d > time.Second || !w.p.Changed {
		t.Fatalf("agent's long poll woke after %v (changed %v)", d, w.p.Changed)
	} else {
		t.Logf("request → agent's plan: %v", d.Round(time.Millisecond))
	}
	a = accountOf(t, w.p, alice.ID)
	if a.JIT == nil || !a.JIT.Enabled || !a.JIT.ExpiresAt.Equal(g.ExpiresAt) || !slices.Equal(a.Groups, []string{"Domain Admins"}) ||
		len(a.Recipients) != 1 || !a.Due || a.DueReason != wire.DueJITStart {
		t.Fatalf("open window in the plan: %+v %+v", a, a.JIT)
	}
	if w.p.NextDueAt.IsZero() || w.p.NextDueAt.After(g.ExpiresAt) {
		t.Fatalf("plan's nextDueAt %v is after the expiry %v", w.p.NextDueAt, g.ExpiresAt)
	}
	if _, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 120, Reason: "again"}); !isCode(err, wire.CodeConflict) {
		t.Fatalf("second open request: %v", err)
	}
	v = confirm(t, agent, w.p, a, "alice-jit-password")
	mine, err := alice.ListMyJIT(ctx)
	noErr(t, err)
	if len(mine) != 1 || mine[0].Status != wire.JITActive || mine[0].EnabledAt.IsZero() {
		t.Fatalf("after the confirmation: %+v", mine)
	}
	c = onlyCred(t, alice)
	if len(c.Versions) != 1 || c.Versions[0].Version != v || c.JITGrant == nil || c.JITGrant.Status != wire.JITActive {
		t.Fatalf("open jit credential: %+v", c)
	}
	if _, err := seal.Open(c.Versions[0].Envelope, hubclient.SealContext(h.GUID, agent.ID, c.AccountName, v), alice.Identity); err != nil {
		t.Fatalf("alice cannot open her jit password: %v", err)
	}

	// Done: bob cannot end alice's window; alice can, once.
	if _, err := bob.EndJIT(ctx, g.ID); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("bob ends alice's window: %v", err)
	}
	ended, err := alice.EndJIT(ctx, g.ID)
	noErr(t, err)
	if ended.Status != wire.JITEnded || ended.EndedAt.IsZero() {
		t.Fatalf("ended %+v", ended)
	}
	if _, err := alice.EndJIT(ctx, g.ID); !isCode(err, wire.CodeConflict) {
		t.Fatalf("ending twice: %v", err)
	}
	p, a = onlyPlan(t, agent, alice.ID)
	if a.JIT.Enabled || len(a.Groups) != 0 || len(a.Recipients) != 0 || !a.Due || a.DueReason != wire.DueJITEnd {
		t.Fatalf("after Done: %+v %+v", a, a.JIT)
	}
	confirmRecovery(t, agent, p, a, "recovery-only-2")
	if c = onlyCred(t, alice); len(c.Versions) != 0 || c.JITGrant.Status != wire.JITEnded {
		t.Fatalf("credential after the window: %+v", c)
	}

	// Expiry, by the hub's clock.
	g2, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 60, Reason: "ticket 4712"})
	noErr(t, err)
	if _, a = onlyPlan(t, agent, alice.ID); !a.JIT.Enabled {
		t.Fatalf("second window not open: %+v", a.JIT)
	}
	h.Clock.Advance(61 * time.Second)
	_, a = onlyPlan(t, agent, alice.ID)
	if a.JIT.Enabled || len(a.Groups) != 0 {
		t.Fatalf("expired window still open in the plan: %+v", a.JIT)
	}
	mine, _ = alice.ListMyJIT(ctx)
	if mine[0].ID != g2.ID || mine[0].Status != wire.JITExpired || !mine[0].EndedAt.Equal(g2.ExpiresAt) {
		t.Fatalf("after expiry: %+v", mine[0])
	}
	for _, ev := range []struct{ action, detail string }{
		{"jit.request", `reason="ticket 4711: printer GPO"`}, {"jit.approve", `by=auto`}, {"jit.enable", `reason="ticket 4711: printer GPO"`},
		{"jit.end", `reason="ticket 4711: printer GPO"`}, {"jit.sealed-away", `reason="ticket 4711: printer GPO"`},
		{"jit.expire", `reason="ticket 4712"`},
	} {
		if !auditHas(t, h, ev.action, ev.detail) {
			t.Errorf("no %s audit event with %s", ev.action, ev.detail)
		}
	}
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("audit chain: %+v %v", v, err)
	}
}

// TestJITApproval: with approval required a request waits; the plan keeps the account closed; the Console's wait
// wakes with it; an Auditor cannot decide, nor a Co-managed Manager of another organization; the organization's
// Co-managed Manager approves (the window opens then) or refuses (it never opens).
func TestJITApproval(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.DisableTOTP = true }))
	_, err := h.Owner.CreateOrg(ctx, "Contoso")
	noErr(t, err)
	_, err = h.Owner.CreateOrg(ctx, "Fabrikam")
	noErr(t, err)
	erinID := h.NewIdentity()
	erin := &hubtest.Tech{Client: h.Client(erinID), Identity: erinID}
	st, err := erin.Register(ctx, wire.RegisterRequest{Username: "erin", DisplayName: "Erin", Email: "erin@example.com", Organization: "Contoso"})
	noErr(t, err)
	erin.ID = st.TechID
	_, err = h.ApproveCoManaged(ctx, erin.ID)
	noErr(t, err)
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	jitAll(t, h, 600, true)
	p, a := onlyPlan(t, agent, erin.ID)
	confirmRecovery(t, agent, p, a, "recovery-only")
	c := onlyCred(t, erin)
	if !c.JIT || !c.JITApproval {
		t.Fatalf("credential %+v", c)
	}
	manager := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Contoso", true))
	stranger := h.Client(invitedAdmin(t, h, wire.RoleCoManager, "Fabrikam", true))
	auditor := h.Client(invitedAdmin(t, h, wire.RoleAuditor, "", true))

	queue, err := manager.WaitJITRequests(ctx, wire.JITPending, 0, 0)
	noErr(t, err)
	if len(queue.Grants) != 0 {
		t.Fatalf("queue before any request: %+v", queue)
	}
	type waited struct {
		r   *wire.JITGrantsResponse
		err error
		at  time.Time
	}
	woke := make(chan waited, 1)
	go func() {
		r, err := manager.WaitJITRequests(ctx, wire.JITPending, queue.Revision, 20*time.Second)
		woke <- waited{r, err, time.Now()}
	}()
	time.Sleep(200 * time.Millisecond)
	asked := time.Now()
	g, err := erin.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 300, Reason: "change 88"})
	noErr(t, err)
	if g.Status != wire.JITPending || !g.ExpiresAt.IsZero() {
		t.Fatalf("request needing approval: %+v", g)
	}
	w := <-woke
	noErr(t, w.err)
	if d := w.at.Sub(asked); d > time.Second || !w.r.Changed || len(w.r.Grants) != 1 || w.r.Grants[0].ID != g.ID || w.r.Grants[0].Organization != "Contoso" {
		t.Fatalf("Console's wait after %v: %+v", d, w.r)
	}
	// Unapproved: the account stays closed.
	if _, a = onlyPlan(t, agent, erin.ID); a.JIT.Enabled || len(a.Groups) != 0 || a.Due {
		t.Fatalf("unapproved request opened the window: %+v %+v", a, a.JIT)
	}
	if others, _ := stranger.ListJITRequests(ctx, ""); len(others) != 0 {
		t.Fatalf("another organization's manager sees %+v", others)
	}
	if _, err := stranger.ApproveJIT(ctx, g.ID, ""); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("another organization's manager approves: %v", err)
	}
	if _, err := auditor.ApproveJIT(ctx, g.ID, ""); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("auditor approves: %v", err)
	}
	if seen, _ := auditor.ListJITRequests(ctx, wire.JITPending); len(seen) != 1 {
		t.Fatalf("auditor reads the queue: %+v", seen)
	}
	if _, err := manager.ApproveJIT(ctx, g.ID, "bad\x00note"); !isField(err, wire.CodeInvalid, "note") {
		t.Fatalf("approve with a control character in the note: %v", err)
	}
	if _, a = onlyPlan(t, agent, erin.ID); a.JIT.Enabled {
		t.Fatal("refused approvals opened the window")
	}
	if _, err := manager.ListJITRequests(ctx, "sometimes"); !isField(err, wire.CodeInvalid, "status") {
		t.Fatalf("list with a bad status: %v", err)
	}
	ok, err := manager.ApproveJIT(ctx, g.ID, "go ahead")
	noErr(t, err)
	if ok.Status != wire.JITApproved || ok.ApprovedBy == "" || ok.ExpiresAt.Sub(ok.DecidedAt) != 300*time.Second {
		t.Fatalf("approved %+v", ok)
	}
	if _, err := h.Owner.ApproveJIT(ctx, g.ID, ""); !isCode(err, wire.CodeConflict) {
		t.Fatalf("approving twice: %v", err)
	}
	if open, err := manager.ListJITRequests(ctx, wire.JITOpen); err != nil || len(open) != 1 || open[0].Status != wire.JITApproved {
		t.Fatalf("open grants: %+v %v", open, err)
	}
	if _, a = onlyPlan(t, agent, erin.ID); !a.JIT.Enabled || a.DueReason != wire.DueJITStart {
		t.Fatalf("approved window: %+v %+v", a, a.JIT)
	}
	_, err = erin.EndJIT(ctx, g.ID)
	noErr(t, err)

	// Refused: never opens; the tech sees the note.
	g, err = erin.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 300, Reason: "change 89"})
	noErr(t, err)
	no, err := h.Owner.RefuseJIT(ctx, g.ID, "not during the freeze")
	noErr(t, err)
	if no.Status != wire.JITRefused {
		t.Fatalf("refused %+v", no)
	}
	if open, err := manager.ListJITRequests(ctx, wire.JITOpen); err != nil || len(open) != 0 {
		t.Fatalf("open grants after Done and a refusal: %+v %v", open, err)
	}
	if _, a = onlyPlan(t, agent, erin.ID); a.JIT.Enabled {
		t.Fatal("a refused request opened the window")
	}
	if c = onlyCred(t, erin); c.JITGrant == nil || c.JITGrant.Status != wire.JITRefused || c.JITGrant.Note != "not during the freeze" {
		t.Fatalf("credential after the refusal: %+v", c.JITGrant)
	}
	if !auditHas(t, h, "jit.approve", `role=comanager reason="change 88" note="go ahead"`) || !auditHas(t, h, "jit.refuse", `reason="change 89"`) {
		t.Error("approval or refusal not audited with the reason")
	}

	// Revoked: an approver closes an open window early; the account closes as at expiry.
	g, err = erin.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 300, Reason: "change 90"})
	noErr(t, err)
	_, err = manager.ApproveJIT(ctx, g.ID, "")
	noErr(t, err)
	if _, err := stranger.EndJITNow(ctx, g.ID, ""); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("another organization's manager ends the window: %v", err)
	}
	if _, err := auditor.EndJITNow(ctx, g.ID, ""); !isCode(err, wire.CodeForbidden) {
		t.Fatalf("auditor ends the window: %v", err)
	}
	if _, err := manager.EndJITNow(ctx, g.ID, "bad\x07note"); !isField(err, wire.CodeInvalid, "note") {
		t.Fatalf("end with a control character in the note: %v", err)
	}
	if _, a = onlyPlan(t, agent, erin.ID); !a.JIT.Enabled {
		t.Fatal("refused revocations closed the window")
	}
	ended, err := manager.EndJITNow(ctx, g.ID, "incident over")
	noErr(t, err)
	if ended.Status != wire.JITEnded || ended.EndedAt.IsZero() {
		t.Fatalf("revoked %+v", ended)
	}
	if _, a = onlyPlan(t, agent, erin.ID); a.JIT != nil && a.JIT.Enabled || len(a.Groups) != 0 {
		t.Fatalf("the revoked window is still open in the plan: %+v %+v", a, a.JIT)
	}
	if _, err := manager.EndJITNow(ctx, g.ID, ""); !isCode(err, wire.CodeConflict) {
		t.Fatalf("ending twice: %v", err)
	}
	if c = onlyCred(t, erin); c.JITGrant == nil || c.JITGrant.Status != wire.JITEnded || c.JITGrant.Note != "incident over" {
		t.Fatalf("credential after the revocation: %+v", c.JITGrant)
	}
	if !auditHas(t, h, "jit.end", `reason="change 90" tech=`) || !auditHas(t, h, "jit.end", `role=comanager note="incident over"`) {
		t.Error("revocation not audited with the reason, the role and the note")
	}
}

// TestJITStandingWins: a standing triplet on the same tech and agent keeps the account standing.
func TestJITStandingWins(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	id := jitAll(t, h, 600, false)
	trips, _ := h.Owner.Triplets(ctx)
	r, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "Helpdesk", Targets: map[string][]string{wire.DriverAD: {"Helpdesk"}}})
	noErr(t, err)
	_, err = h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: trips[0].TechGroupID, AgentGroupID: trips[0].AgentGroupID, RightID: r.ID})
	noErr(t, err)
	if _, a := onlyPlan(t, agent, alice.ID); a.JIT != nil || len(a.Recipients) != 1 {
		t.Fatalf("standing + jit account planned as jit: %+v", a)
	}
	c := onlyCred(t, alice)
	if c.JIT {
		t.Fatalf("credential %+v", c)
	}
	if _, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: c.AccountID, DurationSeconds: 120, Reason: "x"}); !isField(err, wire.CodeInvalid, "accountId") {
		t.Fatalf("request on a standing account: %v", err)
	}
	if id != trips[0].ID {
		t.Fatalf("jit triplet %d is not the All triplet %d", id, trips[0].ID)
	}
}

// TestJITBecomesStanding: an account whose triplet turns standing while its password is recovery-only is due at
// once for a password sealed to the tech.
func TestJITBecomesStanding(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	id := jitAll(t, h, 600, false)
	p, a := onlyPlan(t, agent, alice.ID)
	confirmRecovery(t, agent, p, a, "recovery-only")
	if _, a = onlyPlan(t, agent, alice.ID); a.Due {
		t.Fatalf("closed account due: %+v", a)
	}
	_, err := h.Owner.UpdateTriplet(ctx, id, wire.TripletRequest{Mode: wire.TripletStanding})
	noErr(t, err)
	p, a = onlyPlan(t, agent, alice.ID)
	if a.JIT != nil || !a.Due || a.DueReason != wire.DueJITStanding || len(a.Recipients) != 1 || len(a.Groups) != 1 {
		t.Fatalf("account turned standing: %+v", a)
	}
	confirm(t, agent, p, a, "sealed-to-alice")
	if _, a = onlyPlan(t, agent, alice.ID); a.Due {
		t.Fatalf("still due after a tech-sealed version: %+v", a)
	}
	if c := onlyCred(t, alice); c.JIT || len(c.Versions) != 1 {
		t.Fatalf("credential %+v", c)
	}
}
