package ldapconn

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/rotation"
)

// Entry is what the account life both LDAP drivers share reads of a directory account. Each driver's own account
// type embeds it and adds what only its directory has.
type Entry struct {
	DN          string
	Managed     bool // marked by Watchword, created or adopted (driver.Marked)
	Adopted     bool // marked adopted (driver.MarkAdopted)
	HasPassword bool
	Disabled    bool // AD: the disabled bit of userAccountControl; OpenLDAP: the ppolicy lock
}

// Base returns e itself: the way Accounts reaches the Entry a driver's account type embeds.
func (e *Entry) Base() *Entry { return e }

// User is a driver's account type: a pointer to a struct that embeds Entry.
type User interface{ Base() *Entry }

// Directory is what differs between the AD and OpenLDAP drivers; Accounts runs the rest of an account's life
// (the driver contract's Ensure, EnsureDisabled, Disable and Enable, and the checks before a password is set or
// verified) on top of it.
type Directory[U User] interface {
	ValidateName(name string) error
	// Find reads the account inside the managed subtree; found is false when there is none. An account of that
	// name elsewhere that blocks creating one is refused with driver.ErrNotManaged.
	Find(ctx context.Context, name string) (u U, found bool, err error)
	// Create adds the account, marked driver.MarkManaged, so that nobody can log in with it (disabled, or without
	// a password), and returns it; an entry that already existed (a lost reply, a race) must be Watchword's too.
	Create(ctx context.Context, a driver.Account) (U, error)
	// Protected names why u is a built-in or otherwise protected principal that is never managed, marked or
	// not: "" when it is none.
	Protected(u U) string
	// Privileged names why the unmarked u may not be adopted: "" when it may.
	Privileged(ctx context.Context, u U) (string, error)
	// SyncGroups makes u's memberships exactly want; a group that does not exist is reported in rep.Missing.
	SyncGroups(ctx context.Context, name string, u U, want []string, rep *driver.Report) error
	// SetDisabled disables or enables u and changes nothing else.
	SetDisabled(ctx context.Context, u U, disabled bool) error
}

// Accounts is the account life the LDAP drivers share, on the directory Dir through the connection Admin.
type Accounts[U User] struct {
	Admin *Admin
	Dir   Directory[U]
}

// Managed finds name and checks that Watchword may change it; found is false when it does not exist.
func (l *Accounts[U]) Managed(ctx context.Context, name string) (u U, found bool, err error) {
	u, found, err = l.Dir.Find(ctx, name)
	if err != nil || !found {
		return u, found, err
	}
	if _, err := l.own(ctx, name, u, false); err != nil {
		var zero U
		return zero, false, err
	}
	return u, true, nil
}

// own checks that Watchword may manage u: never a protected principal; a marked account; or, with adopt, an
// unmarked one that is not privileged, which it then marks adopted.
func (l *Accounts[U]) own(ctx context.Context, name string, u U, adopt bool) (adopted bool, err error) {
	if why := l.Dir.Protected(u); why != "" {
		return false, fmt.Errorf("account %q: %w: %s, never managed", name, driver.ErrProtected, why)
	}
	e := u.Base()
	if e.Managed {
		return false, nil
	}
	if !adopt {
		return false, fmt.Errorf("account %q at %q: %w (no %q mark): adopt it in the Console or change the naming format",
			name, e.DN, driver.ErrNotManaged, driver.MarkManaged)
	}
	why, err := l.Dir.Privileged(ctx, u)
	if err != nil {
		return false, err
	}
	if why != "" {
		return false, fmt.Errorf("account %q: %w: %s, never adopted", name, driver.ErrProtected, why)
	}
	if err := l.Admin.Mark(ctx, e.DN, driver.MarkAdopted); err != nil {
		return false, fmt.Errorf("mark %q adopted: %w", name, err)
	}
	e.Managed, e.Adopted = true, true
	return true, nil
}

// findOrCreate finds a's account, creating it when missing; an existing one must be Watchword's, or adopted now
// (a.Adopt).
func (l *Accounts[U]) findOrCreate(ctx context.Context, a driver.Account, rep *driver.Report) (U, error) {
	u, found, err := l.Dir.Find(ctx, a.Name)
	if err != nil {
		return u, err
	}
	if found {
		rep.Adopted, err = l.own(ctx, a.Name, u, a.Adopt)
		return u, err
	}
	u, err = l.Dir.Create(ctx, a)
	rep.Created = err == nil
	return u, err
}

