// Package driver is the agent's one view of a rotation target: a directory or host where each entitled tech has
// their own account. Each implementation (ad, openldap, linux local and over SSH) talks to the real thing.
//
// The contract every driver keeps:
//
//   - Ensure makes the account exist, enabled, with EXACTLY the planned groups: it adds the missing memberships and
//     removes the others. A planned group that does not exist on the target is skipped and listed in
//     Report.Missing for the hub — never created.
//   - A new account is created disabled and without a password (Report.NeedsPassword); the first SetPassword
//     gives it one and enables it. An account that already has a password is (re-)enabled by Ensure: its password
//     is one whose envelope the hub holds.
//   - Verify binds or logs in ONCE. It never retries: on Active Directory a failed bind counts toward lockout.
//   - Disable strips every membership Ensure would manage and disables the account. Nothing is deleted but by
//     Delete, which the runner calls only for the accounts of a tech an admin deleted with their accounts.
//   - Delete removes an account Watchword created (MarkManaged) after stripping its memberships. An adopted
//     account existed before Watchword and is never deleted (ErrNotManaged); a missing one is already gone.
//   - Names are validated per target (ValidateName) and every value that reaches an LDAP filter or DN is escaped;
//     a name like `*)(uid=*` is refused, never executed.
//   - No error, log line or panic holds a password.
//
// Do no harm: a driver changes only accounts Watchword created (marked on creation: MarkManaged in the entry's
// description on AD and LDAP, in the GECOS field on Linux) or that an admin explicitly adopted (Account.Adopt, then
// marked MarkAdopted). Look-ups stay inside the managed OU, people DN or name prefix. Built-in and privileged
// principals (AD: RIDs below 1000 such as Administrator, Guest and krbtgt, computer and service accounts, and an
// unmarked account with adminCount=1 or in a privileged group; Linux: root, uids below 1000 and system ranges;
// LDAP: the driver's own bind DN) are refused whatever the plan says, with ErrProtected; an existing account
// Watchword did not create is refused with ErrNotManaged. Both are final: the runner halts the account and waits
// for an admin rather than try again.
//
// # Reading guide
//
//   - driver.go (this file): the contract, Driver, Account, Report, the marks, TargetPolicy, the optional
//     PolicyReader and TemporaryAccess, and the sentinels;
//   - drivertest: the contract as a conformance suite, drivertest.Run, which every implementation's test calls
//     against its real target;
//   - ad, openldap: the LDAP drivers; internal/ldapconn holds what they share (the verified LDAPS connection,
//     single-shot binds, and in accounts.go the account life over each driver's Directory);
//   - linux: local accounts and accounts over SSH, through the same shadow-utils commands;
//   - names_fuzz_test.go: every driver's name check against arbitrary names.
package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/rotation"
)

// Account is what the plan says one account must look like.
type Account struct {
	Name        string   // account name on the target (sAMAccountName, uid, Linux user name)
	DisplayName string   // shown in directories; optional
	Groups      []string // exactly the groups the account's rights resolve to
	// Adopt lets Ensure take over an existing account that Watchword did not create (an admin's confirmed and
	// audited decision); the driver marks it MarkAdopted. Built-in and privileged accounts are refused anyway.
	Adopt bool
	// HoldDisabled makes Ensure leave a disabled account that has a password disabled (Report.Held): the runner
	// first rotates it while disabled, then enables it with a second Ensure, so the password it had before it was
	// disabled never works again, not even for a moment.
	HoldDisabled bool
}

// Marks a driver writes on the accounts it may manage (AD and LDAP description, Linux GECOS).
const (
	MarkManaged = "watchword-managed" // created by Watchword
	MarkAdopted = "watchword-adopted" // an existing account an admin adopted
)

// Marked reads a mark: managed is true for either mark, adopted only for MarkAdopted.
func Marked(s string) (managed, adopted bool) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, MarkManaged):
		return true, false
	case strings.HasPrefix(s, MarkAdopted):
		return true, true
	}
	return false, false
}

// Report says what Ensure or Disable did; the agent forwards it to the hub.
type Report struct {
	Created       bool
	Enabled       bool     // the call enabled an account that was disabled
	Disabled      bool     // the call disabled an account that was enabled
	NeedsPassword bool     // the account has never had a password: it stays disabled until SetPassword
	Added         []string // groups joined
	Removed       []string // groups left
	Missing       []string // planned groups that do not exist on the target: skipped, never created
	Adopted       bool     // the call marked an existing account as adopted (Account.Adopt)
	Held          bool     // the account is disabled and was left so (Account.HoldDisabled)
	Deleted       bool     // the call removed the account from the target (Delete)
}

