package vm_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// TestTechEventSignatures: before and after the signed authority is on, a reveal alice's device signed shows as
// device-signed and an unsigned copy (an older TechClient) as unsigned; events an attacker writes into the hub's
// SQLite file — a copy of the signed reveal with another version, and a reveal signed by a key the attacker put in
// place of alice's — show as FORGED and are listed by TechEventAlerts, while alice's own reveal stays
// device-signed.
func TestTechEventSignatures(t *testing.T) {
	ctx := testCtx(t)
	test.NewTempApp(t)
	h, alice, pa := aliceVersion(t, ctx, true)

	a := vm.New()
	a.Connect(h.Owner, h.Invite, "test hub")
	at := time.Date(2026, 12, 7, 12, 1, 30, 0, time.UTC) // alice's device's clock
	ev := wire.EventRequest{Kind: wire.EventReveal, AccountID: pa.AccountID, Version: 1, SignedAt: at}
	ev.Signature = authority.SignTechEvent(alice.Identity.Signer(), authority.TechEventOf(h.GUID, alice.ID, ev))
	if err := alice.ReportEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := alice.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventCopy, AccountID: pa.AccountID, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	status := func() map[string]string {
		t.Helper()
		evs, err := a.Audit(ctx, vm.AuditFilter{ActorKind: "tech"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range a.CheckTechEvents(evs) {
			key := c.Event.Action
			if strings.Contains(c.Event.Detail, "version=2 ") {
				key += " v2"
			}
			if strings.Contains(c.Event.Detail, "signedat=2026-12-07T13:00:00Z") {
				key += " attacker's key"
			}
			out[key] = c.Status
		}
		return out
	}
	// Without a signed authority the key the hub holds for alice is the reference.
	if got := status(); len(got) != 2 || got["credential.reveal"] != vm.TechEventSigned || got["credential.copy"] != vm.TechEventUnsigned {
		t.Fatalf("honest events without the signed authority: %v", got)
	}
	a.UseAuthority(h.OwnerID.Signer(), nil, (&kept{}).save)
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := a.PrepareAuthority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.TurnOnAuthority(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Chain().State().Techs[alice.ID]; !ok {
		t.Fatal("the genesis does not approve alice's device")
	}
	if got := status(); len(got) != 2 || got["credential.reveal"] != vm.TechEventSigned || got["credential.copy"] != vm.TechEventUnsigned {
		t.Fatalf("honest events: %v", got)
	}
	if alerts, err := a.TechEventAlerts(ctx); err != nil || len(alerts) != 0 {
		t.Fatalf("alerts before the attack: %v %v", alerts, err)
	}

	// The attacker writes the hub's database: a reveal of version 2 carrying the signature of alice's reveal of
	// version 1, appended after the newest event.
	db, err := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO audit SELECT r.tenant_id, (SELECT max(seq) FROM audit) + 1, r.at, r.actor_kind,
		r.actor_id, r.action, r.target, replace(r.detail, 'version=1 ', 'version=2 '), r.hash, r.hash
		FROM audit r WHERE r.action = 'credential.reveal'`); err != nil {
		t.Fatal(err)
	}
	// Then it puts a key of its own in place of alice's and writes a reveal it signed with it.
	mallory := h.NewIdentity()
	if _, err := db.ExecContext(ctx, `UPDATE techs SET public_key = ?, key_id = ? WHERE id = ?`,
		mallory.Public().String(), mallory.Public().ID(), alice.ID); err != nil {
		t.Fatal(err)
	}
	fake := wire.EventRequest{Kind: wire.EventReveal, AccountID: pa.AccountID, Version: 1, SignedAt: at.Add(58*time.Minute + 30*time.Second)}
	sig := authority.SignTechEvent(mallory.Signer(), authority.TechEventOf(h.GUID, alice.ID, fake))
	detail := `version=1 name="` + pa.AccountName + `" devkey=` + base64.StdEncoding.EncodeToString(mallory.Public().AuthKey()) + ` signedat=2026-12-07T13:00:00Z devsig=` + base64.StdEncoding.EncodeToString(sig)
	if _, err := db.ExecContext(ctx, `INSERT INTO audit SELECT tenant_id, seq + 1, at, actor_kind, actor_id, 'credential.reveal', target,
		?, hash, hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)`, detail); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	got := status()
	if got["credential.reveal"] != vm.TechEventSigned || got["credential.copy"] != vm.TechEventUnsigned ||
		got["credential.reveal v2"] != vm.TechEventForged || got["credential.reveal attacker's key"] != vm.TechEventForged {
		t.Fatalf("after the attack: %v", got)
	}
	alerts, err := a.TechEventAlerts(ctx)
	if err != nil || len(alerts) != 2 || !strings.Contains(alerts[0], "FORGED") || !strings.Contains(alerts[1], "FORGED") {
		t.Fatalf("alerts: %q %v", alerts, err)
	}
	t.Logf("alerts: %q", alerts)
	// Refresh lists the forged events among the authority alerts, and the audit screen's rows carry the verdicts.
	var forged int
	for _, al := range a.Snapshot().AuthorityAlerts() {
		if strings.Contains(al, "FORGED") {
			forged++
		}
	}
	if forged != 2 {
		t.Fatalf("authority alerts: %q", a.Snapshot().AuthorityAlerts())
	}
	page, err := a.AuditPage(ctx, vm.AuditFilter{ActorKind: "tech"})
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]int{}
	for _, r := range page.Rows {
		words[r.Device]++
		if r.Device == "FORGED" && r.DeviceWhy == "" {
			t.Fatalf("a forged row says not why: %+v", r)
		}
	}
	if words["FORGED"] != 2 || words["device-signed"] != 1 || words["unsigned"] != 1 {
		t.Fatalf("device verdicts on the audit rows: %v", words)
	}
}

// TestRefusedEnvelopeAlert: a TechClient's report that it refused to open a version (no enrolled agent signed it)
// is an authority alert in every Console that verifies the signed authority, naming the tech, the account and the
// version; a Console without the authority shows nothing of it.
func TestRefusedEnvelopeAlert(t *testing.T) {
	ctx := testCtx(t)
	test.NewTempApp(t)
	h, alice, pa := aliceVersion(t, ctx, false)
	off := vm.New()
	off.Connect(h.Owner, h.Invite, "test hub")
	on := vm.New()
	on.Connect(h.Owner, h.Invite, "test hub")
	on.UseAuthority(h.OwnerID.Signer(), nil, nil)
	if err := on.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := on.PrepareAuthority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := on.TurnOnAuthority(ctx, g); err != nil {
		t.Fatal(err)
	}
	if al := on.Snapshot().AuthorityAlerts(); len(al) != 0 {
		t.Fatalf("alerts before the report: %q", al)
	}
	ev := wire.EventRequest{Kind: wire.EventUnsigned, AccountID: pa.AccountID, Version: 1, SignedAt: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	ev.Signature = authority.SignTechEvent(alice.Identity.Signer(), authority.TechEventOf(h.GUID, alice.ID, ev))
	if err := alice.ReportEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*vm.App{on, off} {
		if err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	al := on.Snapshot().AuthorityAlerts()
	if len(al) != 1 || !strings.Contains(al[0], "tech alice's TechClient refused account ") || !strings.Contains(al[0], "version 1") ||
		!strings.Contains(al[0], "not signed by an enrolled agent") {
		t.Fatalf("alerts after the report: %q", al)
	}
	if line, alert := on.Snapshot().AuthorityLine(); !alert || !strings.Contains(line, "1 alert") {
		t.Fatalf("status line %q, alert %v", line, alert)
	}
	if al := off.Snapshot().AuthorityAlerts(); len(al) != 0 {
		t.Fatalf("a Console without the authority shows %q", al)
	}
}

// aliceVersion is a hub where alice's account on contoso.local has a confirmed version 1, staged with the agent's
// signature or, when signed is false, without one (as a breached hub could stage it).
func aliceVersion(t *testing.T, ctx context.Context, signed bool) (*hubtest.Harness, *hubtest.Tech, wire.PlanAccount) {
	t.Helper()
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, err := agent.Plan(ctx, 0)
	if err != nil || len(plan.Accounts) != 1 {
		t.Fatalf("plan: %v %+v", err, plan)
	}
	pa := plan.Accounts[0]
	env := hubtest.Seal(t, plan, pa, 1, "pw-1")
	var sig []byte
	if signed {
		sig = agent.SignEnvelope(plan, pa, 1, env)
	}
	if err := agent.StageSigned(ctx, pa.AccountID, 1, env, sig); err != nil {
		t.Fatal(err)
	}
	if err := agent.Confirm(ctx, pa.AccountID, 1); err != nil {
		t.Fatal(err)
	}
	return h, alice, pa
}

// TestTAPEventAudit: the reveal and the copy of a window's Temporary Access Pass read on the audit screen as
// sentences naming the tech, the account and the pass, with the device's verdict: the signed reveal device-signed,
// the unsigned copy unsigned; a copy of the signed reveal the hub's database was changed to name another grant, or
// to pass for the reveal of the password, is FORGED.
func TestTAPEventAudit(t *testing.T) {
	ctx := testCtx(t)
	test.NewTempApp(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.onmicrosoft.com", wire.DriverAD)
	trips, err := h.Owner.Triplets(ctx)
	if err != nil || len(trips) != 1 {
		t.Fatalf("triplets: %v %+v", err, trips)
	}
	if _, err := h.Owner.UpdateTriplet(ctx, trips[0].ID, wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: 3600}); err != nil {
		t.Fatal(err)
	}
	plan := vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "recovery-only-1!" })
	pa := plan.Accounts[0]
	g, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: pa.AccountID, DurationSeconds: 1800, Reason: "ticket 9: licence"})
	if err != nil {
		t.Fatal(err)
	}
	plan = vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return "jit-Pa55word!" })
	pa = plan.Accounts[0]
	tapAcc := wire.PlanAccount{AccountID: pa.AccountID, AccountName: wire.TAPAccount(pa.AccountName), Recipients: pa.Recipients}
	env := hubtest.Seal(t, plan, tapAcc, g.ID, "TAP-Code-8817")
	if err := agent.StoreJITTAP(ctx, wire.JITTAPRequest{GrantID: g.ID, AccountID: pa.AccountID, Envelope: env,
		Signature: agent.SignEnvelope(plan, tapAcc, g.ID, env), ExpiresAt: pa.JIT.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 12, 1, 30, 0, time.UTC) // alice's device's clock
	ev := wire.EventRequest{Kind: wire.EventTAPReveal, AccountID: pa.AccountID, Version: g.ID, SignedAt: at}
	ev.Signature = authority.SignTechEvent(alice.Identity.Signer(), authority.TechEventOf(h.GUID, alice.ID, ev))
	if err := alice.ReportEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := alice.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventTAPCopy, AccountID: pa.AccountID, Version: g.ID}); err != nil {
		t.Fatal(err)
	}

	// The attacker writes the hub's database: the signed reveal again, naming another grant, and again as the
	// reveal of the password version whose number is the grant's.
	db, err := sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	grant := fmt.Sprintf("grant=%d ", g.ID)
	for _, forge := range []struct{ action, detail string }{
		{"credential.tap-reveal", fmt.Sprintf("grant=%d ", g.ID+1)},
		{"credential.reveal", fmt.Sprintf("version=%d ", g.ID)},
	} {
		if _, err := db.ExecContext(ctx, `INSERT INTO audit SELECT r.tenant_id, (SELECT max(seq) FROM audit) + 1, r.at, r.actor_kind,
			r.actor_id, ?, r.target, replace(r.detail, ?, ?), r.hash, r.hash FROM audit r WHERE r.action = 'credential.tap-reveal'
			AND r.detail LIKE ?`, forge.action, grant, forge.detail, grant+"%"); err != nil {
			t.Fatal(err)
		}
	}

	a := vm.New()
	a.Connect(h.Owner, h.Invite, "test hub")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := a.AuditPage(ctx, vm.AuditFilter{ActorKind: "tech"})
	if err != nil {
		t.Fatal(err)
	}
	onHost := pa.AccountName + " on contoso.onmicrosoft.com"
	got := map[string]string{}
	for _, r := range page.Rows {
		if strings.HasPrefix(r.Event.Action, "credential.") {
			got[r.Summary+" | "+r.Event.Detail[:strings.Index(r.Event.Detail, " ")]] = r.Device
		}
	}
	want := map[string]string{
		"alice revealed the Temporary Access Pass of " + onHost + " | " + strings.TrimSpace(grant):   "device-signed",
		"alice copied the Temporary Access Pass of " + onHost + " | " + strings.TrimSpace(grant):     "unsigned",
		"alice revealed the Temporary Access Pass of " + onHost + fmt.Sprintf(" | grant=%d", g.ID+1): "FORGED",
		"alice revealed the password of " + onHost + fmt.Sprintf(" | version=%d", g.ID):              "FORGED",
	}
	if len(got) != len(want) {
		t.Fatalf("audit rows %q, want %q", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%q: %q, want %q (rows %q)", k, got[k], w, got)
		}
	}
}
