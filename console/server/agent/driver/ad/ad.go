// Package ad is the Active Directory driver: per-tech admin accounts over LDAPS with go-ldap.
//
// Accounts are created in a configurable OU, disabled (userAccountControl 514) and without a password; the first
// SetPassword writes unicodePwd (an administrative reset: the password in double quotes, UTF-16LE) and enables the
// account (512). Group memberships are made exactly the planned ones by editing each group's member attribute.
// Disable strips those memberships and sets the disabled bit; nothing is deleted.
//
// The DC's certificate is verified against the CA the agent is given; there is no way to skip verification.
// Verification binds once as the account and maps AD's sub-codes (data 52e wrong password, 533 disabled, 775
// locked out, 532/701 expired, 773 must change) to the driver sentinels. It never retries: every failed bind
// counts toward the domain's lockout threshold.
package ad

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/internal/ldapconn"
	"github.com/watchword/watchword/shared/rotation"
)

// userAccountControl bits.
const (
	uacDisabled = 0x0002
	uacNormal   = 0x0200
)

// Config is where and how the driver manages accounts.
type Config struct {
	ldapconn.Config        // URL (ldaps://dc:636), TLS with the DC's CA, admin BindDN and Password
	BaseDN          string // the domain, e.g. DC=contoso,DC=local: accounts and groups are searched here
	OU              string // where new accounts are created, e.g. OU=Watchword,DC=contoso,DC=local
	UPNSuffix       string // userPrincipalName suffix, e.g. contoso.local; empty: derived from BaseDN
}

// Driver manages accounts in one AD domain.
type Driver struct {
	cfg   Config
	admin *ldapconn.Admin
	acc   *ldapconn.Accounts[*user] // the account life shared with the OpenLDAP driver, on directory
}

var _ driver.Driver = (*Driver)(nil)

// New checks cfg. The connection is made on first use.
func New(cfg Config) (*Driver, error) {
	if cfg.BaseDN == "" || cfg.OU == "" {
		return nil, errors.New("ad driver: BaseDN and OU are required")
	}
	if _, err := ldap.ParseDN(cfg.OU); err != nil {
		return nil, fmt.Errorf("ad driver: OU %q: %w", cfg.OU, err)
	}
	if cfg.UPNSuffix == "" {
		dn, err := ldap.ParseDN(cfg.BaseDN)
		if err != nil {
			return nil, fmt.Errorf("ad driver: BaseDN %q: %w", cfg.BaseDN, err)
		}
		var parts []string
		for _, rdn := range dn.RDNs {
			for _, at := range rdn.Attributes {
				if strings.EqualFold(at.Type, "DC") {
					parts = append(parts, at.Value)
				}
			}
		}
		cfg.UPNSuffix = strings.ToLower(strings.Join(parts, "."))
	}
	admin, err := ldapconn.NewAdmin(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("ad driver: %w", err)
	}
	d := &Driver{cfg: cfg, admin: admin}
	d.acc = &ldapconn.Accounts[*user]{Admin: admin, Dir: (*directory)(d)}
	return d, nil
}

func (d *Driver) Kind() string                  { return "ad" }
func (d *Driver) PasswordRules() rotation.Rules { return rotation.RulesAD }
func (d *Driver) Close() error                  { return d.admin.Close() }

// forbidden are the characters AD refuses in a sAMAccountName.
const forbidden = `"/\[]:;|=,+*?<>`

// ValidateName applies AD's sAMAccountName rules, which Samba does not enforce over LDAP but Windows does: at
// most 20 characters, none of "/\[]:;|=,+*?<>, no control characters, not only dots and spaces, no trailing dot.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("account %q: %w: empty", name, driver.ErrInvalidName)
	case !utf8.ValidString(name):
		return fmt.Errorf("account %q: %w: not valid UTF-8", name, driver.ErrInvalidName)
	case len([]rune(name)) > 20:
		return fmt.Errorf("account %q: %w: longer than 20 characters (sAMAccountName)", name, driver.ErrInvalidName)
	case strings.ContainsAny(name, forbidden):
		return fmt.Errorf("account %q: %w: contains one of %s", name, driver.ErrInvalidName, forbidden)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("account %q: %w: control character", name, driver.ErrInvalidName)
	case strings.Trim(name, ". ") == "", strings.HasSuffix(name, "."), strings.TrimSpace(name) != name:
		return fmt.Errorf("account %q: %w: dots and spaces misplaced", name, driver.ErrInvalidName)
	}
	return nil
}

