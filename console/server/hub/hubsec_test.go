package hub_test

// The hub's part of the reliability and security suite (docs/security.md): the authorization matrix
// declared in one table, access that ends at once, impersonation and replay, hostile input over HTTP. TestMain
// prints the suite's summary line so that `make test` shows it without -v.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/summary"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

var authzCases, authzRefused, authzExpectedRefusals atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	if authzCases.Load() > 0 {
		summary.Print(fmt.Sprintf("authz cases: %d (%d route × state, %d object-level), refused as expected: %d (of %d expected refusals)",
			authzCases.Load(), authzCases.Load()-authzObjectCases.Load(), authzObjectCases.Load(), authzRefused.Load(), authzExpectedRefusals.Load()))
	}
	os.Exit(code)
}

// declaredRoutes is the API as the security review expects it: every endpoint and who may call it. The test fails
// when the hub's route table has an endpoint missing here or a different access class, so a new endpoint cannot
// ship without someone declaring who may call it.
var declaredRoutes = []string{
	"GET /healthz public",
	"GET /v1/openapi.json public",
	"GET /metrics scrape",
	"POST /v1/tech/register keyed",
	"GET /v1/tech/status tech",
	"GET /v1/tech/status/wait tech",
	"GET /v1/tech/jit active-tech",
	"POST /v1/tech/jit active-tech",
	"POST /v1/tech/jit/{id}/{action} active-tech",
	"GET /v1/tech/credentials active-tech",
	"GET /v1/tech/changes active-tech",
	"POST /v1/tech/events active-tech",
	"GET /v1/tech/accounts/{id}/history active-tech",
	"POST /v1/tech/totp/enroll active-tech",
	"POST /v1/tech/totp/confirm active-tech",
	"POST /v1/tech/session active-tech",
	"GET /v1/tech/security active-tech",
	"POST /v1/tech/unlock-report active-tech",
	"POST /v1/tech/rekey keyed",
	"GET /v1/tech/rekey keyed",
	"POST /v1/agent/enroll keyed",
	"GET /v1/agent/plan active-agent",
	"POST /v1/agent/stage active-agent",
	"POST /v1/agent/confirm active-agent",
	"POST /v1/agent/fail active-agent",
	"POST /v1/agent/accounts active-agent",
	"POST /v1/agent/authority active-agent",
	"POST /v1/agent/jit/tap active-agent",
	"GET /v1/authority active-any",
	"POST /v1/admin/authority org",
	"POST /v1/admin/claim keyed",
	"GET /v1/admin/tenant org-read",
	"PUT /v1/admin/policy admin",
	"GET /v1/admin/admins read",
	"POST /v1/admin/claim-tokens owner",
	"GET /v1/admin/techs org-read",
	"POST /v1/admin/techs/{id}/{action} org",
	"PUT /v1/admin/techs/{id} org",
	"DELETE /v1/admin/techs/{id} org",
	"GET /v1/admin/techs/{id}/device org-read",
	"PUT /v1/admin/techs/{id}/short-name admin",
	"GET /v1/admin/techgroups read",
	"POST /v1/admin/techgroups admin",
	"PUT /v1/admin/techgroups/{id} admin",
	"DELETE /v1/admin/techgroups/{id} admin",
	"POST /v1/admin/techgroups/{id}/members admin",
	"GET /v1/admin/agentgroups read",
	"POST /v1/admin/agentgroups admin",
	"PUT /v1/admin/agentgroups/{id} admin",
	"DELETE /v1/admin/agentgroups/{id} admin",
	"POST /v1/admin/agentgroups/{id}/members admin",
	"GET /v1/admin/rights read",
	"POST /v1/admin/rights admin",
	"PUT /v1/admin/rights/{id} admin",
	"DELETE /v1/admin/rights/{id} admin",
	"GET /v1/admin/triplets read",
	"POST /v1/admin/triplets admin",
	"PUT /v1/admin/triplets/{id} admin",
	"DELETE /v1/admin/triplets/{id} admin",
	"POST /v1/admin/enrollment-tokens admin",
	"GET /v1/admin/agents org-read",
	"POST /v1/admin/agents/{id}/{action} admin",
	"GET /v1/admin/accounts read",
	"POST /v1/admin/accounts/{id}/{action} admin",
	"POST /v1/admin/rotate admin",
	"GET /v1/admin/audit read",
	"GET /v1/admin/audit/verify read",
	"GET /v1/admin/audit/collectors read",
	"POST /v1/admin/audit/collectors owner",
	"DELETE /v1/admin/audit/collectors/{id} owner",
	"GET /v1/admin/access read",
	"POST /v1/admin/onboard admin",
	"GET /v1/admin/orgs read",
	"POST /v1/admin/orgs admin",
	"PUT /v1/admin/orgs/{id}/comanagement admin",
	"PUT /v1/admin/comanagement admin",
	"GET /v1/admin/seats read",
	"POST /v1/admin/invites owner",
	"POST /v1/admin/admins/{id}/{action} owner",
	"PUT /v1/admin/admins/{id}/role owner",
	"GET /v1/admin/security-policy read",
	"PUT /v1/admin/security-policy admin",
	"GET /v1/admin/tech-security org-read",
	"POST /v1/admin/tech-security/{id}/pause admin",
	"POST /v1/admin/tech-security/{id}/unlock org",
	"POST /v1/admin/tech-security/{id}/reset org",
	"GET /v1/admin/rekeys org-read",
	"POST /v1/admin/rekeys/{id}/{action} org",
	"GET /v1/admin/tech-imports read",
	"POST /v1/admin/tech-imports admin",
	"GET /v1/admin/tech-imports/template read",
	"GET /v1/admin/tech-reservations org-read",
	"GET /v1/admin/jit org-read",
	"POST /v1/admin/jit/{id}/{action} org",
}

