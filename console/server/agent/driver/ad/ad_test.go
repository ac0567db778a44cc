package ad_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/driver/drivertest"
	"github.com/watchword/watchword/console/server/agent/driver/internal/ldapconn"
	"github.com/watchword/watchword/internal/testsupport/targets"
)

func config(tb testing.TB) ad.Config {
	tb.Helper()
	env := targets.Require(tb)
	return ad.Config{
		Config: ldapconn.Config{
			URL:      env.Get(tb, "WW_AD_URL"),
			TLS:      env.TLSConfig(tb),
			BindDN:   env.Get(tb, "WW_AD_ADMIN_DN"),
			Password: env.Get(tb, "WW_AD_ADMIN_PASSWORD"),
		},
		BaseDN: env.Get(tb, "WW_AD_BASE_DN"),
		OU:     env.Get(tb, "WW_AD_OU"),
	}
}

func newDriver(tb testing.TB) (*ad.Driver, ad.Config) {
	tb.Helper()
	cfg := config(tb)
	d, err := ad.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d, cfg
}

// testName is a fresh account name with the test prefix; the test deletes it afterwards (the driver never does).
func testName(tb testing.TB, cfg ad.Config) string {
	tb.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "wwt-" + hex.EncodeToString(b)
	tb.Cleanup(func() { deleteUser(tb, cfg, name) })
	return name
}

func adminConn(tb testing.TB, cfg ad.Config) *ldap.Conn {
	tb.Helper()
	c, err := ldapconn.Dial(context.Background(), cfg.Config)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Bind(cfg.BindDN, cfg.Password); err != nil {
		c.Close()
		tb.Fatal(err)
	}
	return c
}

func deleteUser(tb testing.TB, cfg ad.Config, name string) {
	if !strings.HasPrefix(name, "wwt-") {
		tb.Fatalf("refusing to delete %q: not a test account", name)
	}
	c := adminConn(tb, cfg)
	defer c.Close()
	e, err := ldapconn.SearchOne(c, cfg.BaseDN, fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(name)))
	if err != nil || e == nil {
		return
	}
	if err := c.Del(ldap.NewDelRequest(e.DN, nil)); err != nil {
		tb.Errorf("cleanup: delete %s: %v", e.DN, err)
	}
}

// groupsOf reads the real memberships from the groups' side.
func groupsOf(tb testing.TB, cfg ad.Config, name string) []string {
	tb.Helper()
	c := adminConn(tb, cfg)
	defer c.Close()
	u, err := ldapconn.SearchOne(c, cfg.BaseDN, fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(name)))
	if err != nil || u == nil {
		tb.Fatalf("find %q: %v", name, err)
	}
	res, err := c.Search(ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		fmt.Sprintf("(&(objectClass=group)(member=%s))", ldap.EscapeFilter(u.DN)), []string{"cn"}, nil))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range res.Entries {
		out = append(out, e.GetAttributeValue("cn"))
	}
	slices.Sort(out)
	return out
}

func TestValidateName(t *testing.T) {
	good := []string{"alice-ctso", "a", "bob.smith", "x12345678901234567890"[:20], "tech$"}
	bad := []string{"", "*)(uid=*", "a,b", `dom\user`, "a/b", "x123456789012345678901", "a;b", "a=b", "a+b", "a<b>",
		"a|b", "a?", "a\"b", "a[b]", "a:b", ".", "..", "trailing.", " lead", "tab\tx"}
	for _, n := range good {
		if err := ad.ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v, want ok", n, err)
		}
	}
	for _, n := range bad {
		if err := ad.ValidateName(n); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}

func TestConfigRefusesUnverifiedTLS(t *testing.T) {
	cfg := ad.Config{Config: ldapconn.Config{URL: "ldaps://127.0.0.1:636"}, BaseDN: "DC=x", OU: "OU=y,DC=x"}
	if _, err := ad.New(cfg); err == nil {
		t.Fatal("a driver without a CA was accepted")
	}
	cfg.URL = "ldap://127.0.0.1:389"
	if _, err := ad.New(cfg); err == nil {
		t.Fatal("plain ldap:// was accepted")
	}
}

