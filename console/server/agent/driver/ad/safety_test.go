package ad_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/driver/internal/ldapconn"
)

// snapshot is what "untouched" means for an account: its groups, userAccountControl, pwdLastSet, badPwdCount
// and description, as the DC holds them.
type snapshot struct {
	groups                                   []string
	uac, pwdLastSet, badPwdCount, descrption string
}

func (s snapshot) String() string {
	return fmt.Sprintf("groups=%v uac=%s pwdLastSet=%s badPwdCount=%s description=%q", s.groups, s.uac, s.pwdLastSet,
		s.badPwdCount, s.descrption)
}

func snap(tb testing.TB, cfg ad.Config, name string) snapshot {
	tb.Helper()
	c := adminConn(tb, cfg)
	defer c.Close()
	e, err := ldapconn.SearchOne(c, cfg.BaseDN, fmt.Sprintf("(&(objectClass=user)(sAMAccountName=%s))", ldap.EscapeFilter(name)),
		"memberOf", "userAccountControl", "pwdLastSet", "badPwdCount", "description")
	if err != nil || e == nil {
		tb.Fatalf("read %q: %v", name, err)
	}
	g := e.GetAttributeValues("memberOf")
	slices.Sort(g)
	return snapshot{groups: g, uac: e.GetAttributeValue("userAccountControl"), pwdLastSet: e.GetAttributeValue("pwdLastSet"),
		badPwdCount: e.GetAttributeValue("badPwdCount"), descrption: e.GetAttributeValue("description")}
}

func same(a, b snapshot) bool { return a.String() == b.String() }

// addForeignUser creates, as the domain's administrator (not through the driver), an enabled account with a
// password in parent, member of groups: an account Watchword did not create.
func addForeignUser(tb testing.TB, cfg ad.Config, parent, name string, groups ...string) string {
	tb.Helper()
	c := adminConn(tb, cfg)
	defer c.Close()
	dn := fmt.Sprintf("CN=%s,%s", ldap.EscapeDN(name), parent)
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{name})
	req.Attribute("userAccountControl", []string{"514"})
	req.Attribute("description", []string{"a person's own account"})
	if err := c.Add(req); err != nil {
		tb.Fatalf("add %s: %v", dn, err)
	}
	tb.Cleanup(func() { deleteUser(tb, cfg, name) })
	pw := ldap.NewModifyRequest(dn, nil)
	pw.Replace("unicodePwd", []string{unicodePwd("Foreign-Passw0rd-" + name)})
	pw.Replace("userAccountControl", []string{"512"})
	if err := c.Modify(pw); err != nil {
		tb.Fatalf("password of %s: %v", dn, err)
	}
	for _, g := range groups {
		e, err := ldapconn.SearchOne(c, cfg.BaseDN, fmt.Sprintf("(&(objectClass=group)(cn=%s))", ldap.EscapeFilter(g)))
		if err != nil || e == nil {
			tb.Fatalf("group %q: %v", g, err)
		}
		m := ldap.NewModifyRequest(e.DN, nil)
		m.Add("member", []string{dn})
		if err := c.Modify(m); err != nil {
			tb.Fatalf("add %s to %s: %v", name, g, err)
		}
	}
	return dn
}

func unicodePwd(pw string) string {
	var b strings.Builder
	for _, r := range `"` + pw + `"` {
		b.WriteByte(byte(r))
		b.WriteByte(byte(r >> 8))
	}
	return b.String()
}

// everyOperation runs every driver call that could change an account, with adopt set on the ones that take it,
// and returns their errors by name.
func everyOperation(ctx context.Context, d *ad.Driver, name string, adopt bool) map[string]error {
	out := map[string]error{}
	acc := driver.Account{Name: name, Groups: []string{"wwt-ops", "Domain Admins"}, Adopt: adopt}
	_, out["Ensure"] = d.Ensure(ctx, acc)
	_, out["EnsureDisabled"] = d.EnsureDisabled(ctx, acc)
	out["SetPassword"] = d.SetPassword(ctx, name, "Zz9!never-set-this-"+name)
	out["SetDisabledPassword"] = d.SetDisabledPassword(ctx, name, "Zz9!never-set-this-"+name)
	out["Verify"] = d.Verify(ctx, name, "Zz9!wrong-"+name)
	out["VerifyDisabled"] = d.VerifyDisabled(ctx, name, "Zz9!wrong-"+name)
	_, out["Disable"] = d.Disable(ctx, name)
	_, out["TargetPolicy"] = d.TargetPolicy(ctx, name)
	return out
}

func expectRefused(t *testing.T, errs map[string]error, want error) {
	t.Helper()
	for op, err := range errs {
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", op, err, want)
		}
	}
}