// Principal states of the matrix, in the order of the columns of expected.
var principals = []string{
	"unauthenticated", "unknown-key",
	"pending-tech", "rejected-tech", "active-tech", "disabled-tech", "other-tenant-tech",
	"active-agent", "disabled-agent", "other-tenant-agent",
	"owner", "admin", "other-tenant-owner",
	"pending-admin", "auditor", "comanager",
}

// Outcomes: ok is past authorization (a 2xx, or a 4xx about the body such as 400 or 404, never 401/403 and never a
// 5xx); u is 401 unauthenticated; p is 403 pending (known but not active); f is 403 forbidden (a role too low).
const (
	ok = 0
	u  = 401
	p  = 4031
	f  = 4032
)

// expected is the authorization matrix: access class × principal state.
// The console roles: owner, administrator (admin), auditor, co-managed manager (comanager), and an
// invited admin not yet approved (pending-admin). A co-managed manager past authorization on an "org" route is
// still scoped to its organization by the handler (TestCoManagedManagerScope).
var expected = map[string][16]int{
	//               unauth unknown  pend rej  act  dis  oTech   agent dAgent oAgent  owner admin oOwner pAdmin audit coMgr
	"public":       {ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok},
	"keyed":        {u, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok},
	"scrape":       {u, u, u, u, u, u, u, u, u, u, u, u, u, u, u, u}, // the scrape key alone (TestMetricsNeedScrapeKey)
	"tech":         {u, u, ok, ok, ok, ok, u, u, u, u, u, u, u, u, u, u},
	"active-tech":  {u, u, p, p, ok, p, u, u, u, u, u, u, u, u, u, u},
	"active-agent": {u, u, u, u, u, u, u, ok, p, u, u, u, u, u, u, u},
	"active-any":   {u, u, p, p, ok, p, u, ok, p, u, ok, ok, u, p, ok, ok},
	"admin":        {u, u, u, u, u, u, u, u, u, u, ok, ok, u, p, f, f},
	"owner":        {u, u, u, u, u, u, u, u, u, u, ok, f, u, p, f, f},
	"read":         {u, u, u, u, u, u, u, u, u, u, ok, ok, u, p, ok, f},
	"org":          {u, u, u, u, u, u, u, u, u, u, ok, ok, u, p, f, ok},
	"org-read":     {u, u, u, u, u, u, u, u, u, u, ok, ok, u, p, ok, ok},
}

