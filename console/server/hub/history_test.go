package hub_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// afterUseSetup is a tenant with one tech, one AD agent and a confirmed first version of the tech's account there.
func afterUseSetup(t *testing.T, h *hubtest.Harness) (*hubtest.Tech, *hubtest.Agent, wire.PlanAccount, int64) {
	t.Helper()
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, err := agent.Plan(testCtx(t), 0)
	if err != nil || len(plan.Accounts) != 1 {
		t.Fatalf("plan: %v %+v", err, plan)
	}
	v := confirm(t, agent, plan, plan.Accounts[0], "pw-1")
	return alice, agent, plan.Accounts[0], v
}

func planAccount(t *testing.T, agent *hubtest.Agent) wire.PlanAccount {
	t.Helper()
	plan, err := agent.Plan(testCtx(t), 0)
	if err != nil || len(plan.Accounts) != 1 {
		t.Fatalf("plan: %v %+v", err, plan)
	}
	return plan.Accounts[0]
}

// TestRotateAfterUseDefault: a new tenant rotates 8 hours after a use; the account is not due a second before and
// is due a second after, and the tech's credential list says when.
func TestRotateAfterUseDefault(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	tenant, err := h.Owner.Tenant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := tenant.Policy.RotateAfterUseSeconds; got != 8*3600 {
		t.Fatalf("default rotateAfterUseSeconds = %d, want 28800", got)
	}
	alice, agent, acc, v := afterUseSetup(t, h)
	creds, err := alice.Credentials(ctx)
	if err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("credentials: %v %+v", err, creds)
	}
	if !creds.Credentials[0].RotatesAfterUseAt.IsZero() {
		t.Fatalf("rotatesAfterUseAt before any use: %v", creds.Credentials[0].RotatesAfterUseAt)
	}
	used := h.Clock.Now()
	if err := alice.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventCopy, AccountID: acc.AccountID, Version: v}); err != nil {
		t.Fatal(err)
	}
	// The delta the TechClient fetches carries the moment.
	delta, err := alice.CredentialsSince(ctx, creds.Revision, creds.Grants)
	if err != nil || len(delta.Credentials) != 1 {
		t.Fatalf("delta after a copy: %v %+v", err, delta)
	}
	at := delta.Credentials[0].RotatesAfterUseAt
	if at.Before(used.Add(8*time.Hour-time.Second)) || at.After(h.Clock.Now().Add(8*time.Hour)) {
		t.Fatalf("rotatesAfterUseAt = %v, want 8 h after %v", at, used)
	}
	h.Clock.Advance(8*time.Hour - 2*time.Second)
	if a := planAccount(t, agent); a.Due {
		t.Fatalf("due before the grace passed: %+v", a)
	}
	h.Clock.Advance(3 * time.Second)
	a := planAccount(t, agent)
	if !a.Due || a.DueReason != wire.DueAfterReveal {
		t.Fatalf("not due after the grace: %+v", a)
	}
	plan, _ := agent.Plan(ctx, 0)
	confirm(t, agent, plan, a, "pw-2")
	if a := planAccount(t, agent); a.Due {
		t.Fatalf("still due after the rotation: %+v", a)
	}
	creds, _ = alice.Credentials(ctx)
	if !creds.Credentials[0].RotatesAfterUseAt.IsZero() {
		t.Fatalf("rotatesAfterUseAt after the rotation: %v", creds.Credentials[0].RotatesAfterUseAt)
	}
}

