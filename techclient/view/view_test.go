package view

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/view/uitest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC // rendered times must not depend on the machine's zone
	os.Exit(m.Run())
}

// fixedNow is the clock of the markup tests.
var fixedNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// harness is a window showing Root for a view-model.
type harness struct {
	t   *testing.T
	app fyne.App
	a   *vm.App
	w   fyne.Window
	u   *ui
}

func newHarness(t *testing.T, o vm.Options) *harness {
	t.Helper()
	app := uitest.NewApp(t)
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Keyring == nil {
		o.Keyring = keyringtest.New()
	}
	if o.Clipboard == nil {
		o.Clipboard = app.Clipboard()
	}
	a := vm.New(o)
	t.Cleanup(a.Close)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	u, root := build(a, w)
	w.SetContent(root)
	w.Resize(fyne.NewSize(1040, 680))
	return &harness{t: t, app: app, a: a, w: w, u: u}
}

var shortcutF = desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ok := false
		fyne.DoAndWait(func() { ok = cond() }) // conditions read widgets and the view's state
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("after %v: %s", d, what)
}

func TestFirstRunMarkup(t *testing.T) {
	h := newHarness(t, vm.Options{Now: func() time.Time { return fixedNow }})
	h.a.Start()
	eventually(t, 5*time.Second, "first run", func() bool {
		return h.a.Current() == vm.StateUnregistered && h.u.form != nil && h.w.Canvas().Focused() == h.u.form.invite
	})
	test.AssertRendersToMarkup(t, "first_run.xml", h.w.Canvas())
}

func TestPendingMarkup(t *testing.T) {
	h := newHarness(t, vm.Options{Now: func() time.Time { return fixedNow }})
	h.a.Preview(vm.Device{Username: "alice", Invite: wire.Invite{HubURL: "https://hub.example.com:8443"}, Status: wire.TechPending,
		Fingerprint: "12345 23456 34567 45678 56789 01234 12345 23456 34567 45678 56789 01234 12345 23456 34567 45678"}, nil, fixedNow)
	eventually(t, time.Second, "pending", func() bool { return h.u.current == vm.StatePending })
	test.AssertRendersToMarkup(t, "pending.xml", h.w.Canvas())
}

func TestAccountsMarkup(t *testing.T) {
	h := newHarness(t, vm.Options{Now: func() time.Time { return fixedNow }})
	h.a.Preview(vm.Device{Username: "alice", Invite: wire.Invite{HubURL: "https://hub.example.com:8443"}, Status: wire.TechActive,
		TenantName: "Contoso MSP"}, vmtest.Credentials(6, "alice", "cm", fixedNow), fixedNow)
	eventually(t, time.Second, "accounts", func() bool { return h.u.current == vm.StateActive && len(h.u.list.rows) == 6 })
	h.u.list.list.Select(1)
	eventually(t, time.Second, "detail", func() bool { return h.u.list.detail.row != nil })
	test.AssertRendersToMarkup(t, "accounts.xml", h.w.Canvas())
}

func TestSearchFiltersAsYouType(t *testing.T) {
	h := newHarness(t, vm.Options{Now: func() time.Time { return fixedNow }})
	h.a.Preview(vm.Device{Username: "alice", Status: wire.TechActive}, vmtest.Credentials(50, "alice", "cm", fixedNow), fixedNow)
	eventually(t, time.Second, "50 rows", func() bool { return h.u.list != nil && len(h.u.list.rows) == 50 })
	l := h.u.list
	fyne.DoAndWait(func() { test.Type(l.search, "fabrik") })
	eventually(t, time.Second, "filtered", func() bool { return len(l.rows) > 0 && len(l.rows) < 50 })
	for _, r := range l.rows {
		if !strings.Contains(r.Host, "fabrik") {
			t.Fatalf("row %v does not match", r)
		}
	}
	if got := l.count.Text; !strings.Contains(got, "of 50 accounts") {
		t.Fatalf("count %q", got)
	}
	fyne.DoAndWait(func() { test.Type(l.search, "zzz") })
	eventually(t, time.Second, "no match", func() bool { return len(l.rows) == 0 })
	l.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	eventually(t, time.Second, "cleared", func() bool { return len(l.rows) == 50 })

	// Ctrl+F focuses the search from anywhere.
	h.w.Canvas().Focus(l.list)
	h.w.Canvas().(fyne.Shortcutable).TypedShortcut(&shortcutF)
	if h.w.Canvas().Focused() != l.search {
		t.Fatal("Ctrl+F did not focus the search")
	}
	// Enter selects the first match.
	fyne.DoAndWait(func() { test.Type(l.search, "northwind") })
	l.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	l.search.OnSubmitted(l.search.Text)
	eventually(t, time.Second, "first match selected", func() bool { r := h.a.SelectedRow(); return r != nil && r.Host == "northwind.lan" })
}

