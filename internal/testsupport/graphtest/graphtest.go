// Package graphtest is a Microsoft Entra ID tenant for tests: the login host (OpenID configuration, the v2.0
// token endpoint with client credentials and a certificate assertion, and the resource-owner password grant) and
// the Microsoft Graph v1.0 host (users, directory roles and their assignments, role-assignable groups, Temporary
// Access Passes), both over HTTPS on loopback with certificates from a test CA. It follows Microsoft's published
// API for the endpoints the entra driver uses — paths, bodies, status codes (201, 204, 400, 401, 403, 404, 429,
// 503, 504), the Graph error envelope and the request-id echo, the AADSTS answers of the token endpoint — and
// nothing more. What Microsoft does not document (marked "[U]" in the comments) is chosen conservatively and can
// be switched where a test needs the other answer.
//
// It also simulates what a live tenant does to a client: throttling (429 with Retry-After as an integer, a
// fraction, an HTTP date or absent; 503; 504), replication lag (a new user answers 404 for a number of calls or
// for a duration on the injected clock, and a new password reaches the sign-in service late), access tokens that
// expire mid-run, 403 when the app lacks a permission or the directory role a privileged target needs, smart
// lockout with the last-three-hashes rule, and a Temporary Access Pass policy's lifetime bounds.
//
// # Reading guide
//
//   - graphtest.go (this file): Server, New, the tenant's model (App, User, Group, roles), the knobs (Fault,
//     Lag, Clock), and the look-ups tests make around a driver;
//   - login.go: the login host: openid-configuration, client assertions (PS256/RS256, x5t#S256/x5t in base64 or
//     base64url, aud, iss==sub, exp/nbf, jti replay), the password grant's per-user state machine;
//   - graph.go: the Graph host: routing, authentication, permissions, faults, $select/$filter, the error envelope;
//   - resources.go: users, role definitions and assignments, groups and members, Temporary Access Passes;
//   - certs.go: the test CA, the hosts' certificates, an app registration's certificate;
//   - graphtest_test.go: the server's own tests, against Microsoft's documented answers.
package graphtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Built-in role template IDs (for built-in roles the definition's id is its template ID).
const (
	RoleGlobalAdmin        = "62e90394-69f5-4237-9190-012177145e10"
	RolePrivilegedAuthAdmn = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	RolePrivilegedRoleAdmn = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleUserAdmin          = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	RoleHelpdeskAdmin      = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	RoleAuthAdmin          = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	RoleExchangeAdmin      = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	RoleMessageCenterRdr   = "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b"
	RoleReportsReader      = "4a5d8f65-41da-4de4-8968-e035b65339cf"
)

var builtinRoles = []roleDef{
	{RoleGlobalAdmin, "Global Administrator"},
	{RolePrivilegedAuthAdmn, "Privileged Authentication Administrator"},
	{RolePrivilegedRoleAdmn, "Privileged Role Administrator"},
	{RoleUserAdmin, "User Administrator"},
	{RoleHelpdeskAdmin, "Helpdesk Administrator"},
	{RoleAuthAdmin, "Authentication Administrator"},
	{RoleExchangeAdmin, "Exchange Administrator"},
	{RoleMessageCenterRdr, "Message Center Reader"},
	{RoleReportsReader, "Reports Reader"},
}

type roleDef struct{ id, name string }

// LeastPrivilege is the application permission set the entra driver documents (docs/agent.md).
var LeastPrivilege = []string{"User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All", "User.EnableDisableAccount.All",
	"RoleManagement.ReadWrite.Directory", "GroupMember.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"}

// App is an app registration with its service principal in the tenant.
type App struct {
	ClientID string
	Certs    []*x509.Certificate // uploaded public certificates
	// Permissions are the admin-consented application permissions (the access token's roles claim).
	Permissions []string
	// DirectoryRoles are role template IDs assigned to the service principal (e.g. RolePrivilegedAuthAdmn).
	DirectoryRoles []string
	// PublicClient is "Allow public client flows": the password grant without a client credential.
	PublicClient bool
	// Delegated are the admin-consented delegated scopes the password grant may ask for (openid, profile,
	// offline_access and email need none).
	Delegated []string
}

// User is a tenant user as a test sees it (a copy).
type User struct {
	ID, UPN, DisplayName, MailNickname, EmployeeType, UsageLocation, UserType string
	Enabled, Synced, MFA                                                      bool
	Password                                                                  string
	Created, PasswordChanged                                                  time.Time
	BadCount, Lockouts                                                        int
	LockedUntil                                                               time.Time
}

type user struct {
	User
	prevPassword string    // what the sign-in service still accepts while a new password replicates
	pwLagCalls   int       // sign-ins that still see prevPassword
	pwLagUntil   time.Time // ... or until then
	hideCalls    int       // requests naming the user that still answer 404 (replication)
	hideUntil    time.Time
	badHashes    []string // the last three wrong passwords' hashes (smart lockout)
	tap          *tap
}

type tap struct {
	id, value        string
	created, start   time.Time
	lifetime         int
	usableOnce, used bool
}

type group struct {
	id, name   string
	assignable bool
	members    map[string]bool
}

type assignment struct{ id, principal, role, scope string }

// Fault is one injected answer: the next Graph request matching Method (any when "") and Path (a prefix of the
// path after /v1.0; any when "") gets Status, with a Retry-After header of RetryAfter unless it is "".
type Fault struct {
	Method, Path string
	Status       int
	RetryAfter   string
}

// Lag is the tenant's replication: a new user answers 404 for Calls requests naming it, and until For has
// passed on the server's clock; a new password is unknown to the sign-in service for PasswordCalls sign-ins and
// until PasswordFor has passed.
type Lag struct {
	Calls         int
	For           time.Duration
	PasswordCalls int
	PasswordFor   time.Duration
}

// TAPPolicy is the Temporary Access Pass configuration of the authentication methods policy.
type TAPPolicy struct {
	Enabled                                    bool
	MinMinutes, MaxMinutes, DefMinutes, Length int
	UsableOnce                                 bool
}

// Server is one tenant behind its two hosts.
type Server struct {
	TenantID string
	Domain   string // the tenant's verified domain
	LoginURL string // https://127.0.0.1:port (the authority is LoginURL + "/" + TenantID)
	GraphURL string // https://127.0.0.1:port/v1.0
	CAPool   *x509.CertPool
	CAPEM    []byte

	login, graph *httptest.Server

	mu        sync.Mutex
	now       time.Time
	apps      map[string]*App
	users     map[string]*user // by id
	groups    map[string]*group
	roles     []roleDef
	assigns   []*assignment
	tokens    map[string]token
	jtis      map[string]bool
	faults    []Fault
	lag       Lag
	tapPolicy TAPPolicy
	requests  []string // "METHOD path" of every Graph request, in order
	statuses  map[int]int
	// DisabledFirst makes the password grant answer 50057 to a disabled account whatever the password (the
	// other order is the default: see login.go).
	disabledFirst bool
	mfaForAdmins  bool
}

type token struct {
	app     string
	expires time.Time
}

// New starts a tenant on two loopback HTTPS hosts; the test's cleanup stops them. The clock starts at the
// wall-clock time and moves only by Advance (tokens, lockouts, lag and TAP lifetimes all read it).
func New(tb testing.TB) *Server {
	tb.Helper()
	c, err := newCA()
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{TenantID: newGUID(), Domain: "contoso.test", CAPEM: c.pem, CAPool: x509.NewCertPool(),
		now: time.Now().UTC().Truncate(time.Second), apps: map[string]*App{}, users: map[string]*user{},
		groups: map[string]*group{}, roles: slices.Clone(builtinRoles), tokens: map[string]token{},
		jtis: map[string]bool{}, statuses: map[int]int{},
		tapPolicy: TAPPolicy{Enabled: true, MinMinutes: 60, MaxMinutes: 480, DefMinutes: 60, Length: 8}}
	s.CAPool.AddCert(c.cert)
	start := func(h http.Handler, serial int64) *httptest.Server {
		cert, err := c.serverCert(serial)
		if err != nil {
			tb.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(h)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		srv.StartTLS()
		tb.Cleanup(srv.Close)
		return srv
	}
	s.login = start(http.HandlerFunc(s.serveLogin), 2)
	s.graph = start(http.HandlerFunc(s.serveGraph), 3)
	s.LoginURL, s.GraphURL = s.login.URL, s.graph.URL+"/v1.0"
	return s
}

// Authority is the authority URL an MSAL client is given.
func (s *Server) Authority() string { return s.LoginURL + "/" + s.TenantID }

// CAFile writes the test CA's certificate into dir and returns its path.
func (s *Server) CAFile(tb testing.TB, dir string) string {
	tb.Helper()
	p := filepath.Join(dir, "graphtest-ca.pem")
	if err := os.WriteFile(p, s.CAPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// Close stops both hosts (also done by the test's cleanup): every later request fails to connect.
func (s *Server) Close() {
	s.login.Close()
	s.graph.Close()
}

// RegisterApp adds an app registration and its service principal.
func (s *Server) RegisterApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := a
	s.apps[a.ClientID] = &c
}

// SetPermissions replaces an app's consented application permissions; tokens issued before keep their roles,
// as in Entra, until they expire.
func (s *Server) SetPermissions(clientID string, perms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[clientID].Permissions = perms
}

// SetDirectoryRoles replaces the role template IDs assigned to an app's service principal.
func (s *Server) SetDirectoryRoles(clientID string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[clientID].DirectoryRoles = roles
}

// Advance moves the server's clock.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// Now is the server's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Inject queues faults; each is used once, by the first request that matches it.
func (s *Server) Inject(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// PendingFaults is how many injected faults no request has met yet.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// SetLag sets the replication lag for what is written from now on.
func (s *Server) SetLag(l Lag) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lag = l
}

// SetTAPPolicy replaces the Temporary Access Pass policy.
func (s *Server) SetTAPPolicy(p TAPPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tapPolicy = p
}

// SetDisabledFirst chooses the password grant's answer to a disabled account: with on, 50057 whatever the
// password; with off (the default), a wrong password is 50126 and counts toward lockout, the right one 50057.
func (s *Server) SetDisabledFirst(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disabledFirst = on
}

// SetMFAForAdmins makes the password grant answer 50076 (MFA required) to a right password of a user holding a
// directory role, as security defaults and "MFA for admins" policies do.
func (s *Server) SetMFAForAdmins(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mfaForAdmins = on
}

// ExpireTokens makes every access token issued so far expired, as if the clock had passed their lifetime.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.tokens {
		t.expires = s.now.Add(-time.Second)
		s.tokens[k] = t
	}
}

// TokensIssued counts the access tokens the token endpoint issued by client credentials.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// Requests returns "METHOD /path" of every Graph request so far (faulted ones included), and clears the list.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

// Statuses counts the Graph answers by status code.
func (s *Server) Statuses() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]int{}
	for k, v := range s.statuses {
		out[k] = v
	}
	return out
}

