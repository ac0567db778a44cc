// Package drivertest is the driver contract (package driver's doc and the Driver interface) as a conformance
// suite: every driver's test calls [Run] against its real target (ad against the Samba DC, linux locally and over
// SSH, openldap against slapd), so a new driver — or a change to an old one — answers to the same assertions.
//
// drivertest.go holds the whole suite: [Config] says how to reach the target around the driver (fresh names,
// the groups an account is really in, an account Watchword did not create, the marks) and which cases the driver
// cannot run ([Config.Cannot], with the reason); each case is one t.Run of [Run]:
//
//   - lifecycle: create (disabled, no password, a missing group reported and not created), 20 rotations (each new
//     password verifies, the previous one is refused), rights changed, an idempotent repeat, disable (memberships
//     stripped, the password refused as disabled), re-enable with the same password;
//   - hostile: names and groups built from filter, DN and shell metacharacters are refused or never joined;
//   - jit: an account kept disabled rotates without ever being enabled, a window opens and closes it;
//   - enable: Enable refuses an account without a password, a held account stays disabled, Enable enables;
//   - not-managed: an account Watchword did not create is refused with ErrNotManaged until adopted, adopting marks
//     it, and what the driver creates carries its mark;
//   - protected: built-in and privileged accounts are refused with ErrProtected, adopt or not;
//   - delete: an account Watchword created is deleted with its memberships, a second delete finds it gone, an
//     adopted account is refused with ErrNotManaged and stays (every call of not-managed and protected includes
//     Delete too);
//   - dead-target: a driver whose target does not answer fails with an error that names the account.
package drivertest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/rotation"
)

// Case names one case of the suite.
type Case string

// The suite's cases, in the order Run runs them.
const (
	Lifecycle  Case = "lifecycle"
	Hostile    Case = "hostile"
	JIT        Case = "jit"
	Enable     Case = "enable"
	NotManaged Case = "not-managed"
	Protected  Case = "protected"
	Delete     Case = "delete"
	DeadTarget Case = "dead-target"
)

// Stage is a point of an account's life at which Config.Check looks at the target's own state.
type Stage int

const (
	Created  Stage = iota // just created by Ensure: disabled or without a password
	Enabled               // enabled with password, after the rotations and again after re-enabling
	Disabled              // disabled by Disable, its password the last one set
)

// Config tells the suite how to reach the target around the driver. Every func field is required unless the
// cases that use it are in Cannot.
type Config struct {
	// NewName returns a fresh account name the driver accepts, and removes the account from the target when the
	// test ends (the delete case aside, the driver never deletes).
	NewName func(t *testing.T) string
	// Groups are the memberships of name as the target holds them, read around the driver, sorted.
	Groups func(t *testing.T, name string) []string
	// GroupExists says whether a group of that name exists on the target.
	GroupExists func(t *testing.T, group string) bool
	// Ops and Dev are two groups that exist on the target; the suite never creates or deletes groups.
	Ops, Dev string
	// DisplayName is the display name the lifecycle case creates its account with ("Test Tech" when empty): a
	// target with a field syntax of its own (Linux GECOS) gives one that must not break it.
	DisplayName string
	// Check, when set, checks what only this target shows of an account at a stage (AD's userAccountControl, a
	// raw login over SSH, a locked shadow entry); password is the account's current one ("" when it has none).
	Check func(t *testing.T, name, password string, at Stage)

	// HostileNames are names built from the target's filter, DN or shell metacharacters, each refused with
	// ErrInvalidName by every call. HostileGroups are group names of the same kind: never joined.
	HostileNames, HostileGroups []string

	// Foreign creates an account named name on the target as its administrator would, not marked as
	// Watchword's, and returns a check that fails the test if that account changed since.
	Foreign func(t *testing.T, name string) (unchanged func(t *testing.T))
	// Mark reads the field the driver marks (AD and LDAP description, Linux GECOS) of an existing account.
	Mark func(t *testing.T, name string) string

	// ProtectedDriver is the driver the protected case runs (one without a name prefix or managed-OU guard, so
	// that only the protection itself refuses), and ProtectedNames the built-in or privileged accounts it must
	// never touch. ProtectedUnchanged reads what "untouched" means for one of them.
	ProtectedDriver    driver.Driver
	ProtectedNames     []string
	ProtectedUnchanged func(t *testing.T, name string) string

	// Dead returns a driver of the same kind whose target does not answer (a closed port); an error from its
	// constructor counts as the clear error the case wants.
	Dead func(t *testing.T) (driver.Driver, error)

	// Cannot lists the cases this driver cannot run, each with the reason; the suite skips them saying so.
	Cannot map[Case]string
}

