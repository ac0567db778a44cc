// Package openldap is the driver for a generic LDAP directory (tested against OpenLDAP slapd with the ppolicy
// overlay), over verified LDAPS.
//
// Accounts are inetOrgPerson entries uid=NAME under a people DN; the password is set with the RFC 3062 Password
// Modify extended operation (the server hashes it); groups are groupOfNames entries under a groups DN whose
// member attribute holds the account's DN. A directory has no "disabled" flag of its own: disabling sets ppolicy's
// pwdAccountLockedTime to 000001010000Z (locked until an administrator unlocks), after which a bind fails with
// invalidCredentials; enabling removes it.
//
// An administrator's password change makes ppolicy delete pwdAccountLockedTime: changing the password of a locked
// entry would unlock it. SetPassword on a locked entry therefore writes the hash itself ({SSHA}, which every
// slapd verifies) and keeps the lock in the same modify, so a disabled or closed just-in-time account rotates
// without ever being enabled; VerifyDisabled checks that hash without a bind (a locked entry refuses every bind,
// right password or not).
//
// groupOfNames needs at least one member, so a group whose only member is the account cannot lose it: keep a
// placeholder member in each managed group (the test directory uses the admin DN).
package openldap

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/internal/ldapconn"
	"github.com/watchword/watchword/shared/rotation"
)

// lockedForever is ppolicy's "locked by an administrator" value.
const lockedForever = "000001010000Z"

// Config is where the driver keeps accounts and groups.
type Config struct {
	ldapconn.Config        // URL, TLS with the directory's CA, admin BindDN and Password
	PeopleDN        string // e.g. ou=people,dc=example,dc=org
	GroupsDN        string // e.g. ou=groups,dc=example,dc=org
}

// Driver manages accounts in one directory.
type Driver struct {
	cfg   Config
	admin *ldapconn.Admin
	acc   *ldapconn.Accounts[*user] // the account life shared with the AD driver, on directory
}

var _ driver.Driver = (*Driver)(nil)

// New checks cfg; the connection is made on first use.
func New(cfg Config) (*Driver, error) {
	for _, dn := range []string{cfg.PeopleDN, cfg.GroupsDN} {
		if _, err := ldap.ParseDN(dn); err != nil || dn == "" {
			return nil, fmt.Errorf("ldap driver: DN %q: invalid", dn)
		}
	}
	admin, err := ldapconn.NewAdmin(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("ldap driver: %w", err)
	}
	d := &Driver{cfg: cfg, admin: admin}
	d.acc = &ldapconn.Accounts[*user]{Admin: admin, Dir: (*directory)(d)}
	return d, nil
}

func (d *Driver) Kind() string                  { return "ldap" }
func (d *Driver) PasswordRules() rotation.Rules { return rotation.RulesNone }
func (d *Driver) Close() error                  { return d.admin.Close() }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)

// ValidateName accepts POSIX-portable uids (letters, digits, . _ -; 64 at most). Values are escaped anyway.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("account %q: %w: want [A-Za-z0-9_][A-Za-z0-9._-]{0,63}", name, driver.ErrInvalidName)
	}
	return nil
}

func (d *Driver) ValidateName(name string) error { return ValidateName(name) }

// user is what the driver reads about an entry: the shared part (Disabled is the ppolicy lock) and the
// userPassword values, read by the administrator.
type user struct {
	ldapconn.Entry
	hashes [][]byte
}

// directory is the driver as ldapconn.Directory: what the account life shared with the AD driver needs of the
// directory.
type directory Driver

var _ ldapconn.Directory[*user] = (*directory)(nil)

// Find reads the entry under the people DN; found is false when there is none.
func (d *directory) Find(ctx context.Context, name string) (u *user, found bool, err error) {
	err = d.admin.Do(ctx, func(c *ldap.Conn) error {
		e, err := ldapconn.SearchOne(c, d.cfg.PeopleDN, fmt.Sprintf("(uid=%s)", ldap.EscapeFilter(name)),
			"userPassword", "pwdAccountLockedTime", "description")
		if err != nil || e == nil {
			return err
		}
		hashes := e.GetRawAttributeValues("userPassword")
		u = &user{Entry: ldapconn.Entry{DN: e.DN, HasPassword: len(hashes) > 0,
			Disabled: e.GetAttributeValue("pwdAccountLockedTime") != ""}, hashes: hashes}
		u.Managed, u.Adopted = driver.Marked(e.GetAttributeValue("description"))
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("look up account %q: %w", name, err)
	}
	return u, u != nil, nil
}

func (d *directory) ValidateName(name string) error { return ValidateName(name) }

// Protected: the driver's own bind DN is never managed.
func (d *directory) Protected(u *user) string {
	if ldapconn.SameDN(u.DN, d.cfg.BindDN) {
		return "the driver's own bind DN"
	}
	return ""
}

// Privileged: a directory has no privileged principals beyond the bind DN; any unmarked entry may be adopted.
func (d *directory) Privileged(context.Context, *user) (string, error) { return "", nil }

func (d *directory) groups(ctx context.Context, filter string) (map[string]string, error) {
	out := map[string]string{} // cn → DN
	err := d.admin.Do(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(d.cfg.GroupsDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0,
			false, filter, []string{"cn"}, nil))
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			out[e.GetAttributeValue("cn")] = e.DN
		}
		return nil
	})
	return out, err
}