// Driver is one rotation target. Implementations are safe for use by one goroutine at a time unless they say
// otherwise. Every driver runs just-in-time accounts (wire.PlanJIT): outside a window they exist disabled, without
// memberships, and still rotate (to a password sealed to the recovery recipient only), hence EnsureDisabled,
// SetDisabledPassword and VerifyDisabled.
type Driver interface {
	// Kind names the driver ("ad", "ldap", "linux", "ssh").
	Kind() string
	// ValidateName refuses a name the target would reject or misread.
	ValidateName(name string) error
	// PasswordRules are the target's own complexity rules, for the rotation policy.
	PasswordRules() rotation.Rules
	Ensure(ctx context.Context, a Account) (Report, error)
	// SetPassword replaces the password (an administrative reset, no old password needed). A refusal that
	// certainly changed nothing wraps rotation.ErrNotApplied.
	SetPassword(ctx context.Context, name, password string) error
	// Verify authenticates once as the account: nil, ErrBadPassword, ErrDisabled, ErrLockedOut or another error.
	Verify(ctx context.Context, name, password string) error
	Disable(ctx context.Context, name string) (Report, error)
	// Delete strips the memberships of an account Watchword created and removes it from the target. An account
	// Watchword did not create, adopted ones included, is refused with ErrNotManaged, a built-in or privileged one
	// with ErrProtected; a missing account is no error (Report.Deleted false).
	Delete(ctx context.Context, name string) (Report, error)

	// EnsureDisabled creates the account when missing, strips every membership Ensure would manage and disables
	// it. It never enables the account, not even for a moment.
	EnsureDisabled(ctx context.Context, a Account) (Report, error)
	// VerifyDisabled checks ONCE that password is the disabled account's password, without enabling it: nil,
	// ErrBadPassword or another error.
	VerifyDisabled(ctx context.Context, name, password string) error
	// SetDisabledPassword sets the disabled account's password without enabling it, not even for a moment
	// (SetPassword enables an AD account at its first password). Errors as SetPassword's.
	SetDisabledPassword(ctx context.Context, name, password string) error
	// Enable enables an account without going over its groups again: the runner's way to enable an account it
	// rotated while disabled (Account.HoldDisabled), right after the Ensure that set its groups. An account
	// without a password is not enabled (an error).
	Enable(ctx context.Context, name string) error

	Close() error
}

// TargetPolicy is what a target's own policy demands of one account's password, and how close the account is to
// being locked out.
type TargetPolicy struct {
	MinLength        int    // minimum password length
	Complexity       bool   // three of upper, lower, digit and symbol, and not the account's name
	History          int    // passwords remembered
	LockoutThreshold int    // failed logins that lock the account out; 0: never
	BadPasswords     int    // the account's failed logins counted toward the threshold now
	Source           string // where the rules come from: "domain policy" or a fine-grained policy's name
}

// VerifySafe refuses a verification that could lock the account out: one more failed login must leave it below
// the threshold.
func (p TargetPolicy) VerifySafe(name string) error {
	if p.LockoutThreshold > 0 && p.BadPasswords+1 >= p.LockoutThreshold {
		return fmt.Errorf("verify %q: %w: %d failed logins counted, the %s locks it out at %d", name, ErrWouldLockOut,
			p.BadPasswords, p.Source, p.LockoutThreshold)
	}
	return nil
}

// PolicyReader is a driver that reads the target's own password and lockout policy for an account. It stays
// optional: only Active Directory has a per-account policy and a lockout counter to read (the ad driver); an
// OpenLDAP ppolicy or a Linux host has nothing the runner could guard a verification with.
type PolicyReader interface {
	TargetPolicy(ctx context.Context, name string) (TargetPolicy, error)
}

// TemporaryAccess is a driver whose target can issue a time-limited sign-in code for an account: a Temporary
// Access Pass on Entra ID, where a tenant that requires a second factor would otherwise stop a tech whose own
// authenticator is not registered there. It stays optional: a directory or host signs in with the password alone.
//
// The runner issues a pass when a just-in-time window opens on an agent configured to (Config.TemporaryAccess),
// seals it to the tech's device like a password, and revokes it when the window closes. The code is a secret: no
// error, log line or report holds it.
type TemporaryAccess interface {
	// IssueTemporaryAccess creates a pass for the account lasting about lifetime (the target may round it to its
	// own bounds; expires says when it stops working), replacing any earlier one.
	IssueTemporaryAccess(ctx context.Context, name string, lifetime time.Duration) (code string, expires time.Time, err error)
	// RevokeTemporaryAccess removes the account's pass; an account without one, or a missing account, is no error.
	RevokeTemporaryAccess(ctx context.Context, name string) error
}

// Sentinel errors for errors.Is.
var (
	// ErrNotManaged: the target holds an account of that name that Watchword did not create and no admin adopted.
	ErrNotManaged = errors.New("account not created by Watchword")
	// ErrProtected: a built-in or privileged principal, never touched.
	ErrProtected = errors.New("built-in or privileged account")
	// ErrWouldLockOut: one more failed login could lock the account out.
	ErrWouldLockOut = errors.New("verification could lock the account out")
	ErrInvalidName  = errors.New("invalid account name")
	ErrNoAccount    = errors.New("no such account")
	ErrBadPassword  = errors.New("wrong password")
	ErrDisabled     = errors.New("account disabled")
	ErrLockedOut    = errors.New("account locked out")
	ErrExpired      = errors.New("password or account expired")
)
