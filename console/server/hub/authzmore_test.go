package hub_test

// The authorization matrix's second part (TestAuthorizationMatrix): principal states its first sixteen columns do
// not reach, and object-level cases — a real object of another tech, of another organization's co-managed tech,
// of another tenant — in a hub of their own, populated with real techs, agents, accounts, JIT requests and device
// replacements.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// authzObjectCases counts the object-level cases for the summary line.
var authzObjectCases atomic.Int64

// moreStates are the columns of expectedMore.
var moreStates = []string{
	"locked-tech", "no-session-tech", "jit-tech", "rekey-device", "removed-admin", "demoted-admin", "other-org-comanager",
}

// expectedMore is the matrix for moreStates, by access class:
//   - locked-tech: an active MSP tech locked out after failed passphrase unlocks; still the tech it was, so past
//     authorization on its class; the handlers that hand out or open anything refuse it (sessionGated).
//   - no-session-tech: an active co-managed tech without a two-factor session (never enrolled); likewise.
//   - jit-tech: an active tech whose only grant is just-in-time, with a request waiting and no window open.
//   - rekey-device: the new device of a pending device replacement: nobody until an admin approves it.
//   - removed-admin: an Administrator an owner removed, calling on the connection it opened before.
//   - demoted-admin: an Administrator an owner made an Auditor, calling on the connection it opened before.
//   - other-org-comanager: the Co-managed Manager of another organization (Fabrikam); its scope is the object cases'.
//
// moreOverrides are the routes whose handler refuses a state its class admits: the outcome by state.
var moreOverrides = map[string]map[string]int{
	"GET /v1/tech/credentials":           {"locked-tech": f, "no-session-tech": f},
	"GET /v1/tech/accounts/{id}/history": {"locked-tech": f, "no-session-tech": f},
	"POST /v1/tech/jit":                  {"locked-tech": f, "no-session-tech": f},
	"POST /v1/tech/totp/enroll":          {"locked-tech": f},
	"POST /v1/tech/totp/confirm":         {"locked-tech": f},
	"POST /v1/tech/session":              {"locked-tech": f},
}

var expectedMore = map[string][7]int{
	//               locked noSess jit  rkDev  remAdm demAdm oOrgMgr
	"public":       {ok, ok, ok, ok, ok, ok, ok},
	"keyed":        {ok, ok, ok, ok, ok, ok, ok},
	"scrape":       {u, u, u, u, u, u, u},
	"tech":         {ok, ok, ok, u, u, u, u},
	"active-tech":  {ok, ok, ok, u, u, u, u},
	"active-agent": {u, u, u, u, u, u, u},
	"active-any":   {ok, ok, ok, u, u, ok, ok},
	"admin":        {u, u, u, u, u, f, f},
	"owner":        {u, u, u, u, u, f, f},
	"read":         {u, u, u, u, u, ok, f},
	"org":          {u, u, u, u, u, f, ok},
	"org-read":     {u, u, u, u, u, ok, ok},
}

// authzWorld is tenant A with real objects, and tenant B beside it on the same hub.
type authzWorld struct {
	h        *hubtest.Harness
	raws     map[string]*raw              // by state or actor name
	clients  map[string]*hubclient.Client // the same principals through the typed client
	techs    map[string]int64
	accounts map[string]int64 // by tech name: the tech's account on contoso.local
	agents   map[string]*hubtest.Agent
	rekeyBob int64 // the pending device replacement of bob (Contoso)
	grantJ   int64 // jitt's pending just-in-time request (an MSP tech)
	grantG   int64 // gina's pending just-in-time request (Fabrikam)
	fabrikam int64 // alice's account on fabrikam.local
	b        *tenantB
	bObj     map[string]int64 // tenant B's objects by kind
}