// matrixPrincipals builds one identity per principal state; nil is the caller without a client certificate.
func matrixPrincipals(t *testing.T, h *hubtest.Harness) map[string]*seal.Identity {
	ctx := testCtx(t)
	ids := map[string]*seal.Identity{"unauthenticated": nil, "unknown-key": h.NewIdentity()}
	ids["pending-tech"] = h.NewTech("pending").Identity
	rejected := h.NewTech("rejected")
	_, err := h.Owner.RejectTech(ctx, rejected.ID)
	noErr(t, err)
	ids["rejected-tech"] = rejected.Identity
	ids["active-tech"] = h.ActiveTech("active").Identity
	disabled := h.ActiveTech("disabled")
	_, err = h.Owner.DisableTech(ctx, disabled.ID)
	noErr(t, err)
	ids["disabled-tech"] = disabled.Identity
	ids["active-agent"] = h.NewAgent("a.local", wire.DriverAD).Identity
	dagent := h.NewAgent("d.local", wire.DriverAD)
	_, err = h.Owner.DisableAgent(ctx, dagent.ID)
	noErr(t, err)
	ids["disabled-agent"] = dagent.Identity
	ids["owner"] = h.OwnerID
	tok, err := h.Owner.CreateClaimToken(ctx, time.Hour)
	noErr(t, err)
	ids["admin"] = h.NewIdentity()
	if resp, err := h.Client(ids["admin"]).Claim(ctx, tok.Token, "Second admin"); err != nil || resp.Admin.Role != wire.RoleAdmin {
		t.Fatalf("claim admin: %+v, %v", resp, err)
	} else {
		_, err = h.Owner.ApproveAdmin(ctx, resp.Admin.ID)
		noErr(t, err)
	}
	_, err = h.Owner.CreateOrg(ctx, "Contoso")
	noErr(t, err)
	ids["pending-admin"] = invitedAdmin(t, h, wire.RoleAdmin, "", false)
	ids["auditor"] = invitedAdmin(t, h, wire.RoleAuditor, "", true)
	ids["comanager"] = invitedAdmin(t, h, wire.RoleCoManager, "Contoso", true)
	// Tenant B on the same hub, with its own active tech, agent and owner: each is a stranger in tenant A.
	b := otherTenant(t, h)
	ids["other-tenant-owner"] = b.ownerID
	ids["other-tenant-tech"] = b.tech
	ids["other-tenant-agent"] = b.agent
	return ids
}

type tenantB struct {
	guid                 string
	owner                *hubclient.Client
	ownerID, tech, agent *seal.Identity
	invite               wire.Invite
}

