package hub_test

import (
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// historyRefused says whether err is the history's clear refusal (403 forbidden on the account) saying why.
func historyRefused(err error, why string) bool {
	e, ok := wire.AsError(err)
	return ok && e.Code == wire.CodeForbidden && e.Field == "id" && strings.Contains(e.Message, why)
}

// versions lists a history's version numbers, for failure messages (an envelope printed whole is 3 KB of noise).
func versions(hist *wire.HistoryResponse) []int64 {
	if hist == nil {
		return nil
	}
	var out []int64
	for _, v := range hist.Versions {
		out = append(out, v.Version)
	}
	return out
}

// TestHistoryFollowsEntitlement: the password history passes the credential list's gates. Once the only triplet
// granting an account is deleted, the list drops it and the history refuses it (nothing handed out, nothing
// audited as read); a co-managed tech without a two-factor session gets neither; a just-in-time account's history
// answers inside a window only — before the first window, and again after the tech ends it.
func TestHistoryFollowsEntitlement(t *testing.T) {
	ctx := testCtx(t)

	t.Run("triplet removed", func(t *testing.T) {
		h := hubtest.New(t)
		alice, agent, acc, v := afterUseSetup(t, h)
		hist, err := alice.History(ctx, acc.AccountID)
		if err != nil || len(hist.Versions) != 1 || hist.Versions[0].Version != v {
			t.Fatalf("history while granted: versions %v, %v", versions(hist), err)
		}
		trips, err := h.Owner.Triplets(ctx)
		noErr(t, err)
		if len(trips) != 1 {
			t.Fatalf("triplets: %+v", trips)
		}
		noErr(t, h.Owner.DeleteTriplet(ctx, trips[0].ID))
		if creds, err := alice.Credentials(ctx); err != nil || len(creds.Credentials) != 0 {
			t.Fatalf("credential list after the triplet went: %+v, %v", creds, err)
		}
		reads, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "credential.history"})
		noErr(t, err)
		hist, err = alice.History(ctx, acc.AccountID)
		if !historyRefused(err, "no longer granted") {
			t.Fatalf("history after the triplet went: versions %v, %v; want 403 no longer granted", versions(hist), err)
		}
		if after, _ := h.Owner.Audit(ctx, wire.AuditQuery{Action: "credential.history"}); len(after) != len(reads) {
			t.Fatalf("a refused history was audited as a read: %+v", after)
		}
		if !refusedAs(refusals(t, h), "forbidden", alice.Identity.Public().ID()) {
			t.Error("the refused history is not in the audit log as a refused request")
		}
		// The agent's plan disables the account: the grant is gone on every side.
		if p, err := agent.Plan(ctx, 0); err != nil || len(p.Disable) != 1 || p.Disable[0].AccountID != acc.AccountID {
			t.Fatalf("plan after the triplet went: %+v, %v", p, err)
		}
	})

	t.Run("two-factor session", func(t *testing.T) {
		h := hubtest.New(t, enforceTOTP)
		if _, err := h.Owner.CreateOrg(ctx, "Client Ltd"); err != nil && !isCode(err, wire.CodeConflict) {
			t.Fatal(err)
		}
		co := coManagedTech(t, h, "carol", "Client Ltd")
		agent := h.NewAgent("contoso.local", wire.DriverAD)
		p, err := agent.Plan(ctx, 0)
		noErr(t, err)
		confirm(t, agent, p, accountOf(t, p, co.ID), "carols-password")
		accs, err := h.Owner.Accounts(ctx, co.ID, 0)
		if err != nil || len(accs) != 1 {
			t.Fatalf("carol's accounts: %+v, %v", accs, err)
		}
		if _, err := co.Credentials(ctx); !hubclient.IsTOTPRequired(err) {
			t.Fatalf("credential list without a session: %v", err)
		}
		if hist, err := co.History(ctx, accs[0].ID); !hubclient.IsTOTPRequired(err) {
			t.Fatalf("history without a session: versions %v, %v; want totp required", versions(hist), err)
		}
	})

	t.Run("just in time", func(t *testing.T) {
		h := hubtest.New(t)
		alice := h.ActiveTech("alice")
		agent := h.NewAgent("contoso.local", wire.DriverAD)
		jitAll(t, h, 600, false)
		p, a := onlyPlan(t, agent, alice.ID)
		confirmRecovery(t, agent, p, a, "recovery-only-1")
		if hist, err := alice.History(ctx, a.AccountID); !historyRefused(err, "outside its window") {
			t.Fatalf("history before any window: versions %v, %v", versions(hist), err)
		}
		g, err := alice.RequestJIT(ctx, wire.JITRequest{AccountID: a.AccountID, DurationSeconds: 300, Reason: "ticket 7"})
		noErr(t, err)
		p, a = onlyPlan(t, agent, alice.ID)
		v := confirm(t, agent, p, a, "window-password")
		hist, err := alice.History(ctx, a.AccountID)
		if err != nil || len(hist.Versions) != 1 || hist.Versions[0].Version != v {
			t.Fatalf("history inside the window: versions %v, %v", versions(hist), err)
		}
		_, err = alice.EndJIT(ctx, g.ID)
		noErr(t, err)
		if hist, err := alice.History(ctx, a.AccountID); !historyRefused(err, "outside its window") {
			t.Fatalf("history after the window ended (its password still the current one): versions %v, %v", versions(hist), err)
		}
		p, a = onlyPlan(t, agent, alice.ID)
		if a.DueReason != wire.DueJITEnd {
			t.Fatalf("after Done: %+v", a)
		}
		confirmRecovery(t, agent, p, a, "recovery-only-2")
		if c := onlyCred(t, alice); len(c.Versions) != 0 {
			t.Fatalf("credential list outside the window: %+v", c.Versions)
		}
		if hist, err := alice.History(ctx, a.AccountID); !historyRefused(err, "outside its window") {
			t.Fatalf("history after the window (the window's password superseded): versions %v, %v", versions(hist), err)
		}
	})
}