func (d *Driver) ValidateName(name string) error { return ValidateName(name) }

// user is what the driver reads about an account.
type user struct {
	ldapconn.Entry // DN, marks, password set (pwdLastSet), disabled bit
	uac            int64
	memberOf       []string
	rid            uint32 // the last sub-authority of objectSid
	adminCount     bool
	classes        []string
	spn            bool // has a servicePrincipalName
	critical       bool // isCriticalSystemObject
}

var userAttrs = []string{"userAccountControl", "pwdLastSet", "memberOf", "description", "objectSid", "adminCount",
	"objectClass", "servicePrincipalName", "isCriticalSystemObject"}

func readUser(e *ldap.Entry) *user {
	uac, _ := strconv.ParseInt(e.GetAttributeValue("userAccountControl"), 10, 64)
	pwdLastSet := e.GetAttributeValue("pwdLastSet")
	u := &user{Entry: ldapconn.Entry{DN: e.DN, HasPassword: pwdLastSet != "" && pwdLastSet != "0", Disabled: uac&uacDisabled != 0},
		uac: uac, memberOf: e.GetAttributeValues("memberOf"), adminCount: e.GetAttributeValue("adminCount") == "1",
		classes: e.GetAttributeValues("objectClass"), spn: len(e.GetAttributeValues("servicePrincipalName")) > 0,
		critical: strings.EqualFold(e.GetAttributeValue("isCriticalSystemObject"), "TRUE")}
	u.rid = rid(e.GetRawAttributeValue("objectSid"))
	u.Managed, u.Adopted = driver.Marked(e.GetAttributeValue("description"))
	return u
}

// rid is the relative identifier of a binary SID (its last sub-authority); 0 when there is none.
func rid(sid []byte) uint32 {
	if len(sid) < 12 || len(sid) != 8+4*int(sid[1]) || sid[1] == 0 {
		return 0
	}
	return binary.LittleEndian.Uint32(sid[len(sid)-4:])
}

// builtin names the reason an account is a built-in or system principal that no plan may touch, whatever its
// marks: "" when it is none. Well-known RIDs (Administrator 500, Guest 501, krbtgt 502, ...) are below 1000.
func (u *user) builtin() string {
	switch {
	case u.rid != 0 && u.rid < 1000:
		return fmt.Sprintf("built-in account (RID %d)", u.rid)
	case u.rid == 0:
		return "account without a readable objectSid"
	case u.critical:
		return "critical system object"
	case slices.ContainsFunc(u.classes, func(c string) bool {
		return strings.EqualFold(c, "computer") || strings.HasPrefix(strings.ToLower(c), "msds-") && strings.Contains(strings.ToLower(c), "serviceaccount")
	}):
		return "computer or managed service account"
	}
	return ""
}

// privilegedGroupRIDs are the domain and builtin groups whose members hold the domain: Domain Admins, Domain
// Controllers, Schema Admins, Enterprise Admins, Group Policy Creator Owners, Read-only Domain Controllers, Key
// Admins, Enterprise Key Admins, and BUILTIN\Administrators, Account, Server, Print and Backup Operators, Replicator.
var privilegedGroupRIDs = map[uint32]bool{512: true, 516: true, 518: true, 519: true, 520: true, 521: true, 526: true,
	527: true, 544: true, 548: true, 549: true, 550: true, 551: true, 552: true}

// directory is the driver as ldapconn.Directory: what the account life shared with the OpenLDAP driver needs of
// AD.
type directory Driver

