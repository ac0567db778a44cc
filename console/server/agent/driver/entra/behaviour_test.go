package entra_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/drivertest"
	"github.com/watchword/watchword/console/server/agent/driver/entra"
	"github.com/watchword/watchword/internal/testsupport/graphtest"
	"github.com/watchword/watchword/shared/rotation"
)

// Throttling: every form of Retry-After is honoured (the driver waits at least what it says), 503 and 504 are
// retried, and the work completes with nothing done twice.
func TestThrottlingHonoursRetryAfter(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	tn.waits()
	date := tn.srv.Now().Add(7 * time.Second).UTC().Format(http.TimeFormat)
	tn.srv.Inject(
		graphtest.Fault{Status: 429, RetryAfter: "2"},
		graphtest.Fault{Status: 429, RetryAfter: "1.5"},
		graphtest.Fault{Status: 429, RetryAfter: date},
	)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name, Groups: []string{"Helpdesk Administrator"}}); err != nil {
		t.Fatalf("ensure through three 429s: %v", err)
	}
	w := tn.waits()
	if len(w) != 3 || w[0] != 2*time.Second || w[1] != 1500*time.Millisecond || w[2] != 3500*time.Millisecond {
		// The date was 7 s ahead when the faults were queued; the two waits before it moved the clock 3.5 s.
		t.Fatalf("waits %v, want 2s, 1.5s and the 3.5 s left to the HTTP date", w)
	}
	// Absent Retry-After: exponential from the 3 s base; 503 and 504 the same.
	tn.srv.Inject(graphtest.Fault{Status: 429}, graphtest.Fault{Status: 503}, graphtest.Fault{Status: 504})
	pw := drivertest.Rotate(c, t, tn.d, name, 1)
	w = tn.waits()
	if len(w) != 3 || w[0] < 3*time.Second || w[0] > 3600*time.Millisecond || w[1] < 6*time.Second || w[2] < 12*time.Second {
		t.Fatalf("waits without Retry-After %v, want about 3 s, 6 s, 12 s", w)
	}
	if got, _ := tn.srv.LookupUser(tn.upn(name)); got.Password != pw || tn.srv.Rights(got.ID)[0] != "Helpdesk Administrator" {
		t.Fatalf("after the retries: password set %t, rights %v", got.Password == pw, tn.srv.Rights(got.ID))
	}
	if tn.srv.PendingFaults() != 0 {
		t.Fatal("an injected fault was never met")
	}
}

// Retries are bounded: a fourth 429 is an error, and so is a Retry-After beyond the 180 s budget.
func TestThrottlingIsBounded(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	tn.srv.Inject(graphtest.Fault{Status: 429, RetryAfter: "1"}, graphtest.Fault{Status: 429, RetryAfter: "1"},
		graphtest.Fault{Status: 429, RetryAfter: "1"}, graphtest.Fault{Status: 429, RetryAfter: "1"})
	_, err := tn.d.Ensure(c, driver.Account{Name: name})
	if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), name) {
		t.Fatalf("four 429s: %v, want a 429 error naming the account", err)
	}
	if w := tn.waits(); len(w) != 3 {
		t.Fatalf("waits %v, want exactly 3 retries", w)
	}
	tn.srv.Inject(graphtest.Fault{Status: 429, RetryAfter: "600"})
	if _, err := tn.d.Ensure(c, driver.Account{Name: name}); err == nil || !strings.Contains(err.Error(), "retry budget") {
		t.Fatalf("Retry-After 600: %v, want to give up", err)
	}
	if w := tn.waits(); len(w) != 0 {
		t.Fatalf("waited %v for a Retry-After beyond the budget", w)
	}
}

// A password write Graph throttled is resent (same password; nothing that signs in is retried) and verifies;
// one Graph refused for good is ErrNotApplied.
func TestPasswordWriteRetriesAndRefusals(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	tn.srv.Inject(graphtest.Fault{Method: "PATCH", Status: 429, RetryAfter: "1"})
	drivertest.Rotate(c, t, tn.d, name, 2)
	err := tn.d.SetPassword(c, name, "short")
	if !errors.Is(err, rotation.ErrNotApplied) || !strings.Contains(err.Error(), "complexity") {
		t.Fatalf("a weak password: %v, want ErrNotApplied", err)
	}
	if strings.Contains(err.Error(), "short") {
		t.Fatal("the error holds the password")
	}
}