// newAuthzWorld builds tenant A: organizations Contoso and Fabrikam; alice (MSP), bob (Contoso, with a two-factor
// session), fred (Fabrikam) with standing access; jitt (MSP) and gina (Fabrikam, with a session) with
// just-in-time access only, each with a request waiting for approval; lockie (MSP, locked out) and nora (Contoso,
// no session); agents contoso.local and fabrikam.local with a confirmed password for every standing account; a
// pending replacement of bob's device; Co-managed Managers of Contoso and Fabrikam; an Administrator since removed
// and one since made an Auditor, both still connected. Tenant B has its own owner, tech, agent, groups, right,
// triplet, organization and a confirmed account.
func newAuthzWorld(t *testing.T) *authzWorld {
	ctx := testCtx(t)
	h := hubtest.New(t)
	w := &authzWorld{h: h, raws: map[string]*raw{}, clients: map[string]*hubclient.Client{}, techs: map[string]int64{}, accounts: map[string]int64{},
		agents: map[string]*hubtest.Agent{}, bObj: map[string]int64{}}
	for _, org := range []string{"Contoso", "Fabrikam"} {
		_, err := h.Owner.CreateOrg(ctx, org)
		noErr(t, err)
	}
	clients := map[string]*hubtest.Tech{}
	add := func(name string, tc *hubtest.Tech) {
		clients[name], w.techs[name] = tc, tc.ID
		w.raws[name], w.clients[name] = newRaw(t, h, tc.Identity), tc.Client
	}
	add("alice", h.ActiveTech("alice"))
	add("bob", coManagedTech(t, h, "bob", "Contoso"))
	add("fred", coManagedTech(t, h, "fred", "Fabrikam"))
	add("jitt", h.ActiveTech("jitt"))
	add("gina", coManagedTech(t, h, "gina", "Fabrikam"))
	add("lockie", h.ActiveTech("lockie"))
	add("nora", coManagedTech(t, h, "nora", "Contoso"))
	for _, name := range []string{"bob", "gina"} {
		en, err := clients[name].EnrollTOTP(ctx)
		noErr(t, err)
		_, err = clients[name].ConfirmTOTP(ctx, code(t, en.Secret, h.Clock.Now()))
		noErr(t, err)
	}
	pol, err := h.Owner.SecurityPolicy(ctx)
	noErr(t, err)
	for range pol.LockoutAttempts {
		_, err := clients["lockie"].ReportUnlock(ctx, wire.UnlockFailed)
		noErr(t, err)
	}
	if s, err := clients["lockie"].Security(ctx); err != nil || !s.Locked {
		t.Fatalf("lockie not locked out: %+v, %v", s, err)
	}

	// Standing access for the Standing group; the built-in All triplet becomes just-in-time with approval, so
	// jitt and gina (not in Standing) have just-in-time access only.
	standing, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "Standing",
		Members: []int64{w.techs["alice"], w.techs["bob"], w.techs["fred"], w.techs["lockie"], w.techs["nora"]}})
	noErr(t, err)
	jitAll(t, h, 3600, true)
	all := builtinTriplet(t, h.Owner)
	_, err = h.Owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: standing.ID, AgentGroupID: all.AgentGroupID, RightID: all.RightID})
	noErr(t, err)
	for _, name := range []string{"contoso.local", "fabrikam.local"} {
		w.agents[name] = h.NewAgent(name, wire.DriverAD)
		p, err := w.agents[name].Plan(ctx, 0)
		noErr(t, err)
		for _, a := range p.Accounts {
			if a.JIT != nil {
				confirmRecovery(t, w.agents[name], p, a, "recovery-only")
				continue
			}
			confirm(t, w.agents[name], p, a, "standing-"+a.AccountName)
		}
		if name != "contoso.local" {
			w.fabrikam = accountOf(t, p, w.techs["alice"]).AccountID
			continue
		}
		for tname, id := range w.techs {
			w.accounts[tname] = accountOf(t, p, id).AccountID
		}
	}
	for _, name := range []string{"jitt", "gina"} {
		g, err := clients[name].RequestJIT(ctx, wire.JITRequest{AccountID: w.accounts[name], DurationSeconds: 600, Reason: "ticket 42"})
		if err != nil || g.Status != wire.JITPending {
			t.Fatalf("%s's request: %+v, %v", name, g, err)
		}
		if name == "jitt" {
			w.grantJ = g.ID
		} else {
			w.grantG = g.ID
		}
	}

	// bob's replacement device, waiting for approval.
	rk, err := h.Client(h.NewIdentity()).Rekey(ctx, wire.RekeyRequest{Username: "bob", Email: "bob@client.example"})
	noErr(t, err)
	w.rekeyBob = rk.ID
	// alice's replacement device, also waiting: the rekey-device state.
	rkDevice := h.NewIdentity()
	_, err = h.Client(rkDevice).Rekey(ctx, wire.RekeyRequest{Username: "alice", Email: "alice@example.com"})
	noErr(t, err)

	// Admins.
	w.raws["owner"], w.clients["owner"] = newRaw(t, h, h.OwnerID), h.Owner
	for name, org := range map[string]string{"contoso-manager": "Contoso", "other-org-comanager": "Fabrikam"} {
		id := invitedAdmin(t, h, wire.RoleCoManager, org, true)
		w.raws[name], w.clients[name] = newRaw(t, h, id), h.Client(id)
	}
	for _, name := range []string{"removed-admin", "demoted-admin"} {
		id := invitedAdmin(t, h, wire.RoleAdmin, "", true)
		w.raws[name] = newRaw(t, h, id)
		// Connected as an Administrator: an admin-only request gets past authorization on this connection.
		if status, e := w.raws[name].do("POST", wire.PathAdminTechGroups, []byte("{}")); status == 401 || status == 403 {
			t.Fatalf("%s before the change: %d %+v", name, status, e)
		}
		admin := adminByKey(t, h, id)
		if name == "removed-admin" {
			_, err = h.Owner.RemoveAdmin(ctx, admin.ID)
		} else {
			_, err = h.Owner.SetAdminRole(ctx, admin.ID, wire.RoleAuditor, "")
		}
		noErr(t, err)
	}
	w.raws["locked-tech"] = w.raws["lockie"]
	w.raws["no-session-tech"] = w.raws["nora"]
	w.raws["jit-tech"] = w.raws["jitt"]
	w.raws["rekey-device"] = newRaw(t, h, rkDevice)
	for name, ag := range w.agents {
		w.raws[name] = newRaw(t, h, ag.Identity)
	}

	// Tenant B.
	w.b = otherTenant(t, h)
	bt, err := w.b.owner.Techs(ctx, wire.TechActive)
	noErr(t, err)
	w.bObj["tech"] = bt[0].ID
	ba, err := w.b.owner.Agents(ctx)
	noErr(t, err)
	w.bObj["agent"] = ba[0].ID
	bAgent, err := hubclient.New(w.b.invite, w.b.agent, hubclient.WithTimeout(10*time.Second))
	noErr(t, err)
	t.Cleanup(bAgent.Close)
	p, err := bAgent.Plan(ctx, 0)
	noErr(t, err)
	w.bObj["account"] = p.Accounts[0].AccountID
	confirm(t, &hubtest.Agent{Client: bAgent, ID: ba[0].ID, Identity: w.b.agent}, p, p.Accounts[0], "tenant-b-password")
	bAll := builtinTriplet(t, w.b.owner)
	w.bObj["triplet"], w.bObj["techgroup"], w.bObj["agentgroup"], w.bObj["right"] = bAll.ID, bAll.TechGroupID, bAll.AgentGroupID, bAll.RightID
	bOrg, err := w.b.owner.CreateOrg(ctx, "Contoso")
	noErr(t, err)
	w.bObj["org"] = bOrg.ID
	bAdmins, err := w.b.owner.Admins(ctx)
	noErr(t, err)
	w.bObj["admin"] = bAdmins[0].ID
	return w
}