// SyncGroups makes u's memberships exactly want (groupOfNames by cn); missing groups are reported, not created.
func (d *directory) SyncGroups(ctx context.Context, name string, u *user, want []string, rep *driver.Report) error {
	have, err := d.groups(ctx, fmt.Sprintf("(&(objectClass=groupOfNames)(member=%s))", ldap.EscapeFilter(u.DN)))
	if err != nil {
		return fmt.Errorf("groups of %q: %w", name, err)
	}
	var errs []error
	wantDNs := map[string]bool{}
	for _, g := range want {
		found, err := d.groups(ctx, fmt.Sprintf("(&(objectClass=groupOfNames)(cn=%s))", ldap.EscapeFilter(g)))
		if err != nil {
			return fmt.Errorf("look up group %q: %w", g, err)
		}
		dn, ok := found[g]
		if !ok {
			rep.Missing = append(rep.Missing, g)
			continue
		}
		wantDNs[dn] = true
		if slices.ContainsFunc(mapValues(have), func(h string) bool { return ldapconn.SameDN(h, dn) }) {
			continue
		}
		if err := d.admin.Member(ctx, dn, u.DN, true); err != nil {
			errs = append(errs, fmt.Errorf("add %q to group %q: %w", name, g, err))
			continue
		}
		rep.Added = append(rep.Added, g)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for cn, dn := range have {
		if wantDNs[dn] {
			continue
		}
		if err := d.admin.Member(ctx, dn, u.DN, false); err != nil {
			errs = append(errs, fmt.Errorf("remove %q from group %q: %w", name, cn, err))
			continue
		}
		rep.Removed = append(rep.Removed, cn)
	}
	slices.Sort(rep.Removed)
	return errors.Join(errs...)
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// SetDisabled sets or removes the ppolicy lock.
func (d *directory) SetDisabled(ctx context.Context, u *user, locked bool) error {
	req := ldap.NewModifyRequest(u.DN, nil)
	if locked {
		req.Replace("pwdAccountLockedTime", []string{lockedForever})
	} else {
		req.Delete("pwdAccountLockedTime", nil)
	}
	err := d.admin.Do(ctx, func(c *ldap.Conn) error {
		err := c.Modify(req)
		if !locked && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
			return nil
		}
		return err
	})
	if err == nil {
		u.Disabled = locked
	}
	return err
}

// Ensure creates the entry when missing (no password: nobody can bind), makes its groups exactly a.Groups, and
// unlocks it when it has a password.
func (d *Driver) Ensure(ctx context.Context, a driver.Account) (driver.Report, error) {
	return d.acc.Ensure(ctx, a)
}

// Create adds the entry without a password: nobody can bind to it until SetPassword.
func (d *directory) Create(ctx context.Context, a driver.Account) (*user, error) {
	dn := fmt.Sprintf("uid=%s,%s", ldap.EscapeDN(a.Name), d.cfg.PeopleDN)
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{a.Name})
	cn := a.DisplayName
	if cn == "" {
		cn = a.Name
	}
	req.Attribute("cn", []string{cn})
	req.Attribute("sn", []string{a.Name})
	req.Attribute("description", []string{driver.MarkManaged})
	existed := false
	if err := d.admin.Do(ctx, func(c *ldap.Conn) error {
		err := c.Add(req)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			existed = true
			return nil
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("create account %q: %w", a.Name, err)
	}
	if existed {
		// The add's reply was lost, or somebody raced it: the entry must be ours all the same.
		u, found, err := d.acc.Managed(ctx, a.Name)
		if err == nil && !found {
			err = fmt.Errorf("account %q: %w after create", a.Name, driver.ErrNoAccount)
		}
		return u, err
	}
	return &user{Entry: ldapconn.Entry{DN: dn, Managed: true}}, nil
}

// EnsureDisabled (driver.Driver): create when missing (without a password), no memberships, locked.
func (d *Driver) EnsureDisabled(ctx context.Context, a driver.Account) (driver.Report, error) {
	return d.acc.EnsureDisabled(ctx, a)
}

// VerifyDisabled (driver.Driver) without a bind: it reads the entry's hash as the administrator and checks
// password against it ({SSHA} or {SHA}: what SetPassword writes on a locked entry). An unlocked entry is verified
// with a bind.
func (d *Driver) VerifyDisabled(ctx context.Context, name, password string) error {
	u, err := d.acc.ToVerify(ctx, name, password)
	if err != nil {
		return err
	}
	if !u.Disabled {
		return d.Verify(ctx, name, password)
	}
	if len(u.hashes) == 0 {
		return fmt.Errorf("verify %q: %w: no password set", name, driver.ErrBadPassword)
	}
	for _, h := range u.hashes {
		ok, err := checkHash(h, password)
		if err != nil {
			return fmt.Errorf("verify %q: %w", name, err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("verify %q: %w", name, driver.ErrBadPassword)
}

// ssha is RFC 2307's {SSHA}: base64(SHA-1(password ‖ salt) ‖ salt), with an 8-byte random salt.
func ssha(password string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...)), nil
}

// checkHash reports whether password matches a userPassword value in {SSHA} or {SHA}; other schemes are an
// error (they cannot be checked here without a bind).
func checkHash(value []byte, password string) (bool, error) {
	scheme, enc, ok := bytes.Cut(value, []byte("}"))
	if !ok || len(scheme) < 2 || scheme[0] != '{' {
		return false, errors.New("stored password is not a {SCHEME} hash")
	}
	name := strings.ToUpper(string(scheme[1:]))
	raw, err := base64.StdEncoding.DecodeString(string(enc))
	if err != nil {
		return false, fmt.Errorf("stored {%s} hash: %w", name, err)
	}
	switch {
	case name == "SSHA" && len(raw) > sha1.Size:
		sum := sha1.Sum(append([]byte(password), raw[sha1.Size:]...))
		return subtle.ConstantTimeCompare(sum[:], raw[:sha1.Size]) == 1, nil
	case name == "SHA" && len(raw) == sha1.Size:
		sum := sha1.Sum([]byte(password))
		return subtle.ConstantTimeCompare(sum[:], raw) == 1, nil
	}
	return false, fmt.Errorf("stored password scheme {%s} cannot be checked without a bind", name)
}

// SetDisabledPassword (driver.Driver): SetPassword never unlocks an entry.
func (d *Driver) SetDisabledPassword(ctx context.Context, name, password string) error {
	return d.SetPassword(ctx, name, password)
}

// SetPassword sets the password with the Password Modify extended operation, or, on a locked entry, writes its
// hash and keeps the lock in one modify (see the package doc).
func (d *Driver) SetPassword(ctx context.Context, name, password string) error {
	u, err := d.acc.ToSetPassword(ctx, name)
	if err != nil {
		return err
	}
	var write func(c *ldap.Conn) error
	if u.Disabled {
		hash, err := ssha(password)
		if err != nil {
			return fmt.Errorf("set password of %q: %w (%w)", name, err, rotation.ErrNotApplied)
		}
		// ppolicy appends a delete of the lock to a password change unless the modify deletes it itself: delete
		// and re-add it, so the entry never leaves the locked state.
		req := ldap.NewModifyRequest(u.DN, nil)
		req.Replace("userPassword", []string{hash})
		req.Delete("pwdAccountLockedTime", nil)
		req.Add("pwdAccountLockedTime", []string{lockedForever})
		write = func(c *ldap.Conn) error { return c.Modify(req) }
	} else {
		write = func(c *ldap.Conn) error {
			_, err := c.PasswordModify(ldap.NewPasswordModifyRequest(u.DN, "", password))
			return err
		}
	}
	return d.admin.WritePassword(ctx, name, write)
}

// Verify binds once as the account; a refused bind on a locked entry is reported as ErrDisabled.
func (d *Driver) Verify(ctx context.Context, name, password string) error {
	u, err := d.acc.ToVerify(ctx, name, password)
	if err != nil {
		return err
	}
	err = ldapconn.BindOnce(ctx, d.cfg.Config, u.DN, password)
	if err == nil {
		return nil
	}
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return fmt.Errorf("verify %q: %w", name, err)
	}
	if u.Disabled {
		return fmt.Errorf("verify %q: %w", name, driver.ErrDisabled)
	}
	return fmt.Errorf("verify %q: %w", name, driver.ErrBadPassword)
}

// Disable strips the memberships and locks the entry with ppolicy.
func (d *Driver) Disable(ctx context.Context, name string) (driver.Report, error) {
	return d.acc.Disable(ctx, name)
}

// Delete (driver.Driver): memberships stripped, then the entry removed; only what Watchword created.
func (d *Driver) Delete(ctx context.Context, name string) (driver.Report, error) {
	return d.acc.Delete(ctx, name)
}

// Enable removes the ppolicy lock (driver.Driver).
func (d *Driver) Enable(ctx context.Context, name string) error { return d.acc.Enable(ctx, name) }
