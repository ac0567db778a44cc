// Package agenttest is test support for tests and benchmarks of the agent on the real targets of scripts/targets.sh
// (the agent's, its command line's and fault tests, and the peer benchmarks in scripts/bench/peers): the prefix that
// marks every account a test creates and the cleanups that delete only such accounts, the Samba DC's and the
// OpenLDAP directory's settings and admin connections, the Ops right that replaces a hub's built-in All triplet,
// opening a tech's newest password, and the numbers benchmarks report. agenttest.go holds those; fleet.go the set-up
// the throughput benchmarks share (techs on one AD agent, a pass of the runner, the bare drivers' pass) and
// InParallel.
package agenttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/driver/openldap"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Prefix marks every account a test creates on the targets; cleanups delete only accounts they created, by name,
// and refuse any other.
const Prefix = "wwt-"

// UniqueUser is a fresh user name with the prefix.
func UniqueUser() string {
	b := make([]byte, 3)
	rand.Read(b)
	return Prefix + hex.EncodeToString(b)
}

// EnvInt is the positive number in the environment variable name, or def.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// MS is d in milliseconds.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// PctMS is the p-th percentile (nearest rank) of d in milliseconds.
func PctMS(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return MS(s[min(max(int(p/100*float64(len(s))+0.5)-1, 0), len(s)-1)])
}

// ADConfig is the Samba DC of scripts/targets.sh.
func ADConfig(tb testing.TB, env targets.Env) ad.Config {
	var c ad.Config
	c.URL, c.TLS = env.Get(tb, "WW_AD_URL"), env.TLSConfig(tb)
	c.BindDN, c.Password = env.Get(tb, "WW_AD_ADMIN_DN"), env.Get(tb, "WW_AD_ADMIN_PASSWORD")
	c.BaseDN, c.OU = env.Get(tb, "WW_AD_BASE_DN"), env.Get(tb, "WW_AD_OU")
	return c
}