// otherTenant creates tenant B with an owner, an active tech and an enrolled agent.
func otherTenant(t *testing.T, h *hubtest.Harness) *tenantB {
	ctx := testCtx(t)
	nt, err := h.Hub.CreateTenant(ctx, hub.TenantSpec{Name: "Other", Abbrev: "ot", Recovery: h.Recovery.Public().Recipient().String()})
	noErr(t, err)
	b := &tenantB{guid: nt.GUID, invite: h.Hub.Invite(h.URL, nt.GUID), ownerID: h.NewIdentity(), tech: h.NewIdentity(), agent: h.NewIdentity()}
	client := func(id *seal.Identity) *hubclient.Client {
		c, err := hubclient.New(b.invite, id, hubclient.WithTimeout(10*time.Second))
		noErr(t, err)
		t.Cleanup(c.Close)
		return c
	}
	b.owner = client(b.ownerID)
	_, err = b.owner.Claim(ctx, nt.OwnerToken, "B owner")
	noErr(t, err)
	st, err := client(b.tech).Register(ctx, wire.RegisterRequest{Username: "active", Email: "b@example.com"})
	noErr(t, err)
	_, err = b.owner.ApproveTech(ctx, st.TechID)
	noErr(t, err)
	tok, err := b.owner.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{ApproveOnUse: true}) // tenant B's agent works
	noErr(t, err)
	_, err = client(b.agent).Enroll(ctx, wire.EnrollRequest{Token: tok.Token, Name: "b.local", Driver: wire.DriverAD})
	noErr(t, err)
	return b
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuthorizationMatrix checks every endpoint as every principal state against the declared matrix, then as the
// states of expectedMore, and real objects of other techs, organizations and tenants (objectCases).
func TestAuthorizationMatrix(t *testing.T) {
	h := hubtest.New(t)
	var have []string
	for _, rt := range hub.Routes() {
		have = append(have, rt.Method+" "+rt.Path+" "+rt.Access)
	}
	for _, r := range have {
		if !slices.Contains(declaredRoutes, r) {
			t.Errorf("route %q is served but not declared in the matrix", r)
		}
	}
	for _, r := range declaredRoutes {
		if !slices.Contains(have, r) {
			t.Errorf("route %q is declared but not served as such", r)
		}
	}
	ids := matrixPrincipals(t, h)
	clients := map[string]*raw{}
	for name, id := range ids {
		clients[name] = newRaw(t, h, id)
	}
	for _, rt := range hub.Routes() {
		row, found := expected[rt.Access]
		if !found {
			t.Fatalf("access class %q has no row in the matrix", rt.Access)
		}
		path := concrete(rt.Path)
		for col, name := range principals {
			want := row[col]
			status, e := clients[name].do(rt.Method, path, []byte("{}"))
			authzCases.Add(1)
			if want != ok {
				authzExpectedRefusals.Add(1)
			}
			var got int
			switch {
			case status == 401 && e.Code == wire.CodeUnauthenticated:
				got = u
			case status == 403 && e.Code == wire.CodePending:
				got = p
			case status == 403 && e.Code == wire.CodeForbidden && e.Field != "token":
				got = f
			case status >= 500 || status == 401 || status == 403 && e.Field != "token":
				got = -status // never expected
			default:
				got = ok
			}
			if got != want {
				t.Errorf("%s %s as %s: %d %+v, want %s", rt.Method, rt.Path, name, status, e, outcome(want))
				continue
			}
			if want != ok {
				authzRefused.Add(1)
			}
		}
	}
	// The states these columns lack, and object-level cases, in a hub populated with real objects
	// (authzmore_test.go).
	w := newAuthzWorld(t)
	moreStateCases(t, w)
	runObjectCases(t, w)
	apiIdentityCases(t) // API identities: each role, pending, expired, revoked, wrong source (apiidentity_test.go)
}

func outcome(o int) string {
	return map[int]string{ok: "past authorization", u: "401 unauthenticated", p: "403 pending", f: "403 forbidden"}[o]
}