// TestFirstRunToRevealAgainstHub drives the real screens against a real hub: typing the invite, registering,
// the pending fingerprint, approval, the list, reveal (hidden again after the delay) and Ctrl+C.
func TestFirstRunToRevealAgainstHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hub := hubtest.New(t)
	set := vm.DefaultSettings()
	set.RevealFor = 300 * time.Millisecond
	set.ClipboardClear = 400 * time.Millisecond
	h := newHarness(t, vm.Options{Settings: func() vm.Settings { return set }, Wait: 2 * time.Second, Retry: 50 * time.Millisecond})
	h.a.Start()
	eventually(t, 5*time.Second, "first run", func() bool { return h.u.form != nil })
	f := h.u.form
	fyne.DoAndWait(func() { test.Type(f.invite, hub.Invite.String()) })
	eventually(t, time.Second, "the pasted invite fills the fields", func() bool {
		var ok bool
		fyne.DoAndWait(func() { ok = f.guid.Text == hub.GUID && f.pin.Text == hub.Invite.HubPin })
		return ok
	})
	fyne.DoAndWait(func() { test.Type(f.username, "alice") })
	fyne.DoAndWait(func() { test.Type(f.email, "alice@example.com") })
	fyne.DoAndWait(func() { test.Type(f.org, "Contoso Ltd") })
	fyne.DoAndWait(func() { test.Tap(f.register) })
	eventually(t, 5*time.Second, "pending screen", func() bool { return h.u.current == vm.StatePending })
	techs, err := hub.Owner.Techs(ctx, wire.TechPending)
	if err != nil || len(techs) != 1 {
		t.Fatalf("pending: %+v %v", techs, err)
	}
	eventually(t, time.Second, "the fingerprint on the pending screen", func() bool {
		return strings.Contains(test.RenderToMarkup(h.w.Canvas()), strings.Fields(techs[0].Fingerprint)[15])
	})
	if _, err := hub.ApproveCoManaged(ctx, techs[0].ID); err != nil {
		t.Fatal(err)
	}
	enrolOnScreen(t, h, hub) // a co-managed tech
	vmtest.Rotate(t, ctx, hub.NewAgent("contoso.local", wire.DriverAD), func(wire.PlanAccount) string { return "View-Pa55word!" })
	eventually(t, 5*time.Second, "list", func() bool {
		return h.u.current == vm.StateActive && h.u.list != nil && len(h.u.list.rows) == 1 && h.u.list.rows[0].Confirmed
	})
	l := h.u.list
	l.list.Select(0)
	d := l.detail
	eventually(t, time.Second, "detail", func() bool { return d.row != nil })
	if d.password.Text != hidden {
		t.Fatalf("password shown before reveal: %q", d.password.Text)
	}
	fyne.DoAndWait(func() { test.Tap(d.reveal) })
	if d.password.Text != "View-Pa55word!" {
		t.Fatalf("revealed %q", d.password.Text)
	}
	eventually(t, 2*time.Second, "hidden again", func() bool { return d.password.Text == hidden })

	// Ctrl+C in the search box with nothing selected copies the password.
	h.w.Canvas().Focus(l.search)
	l.search.TypedShortcut(&fyne.ShortcutCopy{Clipboard: h.app.Clipboard()})
	if got := h.app.Clipboard().Content(); got != "View-Pa55word!" {
		t.Fatalf("clipboard after Ctrl+C: %q", got)
	}
	eventually(t, 3*time.Second, "clipboard cleared", func() bool { return h.app.Clipboard().Content() == "" })
}
