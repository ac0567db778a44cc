package openldap_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/drivertest"
	"github.com/watchword/watchword/console/server/agent/driver/internal/ldapconn"
	"github.com/watchword/watchword/console/server/agent/driver/openldap"
	"github.com/watchword/watchword/internal/testsupport/targets"
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

// TestConformance runs the driver contract's suite against slapd; on the way, a disabled entry carries the
// ppolicy lock and its right password fails a real bind with invalidCredentials (result 49).
func TestConformance(t *testing.T) {
	d, cfg := setup(t)
	dnOf := func(name string) string { return fmt.Sprintf("uid=%s,%s", ldap.EscapeDN(name), cfg.PeopleDN) }
	read := func(t *testing.T, name, attr string) string {
		t.Helper()
		c := admin(t, cfg)
		defer c.Close()
		res, err := c.Search(ldap.NewSearchRequest(dnOf(name), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{attr}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("read %s: %v", dnOf(name), err)
		}
		return res.Entries[0].GetAttributeValue(attr)
	}
	drivertest.Run(t, d, drivertest.Config{
		NewName: func(t *testing.T) string { return testName(t, cfg) },
		Groups:  func(t *testing.T, name string) []string { return groupsOf(t, cfg, name) },
		GroupExists: func(t *testing.T, group string) bool {
			c := admin(t, cfg)
			defer c.Close()
			e, err := ldapconn.SearchOne(c, cfg.GroupsDN, fmt.Sprintf("(cn=%s)", ldap.EscapeFilter(group)))
			if err != nil {
				t.Fatal(err)
			}
			return e != nil
		},
		Ops: "wwt-ops", Dev: "wwt-dev",
		Check: func(t *testing.T, name, password string, at drivertest.Stage) {
			if at != drivertest.Disabled {
				return
			}
			if read(t, name, "pwdAccountLockedTime") == "" {
				t.Fatal("a disabled entry is not locked")
			}
			if password == "" {
				return
			}
			// the real bind fails with result 49 while the password itself is right
			err := ldapconn.BindOnce(context.Background(), cfg.Config, dnOf(name), password)
			if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				t.Fatalf("bind on a locked entry: %v, want invalidCredentials", err)
			}
		},
		HostileNames:  []string{"*)(uid=*", "*", "a,ou=x", "a+b", "", "x)(|(objectClass=*"},
		HostileGroups: []string{"*", "wwt-ops)(cn=*", "wwt-*"},
		Foreign: func(t *testing.T, name string) func(*testing.T) {
			c := admin(t, cfg)
			defer c.Close()
			req := ldap.NewAddRequest(dnOf(name), nil)
			req.Attribute("objectClass", []string{"inetOrgPerson"})
			req.Attribute("uid", []string{name})
			req.Attribute("cn", []string{"A Person"})
			req.Attribute("sn", []string{"Person"})
			req.Attribute("userPassword", []string{"their-own-password"})
			if err := c.Add(req); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				if err := ldapconn.BindOnce(context.Background(), cfg.Config, dnOf(name), "their-own-password"); err != nil {
					t.Fatalf("the person's own password no longer binds: %v", err)
				}
				if m := read(t, name, "description"); m != "" {
					t.Fatalf("the entry Watchword did not create was marked %q", m)
				}
			}
		},
		Mark: func(t *testing.T, name string) string { return read(t, name, "description") },
		Dead: func(t *testing.T) (driver.Driver, error) {
			dead := cfg
			dead.URL = "ldaps://127.0.0.1:1"
			return openldap.New(dead)
		},
		Cannot: map[drivertest.Case]string{
			drivertest.Protected: "the directory's one protected principal is the driver's own bind DN, which lives outside the people DN and so has no uid to name",
		},
	})
}
