package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// failDemoAccount enrolls zed.local, lets it plan, and reports the account of the demo tech username failed.
func failDemoAccount(t *testing.T, a *vm.App, h *hubtest.Harness, username, reason string) (*hubtest.Agent, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	agent := h.NewAgent("zed.local", wire.DriverAD)
	plan, err := agent.Plan(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var tech int64
	for _, tc := range a.Snapshot().Techs {
		if tc.Username == username {
			tech = tc.ID
		}
	}
	for _, pa := range plan.Accounts {
		if pa.TechID == tech {
			if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountFailed, Error: reason}}); err != nil {
				t.Fatal(err)
			}
			return agent, pa.AccountID
		}
	}
	t.Fatalf("no account of %s on zed.local", username)
	return nil, 0
}

// selectAccount selects the account id in the Techs screen's accounts table (the third table).
func selectAccount(t *testing.T, a *vm.App, w fyne.Window, tech, id int64) {
	t.Helper()
	row := -1
	for i, acc := range a.Snapshot().AccountsOfTech(tech) {
		if acc.ID == id {
			row = i
		}
	}
	ts := tables(w.Canvas().Content())
	if row < 0 || len(ts) != 3 {
		t.Fatalf("account %d at row %d, %d tables", id, row, len(ts))
	}
	fyne.DoAndWait(func() { ts[2].Select(widget.TableCellID{Row: row, Col: 0}) })
}

// TestTechsScreenFailedAccount: a failed account fires one desktop notification, counts in the navigation, and
// shows on the Techs screen with its reason; Adopt… asks for the account's name and a wrong one changes nothing;
// the right one adopts; Retry… brings a new failure back.
func TestTechsScreenFailedAccount(t *testing.T) {
	notifications := captureNotifications(t)
	a, w, h := connectedHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reason := "verification of amoreau-tm could reach the lockout threshold of zed.local (5 bad attempts)"
	agent, id := failDemoAccount(t, a, h, "amoreau", reason)
	for range 2 {
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the notification", func() bool { return len(notifications()) > 0 })
	if got := notifications(); len(got) != 1 || got[0] != "Account failed: an admin must act: amoreau-tm on zed.local (amoreau): "+reason {
		t.Fatalf("notifications %q", got)
	}
	eventually(t, "the navigation's count", func() bool { return shows(w.Canvas().Content(), "Techs (1 need attention)") })

	a.Select("techs") // amoreau is first and selected
	root := w.Canvas().Content()
	if !shows(root, "✗ amoreau-tm on zed.local failed: "+reason) {
		t.Fatal("the tech's failed account is not said on the Techs screen")
	}
	amoreau := a.Snapshot().Account(id).TechID
	selectAccount(t, a, w, amoreau, id)
	if !shows(w.Canvas().Content(), "FAILED, waits for an admin: "+reason) {
		t.Fatal("the account's state and last error are not in the accounts table")
	}

	// Adopt… with a wrong name: an error, nothing changed at the hub.
	tapButton(t, w, "Adopt…")
	if !containsText(topOverlay(w), "Adopt the existing account amoreau-tm on zed.local?") || !containsText(topOverlay(w), "Type the account name to confirm") {
		t.Fatal("no adoption dialog naming the account")
	}
	typeInOverlay(t, w, "amoreau")
	tapButton(t, w, "Adopt")
	eventually(t, "the refusal", func() bool { return containsText(topOverlay(w), `type the account name "amoreau-tm" exactly`) })
	tapButton(t, w, "OK")
	if accs, _ := h.Owner.Accounts(ctx, amoreau, 0); !hubAccount(accs, id, func(acc wire.Account) bool { return acc.State == wire.AccountFailed && !acc.Adopted }) {
		t.Fatalf("a refused adoption changed the account: %+v", accs)
	}
	selectAccount(t, a, w, amoreau, id)
	tapButton(t, w, "Adopt…")
	typeInOverlay(t, w, "amoreau-tm")
	tapButton(t, w, "Adopt")
	eventually(t, "the adoption", func() bool {
		accs, _ := h.Owner.Accounts(ctx, amoreau, 0)
		return hubAccount(accs, id, func(acc wire.Account) bool { return acc.Adopted && acc.State == wire.AccountPresent })
	})
	eventually(t, "the screen redrawn", func() bool { return shows(w.Canvas().Content(), "Techs") })

	// A new failure, then Retry….
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: id, State: wire.AccountFailed, Error: "bind refused"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second notification", func() bool { return len(notifications()) >= 2 })
	if got := notifications(); len(got) != 2 || !strings.HasSuffix(got[1], "bind refused") {
		t.Fatalf("notifications %q", got)
	}
	selectAccount(t, a, w, amoreau, id)
	tapButton(t, w, "Retry")
	if !containsText(topOverlay(w), "Last error: bind refused") {
		t.Fatal("the retry confirmation does not say the last error")
	}
	tapButton(t, w, "Yes")
	eventually(t, "the retry", func() bool {
		accs, _ := h.Owner.Accounts(ctx, amoreau, 0)
		return hubAccount(accs, id, func(acc wire.Account) bool { return acc.State == wire.AccountPresent && acc.LastError == "" })
	})
}

func hubAccount(accs []wire.Account, id int64, ok func(wire.Account) bool) bool {
	for _, acc := range accs {
		if acc.ID == id {
			return ok(acc)
		}
	}
	return false
}

// typeInOverlay types s into the entry of the top dialog.
func typeInOverlay(t *testing.T, w fyne.Window, s string) {
	t.Helper()
	var entry *widget.Entry
	find(topOverlay(w), func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok {
			entry = e
		}
	})
	if entry == nil {
		t.Fatal("no entry in the dialog")
	}
	fyne.DoAndWait(func() { test.Type(entry, s) })
}