// refusals returns the request.refused audit events of the harness's tenant.
func refusals(t *testing.T, h *hubtest.Harness) []wire.AuditEvent {
	t.Helper()
	ev, err := h.Owner.Audit(testCtx(t), wire.AuditQuery{Action: "request.refused"})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// refusedAs reports whether an audited refusal names kind and the key.
func refusedAs(ev []wire.AuditEvent, kind, keyID string) bool {
	for _, e := range ev {
		if strings.Contains(e.Detail, "refusal="+kind) && (keyID == "" || strings.Contains(e.Detail, "key="+keyID)) {
			return true
		}
	}
	return false
}

// TestAccessEndsAtOnce: a deactivated tech and a tech whose entitlement was removed lose access with the commit
// that removed it, including through a long poll that was already open, and the agent is told to disable.
func TestAccessEndsAtOnce(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice, bob := h.ActiveTech("alice"), h.ActiveTech("bob")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	// Only the ops group is entitled: the built-in All triplet goes.
	trips, err := h.Owner.Triplets(ctx)
	noErr(t, err)
	ops, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "ops", Members: []int64{alice.ID, bob.ID}})
	noErr(t, err)
	ags, err := h.Owner.AgentGroups(ctx)
	noErr(t, err)
	rights, err := h.Owner.Rights(ctx)
	noErr(t, err)
	_, err = h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: ops.ID, AgentGroupID: ags[0].ID, RightID: rights[0].ID})
	noErr(t, err)
	noErr(t, h.Owner.DeleteTriplet(ctx, trips[0].ID))
	plan, err := agent.Plan(ctx, 0)
	noErr(t, err)
	if len(plan.Accounts) != 2 {
		t.Fatalf("plan: %+v", plan.Accounts)
	}
	for _, a := range plan.Accounts {
		confirm(t, agent, plan, a, "pw-"+a.Username)
	}
	for _, tech := range []*hubtest.Tech{alice, bob} {
		if cr, err := tech.Credentials(ctx); err != nil || len(cr.Credentials) != 1 {
			t.Fatalf("credentials before: %+v, %v", cr, err)
		}
	}

	// Removed entitlement: bob leaves ops. His very next request lists nothing; the agent's plan disables him.
	_, err = h.Owner.EditMembers(ctx, false, ops.ID, nil, []int64{bob.ID})
	noErr(t, err)
	if cr, err := bob.Credentials(ctx); err != nil || len(cr.Credentials) != 0 {
		t.Fatalf("bob after leaving ops: %+v, %v", cr, err)
	}
	plan, err = agent.Plan(ctx, 0)
	noErr(t, err)
	if len(plan.Disable) != 1 || plan.Disable[0].AccountName != "bob-tm" || len(plan.Accounts) != 1 {
		t.Fatalf("plan after bob left: accounts %+v disable %+v", plan.Accounts, plan.Disable)
	}

	// Deactivation while alice holds a long poll open: the poll returns at once and her next request is refused.
	cr, err := alice.Credentials(ctx)
	noErr(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := alice.WaitChanges(ctx, cr.Revision, 20*time.Second)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	_, err = h.Owner.DisableTech(ctx, alice.ID)
	noErr(t, err)
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, hubclient.ErrPending) {
			t.Fatalf("alice's open long poll: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("alice's open long poll was not ended by her deactivation")
	}
	if _, err := alice.Credentials(ctx); !errors.Is(err, hubclient.ErrPending) {
		t.Fatalf("alice after deactivation: %v, want pending", err)
	}
	if err := alice.ReportEvent(ctx, wire.EventRequest{AccountID: cr.Credentials[0].AccountID, Version: 1, Kind: wire.EventReveal}); !errors.Is(err, hubclient.ErrPending) {
		t.Fatalf("alice reports a reveal after deactivation: %v", err)
	}
	plan, err = agent.Plan(ctx, 0)
	noErr(t, err)
	if len(plan.Accounts) != 0 || len(plan.Disable) != 2 {
		t.Fatalf("plan after deactivation: accounts %+v disable %+v", plan.Accounts, plan.Disable)
	}
	t.Logf("access ended %v after the deactivation was sent", time.Since(start))
}