var _ ldapconn.Directory[*user] = (*directory)(nil)

// Privileged names why an existing account that Watchword did not create may not be adopted: "" when it may.
// Group membership is read transitively (LDAP_MATCHING_RULE_IN_CHAIN), by the groups' RIDs, so nested and
// renamed privileged groups count too.
func (d *directory) Privileged(ctx context.Context, u *user) (string, error) {
	switch {
	case u.adminCount:
		return "protected account (adminCount=1)", nil
	case u.spn:
		return "service account (servicePrincipalName set)", nil
	}
	var why string
	err := d.admin.Do(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(d.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			fmt.Sprintf("(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=%s))", ldap.EscapeFilter(u.DN)),
			[]string{"objectSid", "cn"}, nil))
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			if privilegedGroupRIDs[rid(e.GetRawAttributeValue("objectSid"))] {
				why = fmt.Sprintf("member of the privileged group %q", e.GetAttributeValue("cn"))
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read the groups of %q: %w", u.DN, err)
	}
	return why, nil
}

// Find reads the account name inside the managed OU; found is false when the OU has none. An account of that name
// elsewhere in the domain is refused (driver.ErrNotManaged): it is somebody else's, and sAMAccountName is unique in
// the domain, so Watchword can never create its own.
func (d *directory) Find(ctx context.Context, name string) (u *user, found bool, err error) {
	filter := fmt.Sprintf("(&(objectClass=user)(sAMAccountName=%s))", ldap.EscapeFilter(name))
	err = d.admin.Do(ctx, func(c *ldap.Conn) error {
		e, err := ldapconn.SearchOne(c, d.cfg.OU, filter, userAttrs...)
		if err != nil {
			return err
		}
		if e != nil {
			u = readUser(e)
			return nil
		}
		out, err := ldapconn.SearchOne(c, d.cfg.BaseDN, filter, "objectSid")
		if err != nil || out == nil {
			return err
		}
		return fmt.Errorf("%w: it exists outside the managed OU %q, at %q", driver.ErrNotManaged, d.cfg.OU, out.DN)
	})
	if err != nil {
		return nil, false, fmt.Errorf("look up account %q: %w", name, err)
	}
	return u, u != nil, nil
}

func (d *directory) ValidateName(name string) error { return ValidateName(name) }

// Protected: built-in and system principals, whatever their marks.
func (d *directory) Protected(u *user) string { return u.builtin() }

func (d *directory) SetDisabled(ctx context.Context, u *user, disabled bool) error {
	if disabled {
		return d.setUAC(ctx, u, u.uac|uacDisabled)
	}
	return d.setUAC(ctx, u, u.uac&^uacDisabled)
}

