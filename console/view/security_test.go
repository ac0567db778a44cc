package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/view/uitest"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// On the Techs screen: the 2FA and lockout columns, Unlock, and Pause 2FA with a confirmation that
// says it is audited.
func TestTechsScreenUnlockAndPause(t *testing.T) {
	a, w, world := connected(t)
	a.Select("techs") // amoreau, the locked tech, is first and selected
	root := w.Canvas().Content()
	for _, want := range []string{"Locked out since", "locked", "enrolled", "required, not enrolled, paused until "} {
		if !containsText(root, want) {
			t.Fatalf("%q is not shown", want)
		}
	}
	tapButton(t, w, "Unlock")
	eventually(t, "the unlock", func() bool {
		s, _ := a.TechSecurity(world.Techs[demo.LockedTech])
		return !s.Locked
	})
	eventually(t, "the screen to say so", func() bool { return containsText(w.Canvas().Content(), "Not locked.") })
	tapButton(t, w, "Pause 2FA: 24 h…")
	if top := topOverlay(w); top == nil || !containsText(top, "recorded in the audit log") {
		t.Fatal("the pause confirmation does not say it is audited")
	}
	tapButton(t, w, "Yes")
	eventually(t, "the pause", func() bool {
		s, _ := a.TechSecurity(world.Techs[demo.LockedTech])
		return s.PausedUntil.After(time.Now())
	})
}

// The import screen shows the history, newest first, and the selected import's exceptions with reasons.
func TestImportScreenShowsHistoryAndExceptions(t *testing.T) {
	a, w, _ := connected(t)
	a.Select("import")
	eventually(t, "the history", func() bool {
		return containsText(w.Canvas().Content(), "Imported 2 of 4 row(s); 2 row(s) not imported")
	})
	root := w.Canvas().Content()
	if !shows(root, "opatel") || !shows(root, "email") || !shows(root, "per-row") || !shows(root, "atomic") {
		t.Fatal("the exceptions or the history are not shown")
	}
	h, rows, err := previewRows(demo.ImportCSV)
	if err != nil || strings.Join(h, ",") != wire.ImportTemplateHeader || len(rows) != 4 || rows[2][2] != "not-an-address" {
		t.Fatalf("preview: %v %v %v", h, rows, err)
	}
	if _, _, err := previewRows(""); err == nil {
		t.Fatal("an empty file previewed")
	}
}

// consoleWindow is a Console window of the size the Console opens at, drawing a.
func consoleWindow(t *testing.T, a *vm.App) fyne.Window {
	w := test.NewTempWindow(t, nil)
	// Under the UI lock: a goroutine an earlier window or the view-model started may be laying widgets out.
	fyne.DoAndWait(func() {
		w.SetContent(Root(a, w))
		w.Resize(fyne.NewSize(1180, 760))
	})
	return w
}

// consoleAs is a Console window signed in with c.
func consoleAs(t *testing.T, h *hubtest.Harness, c *hubclient.Client) (*vm.App, fyne.Window) {
	t.Helper()
	a := vm.New()
	w := consoleWindow(t, a)
	a.Connect(c, h.Invite, "test hub")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return a, w
}

func invite(t *testing.T, h *hubtest.Harness, role wire.Role, approve bool) *hubclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := h.Owner.InviteAdmin(ctx, role, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := h.Client(h.NewIdentity())
	resp, err := c.Claim(ctx, tok.Token, "Ada")
	if err != nil {
		t.Fatal(err)
	}
	if approve {
		if _, err := h.Owner.ApproveAdmin(ctx, resp.Admin.ID); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Role-aware Console: an Auditor's navigation has no onboarding, the status bar names the role, and the actions
// it may not take are hidden; a pending admin sees the approval notice with its fingerprint instead of a 403.
func TestConsoleByRole(t *testing.T) {
	uitest.NewApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := hubtest.New(t)
	if _, err := demo.Populate(ctx, h.Invite, h.Owner); err != nil {
		t.Fatal(err)
	}
	a, w := consoleAs(t, h, invite(t, h, wire.RoleAuditor, true))
	root := w.Canvas().Content()
	if !shows(root, "Ada · Signed in as Auditor") {
		t.Fatal("the status bar does not name the role")
	}
	eventually(t, "the Auditor's navigation", func() bool {
		root := w.Canvas().Content()
		return !shows(root, "Co-managed onboarding") && shows(root, "Audit log")
	})
	a.Select("techs")
	for _, b := range []string{"Deactivate…", "Unlock", "Rotate now", "Pause 2FA: 24 h…"} {
		if visibleButton(w.Canvas().Content(), b) {
			t.Fatalf("the Auditor is offered %q", b)
		}
	}
	a.Select("import")
	if visibleButton(w.Canvas().Content(), "Import") || !visibleButton(w.Canvas().Content(), "Save template…") {
		t.Fatal("the Auditor's import screen offers the wrong actions")
	}

	c := invite(t, h, wire.RoleAdmin, false)
	a, w = consoleAs(t, h, c)
	root = w.Canvas().Content()
	fp := c.PublicKey().Fingerprint().String()
	if !showsPrefix(root, "This Console is waiting for the owner's approval.") || !shows(root, fingerprintLines(fp)) ||
		!shows(root, "Waiting for the owner's approval") {
		t.Fatal("the pending admin does not see the approval notice with its fingerprint")
	}
	// The navigation's rows are checked through the view-model: the rendered list's recycled rows lag behind under
	// load in the headless driver (seen once in ~20 runs).
	if got := a.VisibleSections(); len(got) != 1 || got[0].ID != "pending" {
		t.Fatalf("a pending admin's sections: %v", got)
	}
	// A raw refusal reads "hub: …" (hubclient.Error); "403" alone would also match the fingerprint's digits.
	if containsText(root, "hub: ") || containsText(root, "forbidden") {
		t.Fatal("the pending admin sees the raw refusal")
	}
}

func visibleButton(root fyne.CanvasObject, text string) bool {
	seen := false
	find(root, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == text && b.Visible() {
			seen = true
		}
	})
	return seen
}