// TestConformance runs the driver contract's suite against the Samba DC; AD's own states are checked on the way:
// userAccountControl 514 for a new or disabled account and 512 for an enabled one, and a disabled account's
// right password answered "data 533".
func TestConformance(t *testing.T) {
	d, cfg := newDriver(t)
	whole := cfg
	whole.OU = whole.BaseDN // the worst configuration: the whole domain is "managed"
	builtins, err := ad.New(whole)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { builtins.Close() })
	uac := func(t *testing.T, name string, want int64) {
		t.Helper()
		if got, err := d.UserAccountControl(context.Background(), name); err != nil || got != want {
			t.Fatalf("userAccountControl %d, %v; want %d", got, err, want)
		}
	}
	drivertest.Run(t, d, drivertest.Config{
		NewName: func(t *testing.T) string { return testName(t, cfg) },
		Groups:  func(t *testing.T, name string) []string { return groupsOf(t, cfg, name) },
		GroupExists: func(t *testing.T, group string) bool {
			c := adminConn(t, cfg)
			defer c.Close()
			e, err := ldapconn.SearchOne(c, cfg.BaseDN, fmt.Sprintf("(cn=%s)", ldap.EscapeFilter(group)))
			if err != nil {
				t.Fatal(err)
			}
			return e != nil
		},
		Ops: "wwt-ops", Dev: "wwt-dev",
		Check: func(t *testing.T, name, password string, at drivertest.Stage) {
			switch at {
			case drivertest.Created:
				uac(t, name, 514)
			case drivertest.Enabled:
				uac(t, name, 512)
			case drivertest.Disabled:
				uac(t, name, 514)
				if password == "" {
					return
				}
				if err := d.Verify(context.Background(), name, password); !errors.Is(err, driver.ErrDisabled) || !strings.Contains(err.Error(), "533") {
					t.Fatalf("bind on a disabled account: %v, want ErrDisabled (data 533)", err)
				}
			}
		},
		HostileNames:  []string{"*)(uid=*", "*", "a,OU=x", `x\2a`, "adm)(|(cn=*", "", "a/b", "x123456789012345678901"},
		HostileGroups: []string{"*", "wwt-ops)(cn=*", "Domain Admins)"},
		Foreign: func(t *testing.T, name string) func(*testing.T) {
			addForeignUser(t, cfg, cfg.OU, name)
			before := snap(t, cfg, name)
			return func(t *testing.T) {
				if after := snap(t, cfg, name); !same(before, after) {
					t.Fatalf("%s changed:\n before %s\n after  %s", name, before, after)
				}
			}
		},
		Mark:               func(t *testing.T, name string) string { return snap(t, cfg, name).descrption },
		ProtectedDriver:    builtins,
		ProtectedNames:     []string{"Administrator", "krbtgt", "Guest"},
		ProtectedUnchanged: func(t *testing.T, name string) string { return snap(t, cfg, name).String() },
		Dead: func(t *testing.T) (driver.Driver, error) {
			dead := cfg
			dead.URL = "ldaps://127.0.0.1:1"
			return ad.New(dead)
		},
	})
}

// TestOddNameEscaped: a valid name whose characters are filter and DN specials anyway is escaped, and the account
// created as named.
func TestOddNameEscaped(t *testing.T) {
	d, cfg := newDriver(t)
	ctx := context.Background()
	name := testName(t, cfg)
	odd := name[:8] + "#&!" // '#', '&' are legal in sAMAccountName
	t.Cleanup(func() { deleteUser(t, cfg, odd) })
	rep, err := d.Ensure(ctx, driver.Account{Name: odd, Groups: []string{"*", "wwt-ops)(cn=*", "Domain Admins)"}})
	if err != nil {
		t.Fatalf("ensure %q: %v", odd, err)
	}
	if len(rep.Added) != 0 || len(rep.Missing) != 3 {
		t.Fatalf("hostile group names joined something: %+v", rep)
	}
	if g := groupsOf(t, cfg, odd); len(g) != 0 {
		t.Fatalf("member of %v", g)
	}
}