func (l *Accounts[U]) setDisabled(ctx context.Context, u U, disabled bool) error {
	if err := l.Dir.SetDisabled(ctx, u, disabled); err != nil {
		return err
	}
	u.Base().Disabled = disabled
	return nil
}

// groups checks a's name, finds or creates its account and makes its memberships exactly want; a failure while
// disabling says so.
func (l *Accounts[U]) groups(ctx context.Context, a driver.Account, want []string, disabling bool, rep *driver.Report) (U, error) {
	var zero U
	if err := l.Dir.ValidateName(a.Name); err != nil {
		return zero, err
	}
	u, err := l.findOrCreate(ctx, a, rep)
	if err != nil {
		return zero, err
	}
	if err := l.Dir.SyncGroups(ctx, a.Name, u, want, rep); err != nil {
		if disabling {
			return zero, fmt.Errorf("disable %q: %w", a.Name, err)
		}
		return zero, err
	}
	return u, nil
}

// Ensure creates the account when missing (nobody can log in with it yet), makes its groups exactly a.Groups,
// and enables it when it already has a password (unless a.HoldDisabled).
func (l *Accounts[U]) Ensure(ctx context.Context, a driver.Account) (driver.Report, error) {
	var rep driver.Report
	u, err := l.groups(ctx, a, a.Groups, false, &rep)
	if err != nil {
		return rep, err
	}
	e := u.Base()
	switch {
	case !e.HasPassword:
		rep.NeedsPassword = true
	case e.Disabled && a.HoldDisabled:
		rep.Held = true
	case e.Disabled:
		if err := l.setDisabled(ctx, u, false); err != nil {
			return rep, fmt.Errorf("enable account %q: %w", a.Name, err)
		}
		rep.Enabled = true
	}
	return rep, nil
}

// EnsureDisabled creates the account when missing, strips its memberships and disables it.
func (l *Accounts[U]) EnsureDisabled(ctx context.Context, a driver.Account) (driver.Report, error) {
	var rep driver.Report
	u, err := l.groups(ctx, a, nil, true, &rep)
	if err != nil {
		return rep, err
	}
	rep.NeedsPassword = !u.Base().HasPassword
	return rep, l.lock(ctx, a.Name, u, &rep)
}

// Disable strips the memberships and disables the account. A missing account is already as disabled as it gets.
func (l *Accounts[U]) Disable(ctx context.Context, name string) (driver.Report, error) {
	var rep driver.Report
	if err := l.Dir.ValidateName(name); err != nil {
		return rep, err
	}
	u, found, err := l.Managed(ctx, name)
	if err != nil || !found {
		return rep, err
	}
	if err := l.Dir.SyncGroups(ctx, name, u, nil, &rep); err != nil {
		return rep, fmt.Errorf("disable %q: %w", name, err)
	}
	return rep, l.lock(ctx, name, u, &rep)
}

// Delete strips the memberships of an account Watchword created, then removes its entry. An adopted account was
// the client's before Watchword took it over: it is refused, and stays as Disable left it. A missing account is
// already gone.
func (l *Accounts[U]) Delete(ctx context.Context, name string) (driver.Report, error) {
	var rep driver.Report
	if err := l.Dir.ValidateName(name); err != nil {
		return rep, err
	}
	u, found, err := l.Managed(ctx, name)
	if err != nil || !found {
		return rep, err
	}
	e := u.Base()
	if e.Adopted {
		return rep, fmt.Errorf("delete %q: %w: adopted, it existed before Watchword and is never deleted", name, driver.ErrNotManaged)
	}
	if err := l.Dir.SyncGroups(ctx, name, u, nil, &rep); err != nil {
		return rep, fmt.Errorf("delete %q: %w", name, err)
	}
	err = l.Admin.Do(ctx, func(c *ldap.Conn) error {
		err := c.Del(ldap.NewDelRequest(e.DN, nil))
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil
		}
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("delete %q: %w", name, err)
	}
	rep.Deleted = true
	return rep, nil
}

