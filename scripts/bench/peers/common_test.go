package peers_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// prefix marks every account these benchmarks create on the targets, as the product's own tests do; cleanups
// delete only accounts they created, by name, and refuse any other.
const prefix = "wwt-"

func uniqueUser() string {
	b := make([]byte, 3)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct is the p-th percentile (nearest rank) of d in milliseconds.
func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return ms(s[min(max(int(p/100*float64(len(s))+0.5)-1, 0), len(s)-1)])
}

// adConfig is the Samba DC of scripts/targets.sh.
func adConfig(tb testing.TB, env targets.Env) ad.Config {
	var c ad.Config
	c.URL, c.TLS = env.Get(tb, "WW_AD_URL"), env.TLSConfig(tb)
	c.BindDN, c.Password = env.Get(tb, "WW_AD_ADMIN_DN"), env.Get(tb, "WW_AD_ADMIN_PASSWORD")
	c.BaseDN, c.OU = env.Get(tb, "WW_AD_BASE_DN"), env.Get(tb, "WW_AD_OU")
	return c
}

func newAD(tb testing.TB, cfg ad.Config) *ad.Driver {
	tb.Helper()
	d, err := ad.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// adAdmin is an admin connection to the DC, for looking up DNs and cleaning up.
func adAdmin(cfg ad.Config) (*ldap.Conn, error) {
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

// adDN returns the DN of the account with sAMAccountName name.
func adDN(tb testing.TB, cfg ad.Config, name string) string {
	tb.Helper()
	conn, err := adAdmin(cfg)
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
		"(&(objectClass=user)(sAMAccountName="+ldap.EscapeFilter(prefix)+"*))", []string{"sAMAccountName"}, nil), 500)
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

// deleteADUsers removes the accounts these benchmarks created from the DC.
func deleteADUsers(tb testing.TB, cfg ad.Config, names ...string) {
	conn, err := adAdmin(cfg)
	if err != nil {
		tb.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
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

// opsRight replaces the All triplet with one right, wwt-ops on AD targets and ldapGroup on LDAP ones, for every
// tech on every agent; with jit > 0 the triplet is just-in-time with that longest window in seconds.
func opsRight(ctx context.Context, tb testing.TB, h *hubtest.Harness, jit int64, ldapGroup string) {
	tb.Helper()
	trips, err := h.Owner.Triplets(ctx)
	if err != nil || len(trips) != 1 || !trips[0].Builtin {
		tb.Fatalf("triplets %+v %v", trips, err)
	}
	all := trips[0]
	if err := h.Owner.DeleteTriplet(ctx, all.ID); err != nil {
		tb.Fatal(err)
	}
	right, err := h.Owner.CreateRight(ctx, wire.RightRequest{Name: "Ops",
		Targets: map[string][]string{wire.DriverAD: {"wwt-ops"}, wire.DriverLDAP: {ldapGroup}}})
	if err != nil {
		tb.Fatal(err)
	}
	req := wire.TripletRequest{TechGroupID: all.TechGroupID, AgentGroupID: all.AgentGroupID, RightID: right.ID}
	if jit > 0 {
		req.Mode, req.MaxDurationSeconds = wire.TripletJIT, jit
	}
	if _, err := h.Owner.CreateTriplet(ctx, req); err != nil {
		tb.Fatal(err)
	}
}

// current is the tech's newest version of account on agentID, opened with the tech's device identity.
func current(ctx context.Context, tech *hubtest.Tech, agentID int64, account string) (wire.VersionState, string, bool) {
	creds, err := tech.Credentials(ctx)
	if err != nil {
		return "", "", false
	}
	for _, c := range creds.Credentials {
		if c.AccountName != account || c.AgentID != agentID || len(c.Versions) == 0 {
			continue
		}
		v := c.Versions[0]
		pw, err := seal.Open(v.Envelope, hubclient.SealContext(creds.ClientGUID, c.AgentID, c.AccountName, v.Version), tech.Identity)
		if err != nil {
			return "", "", false
		}
		return v.State, string(pw), true
	}
	return "", "", false
}

// binds reports whether the tech's newest version of account is confirmed and a bind with it works.
func binds(ctx context.Context, tech *hubtest.Tech, agentID int64, account string, check *ad.Driver) bool {
	vs, pw, ok := current(ctx, tech, agentID, account)
	return ok && vs == wire.VersionConfirmed && check.Verify(ctx, account, pw) == nil
}

// inParallel runs f for 0 ≤ i < n on workers goroutines, worker w taking the next i; it returns the first error.
func inParallel(workers, n int, f func(w, i int) error) error {
	work := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var ferr error
	for w := range workers {
		wg.Go(func() {
			for i := range work {
				if err := f(w, i); err != nil {
					once.Do(func() { ferr = err })
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return ferr
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
