package openldap_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
)

// An entry Watchword did not create is refused by every call until an admin adopts it; adopting marks it.
func TestNeverTouchesWhatItDidNotCreate(t *testing.T) {
	d, cfg := setup(t)
	ctx := context.Background()
	name := testName(t, cfg)
	c := admin(t, cfg)
	defer c.Close()
	dn := fmt.Sprintf("uid=%s,%s", ldap.EscapeDN(name), cfg.PeopleDN)
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{name})
	req.Attribute("cn", []string{"A Person"})
	req.Attribute("sn", []string{"Person"})
	req.Attribute("userPassword", []string{"their-own-password"})
	if err := c.Add(req); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops"}}); !errors.Is(err, driver.ErrNotManaged) {
		t.Fatalf("Ensure = %v, want ErrNotManaged", err)
	}
	if err := d.SetPassword(ctx, name, "never-this-one"); !errors.Is(err, driver.ErrNotManaged) {
		t.Fatalf("SetPassword = %v, want ErrNotManaged", err)
	}
	if _, err := d.Disable(ctx, name); !errors.Is(err, driver.ErrNotManaged) {
		t.Fatalf("Disable = %v, want ErrNotManaged", err)
	}
	if err := c.Bind(dn, "their-own-password"); err != nil {
		t.Fatalf("the person's own password no longer binds: %v", err)
	}
	if err := c.Bind(cfg.BindDN, cfg.Password); err != nil {
		t.Fatal(err)
	}
	rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops"}, Adopt: true})
	if err != nil || !rep.Adopted {
		t.Fatalf("adopt: %+v %v", rep, err)
	}
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"description"}, nil))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("description") != driver.MarkAdopted {
		t.Fatalf("adopted entry: %v %v", res, err)
	}

}

// Enable removes the lock of an entry the runner rotated while disabled.
func TestEnable(t *testing.T) {
	d, cfg := setup(t)
	ctx := context.Background()
	name := testName(t, cfg)
	if _, err := d.Ensure(ctx, driver.Account{Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := d.Enable(ctx, name); err == nil {
		t.Fatal("an entry without a password was enabled")
	}
	if err := d.SetPassword(ctx, name, "enable-test-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Disable(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(ctx, name, "enable-test-password"); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("disabled entry: %v", err)
	}
	if err := d.Enable(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(ctx, name, "enable-test-password"); err != nil {
		t.Fatalf("after Enable: %v", err)
	}
}