// NewAD is an AD driver for cfg, closed when tb ends.
func NewAD(tb testing.TB, cfg ad.Config) *ad.Driver {
	tb.Helper()
	d, err := ad.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// DialAD is an admin connection to the DC of cfg, for looking accounts up and cleaning up.
func DialAD(cfg ad.Config) (*ldap.Conn, error) {
	conn, err := ldap.DialURL(cfg.URL, ldap.DialWithTLSConfig(cfg.TLS.Clone()))
	if err != nil {
		return nil, err
	}
	if err := conn.Bind(cfg.BindDN, cfg.Password); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// DeleteADUsers removes test accounts from the DC (the agent never deletes); it refuses a name without the prefix.
func DeleteADUsers(tb testing.TB, cfg ad.Config, names ...string) {
	conn, err := DialAD(cfg)
	if err != nil {
		tb.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	for _, n := range names {
		if !strings.HasPrefix(n, Prefix) {
			tb.Errorf("cleanup: refusing to delete %q", n)
			continue
		}
		res, err := conn.Search(ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 10, false,
			fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(n)), []string{"dn"}, nil))
		if err != nil {
			tb.Logf("cleanup %s: %v", n, err)
			continue
		}
		for _, e := range res.Entries {
			if err := conn.Del(ldap.NewDelRequest(e.DN, nil)); err != nil {
				tb.Logf("cleanup %s: %v", n, err)
			}
		}
	}
}

// LDAPAdmin binds to the OpenLDAP directory of scripts/targets.sh as its admin.
func LDAPAdmin(tb testing.TB, env targets.Env) *ldap.Conn {
	tb.Helper()
	c, err := ldap.DialURL(env.Get(tb, "WW_LDAP_URL"), ldap.DialWithTLSConfig(env.TLSConfig(tb)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Bind(env.Get(tb, "WW_LDAP_ADMIN_DN"), env.Get(tb, "WW_LDAP_ADMIN_PASSWORD")); err != nil {
		c.Close()
		tb.Fatal(err)
	}
	return c
}

// LDAPConfig is the OpenLDAP directory of scripts/targets.sh, its driver managing the entries under peopleDN.
func LDAPConfig(tb testing.TB, env targets.Env, peopleDN string) openldap.Config {
	cfg := openldap.Config{PeopleDN: peopleDN, GroupsDN: env.Get(tb, "WW_LDAP_GROUPS_DN")}
	cfg.URL, cfg.TLS = env.Get(tb, "WW_LDAP_URL"), env.TLSConfig(tb)
	cfg.BindDN, cfg.Password = env.Get(tb, "WW_LDAP_ADMIN_DN"), env.Get(tb, "WW_LDAP_ADMIN_PASSWORD")
	return cfg
}

// AddOU adds the organizational unit ou=name,parent and returns its DN.
func AddOU(tb testing.TB, c *ldap.Conn, name, parent string) string {
	tb.Helper()
	ou := "ou=" + name + "," + parent
	add := ldap.NewAddRequest(ou, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	add.Attribute("ou", []string{name})
	if err := c.Add(add); err != nil {
		tb.Fatalf("add %s: %v", ou, err)
	}
	return ou
}

// DeleteOU removes the organizational unit ou and every entry in it, children first, over four connections; it
// refuses an OU not named with the prefix.
func DeleteOU(tb testing.TB, env targets.Env, ou string) {
	if !strings.HasPrefix(ou, "ou="+Prefix) {
		tb.Errorf("cleanup: refusing to delete %q", ou)
		return
	}
	c := LDAPAdmin(tb, env)
	defer c.Close()
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 120, false,
		"(objectClass=*)", []string{"dn"}, nil), 1000)
	if err != nil {
		tb.Logf("cleanup %s: %v", ou, err)
		return
	}
	conns := make([]*ldap.Conn, 4)
	for w := range conns {
		conns[w] = LDAPAdmin(tb, env)
		defer conns[w].Close()
	}
	_ = InParallel(len(conns), len(res.Entries), func(w, i int) error {
		if err := conns[w].Del(ldap.NewDelRequest(res.Entries[i].DN, nil)); err != nil {
			tb.Logf("cleanup %s: %v", res.Entries[i].DN, err)
		}
		return nil
	})
	if err := c.Del(ldap.NewDelRequest(ou, nil)); err != nil {
		tb.Logf("cleanup %s: %v", ou, err)
	}
}

// WithoutAllTriplet deletes the built-in All triplet, so that a test grants exactly the rights it names, and
// returns the IDs of the AllTechs and AllDomains groups to grant them with.
func WithoutAllTriplet(ctx context.Context, tb testing.TB, h *hubtest.Harness) (allTechs, allDomains int64) {
	tb.Helper()
	allTechs, allDomains = h.AllGroups()
	trips, err := h.Owner.Triplets(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, tr := range trips {
		if tr.Builtin {
			if err := h.Owner.DeleteTriplet(ctx, tr.ID); err != nil {
				tb.Fatalf("delete the All triplet: %v", err)
			}
		}
	}
	return allTechs, allDomains
}

// Grant replaces the All triplet with one right, Ops, to the given groups by kind of target, for every tech on
// every agent, and returns its triplet; with jit > 0 the triplet is just-in-time with that longest window in seconds.
func Grant(ctx context.Context, tb testing.TB, h *hubtest.Harness, jit int64, groups map[string][]string) wire.Triplet {
	tb.Helper()
	allTechs, allDomains := WithoutAllTriplet(ctx, tb, h)
	right, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "Ops", Targets: groups})
	if err != nil {
		tb.Fatal(err)
	}
	req := wire.TripletRequest{TechGroupID: allTechs, AgentGroupID: allDomains, RightID: right.ID}
	if jit > 0 {
		req.Mode, req.MaxDurationSeconds = wire.TripletJIT, jit
	}
	tr, err := h.Owner.CreateTriplet(ctx, req)
	if err != nil {
		tb.Fatal(err)
	}
	return *tr
}

// OpsRight grants (as Grant) wwt-ops on AD targets and ldapGroup on LDAP ones.
func OpsRight(ctx context.Context, tb testing.TB, h *hubtest.Harness, jit int64, ldapGroup string) {
	tb.Helper()
	Grant(ctx, tb, h, jit, map[string][]string{wire.DriverAD: {"wwt-ops"}, wire.DriverLDAP: {ldapGroup}})
}

// Current opens the newest version of a tech's account on an agent with the tech's identity; it fails tb when the
// tech's identity cannot open it.
func Current(ctx context.Context, tb testing.TB, tech *hubtest.Tech, agentID int64, account string) (int64, wire.VersionState, string, error) {
	creds, err := tech.Credentials(ctx)
	if err != nil {
		return 0, "", "", err
	}
	for _, c := range creds.Credentials {
		if c.AccountName != account || c.AgentID != agentID {
			continue
		}
		if len(c.Versions) == 0 {
			return 0, "", "", errors.New("no version yet")
		}
		v := c.Versions[0]
		pw, err := seal.Open(v.Envelope, hubclient.SealContext(creds.ClientGUID, c.AgentID, c.AccountName, v.Version), tech.Identity)
		if err != nil {
			tb.Fatalf("open %s v%d with the tech's identity: %v", account, v.Version, err)
		}
		return v.Version, v.State, string(pw), nil
	}
	return 0, "", "", fmt.Errorf("no credential %q on agent %d", account, agentID)
}

// Credential is the tech's entry on the agent, once the agent has planned it.
func Credential(ctx context.Context, tb testing.TB, tech *hubtest.Tech, agentID int64) (wire.Credential, bool) {
	creds, err := tech.Credentials(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range creds.Credentials {
		if c.AgentID == agentID {
			return c, true
		}
	}
	return wire.Credential{}, false
}

// Closed reports whether the tech's one just-in-time account on the agent is closed: disabled, with a
// recovery-only password (a current version at the hub, none the tech is given).
func Closed(ctx context.Context, tb testing.TB, h *hubtest.Harness, tech *hubtest.Tech, agentID int64) bool {
	accs, err := h.Owner.Accounts(ctx, tech.ID, 0)
	c, ok := Credential(ctx, tb, tech, agentID)
	return err == nil && len(accs) == 1 && accs[0].CurrentVersion > 0 && accs[0].State == wire.AccountDisabled && ok && len(c.Versions) == 0
}
