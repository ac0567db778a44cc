package hub_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// deviceTime is the device's clock in these tests: never the hub's, which the harness shifts.
var deviceTime = time.Date(2026, 12, 7, 12, 1, 30, 0, time.UTC)

// lastAudit is the newest event of action.
func lastAudit(t *testing.T, h *hubtest.Harness, action string) wire.AuditEvent {
	t.Helper()
	ev, err := h.Owner.Audit(testCtx(t), wire.AuditQuery{Action: action})
	noErr(t, err)
	if len(ev) == 0 {
		t.Fatalf("no %s event", action)
	}
	return ev[len(ev)-1]
}

// TestTechEventSigned: a reveal signed by the tech's device is accepted and audited with the signature, the
// device's public key and its time; one signed by another key, or signed over another version, is refused with a 400
// naming the signature and writes nothing; an unsigned one (an older TechClient) is accepted and marked unsigned.
func TestTechEventSigned(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice, _, acc, v := afterUseSetup(t, h)

	ev := wire.EventRequest{Kind: wire.EventReveal, AccountID: acc.AccountID, Version: v, SignedAt: deviceTime}
	ev.Signature = authority.SignTechEvent(alice.Identity.Signer(), authority.TechEventOf(h.GUID, alice.ID, ev))
	noErr(t, alice.ReportEvent(ctx, ev))
	e := lastAudit(t, h, "credential.reveal")
	want := "devsig=" + base64.StdEncoding.EncodeToString(ev.Signature)
	if e.ActorID != alice.ID || !strings.Contains(e.Detail, want) || !strings.Contains(e.Detail, "devkey="+base64.StdEncoding.EncodeToString(alice.Identity.Public().AuthKey())) ||
		!strings.Contains(e.Detail, "signedat=2026-12-07T12:01:30Z") {
		t.Fatalf("audited reveal %q, want %s", e.Detail, want)
	}

	before := auditCount(t, h)
	cred := onlyCred(t, alice)
	bad := map[string][]byte{
		"another key":     authority.SignTechEvent(h.NewIdentity().Signer(), authority.TechEventOf(h.GUID, alice.ID, ev)),
		"another version": authority.SignTechEvent(alice.Identity.Signer(), authority.TechEventOf(h.GUID, alice.ID, wire.EventRequest{Kind: wire.EventReveal, AccountID: acc.AccountID, Version: v + 1, SignedAt: deviceTime})),
		"another kind":    authority.SignTechEvent(alice.Identity.Signer(), authority.TechEventOf(h.GUID, alice.ID, wire.EventRequest{Kind: wire.EventCopy, AccountID: acc.AccountID, Version: v, SignedAt: deviceTime})),
		"garbage":         []byte("not a signature"),
	}
	for name, sig := range bad {
		forged := ev
		forged.Signature = sig
		if err := alice.ReportEvent(ctx, forged); !isField(err, wire.CodeInvalid, "signature") || !strings.Contains(err.Error(), "does not verify") {
			t.Errorf("%s: %v, want refused for its signature", name, err)
		}
	}
	noTime := ev
	noTime.SignedAt = time.Time{}
	if err := alice.ReportEvent(ctx, noTime); !isField(err, wire.CodeInvalid, "signedAt") {
		t.Errorf("a signature without the device's time: %v", err)
	}
	if n := auditCount(t, h); n != before {
		t.Fatalf("refused events wrote %d audit events", n-before)
	}
	if c := onlyCred(t, alice); !c.RotatesAfterUseAt.Equal(cred.RotatesAfterUseAt) {
		t.Fatalf("a refused event moved the rotation after use: %v → %v", cred.RotatesAfterUseAt, c.RotatesAfterUseAt)
	}

	noErr(t, alice.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventCopy, AccountID: acc.AccountID, Version: v}))
	if e := lastAudit(t, h, "credential.copy"); !strings.HasSuffix(e.Detail, " devsig=none") {
		t.Fatalf("unsigned copy audited as %q", e.Detail)
	}
}

// TestJITRequestSigned: a JIT request signed by the device is audited with its signature; one whose reason the
// signature does not cover is refused and opens no window.
func TestJITRequestSigned(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	jitAll(t, h, 600, true)
	p, a := onlyPlan(t, agent, alice.ID)
	confirmRecovery(t, agent, p, a, "recovery-only-1")

	req := wire.JITRequest{AccountID: a.AccountID, DurationSeconds: 300, Reason: "ticket 4711: printer GPO", SignedAt: deviceTime}
	signed := authority.SignTechEvent(alice.Identity.Signer(), authority.JITRequestOf(h.GUID, alice.ID, req))
	changed := req
	changed.Reason, changed.Signature = "ticket 4712", signed
	before := auditCount(t, h)
	if _, err := alice.RequestJIT(ctx, changed); !isField(err, wire.CodeInvalid, "signature") {
		t.Fatalf("a request with another reason than the device signed: %v", err)
	}
	if n := auditCount(t, h); n != before {
		t.Fatalf("a refused request wrote %d audit events", n-before)
	}
	if c := onlyCred(t, alice); c.JITGrant != nil {
		t.Fatalf("a refused request opened a grant: %+v", c.JITGrant)
	}
	req.Signature = signed
	g, err := alice.RequestJIT(ctx, req)
	noErr(t, err)
	if g.Status != wire.JITPending {
		t.Fatalf("grant %+v", g)
	}
	if e := lastAudit(t, h, "jit.request"); !strings.Contains(e.Detail, `reason="ticket 4711: printer GPO"`) ||
		!strings.Contains(e.Detail, "devsig="+base64.StdEncoding.EncodeToString(signed)) {
		t.Fatalf("audited request %q", e.Detail)
	}
}