// findGroup resolves a right's group by sAMAccountName or cn; "" when it does not exist.
func (d *directory) findGroup(ctx context.Context, name string) (string, error) {
	var dn string
	err := d.admin.Do(ctx, func(c *ldap.Conn) error {
		q := ldap.EscapeFilter(name)
		e, err := ldapconn.SearchOne(c, d.cfg.BaseDN, fmt.Sprintf("(&(objectClass=group)(|(sAMAccountName=%s)(cn=%s)))", q, q))
		if e != nil {
			dn = e.DN
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("look up group %q: %w", name, err)
	}
	return dn, nil
}

// Ensure creates the account when missing (disabled, no password), makes its groups exactly a.Groups, and
// enables it when it already has a password.
func (d *Driver) Ensure(ctx context.Context, a driver.Account) (driver.Report, error) {
	return d.acc.Ensure(ctx, a)
}

// Create adds the account disabled and without a password, marked, and reads it back.
func (d *directory) Create(ctx context.Context, a driver.Account) (*user, error) {
	dn := fmt.Sprintf("CN=%s,%s", ldap.EscapeDN(a.Name), d.cfg.OU)
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{a.Name})
	req.Attribute("userPrincipalName", []string{a.Name + "@" + d.cfg.UPNSuffix})
	req.Attribute("userAccountControl", []string{strconv.Itoa(uacNormal | uacDisabled)})
	req.Attribute("description", []string{driver.MarkManaged})
	if a.DisplayName != "" {
		req.Attribute("displayName", []string{a.DisplayName})
	}
	err := d.admin.Do(ctx, func(c *ldap.Conn) error {
		err := c.Add(req)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return nil // a repeat after a lost reply
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create account %q in %q: %w", a.Name, d.cfg.OU, err)
	}
	// Read back and check: an entry that already existed (the add's reply lost, or a race) must be ours too.
	u, found, err := d.acc.Managed(ctx, a.Name)
	if err == nil && !found {
		err = fmt.Errorf("account %q: %w after create", a.Name, driver.ErrNoAccount)
	}
	return u, err
}

// SyncGroups makes u's memberships exactly want (by group name); missing groups are reported, not created.
func (d *directory) SyncGroups(ctx context.Context, name string, u *user, want []string, rep *driver.Report) error {
	var wantDNs []string
	var errs []error
	for _, g := range want {
		dn, err := d.findGroup(ctx, g)
		switch {
		case err != nil:
			errs = append(errs, err)
		case dn == "":
			rep.Missing = append(rep.Missing, g)
		default:
			wantDNs = append(wantDNs, dn)
			if !slices.ContainsFunc(u.memberOf, func(m string) bool { return ldapconn.SameDN(m, dn) }) {
				if err := d.member(ctx, dn, u.DN, true); err != nil {
					errs = append(errs, fmt.Errorf("add %q to group %q: %w", name, g, err))
				} else {
					rep.Added = append(rep.Added, g)
				}
			}
		}
	}
	if len(errs) > 0 {
		// Do not strip anything while the wanted set is uncertain.
		return errors.Join(errs...)
	}
	for _, m := range u.memberOf {
		if slices.ContainsFunc(wantDNs, func(w string) bool { return ldapconn.SameDN(m, w) }) {
			continue
		}
		if err := d.member(ctx, m, u.DN, false); err != nil {
			errs = append(errs, fmt.Errorf("remove %q from group %q: %w", name, m, err))
		} else {
			rep.Removed = append(rep.Removed, cnOf(m))
		}
	}
	return errors.Join(errs...)
}

// member adds or deletes userDN in group's member attribute, treating "already so" as success: AD also says it
// with entryAlreadyExists, and with unwillingToPerform to a delete.
func (d *directory) member(ctx context.Context, group, userDN string, add bool) error {
	if add {
		return d.admin.Member(ctx, group, userDN, true, ldap.LDAPResultEntryAlreadyExists)
	}
	return d.admin.Member(ctx, group, userDN, false, ldap.LDAPResultEntryAlreadyExists, ldap.LDAPResultUnwillingToPerform)
}

func cnOf(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 || len(p.RDNs[0].Attributes) == 0 {
		return dn
	}
	return p.RDNs[0].Attributes[0].Value
}

func (d *directory) setUAC(ctx context.Context, u *user, uac int64) error {
	req := ldap.NewModifyRequest(u.DN, nil)
	req.Replace("userAccountControl", []string{strconv.FormatInt(uac, 10)})
	if err := d.admin.Do(ctx, func(c *ldap.Conn) error { return c.Modify(req) }); err != nil {
		return err
	}
	u.uac, u.Disabled = uac, uac&uacDisabled != 0
	return nil
}

// encodePassword is AD's unicodePwd value: the password in double quotes, UTF-16LE.
func encodePassword(pw string) []byte {
	units := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return b
}

// SetPassword resets the password and enables an account that never had one.
func (d *Driver) SetPassword(ctx context.Context, name, password string) error {
	return d.setPassword(ctx, name, password, true)
}

// SetDisabledPassword (driver.Driver): the password reset alone; a disabled account stays disabled (AD
// keeps userAccountControl as it is when unicodePwd changes).
func (d *Driver) SetDisabledPassword(ctx context.Context, name, password string) error {
	return d.setPassword(ctx, name, password, false)
}

func (d *Driver) setPassword(ctx context.Context, name, password string, enableFirst bool) error {
	u, err := d.acc.ToSetPassword(ctx, name)
	if err != nil {
		return err
	}
	req := ldap.NewModifyRequest(u.DN, nil)
	req.Replace("unicodePwd", []string{string(encodePassword(password))})
	if err := d.admin.WritePassword(ctx, name, func(c *ldap.Conn) error { return c.Modify(req) }); err != nil {
		return err
	}
	if enableFirst && !u.HasPassword && u.Disabled {
		if err := (*directory)(d).setUAC(ctx, u, u.uac&^uacDisabled); err != nil {
			return fmt.Errorf("enable account %q after its first password: %w", name, err)
		}
	}
	return nil
}

// Verify binds once as the account.
func (d *Driver) Verify(ctx context.Context, name, password string) error {
	u, err := d.acc.ToVerify(ctx, name, password)
	if err != nil {
		return err
	}
	if err := ldapconn.BindOnce(ctx, d.cfg.Config, u.DN, password); err != nil {
		return fmt.Errorf("verify %q: %w", name, classify(err))
	}
	return nil
}

// classify maps AD's bind sub-codes ("data 52e" in the diagnostic message) to sentinels.
func classify(err error) error {
	var le *ldap.Error
	if !errors.As(err, &le) || le.ResultCode != ldap.LDAPResultInvalidCredentials {
		return err
	}
	msg := strings.ToLower(le.Err.Error())
	for code, sentinel := range map[string]error{
		"data 52e": driver.ErrBadPassword, "data 533": driver.ErrDisabled, "data 775": driver.ErrLockedOut,
		"data 532": driver.ErrExpired, "data 701": driver.ErrExpired, "data 773": driver.ErrExpired,
	} {
		if strings.Contains(msg, code) {
			return fmt.Errorf("%w (%s)", sentinel, code)
		}
	}
	return fmt.Errorf("%w: %s", driver.ErrBadPassword, le.Err.Error())
}

// Disable strips every group membership and sets the disabled bit. A missing account is already as disabled as
// it gets.
func (d *Driver) Disable(ctx context.Context, name string) (driver.Report, error) {
	return d.acc.Disable(ctx, name)
}

// Delete (driver.Driver): memberships stripped, then the entry removed; only what Watchword created.
func (d *Driver) Delete(ctx context.Context, name string) (driver.Report, error) {
	return d.acc.Delete(ctx, name)
}

// EnsureDisabled (driver.Driver): create when missing (AD creates it disabled), no memberships, disabled.
func (d *Driver) EnsureDisabled(ctx context.Context, a driver.Account) (driver.Report, error) {
	return d.acc.EnsureDisabled(ctx, a)
}

// VerifyDisabled (driver.Driver) with one bind: AD (and Samba) answer "data 533" (account disabled) only
// to the right password and "data 52e" to a wrong one, so the refusal itself verifies the password. An enabled
// account that binds verifies too.
func (d *Driver) VerifyDisabled(ctx context.Context, name, password string) error {
	err := d.Verify(ctx, name, password)
	if errors.Is(err, driver.ErrDisabled) {
		return nil
	}
	return err
}

// UserAccountControl reads the account's userAccountControl (for tests and diagnostics).
func (d *Driver) UserAccountControl(ctx context.Context, name string) (int64, error) {
	u, found, err := (*directory)(d).Find(ctx, name)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("account %q: %w", name, driver.ErrNoAccount)
	}
	return u.uac, nil
}

var _ driver.PolicyReader = (*Driver)(nil)

// pwdProperties bit: DOMAIN_PASSWORD_COMPLEX.
const domainPasswordComplex = 1

// TargetPolicy reads the rules that apply to the account: the fine-grained password settings object that wins for
// it (msDS-ResultantPSO) when there is one, else the domain's own policy (the domain head's minPwdLength,
// pwdProperties, pwdHistoryLength and lockoutThreshold, which the Default Domain Policy writes), and the account's
// badPwdCount as this DC counts it.
func (d *Driver) TargetPolicy(ctx context.Context, name string) (driver.TargetPolicy, error) {
	var p driver.TargetPolicy
	if err := ValidateName(name); err != nil {
		return p, err
	}
	if _, _, err := d.acc.Managed(ctx, name); err != nil {
		return p, fmt.Errorf("policy of %q: %w", name, err)
	}
	num := func(e *ldap.Entry, attr string) int {
		n, _ := strconv.Atoi(e.GetAttributeValue(attr))
		return n
	}
	err := d.admin.Do(ctx, func(c *ldap.Conn) error {
		e, err := ldapconn.SearchOne(c, d.cfg.OU, fmt.Sprintf("(&(objectClass=user)(sAMAccountName=%s))", ldap.EscapeFilter(name)),
			"badPwdCount", "msDS-ResultantPSO")
		if err != nil {
			return err
		}
		if e == nil {
			return driver.ErrNoAccount
		}
		p.BadPasswords = num(e, "badPwdCount")
		if pso := e.GetAttributeValue("msDS-ResultantPSO"); pso != "" {
			res, err := c.Search(ldap.NewSearchRequest(pso, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
				"(objectClass=*)", []string{"cn", "msDS-MinimumPasswordLength", "msDS-PasswordComplexityEnabled",
					"msDS-PasswordHistoryLength", "msDS-LockoutThreshold"}, nil))
			if err != nil {
				return fmt.Errorf("read password settings %q: %w", pso, err)
			}
			// A policy that applies but cannot be read must not read as "no minimum, no lockout".
			if len(res.Entries) != 1 || !hasAll(res.Entries[0], "msDS-MinimumPasswordLength", "msDS-LockoutThreshold") {
				return fmt.Errorf("password settings %q apply to the account but cannot be read: grant the bind account read access to them", pso)
			}
			s := res.Entries[0]
			p.MinLength, p.History, p.LockoutThreshold = num(s, "msDS-MinimumPasswordLength"),
				num(s, "msDS-PasswordHistoryLength"), num(s, "msDS-LockoutThreshold")
			p.Complexity = strings.EqualFold(s.GetAttributeValue("msDS-PasswordComplexityEnabled"), "TRUE")
			p.Source = fmt.Sprintf("fine-grained password policy %q", s.GetAttributeValue("cn"))
			return nil
		}
		res, err := c.Search(ldap.NewSearchRequest(d.cfg.BaseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"minPwdLength", "pwdProperties", "pwdHistoryLength", "lockoutThreshold"}, nil))
		if err != nil {
			return fmt.Errorf("read the domain's password policy: %w", err)
		}
		if len(res.Entries) != 1 || !hasAll(res.Entries[0], "minPwdLength", "lockoutThreshold") {
			return fmt.Errorf("read the domain's password policy: %q or its policy attributes cannot be read", d.cfg.BaseDN)
		}
		s := res.Entries[0]
		p.MinLength, p.History, p.LockoutThreshold = num(s, "minPwdLength"), num(s, "pwdHistoryLength"), num(s, "lockoutThreshold")
		p.Complexity = num(s, "pwdProperties")&domainPasswordComplex != 0
		p.Source = "domain password policy"
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("policy of %q: %w", name, err)
	}
	return p, nil
}

// hasAll says whether e carries every attr: an attribute the bind account may not read is simply absent.
func hasAll(e *ldap.Entry, attrs ...string) bool {
	for _, a := range attrs {
		if len(e.GetAttributeValues(a)) == 0 {
			return false
		}
	}
	return true
}

// Enable clears the disabled bit (driver.Driver).
func (d *Driver) Enable(ctx context.Context, name string) error { return d.acc.Enable(ctx, name) }