// Lockouts is the number of times smart lockout locked any account.
func (s *Server) Lockouts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, u := range s.users {
		n += u.Lockouts
	}
	return n
}

// AddUser creates a user as a tenant admin would (visible at once, not marked unless employeeType says so) and
// returns its id.
func (s *Server) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = newGUID()
	}
	if u.UserType == "" {
		u.UserType = "Member"
	}
	if u.MailNickname == "" {
		u.MailNickname, _, _ = strings.Cut(u.UPN, "@")
	}
	u.Created, u.PasswordChanged = s.now, s.now
	s.users[u.ID] = &user{User: u}
	return u.ID
}

// LookupUser returns a copy of the user with that UPN (case-insensitive) or id, replication lag ignored.
func (s *Server) LookupUser(key string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.find(key)
	if u == nil {
		return User{}, false
	}
	return u.User, true
}

// AddGroup creates a security group and returns its id; assignable is isAssignableToRole.
func (s *Server) AddGroup(name string, assignable bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &group{id: newGUID(), name: name, assignable: assignable, members: map[string]bool{}}
	s.groups[g.id] = g
	return g.id
}

// AssignRole assigns a role (by display name) to a user (by UPN or id) at the tenant scope, as an admin would.
func (s *Server) AssignRole(userKey, roleName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.find(userKey)
	for _, r := range s.roles {
		if r.name == roleName && u != nil {
			s.assigns = append(s.assigns, &assignment{id: newAssignmentID(), principal: u.ID, role: r.id, scope: "/"})
			return
		}
	}
	panic(fmt.Sprintf("graphtest: no user %q or role %q", userKey, roleName))
}