// Rotations is how many passwords the lifecycle case sets in a row.
const Rotations = 20

// Run runs the conformance suite against d.
func Run(t *testing.T, d driver.Driver, cfg Config) {
	t.Helper()
	cases := []struct {
		c   Case
		run func(*testing.T, driver.Driver, Config)
	}{
		{Lifecycle, lifecycle}, {Hostile, hostile}, {JIT, jit}, {Enable, enable},
		{NotManaged, notManaged}, {Protected, protected}, {Delete, deleteCase}, {DeadTarget, deadTarget},
	}
	for _, c := range cases {
		t.Run(string(c.c), func(t *testing.T) {
			if why, ok := cfg.Cannot[c.c]; ok {
				t.Skipf("driver %s cannot run %s: %s", d.Kind(), c.c, why)
			}
			c.run(t, d, cfg)
		})
	}
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (cfg Config) check(t *testing.T, name, password string, at Stage) {
	t.Helper()
	if cfg.Check != nil {
		cfg.Check(t, name, password, at)
	}
}

// lifecycle: create, Rotations rotations (new password works, previous fails), rights changed, missing group
// reported, an idempotent repeat, disable (password refused as disabled), re-enable.
func lifecycle(t *testing.T, d driver.Driver, cfg Config) {
	ctx := timeout(t)
	name := cfg.NewName(t)
	const nosuch = "wwt-nosuch"

	display := cfg.DisplayName
	if display == "" {
		display = "Test Tech"
	}
	rep, err := d.Ensure(ctx, driver.Account{Name: name, DisplayName: display, Groups: []string{cfg.Ops, nosuch}})
	if err != nil {
		t.Fatalf("ensure: %v", err)
	}
	if !rep.Created || !rep.NeedsPassword || !slices.Equal(rep.Added, []string{cfg.Ops}) || !slices.Equal(rep.Missing, []string{nosuch}) {
		t.Fatalf("first ensure report %+v", rep)
	}
	if cfg.GroupExists(t, nosuch) {
		t.Fatal("a missing group was created")
	}
	cfg.check(t, name, "", Created)

	prev := Rotate(ctx, t, d, name, Rotations)
	cfg.check(t, name, prev, Enabled)

	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{cfg.Dev}})
	if err != nil || rep.Created || !slices.Equal(rep.Added, []string{cfg.Dev}) || !slices.Equal(rep.Removed, []string{cfg.Ops}) {
		t.Fatalf("rights change: %+v %v", rep, err)
	}
	if g := cfg.Groups(t, name); !slices.Equal(g, []string{cfg.Dev}) {
		t.Fatalf("groups %v, want [%s]", g, cfg.Dev)
	}
	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{cfg.Dev}})
	if err != nil || rep.Created || len(rep.Added)+len(rep.Removed) != 0 || rep.Enabled {
		t.Fatalf("repeat ensure not idempotent: %+v %v", rep, err)
	}

	rep, err = d.Disable(ctx, name)
	if err != nil || !rep.Disabled || !slices.Equal(rep.Removed, []string{cfg.Dev}) {
		t.Fatalf("disable: %+v %v", rep, err)
	}
	if g := cfg.Groups(t, name); len(g) != 0 {
		t.Fatalf("disabled account still in %v", g)
	}
	if err := d.Verify(ctx, name, prev); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("verify a disabled account: %v, want ErrDisabled", err)
	}
	cfg.check(t, name, prev, Disabled)
	if rep, err := d.Disable(ctx, name); err != nil || rep.Disabled || len(rep.Removed) != 0 {
		t.Fatalf("repeat disable not idempotent: %+v %v", rep, err)
	}

	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{cfg.Ops, cfg.Dev}})
	if err != nil || !rep.Enabled || rep.NeedsPassword || len(rep.Added) != 2 {
		t.Fatalf("re-enable: %+v %v", rep, err)
	}
	if err := d.Verify(ctx, name, prev); err != nil {
		t.Fatalf("re-enabled account does not verify with its password: %v", err)
	}
	cfg.check(t, name, prev, Enabled)
}

