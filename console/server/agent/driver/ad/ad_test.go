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
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/driver/internal/ldapconn"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/rotation"
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

// TestLifecycle runs the whole account life against the Samba DC: create, 20 rotations (each new password binds,
// the previous one fails), rights changed, a missing group reported, disable (data 533), re-enable.
func TestLifecycle(t *testing.T) {
	d, cfg := newDriver(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := testName(t, cfg)

	rep, err := d.Ensure(ctx, driver.Account{Name: name, DisplayName: "Test Tech", Groups: []string{"wwt-ops", "wwt-nosuch"}})
	if err != nil {
		t.Fatalf("ensure: %v", err)
	}
	if !rep.Created || !rep.NeedsPassword || !slices.Equal(rep.Added, []string{"wwt-ops"}) || !slices.Equal(rep.Missing, []string{"wwt-nosuch"}) {
		t.Fatalf("first ensure report %+v", rep)
	}
	if uac, _ := d.UserAccountControl(ctx, name); uac != 514 {
		t.Fatalf("new account userAccountControl %d, want 514", uac)
	}
	// the missing group was not created
	if c := adminConn(t, cfg); true {
		e, _ := ldapconn.SearchOne(c, cfg.BaseDN, "(cn=wwt-nosuch)")
		c.Close()
		if e != nil {
			t.Fatal("a missing group was created")
		}
	}

	policy := rotation.DefaultPolicy(d.PasswordRules())
	prev := ""
	for i := range 20 {
		pw, err := policy.Generate(name, "Test Tech")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SetPassword(ctx, name, pw); err != nil {
			t.Fatalf("rotation %d: set: %v", i, err)
		}
		if err := d.Verify(ctx, name, pw); err != nil {
			t.Fatalf("rotation %d: new password does not bind: %v", i, err)
		}
		if prev != "" {
			if err := d.Verify(ctx, name, prev); !errors.Is(err, driver.ErrBadPassword) {
				t.Fatalf("rotation %d: previous password: %v, want ErrBadPassword", i, err)
			}
		}
		prev = pw
	}
	if uac, _ := d.UserAccountControl(ctx, name); uac != 512 {
		t.Fatalf("after first password userAccountControl %d, want 512", uac)
	}

	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-dev"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created || !slices.Equal(rep.Added, []string{"wwt-dev"}) || !slices.Equal(rep.Removed, []string{"wwt-ops"}) {
		t.Fatalf("rights change report %+v", rep)
	}
	if g := groupsOf(t, cfg, name); !slices.Equal(g, []string{"wwt-dev"}) {
		t.Fatalf("groups %v, want [wwt-dev]", g)
	}
	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-dev"}})
	if err != nil || len(rep.Added)+len(rep.Removed) != 0 || rep.Enabled {
		t.Fatalf("repeat ensure not idempotent: %+v %v", rep, err)
	}

	rep, err = d.Disable(ctx, name)
	if err != nil || !rep.Disabled || !slices.Equal(rep.Removed, []string{"wwt-dev"}) {
		t.Fatalf("disable: %+v %v", rep, err)
	}
	if g := groupsOf(t, cfg, name); len(g) != 0 {
		t.Fatalf("disabled account still in %v", g)
	}
	if err := d.Verify(ctx, name, prev); !errors.Is(err, driver.ErrDisabled) || !strings.Contains(err.Error(), "533") {
		t.Fatalf("bind on a disabled account: %v, want ErrDisabled (data 533)", err)
	}
	if uac, _ := d.UserAccountControl(ctx, name); uac != 514 {
		t.Fatalf("disabled userAccountControl %d, want 514", uac)
	}

	rep, err = d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops", "wwt-dev"}})
	if err != nil || !rep.Enabled || rep.NeedsPassword || len(rep.Added) != 2 {
		t.Fatalf("re-enable: %+v %v", rep, err)
	}
	if err := d.Verify(ctx, name, prev); err != nil {
		t.Fatalf("re-enabled account does not bind with its password: %v", err)
	}
}

// TestHostileNames: names and groups built to break out of a filter or DN are refused or escaped, never run.
func TestHostileNames(t *testing.T) {
	d, cfg := newDriver(t)
	ctx := context.Background()
	for _, n := range []string{"*)(uid=*", "*", "a,OU=x", `x\2a`, "adm)(|(cn=*"} {
		if _, err := d.Ensure(ctx, driver.Account{Name: n}); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("Ensure(%q) = %v, want ErrInvalidName", n, err)
		}
		if err := d.Verify(ctx, n, "x"); !errors.Is(err, driver.ErrInvalidName) {
			t.Errorf("Verify(%q) = %v, want ErrInvalidName", n, err)
		}
	}
	// a valid name whose characters are filter/DN specials anyway: escaped, the account created as named
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