// Rights are the role names and group names a user holds, sorted.
func (s *Server) Rights(userKey string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.find(userKey)
	if u == nil {
		return nil
	}
	var out []string
	for _, a := range s.assigns {
		if a.principal == u.ID {
			out = append(out, s.roleName(a.role))
		}
	}
	for _, g := range s.groups {
		if g.members[u.ID] {
			out = append(out, g.name)
		}
	}
	slices.Sort(out)
	return out
}

// TAP returns the user's Temporary Access Pass, if any: its value, start and lifetime.
func (s *Server) TAP(userKey string) (value string, start time.Time, lifetime time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.find(userKey)
	if u == nil || u.tap == nil {
		return "", time.Time{}, 0, false
	}
	return u.tap.value, u.tap.start, time.Duration(u.tap.lifetime) * time.Minute, true
}

func (s *Server) roleName(id string) string {
	for _, r := range s.roles {
		if r.id == id {
			return r.name
		}
	}
	return id
}

// find looks a user up by id or UPN, replication ignored. Call with s.mu held.
func (s *Server) find(key string) *user {
	if u, ok := s.users[key]; ok {
		return u
	}
	for _, u := range s.users {
		if strings.EqualFold(u.UPN, key) {
			return u
		}
	}
	return nil
}

func newGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newAssignmentID is opaque, like Graph's ("YUb1sHQtUEyvox7IA_Eu_mm3jqnUe4lEhvatluHIWb7-1").
func newAssignmentID() string {
	b := make([]byte, 24)
	rand.Read(b)
	return strings.TrimRight(hex.EncodeToString(b), "=") + "-1"
}