// TestImpersonationAndReplay: a second device claiming a username, a device registering twice, replayed
// single-use tokens, a copied request presented with another key, an envelope moved to another account or agent,
// and an older or newer protocol version are all refused, and each refusal is in the tenant's audit chain.
func TestImpersonationAndReplay(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")

	// A second device claims alice's username.
	impostor := h.NewIdentity()
	_, err := h.Client(impostor).Register(ctx, wire.RegisterRequest{Username: "alice", Email: "alice@example.com"})
	if !isField(err, wire.CodeConflict, "username") {
		t.Fatalf("second device as alice: %v", err)
	}
	// alice's device registers again (under another name): one device, one tech.
	if _, err := alice.Register(ctx, wire.RegisterRequest{Username: "alice2", Email: "alice@example.com"}); !isField(err, wire.CodeConflict, "publicKey") {
		t.Fatalf("alice's device registers twice: %v", err)
	}
	// A replayed enrollment token and a replayed claim token.
	tok, err := h.Owner.CreateEnrollmentToken(ctx, 0)
	noErr(t, err)
	enroll := wire.EnrollRequest{Token: tok.Token, Name: "a.local", Driver: wire.DriverAD}
	_, err = h.Client(h.NewIdentity()).Enroll(ctx, enroll)
	noErr(t, err)
	rogue := h.NewIdentity()
	if _, err := h.Client(rogue).Enroll(ctx, enroll); !isField(err, wire.CodeForbidden, "token") {
		t.Fatalf("replayed enrollment token: %v", err)
	}
	claim, err := h.Owner.CreateClaimToken(ctx, time.Hour)
	noErr(t, err)
	_, err = h.Client(h.NewIdentity()).Claim(ctx, claim.Token, "Second admin")
	noErr(t, err)
	rogueAdmin := h.NewIdentity()
	if _, err := h.Client(rogueAdmin).Claim(ctx, claim.Token, "Rogue"); !isField(err, wire.CodeForbidden, "token") {
		t.Fatalf("replayed claim token: %v", err)
	}
	// A copied request: everything alice sends (tenant header, path, body) but not her key. Under mutual TLS the
	// key is the credential; the copy is a stranger.
	thief := h.NewIdentity()
	if status, e := newRaw(t, h, thief).do("GET", wire.PathTechCredentials, nil); status != 401 || e.Code != wire.CodeUnauthenticated {
		t.Fatalf("copied request with another key: %d %+v", status, e)
	}
	if status, _ := newRaw(t, h, nil).do("GET", wire.PathTechCredentials, nil); status != 401 {
		t.Fatalf("copied request without a key: %d", status)
	}
	// A downgraded (and an unknown newer) protocol version.
	for _, v := range []string{"0", "2", "1.0", "-1"} {
		status, e := doHeader(t, newRaw(t, h, alice.Identity), "GET", wire.PathTechCredentials, nil, wire.HeaderProtocol, v)
		if status != 400 || e.Code != wire.CodeBadRequest || e.Field != wire.HeaderProtocol {
			t.Fatalf("protocol %q: %d %+v", v, status, e)
		}
	}

	ev := refusals(t, h)
	for _, c := range []struct{ kind, key string }{
		{"duplicate-username", impostor.Public().ID()},
		{"duplicate-publicKey", alice.Identity.Public().ID()},
		{"token", rogue.Public().ID()},
		{"token", rogueAdmin.Public().ID()},
		{"unauthenticated", thief.Public().ID()},
		{"protocol", alice.Identity.Public().ID()},
	} {
		if !refusedAs(ev, c.kind, c.key) {
			t.Errorf("refusal %s by key %s not audited; audited: %+v", c.kind, c.key, ev)
		}
	}
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("audit chain after refusals: %+v, %v", v, err)
	}
}

