package hub_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// apiIdentity invites an API identity as the harness's owner, claims the invite with a key made here (where the
// script runs) and, if approve, approves it.
func apiIdentity(t *testing.T, h *hubtest.Harness, req wire.InviteRequest, name string, approve bool) (*seal.Identity, *wire.Admin) {
	t.Helper()
	ctx := testCtx(t)
	req.API = true
	tok, err := h.Owner.Invite(ctx, req)
	noErr(t, err)
	id := h.NewIdentity()
	resp, err := h.Client(id).Claim(ctx, tok.Token, name)
	noErr(t, err)
	if !resp.Admin.API || resp.Admin.Status != wire.AdminPending || resp.Admin.Fingerprint == "" {
		t.Fatalf("claimed API identity %s: %+v", name, resp.Admin)
	}
	if approve {
		a, err := h.Owner.ApproveAdmin(ctx, resp.Admin.ID)
		noErr(t, err)
		return id, a
	}
	return id, &resp.Admin
}

// API identities as columns of the authorization matrix: one per role, one pending, one expired, one revoked, one
// calling from outside its sources and one inside them.
var apiStates = []string{"api-owner", "api-admin", "api-auditor", "api-comanager", "api-pending", "api-expired", "api-revoked", "api-wrong-source", "api-loopback"}

var expectedAPI = map[string][9]int{
	//              owner admin audit coMgr pend expired revoked wrongSrc loopback
	"public":       {ok, ok, ok, ok, ok, ok, ok, ok, ok},
	"keyed":        {ok, ok, ok, ok, ok, ok, ok, ok, ok},
	"scrape":       {u, u, u, u, u, u, u, u, u},
	"tech":         {u, u, u, u, u, u, u, u, u},
	"active-tech":  {u, u, u, u, u, u, u, u, u},
	"active-agent": {u, u, u, u, u, u, u, u, u},
	"active-any":   {ok, ok, ok, ok, p, f, u, f, ok},
	"admin":        {ok, ok, f, f, p, f, u, f, ok},
	"owner":        {ok, f, f, f, p, f, u, f, f},
	"read":         {ok, ok, ok, f, p, f, u, f, ok},
	"org":          {ok, ok, f, ok, p, f, u, f, ok},
	"org-read":     {ok, ok, ok, ok, p, f, u, f, ok},
}

