package hub_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// raw sends requests as an identity (nil: no client certificate) to the harness's hub.
type raw struct {
	t    *testing.T
	h    *hubtest.Harness
	c    *http.Client
	guid string
}

func newRaw(t *testing.T, h *hubtest.Harness, id *seal.Identity) *raw {
	cfg := &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: seal.VerifyPeerKeyID(h.Hub.Pin())}
	if id != nil {
		cert, err := id.TLSCertificate()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	return &raw{t: t, h: h, c: c, guid: h.GUID}
}

func (r *raw) do(method, path string, body []byte) (int, wire.Error) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, r.h.URL+path, rd)
	req.Header.Set(wire.HeaderClient, r.guid)
	resp, err := r.c.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var e wire.Error
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &e); err != nil {
			r.t.Fatalf("%s %s: %d with a body that is not a wire error: %q", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, e
}

// concrete fills a route pattern's wildcards.
func concrete(path string) string {
	path = strings.ReplaceAll(path, "{id}", "999999")
	if strings.HasPrefix(path, wire.PathAdminTechs) {
		return strings.ReplaceAll(path, "{action}", wire.ActionApprove)
	}
	return strings.ReplaceAll(path, "{action}", wire.ActionDisable)
}

// TestAccessMatrix calls every endpoint of the table as every kind and state of principal and checks who gets
// past authentication: pending, rejected and disabled principals get nothing but their own status, and a
// principal of another tenant is unknown here.
func TestAccessMatrix(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	ids := map[string]*seal.Identity{}
	ids["no-cert"] = nil
	ids["unknown-key"] = h.NewIdentity()
	ids["pending-tech"] = h.NewTech("pending").Identity
	rejected := h.NewTech("rejected")
	if _, err := h.Owner.RejectTech(ctx, rejected.ID); err != nil {
		t.Fatal(err)
	}
	ids["rejected-tech"] = rejected.Identity
	disabled := h.ActiveTech("disabled")
	if _, err := h.Owner.DisableTech(ctx, disabled.ID); err != nil {
		t.Fatal(err)
	}
	ids["disabled-tech"] = disabled.Identity
	ids["active-tech"] = h.ActiveTech("active").Identity
	ids["active-agent"] = h.NewAgent("a.local", wire.DriverAD).Identity
	dagent := h.NewAgent("d.local", wire.DriverAD)
	if _, err := h.Owner.DisableAgent(ctx, dagent.ID); err != nil {
		t.Fatal(err)
	}
	ids["disabled-agent"] = dagent.Identity
	ids["owner"] = h.OwnerID
	tok, err := h.Owner.CreateClaimToken(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ids["admin"] = h.NewIdentity()
	if resp, err := h.Client(ids["admin"]).Claim(ctx, tok.Token, "Second admin"); err != nil || resp.Admin.Role != wire.RoleAdmin {
		t.Fatalf("claim admin: %+v, %v", resp, err)
	} else if _, err := h.Owner.ApproveAdmin(ctx, resp.Admin.ID); err != nil {
		t.Fatal(err)
	}
	// The owner of another tenant on the same hub.
	nt, err := h.Hub.CreateTenant(ctx, hub.TenantSpec{Name: "Other", Abbrev: "ot", Recovery: h.Recovery.Public().Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	ids["other-tenant-owner"] = h.NewIdentity()
	if _, err := h.Hub.AddAdmin(ctx, nt.GUID, ids["other-tenant-owner"].Public(), "Other owner", wire.RoleOwner); err != nil {
		t.Fatal(err)
	}

	allowed := map[string][]string{
		"public":       {"no-cert", "unknown-key", "pending-tech", "rejected-tech", "disabled-tech", "active-tech", "active-agent", "disabled-agent", "owner", "admin", "other-tenant-owner"},
		"keyed":        {"unknown-key", "pending-tech", "rejected-tech", "disabled-tech", "active-tech", "active-agent", "disabled-agent", "owner", "admin", "other-tenant-owner"},
		"tech":         {"pending-tech", "rejected-tech", "disabled-tech", "active-tech"},
		"active-tech":  {"active-tech"},
		"active-agent": {"active-agent"},
		"active-any":   {"active-tech", "active-agent", "owner", "admin"},
		"admin":        {"owner", "admin"},
		"owner":        {"owner"},
		"read":         {"owner", "admin"},
		"org":          {"owner", "admin"},
		"org-read":     {"owner", "admin"},
	}
	// Who is known but refused (403) rather than unknown (401).
	refused := map[string][]string{
		"active-tech":  {"pending-tech", "rejected-tech", "disabled-tech"},
		"active-agent": {"disabled-agent"},
		"active-any":   {"pending-tech", "rejected-tech", "disabled-tech", "disabled-agent"},
		"owner":        {"admin"},
	}
	clients := map[string]*raw{}
	for name, id := range ids {
		clients[name] = newRaw(t, h, id)
	}
	for _, rt := range hub.Routes() {
		path := concrete(rt.Path)
		for name, c := range clients {
			status, e := c.do(rt.Method, path, []byte("{}"))
			ok := contains(allowed[rt.Access], name)
			switch {
			case ok && (status == 401 || status == 403 && e.Code != wire.CodeForbidden || status == 403 && e.Field != "token" && rt.Access == "keyed"):
				t.Errorf("%s %s as %s: %d %+v, want past authentication", rt.Method, rt.Path, name, status, e)
			case !ok && contains(refused[rt.Access], name) && status != 403:
				t.Errorf("%s %s as %s: %d %+v, want 403", rt.Method, rt.Path, name, status, e)
			case !ok && !contains(refused[rt.Access], name) && status != 401:
				t.Errorf("%s %s as %s: %d %+v, want 401", rt.Method, rt.Path, name, status, e)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestTenantIsolation checks that nothing of tenant A is reachable from tenant B, by GUID or by ID.
func TestTenantIsolation(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agentA := h.NewAgent("a.local", wire.DriverAD)
	if _, err := agentA.Plan(ctx, 0); err != nil {
		t.Fatal(err)
	}
	nt, err := h.Hub.CreateTenant(ctx, hub.TenantSpec{Name: "Tenant B", Abbrev: "tb", Recovery: h.Recovery.Public().Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	bOwnerID := h.NewIdentity()
	bInvite := h.Hub.Invite(h.URL, nt.GUID)
	bOwner, _ := hubclient.New(bInvite, bOwnerID)
	if _, err := bOwner.Claim(ctx, nt.OwnerToken, "B owner"); err != nil {
		t.Fatal(err)
	}
	// A's tech asking about tenant B is unknown there.
	aliceAtB, _ := hubclient.New(bInvite, alice.Identity)
	if _, err := aliceAtB.Status(ctx); !isCode(err, wire.CodeUnauthenticated) {
		t.Fatalf("A's tech at B: %v", err)
	}
	// B's owner sees none of A's techs, agents or accounts and cannot act on A's IDs.
	if techs, err := bOwner.Techs(ctx, ""); err != nil || len(techs) != 0 {
		t.Fatalf("B sees techs %+v, %v", techs, err)
	}
	if agents, err := bOwner.Agents(ctx); err != nil || len(agents) != 0 {
		t.Fatalf("B sees agents %+v, %v", agents, err)
	}
	if _, err := bOwner.DisableTech(ctx, alice.ID); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("B disables A's tech: %v", err)
	}
	if _, err := bOwner.DisableAgent(ctx, agentA.ID); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("B disables A's agent: %v", err)
	}
	if accs, err := bOwner.Accounts(ctx, alice.ID, 0); err != nil || len(accs) != 0 {
		t.Fatalf("B lists A's accounts: %+v, %v", accs, err)
	}
	if n, err := bOwner.RotateNow(ctx, wire.RotateRequest{TechID: alice.ID}); err != nil || n != 0 {
		t.Fatalf("B rotates A's accounts: %d, %v", n, err)
	}
	aGroups, _ := h.Owner.TechGroups(ctx)
	if _, err := bOwner.EditMembers(ctx, false, aGroups[0].ID, []int64{alice.ID}, nil); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("B edits A's group: %v", err)
	}
	bGroups, _ := bOwner.AgentGroups(ctx)
	if _, err := bOwner.EditMembers(ctx, true, bGroups[0].ID, []int64{agentA.ID}, nil); !isCode(err, wire.CodeInvalid) {
		t.Fatalf("B adds A's agent to its group: %v", err)
	}
	if _, err := bOwner.Access(ctx, alice.ID, 0); !isCode(err, wire.CodeInvalid) {
		t.Fatalf("B reads A's access: %v", err)
	}
	// B's audit log holds B's events only, numbered from 1: nothing of A's activity shows, only the refusal of
	// A's tech knocking at B.
	if ev, err := bOwner.Audit(ctx, wire.AuditQuery{}); err != nil || len(ev) != 4 || ev[0].Seq != 1 ||
		ev[2].Action != "request.refused" || !strings.Contains(ev[2].Detail, alice.Identity.Public().ID()) || ev[3].Action != "rotate.now" {
		t.Fatalf("B's audit log: %+v, %v", ev, err)
	}
}

func isCode(err error, code string) bool {
	e, ok := wire.AsError(err)
	return ok && e.Code == code
}