// Replication: a new user that Graph does not show for a few calls, or for a while on the tenant's clock, is
// waited for and worked on; nothing is created twice.
func TestDelayedVisibility(t *testing.T) {
	for _, lag := range []graphtest.Lag{{Calls: 4}, {For: 20 * time.Second}} {
		tn := newTenant(t)
		c := ctx(t)
		tn.srv.SetLag(lag)
		name := fresh(t)
		rep, err := tn.d.Ensure(c, driver.Account{Name: name, Groups: []string{"Helpdesk Administrator", "wwt-dev"}})
		if err != nil || !rep.Created || len(rep.Added) != 2 {
			t.Fatalf("lag %+v: ensure %+v %v", lag, rep, err)
		}
		drivertest.Rotate(c, t, tn.d, name, 2)
		if w := tn.waits(); len(w) == 0 {
			t.Fatalf("lag %+v: never waited", lag)
		}
		if got := tn.srv.Statuses()[404]; got == 0 {
			t.Fatalf("lag %+v: Graph never answered 404", lag)
		}
		// A second driver (an agent restarted) that does not know the id sees the user once it is replicated.
		d2, err := entra.New(tn.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := d2.Ensure(c, driver.Account{Name: name, Groups: []string{"Helpdesk Administrator", "wwt-dev"}}); err != nil || rep.Created {
			t.Fatalf("lag %+v: a second driver: %+v %v", lag, rep, err)
		}
	}
}

// A user created by a reply that got lost (the POST applied, the driver never saw the 201) is found and reused.
func TestCreateConflictReadsBack(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	first, err := entra.New(tn.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tn.srv.SetLag(graphtest.Lag{Calls: 3})
	if _, err := first.EnsureDisabled(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	// tn.d does not know the id: its lookup by name 404s (replication), its POST conflicts, it reads back.
	tn.srv.SetLag(graphtest.Lag{})
	rep, err := tn.d.Ensure(c, driver.Account{Name: name})
	if err != nil || !rep.NeedsPassword {
		t.Fatalf("ensure while replicating: %+v %v", rep, err)
	}
}

// An access token that expires mid-run (Graph answers 401) is replaced once and the work goes on.
func TestTokenExpiresMidRun(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	before := tn.srv.TokensIssued()
	tn.srv.ExpireTokens()
	drivertest.Rotate(c, t, tn.d, name, 1)
	if after := tn.srv.TokensIssued(); after != before+1 {
		t.Fatalf("tokens issued %d → %d, want one new token", before, after)
	}
	if tn.srv.Statuses()[401] != 1 {
		t.Fatalf("401s: %d, want 1", tn.srv.Statuses()[401])
	}
}

// Without Privileged Authentication Administrator the app cannot reset an admin's password (403): the rotation
// is refused as not applied, and says why.
func TestPrivilegedTargetNeedsPAA(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name, Groups: []string{"Helpdesk Administrator"}}); err != nil {
		t.Fatal(err)
	}
	tn.srv.SetDirectoryRoles(tn.cfg.ClientID, graphtest.RoleUserAdmin)
	err := tn.d.SetPassword(c, name, "Xk4#mWq9!pLz2vRt")
	if !errors.Is(err, rotation.ErrNotApplied) || !strings.Contains(err.Error(), "Authorization_RequestDenied") {
		t.Fatalf("reset an admin's password as User Administrator: %v", err)
	}
	// A user without a role is within User Administrator's reach.
	plain := fresh(t)
	tn.srv.SetDirectoryRoles(tn.cfg.ClientID, graphtest.RolePrivilegedAuthAdmn)
	if _, err := tn.d.Ensure(c, driver.Account{Name: plain}); err != nil {
		t.Fatal(err)
	}
	tn.srv.SetDirectoryRoles(tn.cfg.ClientID, graphtest.RoleUserAdmin)
	drivertest.Rotate(c, t, tn.d, plain, 1)
}

// A new password that reaches the sign-in service late is asked again, with the same password, so smart lockout
// counts it once at most; an older password is never retried.
func TestPasswordReplicationNoLockout(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	tn.srv.SetLag(graphtest.Lag{PasswordCalls: 2})
	drivertest.Rotate(c, t, tn.d, name, 12) // 12 rotations, each with a lagging password and a wrong old one
	u, _ := tn.srv.LookupUser(tn.upn(name))
	if tn.srv.Lockouts() != 0 || u.BadCount > 2 {
		t.Fatalf("lockouts %d, bad count %d", tn.srv.Lockouts(), u.BadCount)
	}
	// A lag longer than the driver's three sign-ins: the verification fails as a wrong password, and stops.
	tn.srv.SetLag(graphtest.Lag{PasswordCalls: 5})
	pw := "Rz8!qTw3#nLp5vXk"
	if err := tn.d.SetPassword(c, name, pw); err != nil {
		t.Fatal(err)
	}
	if err := tn.d.Verify(c, name, pw); !errors.Is(err, driver.ErrBadPassword) {
		t.Fatalf("verify through a long lag: %v, want ErrBadPassword", err)
	}
	u, _ = tn.srv.LookupUser(tn.upn(name))
	if u.BadCount != 1 {
		t.Fatalf("bad count %d after three sign-ins with one password, want 1 (the last three hashes rule)", u.BadCount)
	}
}

// A locked account stops the verification at once: one sign-in, ErrLockedOut.
func TestLockedStopsAtOnce(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	pw := drivertest.Rotate(c, t, tn.d, name, 1)
	tn.srv.Lock(tn.upn(name))
	if err := tn.d.Verify(c, name, pw); !errors.Is(err, driver.ErrLockedOut) {
		t.Fatalf("verify a locked account: %v, want ErrLockedOut", err)
	}
	if w := tn.waits(); len(w) != 0 {
		t.Fatalf("waited %v to sign in again after a lockout", w)
	}
}

// Ten distinct wrong passwords lock the account out (the server's smart lockout is real), and the driver's
// verification says so; an admin reset (the next rotation) unlocks it.
func TestSmartLockoutIsReal(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	drivertest.Rotate(c, t, tn.d, name, 1)
	for i := range 9 {
		if err := tn.d.Verify(c, name, "Wrong-"+strings.Repeat("x", i)+"1"); !errors.Is(err, driver.ErrBadPassword) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if err := tn.d.Verify(c, name, "Wrong-again-1"); !errors.Is(err, driver.ErrLockedOut) {
		t.Fatalf("tenth wrong password: %v, want ErrLockedOut", err)
	}
	drivertest.Rotate(c, t, tn.d, name, 1)
}

// MFA required (50076) proves the password right; the answer map can be changed per agent.
func TestAnswers(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	tn.srv.SetMFAForAdmins(true)
	name := fresh(t)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name, Groups: []string{"Helpdesk Administrator"}}); err != nil {
		t.Fatal(err)
	}
	drivertest.Rotate(c, t, tn.d, name, 2)

	strict, err := entra.New(withAnswers(tn.cfg, map[int]entra.Answer{50076: entra.AnswerUnknown}))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := tn.srv.LookupUser(tn.upn(name))
	if err := strict.Verify(c, name, u.Password); err == nil || !strings.Contains(err.Error(), "AADSTS50076") {
		t.Fatalf("50076 mapped to unknown: %v", err)
	}
	if _, err := entra.ParseAnswers(map[string]string{"AADSTS50057": "unknown", "50076": "right"}); err != nil {
		t.Fatal(err)
	}
	if _, err := entra.ParseAnswers(map[string]string{"50057": "maybe"}); err == nil {
		t.Fatal("an unknown answer was accepted")
	}
}