// Rotate sets n fresh passwords on name in a row, each verified, each previous one refused with ErrBadPassword,
// and returns the last.
func Rotate(ctx context.Context, t testing.TB, d driver.Driver, name string, n int) string {
	t.Helper()
	policy := rotation.DefaultPolicy(d.PasswordRules())
	prev := ""
	for i := range n {
		pw, err := policy.Generate(name, "Test Tech")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SetPassword(ctx, name, pw); err != nil {
			t.Fatalf("rotation %d: set: %v", i, err)
		}
		if err := d.Verify(ctx, name, pw); err != nil {
			t.Fatalf("rotation %d: new password does not verify: %v", i, err)
		}
		if prev != "" {
			if err := d.Verify(ctx, name, prev); !errors.Is(err, driver.ErrBadPassword) {
				t.Fatalf("rotation %d: previous password: %v, want ErrBadPassword", i, err)
			}
		}
		prev = pw
	}
	return prev
}

// hostile: names and groups built to break out of a filter, DN or command line are refused or never joined.
func hostile(t *testing.T, d driver.Driver, cfg Config) {
	ctx := timeout(t)
	for _, n := range cfg.HostileNames {
		if err := d.ValidateName(n); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", n, err)
		}
		calls := map[string]error{}
		_, calls["Ensure"] = d.Ensure(ctx, driver.Account{Name: n})
		_, calls["EnsureDisabled"] = d.EnsureDisabled(ctx, driver.Account{Name: n})
		_, calls["Disable"] = d.Disable(ctx, n)
		calls["SetPassword"] = d.SetPassword(ctx, n, "Xx1!xxxxxxxx")
		calls["SetDisabledPassword"] = d.SetDisabledPassword(ctx, n, "Xx1!xxxxxxxx")
		calls["Verify"] = d.Verify(ctx, n, "x")
		calls["VerifyDisabled"] = d.VerifyDisabled(ctx, n, "x")
		calls["Enable"] = d.Enable(ctx, n)
		for call, err := range calls {
			if !errors.Is(err, driver.ErrInvalidName) {
				t.Errorf("%s(%q) = %v, want ErrInvalidName", call, n, err)
			}
		}
	}
	name := cfg.NewName(t)
	rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: cfg.HostileGroups})
	if err != nil {
		t.Fatalf("ensure %q: %v", name, err)
	}
	if len(rep.Added) != 0 || len(rep.Missing) != len(cfg.HostileGroups) {
		t.Fatalf("hostile group names joined something: %+v", rep)
	}
	if g := cfg.Groups(t, name); len(g) != 0 {
		t.Fatalf("member of %v", g)
	}
}