// apiIdentityCases runs every route as every API identity state (TestAuthorizationMatrix). The expired and the
// wrong-source identities are owners, so that their refusals come from the expiry and the address alone.
func apiIdentityCases(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	_, err := h.Owner.CreateOrg(ctx, "Contoso")
	noErr(t, err)
	ids := map[string]*seal.Identity{}
	later := h.Clock.Now().Add(48 * time.Hour)
	ids["api-owner"], _ = apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleOwner}, "owner script", true)
	ids["api-admin"], _ = apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleAdmin, APIExpiresAt: later}, "admin script", true)
	ids["api-auditor"], _ = apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleAuditor}, "auditor script", true)
	ids["api-comanager"], _ = apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleCoManager, Organization: "Contoso"}, "contoso script", true)
	ids["api-pending"], _ = apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleAdmin}, "pending script", false)
	ids["api-expired"], _ = apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleOwner, APIExpiresAt: h.Clock.Now().Add(time.Hour)}, "expired script", true)
	var revoked *wire.Admin
	ids["api-revoked"], revoked = apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleOwner}, "revoked script", true)
	_, err = h.Owner.RemoveAdmin(ctx, revoked.ID)
	noErr(t, err)
	ids["api-wrong-source"], _ = apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleOwner, APISources: []string{"192.0.2.0/24", "2001:db8::/32"}}, "elsewhere script", true)
	ids["api-loopback"], _ = apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleAdmin, APISources: []string{"127.0.0.0/8", "::1"}}, "loopback script", true)
	h.Clock.Advance(2 * time.Hour) // past the expired one's expiry, before the admin script's
	raws := map[string]*raw{}
	for name, id := range ids {
		raws[name] = newRaw(t, h, id)
	}
	for _, rt := range hub.Routes() {
		row, found := expectedAPI[rt.Access]
		if !found {
			t.Fatalf("access class %q has no row in expectedAPI", rt.Access)
		}
		path := concrete(rt.Path)
		for col, name := range apiStates {
			want := row[col]
			status, e := raws[name].do(rt.Method, path, []byte("{}"))
			authzCases.Add(1)
			if want != ok {
				authzExpectedRefusals.Add(1)
			}
			got := classify(status, e)
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

// TestAPIIdentity: an owner invites a script's identity with an expiry and sources; the script's key claims it
// and waits for the owner's approval of its fingerprint; its reads are audited under its name, its refusals say
// why, it is refused from outside its sources and once expired, and it never stands for the last owner.
func TestAPIIdentity(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)

	// Invites are checked: sources must parse, an expiry must be ahead, and neither goes without API.
	for _, bad := range []wire.InviteRequest{
		{Role: wire.RoleAuditor, API: true, APISources: []string{"not-a-cidr"}},
		{Role: wire.RoleAuditor, API: true, APIExpiresAt: h.Clock.Now().Add(-time.Minute)},
		{Role: wire.RoleAuditor, APISources: []string{"10.0.0.0/8"}},
	} {
		if _, err := h.Owner.Invite(ctx, bad); !errors.Is(err, hubclient.ErrInvalid) {
			t.Errorf("invite %+v: %v, want invalid", bad, err)
		}
	}
	if _, err := h.Client(invitedAdmin(t, h, wire.RoleAdmin, "", true)).Invite(ctx, wire.InviteRequest{Role: wire.RoleAuditor, API: true}); !errors.Is(err, hubclient.ErrForbidden) {
		t.Errorf("an administrator invites an API identity: %v, want forbidden", err)
	}

	exp := h.Clock.Now().Add(24 * time.Hour).Truncate(time.Second)
	id, pending := apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleAuditor, APIExpiresAt: exp, APISources: []string{"127.0.0.1", "10.1.2.3/8"}}, "rmm-sync", false)
	script := h.Client(id)
	if _, err := script.Techs(ctx, ""); !errors.Is(err, hubclient.ErrPending) {
		t.Fatalf("a pending API identity reads: %v", err)
	}
	a, err := h.Owner.ApproveAdmin(ctx, pending.ID)
	noErr(t, err)
	if !a.API || !a.ExpiresAt.Equal(exp) || strings.Join(a.Sources, " ") != "127.0.0.1/32 10.0.0.0/8" || a.Role != wire.RoleAuditor {
		t.Fatalf("approved API identity: %+v", a)
	}
	if _, err := script.Techs(ctx, ""); err != nil {
		t.Fatalf("the API identity reads: %v", err)
	}
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "api.read"})
	noErr(t, err)
	if len(ev) != 1 || ev[0].ActorID != a.ID || !strings.Contains(ev[0].Detail, `name="rmm-sync"`) || !strings.Contains(ev[0].Detail, wire.PathAdminTechs) {
		t.Fatalf("audited reads: %+v", ev)
	}
	if _, err := script.CreateTechGroup(ctx, wire.GroupRequest{Name: "ops"}); !errors.Is(err, hubclient.ErrForbidden) {
		t.Fatalf("a read-only API identity changes something: %v", err)
	}

	// Expired: refused with its name and the time.
	h.Clock.Advance(25 * time.Hour)
	_, err = script.Techs(ctx, "")
	if !errors.Is(err, hubclient.ErrForbidden) || !strings.Contains(err.Error(), `API identity "rmm-sync" expired at `+exp.UTC().Format(time.RFC3339)) {
		t.Fatalf("an expired API identity reads: %v", err)
	}

	// Outside its sources: refused with the address.
	elsewhere, _ := apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleAdmin, APISources: []string{"192.0.2.0/24"}}, "elsewhere", true)
	_, err = h.Client(elsewhere).Techs(ctx, "")
	if !errors.Is(err, hubclient.ErrForbidden) || !strings.Contains(err.Error(), `API identity "elsewhere" may not call from 127.0.0.1`) {
		t.Fatalf("an API identity from outside its sources: %v", err)
	}

	// An API owner is not a person: the last human owner stays the last owner.
	_, apiOwner := apiIdentity(t, h, wire.InviteRequest{Role: wire.RoleOwner}, "owner script", true)
	admins, err := h.Owner.Admins(ctx)
	noErr(t, err)
	for _, ad := range admins {
		if ad.Role == wire.RoleOwner && !ad.API {
			if _, err := h.Owner.RemoveAdmin(ctx, ad.ID); !errors.Is(err, hubclient.ErrConflict) {
				t.Fatalf("remove the last human owner beside an API owner: %v", err)
			}
		}
	}
	// Revoked: removed like any admin, it is a stranger.
	_, err = h.Owner.RemoveAdmin(ctx, apiOwner.ID)
	noErr(t, err)
}