// TestEnvelopeMovedIsUseless: the hub stores envelopes as opaque bytes, so an envelope moved to another account
// must be useless by construction (context binding), and an agent cannot stage onto another agent's account.
func TestEnvelopeMovedIsUseless(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice, bob := h.ActiveTech("alice"), h.ActiveTech("bob")
	a1, a2 := h.NewAgent("one.local", wire.DriverAD), h.NewAgent("two.local", wire.DriverAD)
	p1, err := a1.Plan(ctx, 0)
	noErr(t, err)
	p2, err := a2.Plan(ctx, 0)
	noErr(t, err)
	acct := func(p *wire.Plan, user string) wire.PlanAccount {
		for _, a := range p.Accounts {
			if a.Username == user {
				return a
			}
		}
		t.Fatalf("no account of %s in plan of agent %d", user, p.AgentID)
		return wire.PlanAccount{}
	}
	aliceOn1 := acct(p1, "alice")
	env := hubtest.Seal(t, p1, aliceOn1, 1, "alice-one")

	// Agent two stages agent one's envelope onto agent one's account: not its account, refused and audited.
	if err := a2.Stage(ctx, aliceOn1.AccountID, 1, env); !isField(err, wire.CodeInvalid, "accountId") {
		t.Fatalf("agent two stages on agent one's account: %v", err)
	}
	if !refusedAs(refusals(t, h), "foreign-account", a2.Identity.Public().ID()) {
		t.Fatalf("foreign stage not audited: %+v", refusals(t, h))
	}
	// Agent two stages the copy onto alice's own account on agent two: the hub cannot tell, the TechClient can.
	aliceOn2 := acct(p2, "alice")
	noErr(t, a2.Stage(ctx, aliceOn2.AccountID, 1, env))
	noErr(t, a2.Confirm(ctx, aliceOn2.AccountID, 1))
	// And onto bob's account on agent one: sealed to alice's key, bob cannot open it at all.
	bobOn1 := acct(p1, "bob")
	noErr(t, a1.Stage(ctx, bobOn1.AccountID, 1, env))

	open := func(tech *hubtest.Tech, accountID int64) error {
		cr, err := tech.Credentials(ctx)
		noErr(t, err)
		for _, c := range cr.Credentials {
			if c.AccountID == accountID {
				v := c.Versions[0]
				_, err := seal.Open(v.Envelope, hubclient.SealContext(cr.ClientGUID, c.AgentID, c.AccountName, v.Version), tech.Identity)
				return err
			}
		}
		t.Fatalf("account %d not in the credentials", accountID)
		return nil
	}
	if err := open(alice, aliceOn2.AccountID); !errors.Is(err, seal.ErrWrongContext) {
		t.Fatalf("moved envelope opened on agent two: %v, want wrong context", err)
	}
	if err := open(bob, bobOn1.AccountID); !errors.Is(err, seal.ErrWrongKey) {
		t.Fatalf("alice's envelope on bob's account: %v, want wrong key", err)
	}
	// A version replayed under a higher number is bound to its own version number too.
	noErr(t, a1.Stage(ctx, aliceOn1.AccountID, 2, env))
	if err := open(alice, aliceOn1.AccountID); !errors.Is(err, seal.ErrWrongContext) {
		t.Fatalf("envelope of version 1 replayed as version 2: %v, want wrong context", err)
	}
}

// doHeader sends a request with one extra header.
func doHeader(t *testing.T, r *raw, method, path string, body []byte, key, value string) (int, wire.Error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, r.h.URL+path, bytes.NewReader(body))
	req.Header.Set(wire.HeaderClient, r.guid)
	req.Header.Set(key, value)
	resp, err := r.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var e wire.Error
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s %s: %d with a body that is not a wire error: %q", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, e
}