// TestTAPEventSigned: the reveal of a window's Temporary Access Pass, signed by the device with the grant as the
// version, is audited as credential.tap-reveal naming the grant with the signature; a signature made over the
// password reveal of the same number, or for another grant, is refused and writes nothing; an unsigned copy is
// accepted after the window closed (a device reports what it did offline later). Neither makes the password due.
func TestTAPEventSigned(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.onmicrosoft.com", wire.DriverAD)
	jitAll(t, h, 3600, false)
	p, a := onlyPlan(t, agent, alice.ID)
	confirmRecovery(t, agent, p, a, "recovery-only-1")
	g, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: a.AccountID, DurationSeconds: 1800, Reason: "ticket 9: licence"})
	noErr(t, err)
	p, a = onlyPlan(t, agent, alice.ID)
	confirm(t, agent, p, a, "alice-jit-password")
	env := hubtest.Seal(t, p, wire.PlanAccount{AccountName: wire.TAPAccount(a.AccountName), Recipients: a.Recipients}, g.ID, "Tap-Code-4711")
	noErr(t, agent.StoreJITTAP(ctx, wire.JITTAPRequest{GrantID: g.ID, AccountID: a.AccountID, Envelope: env, ExpiresAt: g.ExpiresAt}))

	ev := wire.EventRequest{Kind: wire.EventTAPReveal, AccountID: a.AccountID, Version: g.ID, SignedAt: deviceTime}
	sign := func(e wire.EventRequest) []byte {
		return authority.SignTechEvent(alice.Identity.Signer(), authority.TechEventOf(h.GUID, alice.ID, e))
	}
	before := auditCount(t, h)
	asPassword := ev
	asPassword.Kind = wire.EventReveal
	otherGrant := ev
	otherGrant.Version = g.ID + 100
	for name, forged := range map[string]wire.EventRequest{
		"signed as the password's reveal": {Kind: ev.Kind, AccountID: ev.AccountID, Version: ev.Version, SignedAt: ev.SignedAt, Signature: sign(asPassword)},
		"signed for another grant":        {Kind: ev.Kind, AccountID: ev.AccountID, Version: ev.Version, SignedAt: ev.SignedAt, Signature: sign(otherGrant)},
	} {
		if err := alice.ReportEvent(ctx, forged); !isField(err, wire.CodeInvalid, "signature") {
			t.Errorf("%s: %v, want refused for its signature", name, err)
		}
	}
	otherGrant.Signature = sign(otherGrant)
	if err := alice.ReportEvent(ctx, otherGrant); !isField(err, wire.CodeInvalid, "version") {
		t.Errorf("a grant that is not the account's: %v, want refused naming the version", err)
	}
	if n := auditCount(t, h); n != before {
		t.Fatalf("refused events wrote %d audit events", n-before)
	}

	ev.Signature = sign(ev)
	noErr(t, alice.ReportEvent(ctx, ev))
	e := lastAudit(t, h, "credential.tap-reveal")
	if e.ActorID != alice.ID || e.Target != fmt.Sprintf("account %d", a.AccountID) ||
		!strings.HasPrefix(e.Detail, fmt.Sprintf("grant=%d name=%q ", g.ID, a.AccountName)) ||
		!strings.Contains(e.Detail, "devsig="+base64.StdEncoding.EncodeToString(ev.Signature)) {
		t.Fatalf("audited pass reveal %+v", e)
	}

	h.Clock.Advance(31 * time.Minute) // the window closes and its pass is dropped
	noErr(t, alice.ReportEvent(ctx, wire.EventRequest{Kind: wire.EventTAPCopy, AccountID: a.AccountID, Version: g.ID}))
	if e := lastAudit(t, h, "credential.tap-copy"); !strings.HasSuffix(e.Detail, " devsig=none") {
		t.Fatalf("unsigned pass copy audited as %q", e.Detail)
	}
	if c := onlyCred(t, alice); !c.RotatesAfterUseAt.IsZero() {
		t.Fatalf("the pass's use made the password due at %v", c.RotatesAfterUseAt)
	}
	if bytes.Contains(h.Logs.Bytes(), []byte("Tap-Code-4711")) {
		t.Fatal("the hub's log holds the pass")
	}
}