func withAnswers(cfg entra.Config, a map[int]entra.Answer) entra.Config {
	cfg.Answers = a
	return cfg
}

// With verification off (a tenant that blocks the password grant) nothing signs in: Verify reads the account's
// state from Graph.
func TestVerifyOff(t *testing.T) {
	tn := newTenant(t, func(c *entra.Config) { c.Verify = false })
	c := ctx(t)
	name := fresh(t)
	if _, err := tn.d.Ensure(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := tn.d.SetPassword(c, name, "Mv7!rTq2#kLw9pZx"); err != nil {
		t.Fatal(err)
	}
	if err := tn.d.Verify(c, name, "Mv7!rTq2#kLw9pZx"); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.d.Disable(c, name); err != nil {
		t.Fatal(err)
	}
	if err := tn.d.Verify(c, name, "Mv7!rTq2#kLw9pZx"); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("verify a disabled account with verification off: %v", err)
	}
	for _, r := range tn.srv.Requests() {
		if strings.Contains(r, "token") {
			t.Fatalf("a sign-in with verification off: %s", r)
		}
	}
}

// JIT: a closed account opens with a Temporary Access Pass for the window, within the policy's bounds; the pass
// is readable once, and is gone when the window closes; offboarding disables, strips and deletes.
func TestJITWithTemporaryAccessAndOffboarding(t *testing.T) {
	tn := newTenant(t)
	c := ctx(t)
	name := fresh(t)
	if _, err := tn.d.EnsureDisabled(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	for cycle := range 3 {
		pw, _ := rotation.DefaultPolicy(tn.d.PasswordRules()).Generate(name)
		if err := tn.d.SetDisabledPassword(c, name, pw); err != nil {
			t.Fatal(err)
		}
		if err := tn.d.VerifyDisabled(c, name, pw); err != nil {
			t.Fatalf("cycle %d: closed password: %v", cycle, err)
		}
		if _, _, err := tn.d.IssueTemporaryAccess(c, name, time.Hour); !errors.Is(err, driver.ErrDisabled) {
			t.Fatalf("cycle %d: a pass for a closed account: %v", cycle, err)
		}
		rep, err := tn.d.Ensure(c, driver.Account{Name: name, Groups: []string{"Helpdesk Administrator", "wwt-dev"}})
		if err != nil || !rep.Enabled {
			t.Fatalf("cycle %d: open: %+v %v", cycle, rep, err)
		}
		code, expires, err := tn.d.IssueTemporaryAccess(c, name, 90*time.Minute)
		if err != nil {
			t.Fatalf("cycle %d: issue: %v", cycle, err)
		}
		value, start, life, ok := tn.srv.TAP(tn.upn(name))
		if !ok || value != code || life != 90*time.Minute || !expires.Equal(start.Add(life)) {
			t.Fatalf("cycle %d: pass %q %v %v, driver got expires %v", cycle, value, start, life, expires)
		}
		rep, err = tn.d.EnsureDisabled(c, driver.Account{Name: name})
		if err != nil || !rep.Disabled || len(rep.Removed) != 2 {
			t.Fatalf("cycle %d: close: %+v %v", cycle, rep, err)
		}
		if err := tn.d.RevokeTemporaryAccess(c, name); err != nil {
			t.Fatal(err)
		}
		if _, _, _, ok := tn.srv.TAP(tn.upn(name)); ok {
			t.Fatalf("cycle %d: the pass outlived the window", cycle)
		}
		if err := tn.d.RevokeTemporaryAccess(c, name); err != nil {
			t.Fatalf("revoke with nothing to revoke: %v", err)
		}
	}
	// The policy's bounds (default 1 to 8 hours) are Graph's to enforce; the driver says what it refused.
	if _, err := tn.d.Ensure(c, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tn.d.IssueTemporaryAccess(c, name, 20*time.Minute); err == nil || !strings.Contains(err.Error(), "between 60 and 480") {
		t.Fatalf("a pass shorter than the policy allows: %v", err)
	}
	tn.srv.SetTAPPolicy(graphtest.TAPPolicy{})
	if _, _, err := tn.d.IssueTemporaryAccess(c, name, time.Hour); err == nil || !strings.Contains(err.Error(), "does not allow") {
		t.Fatalf("a pass with TAP off in the policy: %v", err)
	}

	// Offboarding: deactivated (disabled, rights stripped), then deleted with the tech.
	if _, err := tn.d.Ensure(c, driver.Account{Name: name, Groups: []string{"Helpdesk Administrator"}}); err != nil {
		t.Fatal(err)
	}
	rep, err := tn.d.Disable(c, name)
	if err != nil || !rep.Disabled || !slices.Equal(rep.Removed, []string{"Helpdesk Administrator"}) {
		t.Fatalf("deactivate: %+v %v", rep, err)
	}
	u, _ := tn.srv.LookupUser(tn.upn(name))
	if u.Enabled || len(tn.srv.Rights(u.ID)) != 0 {
		t.Fatalf("deactivated user enabled %t rights %v", u.Enabled, tn.srv.Rights(u.ID))
	}
	if rep, err := tn.d.Delete(c, name); err != nil || !rep.Deleted {
		t.Fatalf("delete: %+v %v", rep, err)
	}
	if _, ok := tn.srv.LookupUser(tn.upn(name)); ok {
		t.Fatal("the user outlived its deletion")
	}
}