// TestHostileInput sends oversized, deeply nested, unknown-field, invalid UTF-8, SQL and LDAP-metacharacter input
// to every body-taking endpoint as a principal allowed to call it. Nothing may answer 5xx; names with
// metacharacters are refused or stored literally (read back byte for byte), never interpreted.
func TestHostileInput(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	tech := h.ActiveTech("alice")
	agent := h.NewAgent("a.local", wire.DriverAD)
	as := map[string]*raw{
		"keyed": newRaw(t, h, h.NewIdentity()), "tech": newRaw(t, h, tech.Identity), "active-tech": newRaw(t, h, tech.Identity),
		"active-agent": newRaw(t, h, agent.Identity), "admin": newRaw(t, h, h.OwnerID), "owner": newRaw(t, h, h.OwnerID),
		"org": newRaw(t, h, h.OwnerID),
	}
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	bodies := map[string]string{
		"oversized":     `{"name":"` + strings.Repeat("a", wire.MaxBodyBytes+10) + `"}`,
		"deep array":    deep,
		"deep object":   strings.Repeat(`{"a":`, 20_000) + "1" + strings.Repeat("}", 20_000),
		"unknown field": `{"zzz":1}`,
		"invalid utf8":  "{\"name\":\"\xff\xfe\",\"username\":\"\xc3\x28\",\"reason\":\"\xed\xa0\x80\"}",
		"nul":           "{\"name\":\"a\x00b\"}",
		"not json":      `' OR 1=1; --`,
		"two values":    `{}{}`,
		"huge number":   `{"accountId":1e999,"version":99999999999999999999999}`,
		"negative ids":  `{"accountId":-1,"version":-1,"members":[-1],"techGroupId":-5}`,
		"wrong types":   `{"name":["x"],"members":"all","targets":"*"}`,
	}
	for _, rt := range hub.Routes() {
		if rt.Method != "POST" && rt.Method != "PUT" {
			continue
		}
		for what, body := range bodies {
			status, e := as[rt.Access].do(rt.Method, concrete(rt.Path), []byte(body))
			if status >= 500 || status < 400 {
				t.Errorf("%s %s with %s: %d %+v, want a 4xx", rt.Method, rt.Path, what, status, e)
			}
			if what == "oversized" && status != 413 && !strings.Contains(rt.Path, "{action}") { // actions read no body
				t.Errorf("%s %s oversized: %d %+v, want 413", rt.Method, rt.Path, status, e)
			}
		}
	}

	// Names. A username is a strict charset: metacharacters never reach storage or an LDAP filter.
	for _, name := range []string{"*)(uid=*", "a*", "x'); DROP TABLE techs;--", "admin)(|(objectClass=*", "a\\2a", "é", "a b"} {
		_, err := h.Client(h.NewIdentity()).Register(ctx, wire.RegisterRequest{Username: name, Email: "x@example.com"})
		if !isField(err, wire.CodeInvalid, "username") {
			t.Errorf("username %q: %v, want invalid", name, err)
		}
	}
	// Group and right names are free text: stored and returned literally, and the store still works afterwards.
	for _, name := range []string{"x'); DROP TABLE techs;--", "*)(uid=*)(|(cn=*", `"; DELETE FROM audit; --`, "%_\\"} {
		g, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: name})
		if err != nil {
			if isCode(err, wire.CodeInvalid) {
				continue // refused is fine too
			}
			t.Fatalf("group %q: %v", name, err)
		}
		if g.Name != name {
			t.Errorf("group %q stored as %q", name, g.Name)
		}
		r, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "r " + name, Targets: map[string][]string{wire.DriverAD: {name}}})
		if err != nil && !isCode(err, wire.CodeInvalid) {
			t.Fatalf("right %q: %v", name, err)
		}
		if err == nil && (r.Name != "r "+name || r.Targets[wire.DriverAD][0] != name) {
			t.Errorf("right %q stored as %+v", name, r)
		}
	}
	if _, err := h.Owner.Techs(ctx, "active' OR '1'='1"); !isCode(err, wire.CodeInvalid) {
		t.Errorf("tech status filter with SQL: %v, want invalid", err)
	}
	if techs, err := h.Owner.Techs(ctx, ""); err != nil || len(techs) != 1 {
		t.Fatalf("techs after hostile input: %+v, %v", techs, err)
	}
	if v, err := h.Owner.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("audit chain after hostile input: %+v, %v", v, err)
	}
	// A naming format with LDAP metacharacters cannot produce a name: every driver validates the rendered name.
	pol := wire.DefaultPolicy()
	pol.NamingFormat = "{username}*)(uid=*"
	if _, err := h.Owner.SetPolicy(ctx, pol); err == nil {
		plan, err := agent.Plan(ctx, 0)
		noErr(t, err)
		if len(plan.Accounts) != 0 || len(plan.Problems) == 0 {
			t.Fatalf("metacharacter naming format planned %+v", plan.Accounts)
		}
	} else if !isCode(err, wire.CodeInvalid) {
		t.Fatalf("naming format with metacharacters: %v", err)
	}
	// No hostile body reached the logs: the hub never logs a body.
	if logs := h.Logs.Bytes(); bytes.Contains(logs, []byte("DROP TABLE")) || bytes.Contains(logs, []byte("uid=*")) {
		t.Fatalf("hub logs hold request bodies")
	}
}