// builtinTriplet returns the tenant's built-in All triplet.
func builtinTriplet(t *testing.T, c *hubclient.Client) wire.Triplet {
	t.Helper()
	trips, err := c.Triplets(testCtx(t))
	noErr(t, err)
	for _, tr := range trips {
		if tr.Builtin {
			return tr
		}
	}
	t.Fatalf("no built-in triplet in %+v", trips)
	return wire.Triplet{}
}

func adminByKey(t *testing.T, h *hubtest.Harness, id *seal.Identity) wire.Admin {
	t.Helper()
	as, err := h.Owner.Admins(testCtx(t))
	noErr(t, err)
	for _, a := range as {
		if a.KeyID == id.Public().ID() {
			return a
		}
	}
	t.Fatalf("no admin with key %s", id.Public().ID())
	return wire.Admin{}
}

// classify maps an answer onto the matrix's outcomes, as the first part does.
func classify(status int, e wire.Error) int {
	switch {
	case status == 401 && e.Code == wire.CodeUnauthenticated:
		return u
	case status == 403 && e.Code == wire.CodePending:
		return p
	case status == 403 && e.Code == wire.CodeForbidden && e.Field != "token":
		return f
	case status >= 500 || status == 401 || status == 403 && e.Field != "token":
		return -status // never expected
	}
	return ok
}

// reused reports whether a request on r reuses a connection opened before, as a client that stays connected does.
func (r *raw) reused(method, path string) bool {
	r.t.Helper()
	var got bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { got = info.Reused },
	})
	req, _ := http.NewRequestWithContext(ctx, method, r.h.URL+path, nil)
	req.Header.Set(wire.HeaderClient, r.guid)
	resp, err := r.c.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return got
}