// An account of the same name outside the managed OU — a person's own account, in Domain Admins — is refused by
// every call, adopt or not, and keeps its groups, flags, password and bad-password count.
func TestRefusesAccountOutsideTheOU(t *testing.T) {
	d, cfg := newDriver(t)
	ctx := context.Background()
	name := testName(t, cfg)
	addForeignUser(t, cfg, "CN=Users,"+cfg.BaseDN, name, "Domain Admins")
	before := snap(t, cfg, name)
	for _, adopt := range []bool{false, true} {
		errs := everyOperation(ctx, d, name, adopt)
		expectRefused(t, errs, driver.ErrNotManaged)
		if !strings.Contains(errs["Ensure"].Error(), "CN=Users") {
			t.Errorf("the refusal does not say where the account is: %v", errs["Ensure"])
		}
	}
	if after := snap(t, cfg, name); !same(before, after) {
		t.Fatalf("the foreign account changed:\n before %s\n after  %s", before, after)
	}
}

// An unmarked account inside the OU is refused until an admin adopts it; adopting marks it; a privileged one is
// never adopted.
func TestAdoptsOnlyWhenToldAndNeverPrivileged(t *testing.T) {
	d, cfg := newDriver(t)
	ctx := context.Background()
	name := testName(t, cfg)
	addForeignUser(t, cfg, cfg.OU, name)
	before := snap(t, cfg, name)
	expectRefused(t, everyOperation(ctx, d, name, false), driver.ErrNotManaged)
	if after := snap(t, cfg, name); !same(before, after) {
		t.Fatalf("an unadopted account changed:\n before %s\n after  %s", before, after)
	}
	rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops"}, Adopt: true})
	if err != nil || !rep.Adopted {
		t.Fatalf("adopt: %+v, %v", rep, err)
	}
	if s := snap(t, cfg, name); s.descrption != driver.MarkAdopted {
		t.Fatalf("adopted account: description %q, want %q", s.descrption, driver.MarkAdopted)
	}
	if got := groupsOf(t, cfg, name); !slices.Equal(got, []string{"wwt-ops"}) {
		t.Fatalf("adopted account groups = %v", got)
	}
	// From now on it is managed without being told again.
	if _, err := d.Disable(ctx, name); err != nil {
		t.Fatalf("disable the adopted account: %v", err)
	}

	admin := testName(t, cfg)
	addForeignUser(t, cfg, cfg.OU, admin, "Domain Admins")
	before = snap(t, cfg, admin)
	errs := everyOperation(ctx, d, admin, true)
	if _, err := d.Ensure(ctx, driver.Account{Name: admin, Adopt: true}); !errors.Is(err, driver.ErrProtected) {
		t.Errorf("adopt a Domain Admin: %v, want ErrProtected", err)
	}
	for op, err := range errs {
		if err == nil {
			t.Errorf("%s on an unadoptable privileged account succeeded", op)
		}
	}
	if after := snap(t, cfg, admin); !same(before, after) {
		t.Fatalf("the privileged account changed:\n before %s\n after  %s", before, after)
	}
}

// The domain's built-in principals are never touched, even by a driver whose "OU" is the whole domain, even when
// told to adopt, and even when one carries Watchword's mark.
func TestNeverTouchesBuiltins(t *testing.T) {
	cfg := config(t)
	cfg.OU = cfg.BaseDN // the worst configuration: the whole domain is "managed"
	d, err := ad.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()

	// Guest (disabled, harmless to label) carries the mark for the length of the test.
	c := adminConn(t, cfg)
	t.Cleanup(func() { c.Close() })
	guest, err := ldapconn.SearchOne(c, cfg.BaseDN, "(&(objectClass=user)(sAMAccountName=Guest))", "description")
	if err != nil || guest == nil {
		t.Fatalf("find Guest: %v", err)
	}
	mark := ldap.NewModifyRequest(guest.DN, nil)
	mark.Replace("description", []string{driver.MarkManaged})
	if err := c.Modify(mark); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		undo := ldap.NewModifyRequest(guest.DN, nil)
		undo.Replace("description", guest.GetAttributeValues("description"))
		if err := c.Modify(undo); err != nil {
			t.Errorf("restore Guest's description: %v", err)
		}
	})

	for _, name := range []string{"Administrator", "krbtgt", "Guest"} {
		before := snap(t, cfg, name)
		for _, adopt := range []bool{false, true} {
			expectRefused(t, everyOperation(ctx, d, name, adopt), driver.ErrProtected)
		}
		if after := snap(t, cfg, name); !same(before, after) {
			t.Errorf("%s changed:\n before %s\n after  %s", name, before, after)
		}
	}
}

// Accounts the driver creates carry the mark, and so are managed from then on.
func TestMarksWhatItCreates(t *testing.T) {
	d, cfg := newDriver(t)
	ctx := context.Background()
	name := testName(t, cfg)
	rep, err := d.Ensure(ctx, driver.Account{Name: name})
	if err != nil || !rep.Created {
		t.Fatalf("create: %+v, %v", rep, err)
	}
	if s := snap(t, cfg, name); s.descrption != driver.MarkManaged {
		t.Fatalf("created account: description %q, want %q", s.descrption, driver.MarkManaged)
	}
	if err := d.SetPassword(ctx, name, "Zz9!created-"+name+"-ok"); err != nil {
		t.Fatal(err)
	}
}