// TestHistoryIsAUse: handing out the current version through the history is a use on the hub's side, whatever
// the device reports: it is audited as credential.reveal (via=history) and sets the rotate-after-use time as a
// reported reveal does; the account is due when the grace has passed. Fetching the credential list is not a use
// (a TechClient fetches it at every change); with the grace
// at 0 the read is audited and nothing rotates.
func TestHistoryIsAUse(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice, agent, acc, v := afterUseSetup(t, h)
	for range 3 {
		creds, err := alice.Credentials(ctx)
		if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].RotatesAfterUseAt.IsZero() {
			t.Fatalf("credential list: %+v, %v", creds, err)
		}
	}
	if ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{Action: "credential.reveal"}); len(ev) != 0 {
		t.Fatalf("fetching the list was audited as a reveal: %+v", ev)
	}

	read := h.Clock.Now()
	hist, err := alice.History(ctx, acc.AccountID)
	if err != nil || len(hist.Versions) != 1 || hist.Versions[0].Version != v {
		t.Fatalf("history: versions %v, %v", versions(hist), err)
	}
	ev, err := h.Owner.Audit(ctx, wire.AuditQuery{Action: "credential.reveal"})
	noErr(t, err)
	if len(ev) != 1 || ev[0].ActorKind != "tech" || ev[0].ActorID != alice.ID || !strings.Contains(ev[0].Detail, "via=history") ||
		!strings.Contains(ev[0].Detail, "version=1 ") {
		t.Fatalf("reveal audit of the history read: %+v", ev)
	}
	if ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{Action: "rotate.after-use"}); len(ev) != 1 || !strings.Contains(ev[0].Detail, "kind=history") {
		t.Fatalf("rotate.after-use audit: %+v", ev)
	}
	c := onlyCred(t, alice)
	if at := c.RotatesAfterUseAt; at.Before(read.Add(8*time.Hour-time.Second)) || at.After(h.Clock.Now().Add(8*time.Hour)) {
		t.Fatalf("rotatesAfterUseAt after a history read = %v, want 8 h after %v", at, read)
	}
	h.Clock.Advance(8*time.Hour - 2*time.Second)
	if a := planAccount(t, agent); a.Due {
		t.Fatalf("due before the grace: %+v", a)
	}
	h.Clock.Advance(3 * time.Second)
	a := planAccount(t, agent)
	if !a.Due || a.DueReason != wire.DueAfterReveal {
		t.Fatalf("not due after the grace: %+v", a)
	}

	// The grace at 0: the read is still a reveal in the log, and nothing rotates.
	p := wire.DefaultPolicy()
	p.RotateAfterUseSeconds = 0
	_, err = h.Owner.SetPolicy(ctx, p)
	noErr(t, err)
	plan, err := agent.Plan(ctx, 0)
	noErr(t, err)
	confirm(t, agent, plan, a, "pw-2")
	if _, err := alice.History(ctx, acc.AccountID); err != nil {
		t.Fatal(err)
	}
	if ev, _ := h.Owner.Audit(ctx, wire.AuditQuery{Action: "credential.reveal"}); len(ev) != 2 || !strings.Contains(ev[1].Detail, "version=2 ") {
		t.Fatalf("reveal audit with the grace off: %+v", ev)
	}
	h.Clock.Advance(24 * time.Hour)
	if a := planAccount(t, agent); a.Due && a.DueReason == wire.DueAfterReveal {
		t.Fatalf("rotation after use with the grace off: %+v", a)
	}
}