// TestApprovalShowsProblems: approving, on the pending screen, a tech whose name is too long for AD shows what
// they will not get, right after the approval.
func TestApprovalShowsProblems(t *testing.T) {
	a, w, h := connectedHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	long := h.NewTech("christopher.vandenb")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	a.Select("pending")
	row := len(a.PendingRekeys()) + len(a.Pending()) - 1 // device replacements first, then the techs, oldest first
	if p := a.Pending(); p[len(p)-1].ID != long.ID {
		t.Fatalf("pending %+v", p)
	}
	fyne.DoAndWait(func() { tables(w.Canvas().Content())[0].Select(widget.TableCellID{Row: row, Col: 0}) })
	tapButton(t, w, "Approve…")
	tapButton(t, w, "Fingerprint matches: approve")
	eventually(t, "the problems dialog", func() bool {
		return containsText(topOverlay(w), "christopher.vandenb is approved, but gets no account on some domains or hosts") &&
			containsText(topOverlay(w), "1 to 20 characters")
	})
	if a.Snapshot().Tech(long.ID).Status != wire.TechActive {
		t.Fatal("not approved")
	}
}

// TestPolicyScreenConfirmsNoFixedPart: saving a naming format without a fixed part asks first, and saves it
// with the confirmation.
func TestPolicyScreenConfirmsNoFixedPart(t *testing.T) {
	a, w, _ := connected(t)
	a.Select("policy")
	var format *widget.Entry
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok && e.Text == "{username}-{abbrev}" {
			format = e
		}
	})
	if format == nil {
		t.Fatal("no naming format entry")
	}
	fyne.DoAndWait(func() { format.SetText("{username}") })
	tapButton(t, w, "Save policy")
	if !containsText(topOverlay(w), `"{username}" has no fixed part`) {
		t.Fatal("no confirmation for a format without a fixed part")
	}
	tapButton(t, w, "Save anyway")
	eventually(t, "the confirmed format", func() bool { return a.Snapshot().Tenant.Policy.NamingFormat == "{username}" })
	if strings.Contains(a.Snapshot().Tenant.Policy.NamingFormat, "abbrev") {
		t.Fatal("format not saved")
	}
}
