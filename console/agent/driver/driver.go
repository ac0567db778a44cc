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
//   - Disable strips every membership Ensure would manage and disables the account. Nothing is ever deleted.
//   - Names are validated per target (ValidateName) and every value that reaches an LDAP filter or DN is escaped;
//     a name like `*)(uid=*` is refused, never executed.
//   - No error, log line or panic holds a password.
package driver

import (
	"context"
	"errors"

	"github.com/watchword/watchword/shared/rotation"
)

// Account is what the plan says one account must look like.
type Account struct {
	Name        string   // account name on the target (sAMAccountName, uid, Linux user name)
	DisplayName string   // shown in directories; optional
	Groups      []string // exactly the groups the account's rights resolve to
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
}

// Driver is one rotation target. Implementations are safe for use by one goroutine at a time unless they say
// otherwise.
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
	Close() error
}

// JIT is what a driver needs for just-in-time accounts (wire.PlanJIT): outside a window they exist disabled,
// without memberships, and still rotate (to a password sealed to the recovery recipient only). The ad, linux and
// ldap (OpenLDAP) drivers implement it.
type JIT interface {
	// EnsureDisabled creates the account when missing, strips every membership Ensure would manage and disables
	// it. It never enables the account, not even for a moment.
	EnsureDisabled(ctx context.Context, a Account) (Report, error)
	// VerifyDisabled checks ONCE that password is the disabled account's password, without enabling it: nil,
	// ErrBadPassword or another error.
	VerifyDisabled(ctx context.Context, name, password string) error
	// SetDisabledPassword sets the disabled account's password without enabling it, not even for a moment
	// (SetPassword enables an AD account at its first password). Errors as SetPassword's.
	SetDisabledPassword(ctx context.Context, name, password string) error
}

// Sentinel errors for errors.Is.
var (
	ErrInvalidName = errors.New("invalid account name")
	ErrNoAccount   = errors.New("no such account")
	ErrBadPassword = errors.New("wrong password")
	ErrDisabled    = errors.New("account disabled")
	ErrLockedOut   = errors.New("account locked out")
	ErrExpired     = errors.New("password or account expired")
)