// TestRotateAfterUseOff: a grace of 0 turns it off; an agent group's override turns it back on for its agents
// only, and an override of 0 turns it off again.
func TestRotateAfterUseOff(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	p := wire.DefaultPolicy()
	p.RotateAfterUseSeconds = 0
	if _, err := h.Owner.SetPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	alice, agent, acc, v := afterUseSetup(t, h)
	use := func(kind string) {
		t.Helper()
		if err := alice.ReportEvent(ctx, wire.EventRequest{Kind: kind, AccountID: acc.AccountID, Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	use(wire.EventReveal)
	h.Clock.Advance(9 * time.Hour)
	if a := planAccount(t, agent); a.Due {
		t.Fatalf("due with rotate-after-use off: %+v", a)
	}
	creds, _ := alice.Credentials(ctx)
	if !creds.Credentials[0].RotatesAfterUseAt.IsZero() {
		t.Fatalf("rotatesAfterUseAt with rotate-after-use off: %v", creds.Credentials[0].RotatesAfterUseAt)
	}

	minute := int64(60)
	g, err := h.Owner.CreateAgentGroup(ctx, wire.GroupRequest{Name: "Sensitive", Members: []int64{agent.ID}, RotateAfterUseSeconds: &minute})
	if err != nil {
		t.Fatal(err)
	}
	if g.RotateAfterUseSeconds == nil || *g.RotateAfterUseSeconds != 60 {
		t.Fatalf("group override not returned: %+v", g)
	}
	use(wire.EventCopy)
	h.Clock.Advance(59 * time.Second)
	if a := planAccount(t, agent); a.Due {
		t.Fatalf("due within the group's grace: %+v", a)
	}
	h.Clock.Advance(2 * time.Second)
	a := planAccount(t, agent)
	if !a.Due || a.DueReason != wire.DueAfterReveal {
		t.Fatalf("not due after the group's grace: %+v", a)
	}
	plan, _ := agent.Plan(ctx, 0)
	v = confirm(t, agent, plan, a, "pw-2")

	off := int64(0)
	if _, err := h.Owner.UpdateGroup(ctx, true, g.ID, wire.GroupRequest{Name: "Sensitive", Members: []int64{agent.ID}, RotateAfterUseSeconds: &off}); err != nil {
		t.Fatal(err)
	}
	p.RotateAfterUseSeconds = 60 // the tenant would rotate, the group says no
	if _, err := h.Owner.SetPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	use(wire.EventReveal)
	h.Clock.Advance(time.Hour)
	if a := planAccount(t, agent); a.Due {
		t.Fatalf("due although the agent's group turned rotate-after-use off: %+v", a)
	}
}

// TestHistoryPolicyValidation: negative or too long graces and history depths out of range are refused with the
// field named; a policy body without the new fields keeps their values.
func TestHistoryPolicyValidation(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	for _, c := range []struct {
		field string
		edit  func(*wire.Policy)
	}{
		{"rotateAfterUseSeconds", func(p *wire.Policy) { p.RotateAfterUseSeconds = -1 }},
		{"rotateAfterUseSeconds", func(p *wire.Policy) { p.RotateAfterUseSeconds = 31 * 24 * 3600 }},
		{"historyDepth", func(p *wire.Policy) { p.HistoryDepth = 0 }},
		{"historyDepth", func(p *wire.Policy) { p.HistoryDepth = wire.MaxHistoryDepth + 1 }},
		{"historyDepth", func(p *wire.Policy) { p.HistoryDepth = -3 }},
	} {
		p := wire.DefaultPolicy()
		c.edit(&p)
		_, err := h.Owner.SetPolicy(ctx, p)
		var we *wire.Error
		if !errors.As(err, &we) || we.Field != c.field || !errors.Is(err, hubclient.ErrInvalid) {
			t.Errorf("policy %+v: got %v, want an invalid %s", p, err, c.field)
		}
	}
	for _, s := range []int64{-1, 31 * 24 * 3600} {
		_, err := h.Owner.CreateAgentGroup(ctx, wire.GroupRequest{Name: "G", RotateAfterUseSeconds: &s})
		var we *wire.Error
		if !errors.As(err, &we) || we.Field != "rotateAfterUseSeconds" {
			t.Errorf("agent group grace %d: got %v", s, err)
		}
	}
	s := int64(60)
	_, err := h.Owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "T", RotateAfterUseSeconds: &s})
	var we *wire.Error
	if !errors.As(err, &we) || we.Field != "rotateAfterUseSeconds" {
		t.Errorf("tech group with a grace: got %v", err)
	}
	p := wire.DefaultPolicy()
	p.RotateAfterUseSeconds, p.HistoryDepth = 120, 7
	if _, err := h.Owner.SetPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	tenant, err := h.Owner.Tenant(ctx)
	if err != nil || tenant.Policy.RotateAfterUseSeconds != 120 || tenant.Policy.HistoryDepth != 7 {
		t.Fatalf("policy after update: %v %+v", err, tenant)
	}
}

// techAccount returns the agent's plan and the tech's account in it.
func techAccount(t *testing.T, agent *hubtest.Agent, tech int64) (*wire.Plan, wire.PlanAccount) {
	t.Helper()
	plan, err := agent.Plan(testCtx(t), 0)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	for _, a := range plan.Accounts {
		if a.TechID == tech {
			return plan, a
		}
	}
	t.Fatalf("no account of tech %d in the plan", tech)
	return nil, wire.PlanAccount{}
}

// rotateOnce stages and confirms the next version of the tech's account on the agent with secret.
func rotateOnce(t *testing.T, agent *hubtest.Agent, tech int64, secret string) int64 {
	t.Helper()
	plan, a := techAccount(t, agent, tech)
	return confirm(t, agent, plan, a, secret)
}

// TestPasswordHistory: after K+3 rotations the history holds exactly K versions, newest first, each opening (with
// the tech's identity and the recovery identity) to the password confirmed at its time; the older versions are
// gone from the database file; a staged version is neither in the history nor pruned; another tech cannot read
// the history; the read is audited.
func TestPasswordHistory(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	bob := h.ActiveTech("bob")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	k := wire.DefaultHistoryDepth
	secrets := map[int64]string{}
	envelopes := map[int64][]byte{}
	var accountID int64
	var name string
	for i := 1; i <= k+3; i++ {
		secret := fmt.Sprintf("password-number-%d", i)
		v := rotateOnce(t, agent, alice.ID, secret)
		secrets[v] = secret
		creds, err := alice.Credentials(ctx)
		if err != nil || len(creds.Credentials) != 1 || creds.Credentials[0].Versions[0].Version != v {
			t.Fatalf("credentials after rotation %d: %v %+v", i, err, creds)
		}
		envelopes[v] = creds.Credentials[0].Versions[0].Envelope
		accountID, name = creds.Credentials[0].AccountID, creds.Credentials[0].AccountName
	}
	// A staged version the target may hold: not history (never confirmed), never pruned.
	plan, pa := techAccount(t, agent, alice.ID)
	staged := pa.CurrentVersion + 1
	if err := agent.Stage(ctx, accountID, staged, hubtest.Seal(t, plan, pa, staged, "staged-one")); err != nil {
		t.Fatal(err)
	}

	hist, err := alice.History(ctx, accountID)
	if err != nil {
		t.Fatal(err)
	}
	if hist.Depth != k || len(hist.Versions) != k || hist.AccountName != name || hist.ClientGUID != h.GUID {
		t.Fatalf("history: depth %d, %d versions, want %d: %+v", hist.Depth, len(hist.Versions), k, hist)
	}
	for i, v := range hist.Versions {
		want := int64(k + 3 - i) // newest first: versions k+3 … 4
		if v.Version != want {
			t.Fatalf("history[%d] is version %d, want %d", i, v.Version, want)
		}
		if (i == 0) != (v.State == wire.VersionConfirmed) || i > 0 && v.State != wire.VersionSuperseded {
			t.Fatalf("history[%d] state %s", i, v.State)
		}
		sctx := hubclient.SealContext(hist.ClientGUID, hist.AgentID, hist.AccountName, v.Version)
		for who, id := range map[string]*seal.Identity{"tech": alice.Identity, "recovery": h.Recovery} {
			got, err := seal.Open(v.Envelope, sctx, id)
			if err != nil || string(got) != secrets[v.Version] {
				t.Fatalf("history version %d opened by the %s: %v (right password: %v)", v.Version, who, err, string(got) == secrets[v.Version])
			}
		}
		if !bytes.Equal(v.Envelope, envelopes[v.Version]) {
			t.Fatalf("history version %d is not the envelope handed out at its time", v.Version)
		}
	}
	creds, _ := alice.Credentials(ctx)
	if vs := creds.Credentials[0].Versions; len(vs) != 2 || vs[0].Version != staged || vs[0].State != wire.VersionStaged {
		t.Fatalf("staged version gone from the credential list: %+v", vs)
	}

	// Versions 1 to 3 are deleted: not in the database file, not in its WAL after a checkpoint.
	h.RequireSQLite("reads the SQLite file and its WAL for the pruned envelopes")
	db, err := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM versions WHERE account_id = ? AND version <= 3", accountID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows of pruned versions: %d (%v)", n, err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	var file []byte
	for _, p := range []string{h.DBPath, h.DBPath + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		file = append(file, b...)
	}
	for v, env := range envelopes {
		found := false
		for _, at := range []int{0, len(env)/2 - 32, len(env) - 64} {
			found = found || bytes.Contains(file, env[at:at+64])
		}
		if kept := v > 3; found != kept {
			t.Errorf("version %d: found in the database file %v, want %v", v, found, kept)
		}
	}

	// Bob cannot read Alice's history, and cannot tell it from an account that does not exist.
	_, err = bob.History(ctx, accountID)
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeNotFound {
		t.Fatalf("bob reads alice's history: %v", err)
	}
	_, err2 := bob.History(ctx, accountID+1000)
	if !errors.As(err2, &we) || we.Code != wire.CodeNotFound || err.Error() != err2.Error() {
		t.Fatalf("a missing account answers differently: %v vs %v", err2, err)
	}
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "credential.history"})
	if err != nil || len(ev) != 1 || ev[0].ActorID != alice.ID || !strings.Contains(ev[0].Detail, "versions=[8 7 6 5 4]") {
		t.Fatalf("history audit: %v %+v", err, ev)
	}
}