func hashOf(pw string) string {
	h := sha256.Sum256([]byte(pw))
	return hex.EncodeToString(h[:])
}

// RightExists says whether a directory role or a group of that display name exists.
func (s *Server) RightExists(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.roles {
		if strings.EqualFold(r.name, name) {
			return true
		}
	}
	for _, g := range s.groups {
		if strings.EqualFold(g.name, name) {
			return true
		}
	}
	return false
}

// Lock locks a user out by smart lockout, as ten wrong passwords would.
func (s *Server) Lock(userKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.find(userKey)
	u.LockedUntil = s.now.Add(LockoutDuration)
	u.Lockouts++
}

// NewApp registers the agent's app as an admin following docs/agent.md would: a certificate credential, the
// least-privilege application permissions consented, Privileged Authentication Administrator on its service
// principal, and public client flows allowed for the verifying sign-in.
func (s *Server) NewApp(tb testing.TB) (clientID string, cert *AppCert) {
	tb.Helper()
	cert = NewAppCert(tb, "watchword-agent")
	clientID = newGUID()
	s.RegisterApp(App{ClientID: clientID, Certs: []*x509.Certificate{cert.Cert}, Permissions: slices.Clone(LeastPrivilege),
		DirectoryRoles: []string{RolePrivilegedAuthAdmn}, PublicClient: true, Delegated: []string{"User.Read"}})
	return clientID, cert
}

// HTTPClient trusts the test CA only.
func (s *Server) HTTPClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CAPool, MinVersion: tls.VersionTLS12}}}
}
