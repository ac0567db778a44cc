package entra_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/drivertest"
	"github.com/watchword/watchword/console/server/agent/driver/entra"
	"github.com/watchword/watchword/internal/testsupport/graphtest"
)

// tenant is a graphtest tenant with the agent's app registered and a driver on it whose waits move the tenant's
// clock instead of sleeping (sleeps records them).
type tenant struct {
	srv    *graphtest.Server
	cfg    entra.Config
	d      *entra.Driver
	mu     sync.Mutex
	sleeps []time.Duration
}

func newTenant(t *testing.T, edit ...func(*entra.Config)) *tenant {
	t.Helper()
	srv := graphtest.New(t)
	clientID, cert := srv.NewApp(t)
	tn := &tenant{srv: srv}
	tn.cfg = entra.Config{TenantID: srv.TenantID, ClientID: clientID, Certs: []*x509.Certificate{cert.Cert}, Key: cert.Key,
		UPNDomain: srv.Domain, UsageLocation: "GB", Verify: true, AuthorityURL: srv.LoginURL, GraphURL: srv.GraphURL,
		HTTPClient: srv.HTTPClient(), Now: srv.Now,
		Sleep: func(ctx context.Context, d time.Duration) bool {
			tn.mu.Lock()
			tn.sleeps = append(tn.sleeps, d)
			tn.mu.Unlock()
			srv.Advance(d)
			return ctx.Err() == nil
		}}
	for _, e := range edit {
		e(&tn.cfg)
	}
	d, err := entra.New(tn.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	tn.d = d
	srv.AddGroup("wwt-dev", true)
	srv.AddGroup("wwt-plain", false) // not role-assignable: never a right
	return tn
}

// waits returns the waits so far and clears them.
func (tn *tenant) waits() []time.Duration {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	w := tn.sleeps
	tn.sleeps = nil
	return w
}

func (tn *tenant) upn(name string) string { return name + "@" + tn.srv.Domain }

func fresh(t *testing.T) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "wwt-" + hex.EncodeToString(b)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestConformance(t *testing.T) {
	tn := newTenant(t)
	srv := tn.srv
	ga := srv.AddUser(graphtest.User{UPN: "ga-admin@" + srv.Domain, DisplayName: "Tenant Admin", Enabled: true, Password: "Tenant-Admin-1"})
	srv.AssignRole(ga, "Global Administrator")
	srv.AddUser(graphtest.User{UPN: "synced-user@" + srv.Domain, DisplayName: "Synced", Enabled: true, Synced: true,
		EmployeeType: driver.MarkManaged, Password: "Synced-User-1"})
	srv.AddUser(graphtest.User{UPN: "guest-user@" + srv.Domain, DisplayName: "Guest", Enabled: true, UserType: "Guest",
		EmployeeType: driver.MarkManaged, Password: "Guest-User-1"})

	drivertest.Run(t, tn.d, drivertest.Config{
		NewName:     fresh,
		Groups:      func(t *testing.T, name string) []string { return srv.Rights(tn.upn(name)) },
		GroupExists: func(t *testing.T, g string) bool { return srv.RightExists(g) },
		Ops:         "Helpdesk Administrator", // a directory role
		Dev:         "wwt-dev",                // a role-assignable group
		Check: func(t *testing.T, name, password string, at drivertest.Stage) {
			u, ok := srv.LookupUser(tn.upn(name))
			if !ok {
				t.Fatalf("%s: no user", name)
			}
			switch at {
			case drivertest.Created:
				if u.Enabled || !strings.Contains(u.EmployeeType, "no password yet") || u.UsageLocation != "GB" {
					t.Fatalf("created user %+v: want disabled, marked without a password, usage location GB", u)
				}
			case drivertest.Enabled:
				if !u.Enabled || u.Password != password || u.EmployeeType != driver.MarkManaged {
					t.Fatalf("enabled user: enabled %t, mark %q, password set %t", u.Enabled, u.EmployeeType, u.Password == password)
				}
			case drivertest.Disabled:
				if u.Enabled || password != "" && u.Password != password {
					t.Fatalf("disabled user: enabled %t, password set %t", u.Enabled, u.Password == password)
				}
			}
		},
		HostileNames:  []string{"*)(uid=*", "a'b", "x' or 1 eq 1", "a/b", "../users", "a b", "a%2Fb", ".dot", "dot.", "a..b", "x@evil.test", strings.Repeat("a", 65), ""},
		HostileGroups: []string{"x' or displayName eq 'y", "*", "../roleDefinitions", "wwt-plain"},
		Foreign: func(t *testing.T, name string) func(t *testing.T) {
			srv.AddUser(graphtest.User{UPN: tn.upn(name), DisplayName: "Client Staff", Enabled: true, Password: "Client-Staff-1"})
			before, _ := srv.LookupUser(tn.upn(name))
			return func(t *testing.T) {
				if after, _ := srv.LookupUser(tn.upn(name)); fmt.Sprintf("%+v", after) != fmt.Sprintf("%+v", before) {
					t.Fatalf("foreign user changed:\n%+v\n%+v", before, after)
				}
			}
		},
		Mark: func(t *testing.T, name string) string {
			u, _ := srv.LookupUser(tn.upn(name))
			return u.EmployeeType
		},
		ProtectedDriver: tn.d,
		ProtectedNames:  []string{"ga-admin", "synced-user", "guest-user"},
		ProtectedUnchanged: func(t *testing.T, name string) string {
			u, _ := srv.LookupUser(tn.upn(name))
			return fmt.Sprintf("%+v %v", u, srv.Rights(u.ID))
		},
		Dead: func(t *testing.T) (driver.Driver, error) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			cfg := tn.cfg
			cfg.AuthorityURL, cfg.GraphURL = "https://"+addr, "https://"+addr+"/v1.0"
			return entra.New(cfg)
		},
	})
	if n := srv.Lockouts(); n != 0 {
		t.Fatalf("lockouts: %d", n)
	}
}
