package peers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/wire"
)

// pct and ms are agenttest's, named short for the many reports.
var pct, ms = agenttest.PctMS, agenttest.MS

// adDN returns the DN of the account with sAMAccountName name.
func adDN(tb testing.TB, cfg ad.Config, name string) string {
	tb.Helper()
	conn, err := agenttest.DialAD(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 10, false,
		fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(name)), []string{"dn"}, nil))
	if err != nil || len(res.Entries) != 1 {
		tb.Fatalf("look up %s: %v", name, err)
	}
	return res.Entries[0].DN
}

// accountDNs maps each of names to its DN, in one paged search of the OU.
func accountDNs(conn *ldap.Conn, cfg ad.Config, names []string) (map[string]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(cfg.OU, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 60, false,
		"(&(objectClass=user)(sAMAccountName="+ldap.EscapeFilter(agenttest.Prefix)+"*))", []string{"sAMAccountName"}, nil), 500)
	if err != nil {
		return nil, fmt.Errorf("look up accounts: %w", err)
	}
	dns := map[string]string{}
	for _, e := range res.Entries {
		if n := e.GetAttributeValue("sAMAccountName"); want[n] {
			dns[n] = e.DN
		}
	}
	for _, n := range names {
		if dns[n] == "" {
			return nil, fmt.Errorf("look up accounts: %q not found", n)
		}
	}
	return dns, nil
}

// ensureAD creates an enabled account with a password as the product's AD driver does for a tech, in the group
// every benchmark's right grants: the Vault side gets accounts of the same kind as Watchword's.
func ensureAD(ctx context.Context, tb testing.TB, d *ad.Driver, name string) {
	tb.Helper()
	a := driver.Account{Name: name, Groups: []string{"wwt-ops"}}
	rep, err := d.Ensure(ctx, a)
	if err == nil && rep.NeedsPassword {
		var pw string
		if pw, err = rotation.DefaultPolicy(d.PasswordRules()).Generate(name); err == nil {
			if err = d.SetPassword(ctx, name, pw); err == nil {
				_, err = d.Ensure(ctx, a) // enables it, now that it has a password
			}
		}
	}
	if err != nil {
		tb.Fatalf("ensure %s: %v", name, err)
	}
}

// binds reports whether the tech's newest version of account is confirmed and a bind with it works.
func binds(ctx context.Context, tb testing.TB, tech *hubtest.Tech, agentID int64, account string, check *ad.Driver) bool {
	_, vs, pw, err := agenttest.Current(ctx, tb, tech, agentID, account)
	return err == nil && vs == wire.VersionConfirmed && check.Verify(ctx, account, pw) == nil
}

// waitFor polls cond every 5 ms for up to a minute.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
