package vm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
	"github.com/watchword/watchword/techclient/vm/vmtest"
)

// activeWith registers user, approves and enrols them, and rotates one account on contoso.local through the
// given passwords, one version each.
func activeWith(t *testing.T, h *hubtest.Harness, e *env, user string, passwords ...string) *vm.Row {
	t.Helper()
	ctx := ctxT(t)
	a := e.app
	firstRun(t, a)
	techs := registerAs(t, ctx, h, a, user)
	if len(techs) != 1 {
		t.Fatalf("pending: %v", techs)
	}
	approveEnrol(t, ctx, h, a, techs[0].ID)
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	for i, pw := range passwords {
		vmtest.Rotate(t, ctx, agent, func(wire.PlanAccount) string { return pw })
		eventually(t, 3*time.Second, "version shown", func() bool {
			v := a.Visible()
			return len(v) == 1 && v[0].Version == int64(i+1)
		})
	}
	return a.Visible()[0]
}

// TestRotatesAfterUse: a reveal makes the hub schedule a rotation after the policy's grace; the row shows when,
// without a restart or a refresh by hand.
func TestRotatesAfterUse(t *testing.T) {
	h := hubtest.New(t)
	e := newEnv(t, h, t.TempDir(), keyringtest.New(), vm.DefaultSettings())
	row := activeWith(t, h, e, "alice", "first-Pa55word!")
	if !row.RotatesAfterUse.IsZero() {
		t.Fatalf("rotates after use before any use: %v", row.RotatesAfterUse)
	}
	before := time.Now()
	if _, err := e.app.Reveal(row.AccountID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the row's rotate-after-use time", func() bool {
		r := e.app.Row(row.AccountID)
		return r != nil && !r.RotatesAfterUse.IsZero()
	})
	at := e.app.Row(row.AccountID).RotatesAfterUse
	if d := at.Sub(before); d < wire.DefaultRotateAfterUse-time.Minute || d > wire.DefaultRotateAfterUse+time.Minute {
		t.Fatalf("rotates after use at %v, %v after the reveal; want the default grace %v", at, d, wire.DefaultRotateAfterUse)
	}
	if s, _ := e.app.Synced.Get(); !strings.HasPrefix(s, "1 account · synced ") {
		t.Fatalf("synced line %q", s)
	}
}

// TestAfterUse: the rotate-after-use time shows as a time of day when it falls on today's local date, and with
// its date when it falls on another, midnight included. The times are fixed wall-clock times in the machine's
// zone, so the answer is the same whatever the zone and the hour the test runs at.
func TestAfterUse(t *testing.T) {
	at := func(day, hour, min int) time.Time {
		return time.Date(2026, time.December, day, hour, min, 0, 0, time.Local)
	}
	for _, c := range []struct {
		name    string
		now, at time.Time
		want    string
	}{
		{"later today", at(7, 16, 12), at(7, 23, 59), "rotates at 23:59 after use"},
		{"just after midnight, later that day", at(8, 0, 1), at(8, 8, 1), "rotates at 08:01 after use"},
		{"before midnight, due after it", at(7, 23, 59), at(8, 0, 12), "rotates at Tue 8 Dec 00:12 after use"},
		{"the day before, due at midnight", at(7, 16, 0), at(8, 0, 0), "rotates at Tue 8 Dec 00:00 after use"},
		{"two days on", at(7, 12, 0), at(9, 12, 0), "rotates at Wed 9 Dec 12:00 after use"},
		{"given in UTC, shown in the local zone", at(7, 23, 30), at(8, 0, 30).UTC(), "rotates at Tue 8 Dec 00:30 after use"},
		{"now given in UTC, compared on the local date", at(8, 0, 30).UTC(), at(8, 7, 0), "rotates at 07:00 after use"},
		{"zero time", at(7, 12, 0), time.Time{}, ""},
	} {
		if got := vm.AfterUse(c.now, c.at); got != c.want {
			t.Errorf("%s: AfterUse(%v, %v) = %q, want %q", c.name, c.now, c.at, got, c.want)
		}
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n          int
		noun, want string
	}{{0, "account", "0 accounts"}, {1, "account", "1 account"}, {2, "account", "2 accounts"}, {1, "match", "1 match"},
		{3, "match", "3 matches"}, {2, "version", "2 versions"}} {
		if got := vm.Plural(c.n, c.noun); got != c.want {
			t.Errorf("Plural(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}

// TestPasswordHistory: the technician reads the previous passwords of an account, each opened only on request
// with the device key; the hub audits the read; locking forgets the fetched history.
func TestPasswordHistory(t *testing.T) {
	ctx := ctxT(t)
	h := hubtest.New(t)
	e := newEnv(t, h, t.TempDir(), keyringtest.New(), vm.DefaultSettings())
	a := e.app
	row := activeWith(t, h, e, "alice", "first-Pa55word!", "second-Pa55word!", "third-Pa55word!")
	if _, err := a.OpenVersion(row.AccountID, 1); err == nil {
		t.Fatal("a version opened before the history was fetched")
	}
	if hasAudit(ctx, h, "credential.history") {
		t.Fatal("history audited before it was read")
	}
	hist, err := a.History(ctx, row.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].Version != 3 || !hist[0].Current || hist[1].Current || hist[2].Version != 1 || hist[2].When().IsZero() {
		t.Fatalf("history %+v", hist)
	}
	if !hasAudit(ctx, h, "credential.history") {
		t.Fatal("the history read is not in the audit log")
	}
	for _, c := range []struct {
		v    int64
		want string
	}{{1, "first-Pa55word!"}, {2, "second-Pa55word!"}, {3, "third-Pa55word!"}} {
		if pw, err := a.OpenVersion(row.AccountID, c.v); err != nil || pw != c.want {
			t.Fatalf("version %d: %q, %v", c.v, pw, err)
		}
	}
	if _, err := a.OpenVersion(row.AccountID, 9); err == nil {
		t.Fatal("a version not in the history opened")
	}
	if _, err := a.History(ctx, 999999); !errors.Is(err, vm.ErrNoRow) {
		t.Fatalf("history of an account that is not the tech's: %v", err)
	}
	// Nothing of the history reaches the disk.
	noneHolds(t, e.dir, "first-Pa55word!", "second-Pa55word!")

	a.Lock()
	if _, err := a.OpenVersion(row.AccountID, 1); !errors.Is(err, vm.ErrLocked) {
		t.Fatalf("open after lock: %v", err)
	}
	if err := a.Unlock(""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "active after unlock", func() bool { return state(a) == vm.StateActive })
	if _, err := a.OpenVersion(row.AccountID, 1); err == nil {
		t.Fatal("the history fetched before the lock still opens after it")
	}
}