// jit: a just-in-time account outside its window exists disabled without memberships and rotates without ever
// being enabled; its window opens it with its rights and closes it again.
func jit(t *testing.T, d driver.Driver, cfg Config) {
	ctx := timeout(t)
	name := cfg.NewName(t)
	rep, err := d.EnsureDisabled(ctx, driver.Account{Name: name, DisplayName: "JIT Tech"})
	if err != nil || !rep.Created || !rep.NeedsPassword || rep.Enabled {
		t.Fatalf("first EnsureDisabled: %+v %v", rep, err)
	}
	if g := cfg.Groups(t, name); len(g) != 0 {
		t.Fatalf("a closed account is in %v", g)
	}
	cfg.check(t, name, "", Disabled)
	policy := rotation.DefaultPolicy(d.PasswordRules())
	var closed []string
	for i := range 3 {
		pw, _ := policy.Generate(name)
		if err := d.SetDisabledPassword(ctx, name, pw); err != nil {
			t.Fatalf("closed rotation %d: %v", i, err)
		}
		if err := d.Verify(ctx, name, pw); !errors.Is(err, driver.ErrDisabled) {
			t.Fatalf("closed rotation %d: Verify with the new password: %v, want ErrDisabled (still disabled)", i, err)
		}
		if err := d.VerifyDisabled(ctx, name, pw); err != nil {
			t.Fatalf("closed rotation %d: VerifyDisabled with the new password: %v", i, err)
		}
		for _, old := range closed {
			if err := d.VerifyDisabled(ctx, name, old); !errors.Is(err, driver.ErrBadPassword) {
				t.Fatalf("VerifyDisabled with an older password: %v, want ErrBadPassword", err)
			}
		}
		cfg.check(t, name, pw, Disabled)
		closed = append(closed, pw)
	}
	if rep, err := d.EnsureDisabled(ctx, driver.Account{Name: name}); err != nil || rep.Created || rep.Disabled || rep.NeedsPassword {
		t.Fatalf("EnsureDisabled again: %+v %v, want no change", rep, err)
	}

	// The window opens: rights, enabled, a fresh password that verifies; the closed one is dead.
	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{cfg.Ops}})
	if err != nil || !rep.Enabled || !slices.Equal(rep.Added, []string{cfg.Ops}) {
		t.Fatalf("open the window: %+v %v", rep, err)
	}
	open, _ := policy.Generate(name)
	if err := d.SetPassword(ctx, name, open); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(ctx, name, open); err != nil {
		t.Fatalf("the window's password: %v", err)
	}
	if err := d.Verify(ctx, name, closed[len(closed)-1]); !errors.Is(err, driver.ErrBadPassword) {
		t.Fatalf("the closed password inside the window: %v, want ErrBadPassword", err)
	}

	// The window closes: no memberships, disabled, rotated away from the window's password.
	rep, err = d.EnsureDisabled(ctx, driver.Account{Name: name})
	if err != nil || !rep.Disabled || !slices.Equal(rep.Removed, []string{cfg.Ops}) {
		t.Fatalf("close the window: %+v %v", rep, err)
	}
	after, _ := policy.Generate(name)
	if err := d.SetDisabledPassword(ctx, name, after); err != nil {
		t.Fatal(err)
	}
	if g := cfg.Groups(t, name); len(g) != 0 {
		t.Fatalf("closed again, still in %v", g)
	}
	if err := d.VerifyDisabled(ctx, name, open); !errors.Is(err, driver.ErrBadPassword) {
		t.Fatalf("the window's password after it closed: %v, want ErrBadPassword", err)
	}
	if err := d.Verify(ctx, name, open); err == nil {
		t.Fatal("the window's password still verifies after it closed")
	}
	cfg.check(t, name, after, Disabled)
}

