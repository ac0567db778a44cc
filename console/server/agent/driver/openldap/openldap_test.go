package openldap_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/internal/ldapconn"
	"github.com/watchword/watchword/console/server/agent/driver/openldap"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/rotation"
)

func setup(t *testing.T) (*openldap.Driver, openldap.Config) {
	t.Helper()
	env := targets.Require(t)
	cfg := openldap.Config{
		Config: ldapconn.Config{
			URL:      env.Get(t, "WW_LDAP_URL"),
			TLS:      env.TLSConfig(t),
			BindDN:   env.Get(t, "WW_LDAP_ADMIN_DN"),
			Password: env.Get(t, "WW_LDAP_ADMIN_PASSWORD"),
		},
		PeopleDN: env.Get(t, "WW_LDAP_PEOPLE_DN"),
		GroupsDN: env.Get(t, "WW_LDAP_GROUPS_DN"),
	}
	d, err := openldap.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, cfg
}

func admin(t *testing.T, cfg openldap.Config) *ldap.Conn {
	t.Helper()
	c, err := ldapconn.Dial(context.Background(), cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(cfg.BindDN, cfg.Password); err != nil {
		t.Fatal(err)
	}
	return c
}

func testName(t *testing.T, cfg openldap.Config) string {
	b := make([]byte, 4)
	rand.Read(b)
	name := "wwt-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		c := admin(t, cfg)
		defer c.Close()
		dn := fmt.Sprintf("uid=%s,%s", ldap.EscapeDN(name), cfg.PeopleDN)
		for _, g := range []string{"wwt-ops", "wwt-dev"} {
			req := ldap.NewModifyRequest(fmt.Sprintf("cn=%s,%s", g, cfg.GroupsDN), nil)
			req.Delete("member", []string{dn})
			c.Modify(req)
		}
		c.Del(ldap.NewDelRequest(dn, nil))
	})
	return name
}