// lock disables an enabled account and says so in rep.
func (l *Accounts[U]) lock(ctx context.Context, name string, u U, rep *driver.Report) error {
	if u.Base().Disabled {
		return nil
	}
	if err := l.setDisabled(ctx, u, true); err != nil {
		return fmt.Errorf("disable %q: %w", name, err)
	}
	rep.Disabled = true
	return nil
}

// Enable enables an account that has a password, its groups left as they are.
func (l *Accounts[U]) Enable(ctx context.Context, name string) error {
	if err := l.Dir.ValidateName(name); err != nil {
		return err
	}
	u, found, err := l.Managed(ctx, name)
	switch {
	case err != nil:
		return fmt.Errorf("enable %q: %w", name, err)
	case !found:
		return fmt.Errorf("enable %q: %w", name, driver.ErrNoAccount)
	case !u.Base().HasPassword:
		return fmt.Errorf("enable %q: it has no password", name)
	case !u.Base().Disabled:
		return nil
	}
	if err := l.setDisabled(ctx, u, false); err != nil {
		return fmt.Errorf("enable %q: %w", name, err)
	}
	return nil
}

// ToVerify checks name and password before a verification and returns the account to verify: a refused name,
// an empty password (an unauthenticated bind that "succeeds" is never a verification), an account not
// Watchword's, or none, are errors.
func (l *Accounts[U]) ToVerify(ctx context.Context, name, password string) (U, error) {
	var zero U
	if err := l.Dir.ValidateName(name); err != nil {
		return zero, err
	}
	if password == "" {
		return zero, fmt.Errorf("verify %q: %w: empty", name, driver.ErrBadPassword)
	}
	u, found, err := l.Managed(ctx, name)
	if err != nil {
		return zero, fmt.Errorf("verify %q: %w", name, err)
	}
	if !found {
		return zero, fmt.Errorf("verify %q: %w", name, driver.ErrNoAccount)
	}
	return u, nil
}

// ToSetPassword checks name before a password is set and returns the account to set it on; a missing account
// is an error that wraps rotation.ErrNotApplied.
func (l *Accounts[U]) ToSetPassword(ctx context.Context, name string) (U, error) {
	var zero U
	if err := l.Dir.ValidateName(name); err != nil {
		return zero, err
	}
	u, found, err := l.Managed(ctx, name)
	if err != nil {
		return zero, fmt.Errorf("set password of %q: %w", name, err)
	}
	if !found {
		return zero, fmt.Errorf("set password of %q: %w (%w)", name, driver.ErrNoAccount, rotation.ErrNotApplied)
	}
	return u, nil
}

// WritePassword sends a password write once (Admin.DoOnce: after a lost reply the cycle rotates afresh rather
// than resend a password). The directory applies a modify atomically, so a refusal (policy, history, rights)
// changed nothing and wraps rotation.ErrNotApplied.
func (a *Admin) WritePassword(ctx context.Context, name string, write func(*ldap.Conn) error) error {
	err := a.DoOnce(ctx, write)
	if err == nil {
		return nil
	}
	var le *ldap.Error
	if errors.As(err, &le) && le.ResultCode != ldap.ErrorNetwork {
		return fmt.Errorf("set password of %q: %w: %s", name, rotation.ErrNotApplied, ldap.LDAPResultCodeMap[le.ResultCode])
	}
	return fmt.Errorf("set password of %q: %w", name, err)
}

// Member adds userDN to or deletes it from group's member attribute; "already so" (and any result code in
// alsoFine, for a directory with its own way of saying it) is success.
func (a *Admin) Member(ctx context.Context, group, userDN string, add bool, alsoFine ...uint16) error {
	req := ldap.NewModifyRequest(group, nil)
	if add {
		req.Add("member", []string{userDN})
	} else {
		req.Delete("member", []string{userDN})
	}
	return a.Do(ctx, func(c *ldap.Conn) error {
		err := c.Modify(req)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultAttributeOrValueExists) || ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
			return nil
		}
		for _, code := range alsoFine {
			if ldap.IsErrorWithCode(err, code) {
				return nil
			}
		}
		return err
	})
}