// enable: Enable refuses an account without a password; a disabled account Ensure is told to hold stays
// disabled; Enable enables it without going over its groups.
func enable(t *testing.T, d driver.Driver, cfg Config) {
	ctx := timeout(t)
	name := cfg.NewName(t)
	if _, err := d.Ensure(ctx, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := d.Enable(ctx, name); err == nil {
		t.Fatal("an account without a password was enabled")
	}
	pw := Rotate(ctx, t, d, name, 1)
	if _, err := d.Disable(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(ctx, name, pw); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("disabled account: %v, want ErrDisabled", err)
	}
	rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{cfg.Ops}, HoldDisabled: true})
	if err != nil || !rep.Held || rep.Enabled || !slices.Equal(rep.Added, []string{cfg.Ops}) {
		t.Fatalf("ensure held: %+v %v, want held with its groups", rep, err)
	}
	if err := d.Verify(ctx, name, pw); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("held account: %v, want ErrDisabled", err)
	}
	if err := d.Enable(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(ctx, name, pw); err != nil {
		t.Fatalf("after Enable: %v", err)
	}
	if g := cfg.Groups(t, name); !slices.Equal(g, []string{cfg.Ops}) {
		t.Fatalf("groups after Enable %v, want [%s]", g, cfg.Ops)
	}
	if err := d.Enable(ctx, name); err != nil {
		t.Fatalf("Enable of an enabled account: %v", err)
	}
}

// notManaged: an existing account Watchword did not create is refused by every call until an admin adopts it;
// adopting marks it; an account the driver creates carries the managed mark.
func notManaged(t *testing.T, d driver.Driver, cfg Config) {
	ctx := timeout(t)
	name := cfg.NewName(t)
	unchanged := cfg.Foreign(t, name)
	for call, err := range everyCall(ctx, d, name, false) {
		if !errors.Is(err, driver.ErrNotManaged) {
			t.Errorf("%s of an account Watchword did not create = %v, want ErrNotManaged", call, err)
		}
	}
	unchanged(t)
	rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{cfg.Ops}, Adopt: true})
	if err != nil || !rep.Adopted {
		t.Fatalf("adopt: %+v %v", rep, err)
	}
	if m := cfg.Mark(t, name); !strings.Contains(m, driver.MarkAdopted) {
		t.Fatalf("adopted account's mark field %q lacks %q", m, driver.MarkAdopted)
	}
	if rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{cfg.Ops}}); err != nil || rep.Adopted {
		t.Fatalf("ensure of an adopted account: %+v %v, want managed without adopting again", rep, err)
	}

	created := cfg.NewName(t)
	if _, err := d.Ensure(ctx, driver.Account{Name: created, DisplayName: "Alice Admin"}); err != nil {
		t.Fatal(err)
	}
	if m := cfg.Mark(t, created); !strings.Contains(m, driver.MarkManaged) {
		t.Fatalf("created account's mark field %q lacks %q", m, driver.MarkManaged)
	}
}

// everyCall runs every driver call that could change an account (adopt set where it applies) and returns their
// errors by name.
func everyCall(ctx context.Context, d driver.Driver, name string, adopt bool) map[string]error {
	out := map[string]error{}
	acc := driver.Account{Name: name, Adopt: adopt}
	_, out["Ensure"] = d.Ensure(ctx, acc)
	_, out["EnsureDisabled"] = d.EnsureDisabled(ctx, acc)
	_, out["Disable"] = d.Disable(ctx, name)
	out["SetPassword"] = d.SetPassword(ctx, name, "Zz9!never-"+name)
	out["SetDisabledPassword"] = d.SetDisabledPassword(ctx, name, "Zz9!never-"+name)
	out["Enable"] = d.Enable(ctx, name)
	_, out["Delete"] = d.Delete(ctx, name)
	return out
}