func groupsOf(t *testing.T, cfg openldap.Config, name string) []string {
	t.Helper()
	c := admin(t, cfg)
	defer c.Close()
	dn := fmt.Sprintf("uid=%s,%s", ldap.EscapeDN(name), cfg.PeopleDN)
	res, err := c.Search(ldap.NewSearchRequest(cfg.GroupsDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		fmt.Sprintf("(member=%s)", ldap.EscapeFilter(dn)), []string{"cn"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range res.Entries {
		out = append(out, e.GetAttributeValue("cn"))
	}
	slices.Sort(out)
	return out
}

func TestLifecycle(t *testing.T) {
	d, cfg := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := testName(t, cfg)

	rep, err := d.Ensure(ctx, driver.Account{Name: name, DisplayName: "Test Tech", Groups: []string{"wwt-ops", "wwt-nosuch"}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Created || !rep.NeedsPassword || !slices.Equal(rep.Added, []string{"wwt-ops"}) || !slices.Equal(rep.Missing, []string{"wwt-nosuch"}) {
		t.Fatalf("first ensure %+v", rep)
	}
	policy := rotation.DefaultPolicy(d.PasswordRules())
	prev := ""
	for i := range 20 {
		pw, err := policy.Generate(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SetPassword(ctx, name, pw); err != nil {
			t.Fatalf("rotation %d: set: %v", i, err)
		}
		if err := d.Verify(ctx, name, pw); err != nil {
			t.Fatalf("rotation %d: new password: %v", i, err)
		}
		if prev != "" {
			if err := d.Verify(ctx, name, prev); !errors.Is(err, driver.ErrBadPassword) {
				t.Fatalf("rotation %d: previous password: %v, want ErrBadPassword", i, err)
			}
		}
		prev = pw
	}
	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-dev"}})
	if err != nil || !slices.Equal(rep.Added, []string{"wwt-dev"}) || !slices.Equal(rep.Removed, []string{"wwt-ops"}) {
		t.Fatalf("rights change: %+v %v", rep, err)
	}
	if g := groupsOf(t, cfg, name); !slices.Equal(g, []string{"wwt-dev"}) {
		t.Fatalf("groups %v", g)
	}
	rep, err = d.Disable(ctx, name)
	if err != nil || !rep.Disabled || !slices.Equal(rep.Removed, []string{"wwt-dev"}) {
		t.Fatalf("disable: %+v %v", rep, err)
	}
	if g := groupsOf(t, cfg, name); len(g) != 0 {
		t.Fatalf("disabled account still in %v", g)
	}
	// the real bind fails with result 49 while the password itself is right
	err = ldapconn.BindOnce(ctx, cfg.Config, fmt.Sprintf("uid=%s,%s", name, cfg.PeopleDN), prev)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("bind on a locked entry: %v, want invalidCredentials", err)
	}
	if err := d.Verify(ctx, name, prev); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("verify a locked entry: %v, want ErrDisabled", err)
	}
	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops"}})
	if err != nil || !rep.Enabled {
		t.Fatalf("re-enable: %+v %v", rep, err)
	}
	if err := d.Verify(ctx, name, prev); err != nil {
		t.Fatalf("re-enabled: %v", err)
	}
}

func TestHostileNames(t *testing.T) {
	d, cfg := setup(t)
	ctx := context.Background()
	for _, n := range []string{"*)(uid=*", "*", "a,ou=x", "a+b", "", "x)(|(objectClass=*"} {
		if _, err := d.Ensure(ctx, driver.Account{Name: n}); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("Ensure(%q) = %v, want ErrInvalidName", n, err)
		}
		if err := d.Verify(ctx, n, "x"); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("Verify(%q) = %v", n, err)
		}
	}
	name := testName(t, cfg)
	rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"*", "wwt-ops)(cn=*", "wwt-*"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Added) != 0 || len(rep.Missing) != 3 {
		t.Fatalf("hostile groups: %+v", rep)
	}
	if g := groupsOf(t, cfg, name); len(g) != 0 {
		t.Fatalf("member of %v", g)
	}
}

// TestJIT: a closed just-in-time account exists locked without memberships, rotates while staying locked (an
// administrator's password change would make ppolicy unlock it), and its password is checked without a bind; a
// window opens it with its rights and closes it again.
func TestJIT(t *testing.T) {
	d, cfg := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := testName(t, cfg)
	dn := fmt.Sprintf("uid=%s,%s", name, cfg.PeopleDN)
	locked := func() bool {
		t.Helper()
		c := admin(t, cfg)
		defer c.Close()
		res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"pwdAccountLockedTime"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("read %s: %v", dn, err)
		}
		return res.Entries[0].GetAttributeValue("pwdAccountLockedTime") != ""
	}

	rep, err := d.EnsureDisabled(ctx, driver.Account{Name: name, DisplayName: "JIT Tech"})
	if err != nil || !rep.Created || !rep.NeedsPassword || !rep.Disabled {
		t.Fatalf("first EnsureDisabled: %+v %v", rep, err)
	}
	if !locked() || len(groupsOf(t, cfg, name)) != 0 {
		t.Fatal("a closed account is not locked, or has memberships")
	}
	policy := rotation.DefaultPolicy(d.PasswordRules())
	var closed []string
	for i := range 3 {
		pw, _ := policy.Generate(name)
		if err := d.SetPassword(ctx, name, pw); err != nil {
			t.Fatalf("closed rotation %d: %v", i, err)
		}
		if !locked() {
			t.Fatalf("closed rotation %d unlocked the entry", i)
		}
		if err := ldapconn.BindOnce(ctx, cfg.Config, dn, pw); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Fatalf("bind to a closed account with its password: %v, want invalidCredentials", err)
		}
		if err := d.VerifyDisabled(ctx, name, pw); err != nil {
			t.Fatalf("closed rotation %d: VerifyDisabled with the new password: %v", i, err)
		}
		for _, old := range closed {
			if err := d.VerifyDisabled(ctx, name, old); !errors.Is(err, driver.ErrBadPassword) {
				t.Fatalf("VerifyDisabled with an older password: %v, want ErrBadPassword", err)
			}
		}
		closed = append(closed, pw)
	}
	if rep, err := d.EnsureDisabled(ctx, driver.Account{Name: name}); err != nil || rep.Created || rep.Disabled || rep.NeedsPassword {
		t.Fatalf("EnsureDisabled again: %+v %v, want no change", rep, err)
	}

	// The window opens: rights, unlocked, a fresh password that binds; the closed one is dead.
	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops"}})
	if err != nil || !rep.Enabled || !slices.Equal(rep.Added, []string{"wwt-ops"}) {
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
		t.Fatalf("the closed password inside the window: %v", err)
	}

	// The window closes: no memberships, locked, rotated away from the window's password.
	rep, err = d.EnsureDisabled(ctx, driver.Account{Name: name})
	if err != nil || !rep.Disabled || !slices.Equal(rep.Removed, []string{"wwt-ops"}) {
		t.Fatalf("close the window: %+v %v", rep, err)
	}
	after, _ := policy.Generate(name)
	if err := d.SetPassword(ctx, name, after); err != nil {
		t.Fatal(err)
	}
	if !locked() || len(groupsOf(t, cfg, name)) != 0 {
		t.Fatal("closed again: not locked, or memberships left")
	}
	if err := d.VerifyDisabled(ctx, name, open); !errors.Is(err, driver.ErrBadPassword) {
		t.Fatalf("the window's password after it closed: %v, want ErrBadPassword", err)
	}
	if err := ldapconn.BindOnce(ctx, cfg.Config, dn, open); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("bind with the window's password after it closed: %v", err)
	}
	for _, n := range []string{"*", "a,ou=x"} {
		if _, err := d.EnsureDisabled(ctx, driver.Account{Name: n}); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("EnsureDisabled(%q) = %v, want ErrInvalidName", n, err)
		}
		if err := d.VerifyDisabled(ctx, n, "x"); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("VerifyDisabled(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}