// moreStateCases runs every route as every state of moreStates, with a non-existent ID and an empty body as the
// first part does.
func moreStateCases(t *testing.T, w *authzWorld) {
	for _, name := range []string{"removed-admin", "demoted-admin"} {
		if !w.raws[name].reused("GET", wire.PathAdminTenant) {
			t.Fatalf("%s: the connection opened before the change was not reused", name)
		}
	}
	for _, rt := range hub.Routes() {
		row, found := expectedMore[rt.Access]
		if !found {
			t.Fatalf("access class %q has no row in expectedMore", rt.Access)
		}
		path := concrete(rt.Path)
		for col, name := range moreStates {
			want := row[col]
			if o, found := moreOverrides[rt.Method+" "+rt.Path][name]; found {
				want = o
			}
			status, e := w.raws[name].do(rt.Method, path, []byte("{}"))
			authzCases.Add(1)
			if want != ok {
				authzExpectedRefusals.Add(1)
			}
			got := classify(status, e)
			// The handlers' refusals name why: the lockout, or the missing two-factor session.
			if why := gateField[name]; got == f && why != "" && e.Field != why {
				got = -status
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
}

// gateField is the field of the handlers' refusal of a locked-out tech and of a tech without a session.
var gateField = map[string]string{"locked-tech": wire.FieldLocked, "no-session-tech": wire.FieldTOTP}

// objCase is one object-level case: who calls, on what, and the exact status the hub must answer.
type objCase struct {
	who, method, path, body string
	want                    int
	what                    string
}

// objectCases are calls on real objects: another tech's, another organization's co-managed tech's, another
// agent's and another tenant's. Each refusal names no object the caller may not see (404 where the object is
// hidden, 400 where a body field names it, 403 where the caller may see it but not use it); the allowed cases
// beside them show that the refusals are about the object, not the call.
func objectCases(w *authzWorld) []objCase {
	tk, ac, b := w.techs, w.accounts, w.bObj
	hist := func(acc int64) string { return fmt.Sprintf("/v1/tech/accounts/%d/history", acc) }
	ev := func(acc int64) string { return fmt.Sprintf(`{"kind":"reveal","accountId":%d,"version":1}`, acc) }
	jit := func(acc int64) string {
		return fmt.Sprintf(`{"accountId":%d,"durationSeconds":300,"reason":"ticket 7"}`, acc)
	}
	stage := func(acc int64) string { return fmt.Sprintf(`{"accountId":%d,"version":9,"envelope":"AAAA"}`, acc) }
	conf := func(acc int64) string { return fmt.Sprintf(`{"accountId":%d,"version":1}`, acc) }
	id := func(path string, v int64, rest string) string { return fmt.Sprintf("%s/%d%s", path, v, rest) }
	return []objCase{
		// A tech on other techs' accounts and requests.
		{"alice", "GET", hist(ac["alice"]), "", 200, "own history"},
		{"alice", "GET", hist(ac["bob"]), "", 404, "another tech's account"},
		{"alice", "GET", hist(ac["fred"]), "", 404, "another organization's co-managed tech's account"},
		{"alice", "GET", hist(ac["jitt"]), "", 404, "another tech's just-in-time account"},
		{"alice", "GET", hist(b["account"]), "", 404, "another tenant's account"},
		{"bob", "GET", hist(ac["bob"]), "", 200, "own history (co-managed, with a session)"},
		{"bob", "GET", hist(ac["nora"]), "", 404, "a tech of the same organization"},
		{"alice", "POST", wire.PathTechEvents, ev(ac["alice"]), 200, "own reveal reported"},
		{"alice", "POST", wire.PathTechEvents, ev(ac["bob"]), 400, "a reveal of another tech's account"},
		{"alice", "POST", wire.PathTechEvents, ev(b["account"]), 400, "a reveal of another tenant's account"},
		{"alice", "POST", wire.PathTechJIT, jit(ac["jitt"]), 404, "a window on another tech's account"},
		{"gina", "POST", wire.PathTechJIT, jit(ac["fred"]), 404, "a window on another tech's account of the same organization"},
		{"alice", "POST", wire.PathTechJIT, jit(b["account"]), 404, "a window on another tenant's account"},
		{"alice", "POST", wire.TechJITPath(w.grantJ, wire.ActionJITDone), "", 404, "ending another tech's request"},
		{"gina", "POST", wire.TechJITPath(w.grantJ, wire.ActionJITDone), "", 404, "ending another tech's request (co-managed)"},
		// The just-in-time tech outside its window: its own account's history is refused.
		{"jit-tech", "GET", hist(ac["jitt"]), "", 403, "own just-in-time account outside its window"},
		// The locked-out tech and the tech without a session on their own accounts.
		{"locked-tech", "GET", hist(ac["lockie"]), "", 403, "own history, locked out"},
		{"no-session-tech", "GET", hist(ac["nora"]), "", 403, "own history, no two-factor session"},

		// An agent on another agent's and another tenant's accounts.
		{"contoso.local", "POST", wire.PathAgentStage, stage(ac["alice"]), 400, "stage on own account, a stale version"},
		{"contoso.local", "POST", wire.PathAgentStage, stage(w.fabrikamAccount()), 400, "stage on another agent's account"},
		{"contoso.local", "POST", wire.PathAgentConfirm, conf(w.fabrikamAccount()), 400, "confirm on another agent's account"},
		{"contoso.local", "POST", wire.PathAgentFail, fmt.Sprintf(`{"accountId":%d,"version":1,"reason":"x"}`, w.fabrikamAccount()), 400, "fail on another agent's account"},
		{"contoso.local", "POST", wire.PathAgentAccounts, fmt.Sprintf(`{"accounts":[{"accountId":%d,"state":"disabled"}]}`, w.fabrikamAccount()), 400, "report on another agent's account"},
		{"contoso.local", "POST", wire.PathAgentStage, stage(b["account"]), 400, "stage on another tenant's account"},
		{"contoso.local", "POST", wire.PathAgentConfirm, conf(b["account"]), 400, "confirm on another tenant's account"},

		// The owner on another tenant's objects.
		{"owner", "POST", id(wire.PathAdminTechs, b["tech"], "/disable"), "", 404, "another tenant's tech"},
		{"owner", "PUT", id(wire.PathAdminTechGroups, b["techgroup"], ""), `{"name":"x"}`, 404, "another tenant's tech group"},
		{"owner", "DELETE", id(wire.PathAdminTechGroups, b["techgroup"], ""), "", 404, "another tenant's tech group"},
		{"owner", "POST", id(wire.PathAdminTechGroups, b["techgroup"], "/members"), fmt.Sprintf(`{"add":[%d]}`, tk["alice"]), 404, "another tenant's tech group"},
		{"owner", "PUT", id(wire.PathAdminAgentGroups, b["agentgroup"], ""), `{"name":"x"}`, 404, "another tenant's agent group"},
		{"owner", "DELETE", id(wire.PathAdminAgentGroups, b["agentgroup"], ""), "", 404, "another tenant's agent group"},
		{"owner", "PUT", id(wire.PathAdminRights, b["right"], ""), `{"name":"x","targets":{"ad":["Domain Admins"]}}`, 404, "another tenant's right"},
		{"owner", "DELETE", id(wire.PathAdminRights, b["right"], ""), "", 404, "another tenant's right"},
		{"owner", "PUT", id(wire.PathAdminTriplets, b["triplet"], ""), `{"mode":"jit","maxDurationSeconds":600}`, 404, "another tenant's triplet"},
		{"owner", "DELETE", id(wire.PathAdminTriplets, b["triplet"], ""), "", 404, "another tenant's triplet"},
		{"owner", "POST", id(wire.PathAdminAgents, b["agent"], "/disable"), "", 404, "another tenant's agent"},
		{"owner", "POST", id(wire.PathAdminAccounts, b["account"], "/retry"), "", 404, "another tenant's account"},
		{"owner", "GET", fmt.Sprintf("%s?tech=%d", wire.PathAdminAccess, b["tech"]), "", 400, "another tenant's tech's access"},
		{"owner", "POST", id(wire.PathAdminAdmins, b["admin"], "/remove"), "", 404, "another tenant's owner"},
		{"owner", "PUT", id(wire.PathAdminAdmins, b["admin"], "/role"), `{"role":"auditor"}`, 404, "another tenant's owner"},
		{"owner", "POST", id(wire.PathAdminTechSecurity, b["tech"], "/pause"), `{"for":"24h"}`, 404, "another tenant's tech's two-factor"},
		{"owner", "POST", id(wire.PathAdminTechSecurity, b["tech"], "/unlock"), "{}", 404, "another tenant's tech's lockout"},
		{"owner", "POST", id(wire.PathAdminTechSecurity, b["tech"], "/reset"), "{}", 404, "another tenant's tech's authenticator"},
		{"owner", "PUT", id(wire.PathAdminOrgs, b["org"], "/comanagement"), `{"enabled":false}`, 404, "another tenant's organization"},
		{"owner", "POST", wire.PathAdminTechGroups, fmt.Sprintf(`{"name":"Mixed","members":[%d]}`, b["tech"]), 400, "another tenant's tech as a member"},
		{"owner", "POST", wire.PathAdminTriplets, fmt.Sprintf(`{"techGroupId":%d,"agentGroupId":%d,"rightId":%d}`, b["techgroup"], b["agentgroup"], b["right"]), 400, "another tenant's groups and right"},

		// A Co-managed Manager on another organization's and the MSP's techs.
		{"contoso-manager", "POST", id(wire.PathAdminTechSecurity, tk["bob"], "/unlock"), "{}", 409, "own organization's tech (not locked)"},
		{"contoso-manager", "POST", id(wire.PathAdminTechs, tk["fred"], "/disable"), "", 404, "another organization's tech"},
		{"contoso-manager", "POST", id(wire.PathAdminTechs, tk["alice"], "/disable"), "", 404, "an MSP tech"},
		{"contoso-manager", "POST", id(wire.PathAdminTechSecurity, tk["fred"], "/unlock"), "{}", 404, "another organization's tech's lockout"},
		{"contoso-manager", "POST", id(wire.PathAdminTechSecurity, tk["lockie"], "/unlock"), "{}", 404, "a locked MSP tech"},
		{"contoso-manager", "POST", id(wire.PathAdminTechSecurity, tk["gina"], "/reset"), "{}", 404, "another organization's tech's authenticator"},
		{"contoso-manager", "POST", id(wire.PathAdminTechSecurity, b["tech"], "/reset"), "{}", 404, "another tenant's tech's authenticator"},
		{"contoso-manager", "POST", id(wire.PathAdminJIT, w.grantG, "/approve"), "{}", 404, "another organization's request"},
		{"contoso-manager", "POST", id(wire.PathAdminJIT, w.grantJ, "/approve"), "{}", 404, "an MSP tech's request"},
		{"other-org-comanager", "POST", id(wire.PathAdminTechs, tk["bob"], "/disable"), "", 404, "another organization's tech"},
		{"other-org-comanager", "POST", id(wire.PathAdminTechSecurity, tk["nora"], "/reset"), "{}", 404, "another organization's tech's authenticator"},
		{"other-org-comanager", "POST", id(wire.PathAdminRekeys, w.rekeyBob, "/approve"), "", 404, "another organization's device replacement"},
		{"other-org-comanager", "POST", id(wire.PathAdminJIT, w.grantJ, "/end"), "{}", 404, "ending an MSP tech's request"},

		// Admins whose access changed while connected, on real objects.
		{"demoted-admin", "POST", id(wire.PathAdminTechs, tk["alice"], "/disable"), "", 403, "made an Auditor"},
		{"demoted-admin", "POST", id(wire.PathAdminTechSecurity, tk["lockie"], "/unlock"), "{}", 403, "made an Auditor"},
		{"removed-admin", "POST", id(wire.PathAdminTechs, tk["alice"], "/disable"), "", 401, "removed"},
		{"removed-admin", "GET", fmt.Sprintf("%s?tech=%d", wire.PathAdminAccounts, tk["alice"]), "", 401, "removed"},
	}
}

// fabrikamAccount is alice's account on fabrikam.local: another agent's, for contoso.local.
func (w *authzWorld) fabrikamAccount() int64 { return w.fabrikam }

// objectCase counts one object-level case; refused says whether it expected a refusal, and failed whether it
// went otherwise.
func objectCase(refused, failed bool) {
	authzCases.Add(1)
	authzObjectCases.Add(1)
	if refused {
		authzExpectedRefusals.Add(1)
		if !failed {
			authzRefused.Add(1)
		}
	}
}

// runObjectCases runs objectCases, then checks what the callers may list, what an admin's held request answers
// once its access changed, and that no refused case changed anything; the allowed actions come last.
func runObjectCases(t *testing.T, w *authzWorld) {
	ctx := testCtx(t)
	bEvents := auditLen(t, w.b.owner)
	for _, c := range objectCases(w) {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		status, e := w.raws[c.who].do(c.method, c.path, body)
		failed := status != c.want
		objectCase(c.want >= 400, failed)
		if failed {
			t.Errorf("%s %s as %s (%s): %d %+v, want %d", c.method, c.path, c.who, c.what, status, e, c.want)
		}
	}

	// What each caller may list: its own objects and its organization's, nothing else.
	ids := func(name string, list func(*hubclient.Client) ([]int64, error)) []int64 {
		got, err := list(w.clients[name])
		noErr(t, err)
		slices.Sort(got)
		return got
	}
	sorted := func(v ...int64) []int64 { slices.Sort(v); return v }
	techs := func(c *hubclient.Client) ([]int64, error) {
		ts, err := c.Techs(ctx, "")
		return mapIDs(ts, func(x wire.Tech) int64 { return x.ID }), err
	}
	securities := func(c *hubclient.Client) ([]int64, error) {
		ts, err := c.TechSecurities(ctx)
		return mapIDs(ts, func(x wire.TechSecurity) int64 { return x.TechID }), err
	}
	rekeys := func(c *hubclient.Client) ([]int64, error) {
		rs, err := c.Rekeys(ctx, wire.RekeyPending)
		return mapIDs(rs, func(x wire.Rekey) int64 { return x.ID }), err
	}
	grants := func(c *hubclient.Client) ([]int64, error) {
		gs, err := c.ListJITRequests(ctx, wire.JITPending)
		return mapIDs(gs, func(x wire.JITGrant) int64 { return x.ID }), err
	}
	accounts := func(c *hubclient.Client) ([]int64, error) {
		cr, err := c.Credentials(ctx)
		if err != nil {
			return nil, err
		}
		return mapIDs(cr.Credentials, func(x wire.Credential) int64 { return x.AccountID }), nil
	}
	tk := w.techs
	for _, c := range []struct {
		who, what string
		list      func(*hubclient.Client) ([]int64, error)
		want      []int64
	}{
		{"contoso-manager", "techs", techs, sorted(tk["bob"], tk["nora"])},
		{"other-org-comanager", "techs", techs, sorted(tk["fred"], tk["gina"])},
		{"contoso-manager", "two-factor states", securities, sorted(tk["bob"], tk["nora"])},
		{"other-org-comanager", "two-factor states", securities, sorted(tk["fred"], tk["gina"])},
		{"contoso-manager", "device replacements", rekeys, []int64{w.rekeyBob}},
		{"other-org-comanager", "device replacements", rekeys, nil},
		{"contoso-manager", "just-in-time requests", grants, nil},
		{"other-org-comanager", "just-in-time requests", grants, []int64{w.grantG}},
		{"alice", "credentials", accounts, sorted(w.accounts["alice"], w.fabrikam)},
	} {
		got := ids(c.who, c.list)
		failed := !slices.Equal(got, c.want)
		objectCase(true, failed) // every other object is withheld
		if failed {
			t.Errorf("%s lists %s %v, want %v", c.who, c.what, got, c.want)
		}
	}
	// The owner asking for another tenant's tech's accounts, or rotating its account, reaches nothing.
	accs, err := w.clients["owner"].Accounts(ctx, w.bObj["tech"], 0)
	objectCase(true, err != nil || len(accs) != 0)
	if err != nil || len(accs) != 0 {
		t.Errorf("owner lists another tenant's tech's accounts: %+v, %v", accs, err)
	}
	// The just-in-time tech outside its window: its accounts are listed, with no password to open.
	cr, err := w.clients["jitt"].Credentials(ctx)
	closed := err == nil && len(cr.Credentials) == 2 && !slices.ContainsFunc(cr.Credentials, func(c wire.Credential) bool {
		return !c.JIT || len(c.Versions) != 0
	})
	objectCase(true, !closed)
	if !closed {
		t.Errorf("just-in-time tech outside its window: %+v, %v", cr, err)
	}

	heldRequests(t, w)

	// Nothing a refused case aimed at changed.
	for name, want := range map[string]wire.TechStatus{"fred": wire.TechActive, "alice": wire.TechActive, "bob": wire.TechActive} {
		st, err := w.clients[name].Status(ctx)
		if err != nil || st.Status != want {
			t.Errorf("%s after the refused cases: %+v, %v", name, st, err)
		}
	}
	if got := ids("owner", grants); !slices.Equal(got, sorted(w.grantJ, w.grantG)) {
		t.Errorf("pending requests after the refused cases: %v", got)
	}
	if got := ids("owner", rekeys); !slices.Contains(got, w.rekeyBob) {
		t.Errorf("pending device replacements after the refused cases: %v", got)
	}
	if s, err := w.clients["lockie"].Security(ctx); err != nil || !s.Locked {
		t.Errorf("lockie after the refused unlocks: %+v, %v", s, err)
	}
	if bt, err := w.b.owner.Techs(ctx, wire.TechActive); err != nil || len(bt) != 1 {
		t.Errorf("tenant B's techs after the refused cases: %+v, %v", bt, err)
	}
	if n := auditLen(t, w.b.owner); n != bEvents {
		t.Errorf("tenant B's audit log went from %d to %d events", bEvents, n)
	}

	// The allowed actions beside the refused ones, last since they change what the cases above relied on.
	for _, c := range []objCase{
		{"jitt", "POST", wire.TechJITPath(w.grantJ, wire.ActionJITDone), "", 200, "withdrawing own request"},
		{"contoso-manager", "POST", fmt.Sprintf("%s/%d/reject", wire.PathAdminRekeys, w.rekeyBob), "", 200, "own organization's device replacement"},
		{"other-org-comanager", "POST", fmt.Sprintf("%s/%d/refuse", wire.PathAdminJIT, w.grantG), "{}", 200, "own organization's request"},
	} {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		status, e := w.raws[c.who].do(c.method, c.path, body)
		objectCase(false, status != c.want)
		if status != c.want {
			t.Errorf("%s %s as %s (%s): %d %+v, want %d", c.method, c.path, c.who, c.what, status, e, c.want)
		}
	}
}

// heldRequests: an admin's request held open (the Console's wait for just-in-time requests) answers with the
// access the admin has when it answers, not when it was made: an Administrator removed meanwhile is a stranger,
// one made the Co-managed Manager of Fabrikam sees Fabrikam's requests only.
func heldRequests(t *testing.T, w *authzWorld) {
	ctx := testCtx(t)
	h := w.h
	const wait = 2 * time.Second
	for _, c := range []struct {
		what   string
		change func(admin int64) error
		want   []int64
		code   string // the refusal expected instead of a list
	}{
		{"removed", func(a int64) error { _, err := h.Owner.RemoveAdmin(ctx, a); return err }, nil, wire.CodeUnauthenticated},
		{"made Fabrikam's manager", func(a int64) error {
			_, err := h.Owner.SetAdminRole(ctx, a, wire.RoleCoManager, "Fabrikam")
			return err
		}, []int64{w.grantG}, ""},
	} {
		for attempt := 1; ; attempt++ {
			id := invitedAdmin(t, h, wire.RoleAdmin, "", true)
			cl := h.Client(id)
			first, err := cl.WaitJITRequests(ctx, wire.JITPending, 0, 0)
			noErr(t, err)
			if len(first.Grants) != 2 {
				t.Fatalf("an Administrator sees %d pending requests, want 2", len(first.Grants))
			}
			type answer struct {
				resp *wire.JITGrantsResponse
				err  error
			}
			ch := make(chan answer, 1)
			start := time.Now()
			go func() {
				resp, err := cl.WaitJITRequests(ctx, wire.JITPending, first.Revision, wait)
				ch <- answer{resp, err}
			}()
			time.Sleep(wait / 4) // the request reaches the hub and is held: nothing changes the revision
			noErr(t, c.change(adminByKey(t, h, id).ID))
			a := <-ch
			// A request that reached the hub after the change is answered at once when refused: only one held
			// for the whole wait tests anything. Retry a slow start.
			if c.code != "" && time.Since(start) < wait && attempt < 3 {
				continue
			}
			var got []int64
			if a.resp != nil {
				got = mapIDs(a.resp.Grants, func(x wire.JITGrant) int64 { return x.ID })
				slices.Sort(got)
			}
			failed := a.err != nil || !slices.Equal(got, c.want)
			if c.code != "" {
				failed = !isCode(a.err, c.code)
			}
			objectCase(true, failed)
			if failed {
				t.Errorf("held request of an Administrator %s meanwhile: grants %v, %v; want %v %s", c.what, got, a.err, c.want, c.code)
			}
			break
		}
	}
}

func mapIDs[T any](xs []T, id func(T) int64) []int64 {
	out := make([]int64, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func auditLen(t *testing.T, c *hubclient.Client) int {
	t.Helper()
	ev, err := c.Audit(testCtx(t), wire.AuditQuery{Limit: 1000})
	noErr(t, err)
	return len(ev)
}