// deleteCase: an account Watchword created, with a password and a membership, is deleted with its memberships and
// is gone (a verification finds no account, a second delete nothing to do); an adopted account existed before
// Watchword and is refused with ErrNotManaged, and keeps its mark.
func deleteCase(t *testing.T, d driver.Driver, cfg Config) {
	ctx := timeout(t)
	name := cfg.NewName(t)
	if _, err := d.Ensure(ctx, driver.Account{Name: name, DisplayName: "Deleted Tech", Groups: []string{cfg.Ops}}); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	password := Rotate(ctx, t, d, name, 1)
	if _, err := d.Disable(ctx, name); err != nil { // a deleted tech was deactivated first
		t.Fatalf("disable: %v", err)
	}
	if _, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{cfg.Ops}}); err != nil {
		t.Fatalf("ensure again: %v", err)
	}
	rep, err := d.Delete(ctx, name)
	if err != nil || !rep.Deleted || !slices.Equal(rep.Removed, []string{cfg.Ops}) {
		t.Fatalf("delete: %+v %v, want deleted and removed from [%s]", rep, err, cfg.Ops)
	}
	if err := d.Verify(ctx, name, password); !errors.Is(err, driver.ErrNoAccount) {
		t.Fatalf("verify a deleted account: %v, want ErrNoAccount", err)
	}
	if err := d.Enable(ctx, name); !errors.Is(err, driver.ErrNoAccount) {
		t.Fatalf("enable a deleted account: %v, want ErrNoAccount", err)
	}
	if rep, err := d.Delete(ctx, name); err != nil || rep.Deleted || len(rep.Removed) != 0 {
		t.Fatalf("delete a deleted account again: %+v %v, want nothing to do", rep, err)
	}

	adopted := cfg.NewName(t)
	cfg.Foreign(t, adopted)
	if rep, err := d.Ensure(ctx, driver.Account{Name: adopted, Groups: []string{cfg.Ops}, Adopt: true}); err != nil || !rep.Adopted {
		t.Fatalf("adopt: %+v %v", rep, err)
	}
	if _, err := d.Delete(ctx, adopted); !errors.Is(err, driver.ErrNotManaged) {
		t.Fatalf("delete an adopted account: %v, want ErrNotManaged", err)
	}
	if m := cfg.Mark(t, adopted); !strings.Contains(m, driver.MarkAdopted) {
		t.Fatalf("an adopted account's mark field is %q after a refused delete, want %q", m, driver.MarkAdopted)
	}
}

// protected: built-in and privileged accounts are refused with ErrProtected by every call, adopt or not, and
// stay as they were.
func protected(t *testing.T, _ driver.Driver, cfg Config) {
	ctx := timeout(t)
	d := cfg.ProtectedDriver
	for _, name := range cfg.ProtectedNames {
		before := cfg.ProtectedUnchanged(t, name)
		for _, adopt := range []bool{false, true} {
			for call, err := range everyCall(ctx, d, name, adopt) {
				if !errors.Is(err, driver.ErrProtected) {
					t.Errorf("%s(%s, adopt %t) = %v, want ErrProtected", call, name, adopt, err)
				}
			}
		}
		if after := cfg.ProtectedUnchanged(t, name); after != before {
			t.Errorf("%s changed:\n%s\n%s", name, before, after)
		}
	}
}

// deadTarget: a target that does not answer gives an error naming the account, in bounded time, and never one
// of the verdicts a live target gives.
func deadTarget(t *testing.T, _ driver.Driver, cfg Config) {
	dead, err := cfg.Dead(t)
	if err != nil {
		if err.Error() == "" {
			t.Fatal("a dead target's driver failed with an empty error")
		}
		return
	}
	t.Cleanup(func() { dead.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const name = "wwt-deadtarget"
	_, errEnsure := dead.Ensure(ctx, driver.Account{Name: name})
	for call, err := range map[string]error{"Ensure": errEnsure, "Verify": dead.Verify(ctx, name, "Zz9!x-dead-target")} {
		switch {
		case err == nil:
			t.Errorf("%s on a dead target succeeded", call)
		case ctx.Err() != nil:
			t.Errorf("%s on a dead target did not give up before the test's deadline: %v", call, err)
		case !strings.Contains(err.Error(), name):
			t.Errorf("%s on a dead target: %q does not name the account", call, err)
		}
		for _, verdict := range []error{driver.ErrBadPassword, driver.ErrDisabled, driver.ErrNotManaged, driver.ErrProtected, driver.ErrNoAccount} {
			if errors.Is(err, verdict) {
				t.Errorf("%s on a dead target = %v, a verdict only a live target can give", call, err)
			}
		}
	}
}
