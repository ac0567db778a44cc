// Package entra is the Microsoft Entra ID driver: each tech's own cloud-only admin account in one client tenant,
// through Microsoft Graph v1.0 with an app-only token (client credentials with a certificate, by MSAL Go).
//
// Accounts are users {name}@{UPN domain}, created disabled, marked as Watchword's in employeeType
// (driver.MarkManaged; "watchword-managed (no password yet)" until the first SetPassword, as Entra has no user
// without a password: the one it is created with is random and never kept), with usageLocation set and
// forceChangePasswordNextSignIn false, since the vault owns the password. The driver never adopts or changes a
// user without the mark unless an admin adopted it, never a user synchronized from on-premises AD or a guest,
// and never an unmarked user holding a directory role (the tenant's own admins, Global Administrators first).
//
// Rights are directory roles by display name ("User Administrator"), assigned and removed at the tenant scope
// through roleManagement/directory/roleAssignments, and membership of role-assignable groups by display name; a
// right that names neither is skipped and reported (driver.Report.Missing), never created.
//
// Verification is a resource-owner password sign-in (verify.go) whose AADSTS answer says whether the password is
// right; it can be switched off per agent where the tenant blocks that flow. Graph requests are retried after
// Kiota's rules (graph.go: 429, 503 and 504 with Retry-After, bounded), a user just created may answer 404 for a
// while (replication) and is retried up to a bound, and a password write that Graph refused wraps
// rotation.ErrNotApplied.
//
// # Reading guide
//
//   - entra.go (this file): Config, New, names, the account life (Ensure, Disable, Delete, EnsureDisabled,
//     Enable) and rights;
//   - graph.go: the Graph client: MSAL token, retries, the error envelope;
//   - verify.go: passwords (SetPassword, SetDisabledPassword) and verification by the password grant, with the
//     answer map;
//   - tap.go: Temporary Access Passes for just-in-time windows;
//   - check.go: the smoke test `watchword-agent check` runs against a real tenant;
//   - entra_test.go and the other tests: the conformance suite, throttling, replication, tokens, privileges,
//     TAP and the smoke test against internal/testsupport/graphtest.
package entra

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/clock"
	"github.com/watchword/watchword/shared/rotation"
)

// Kind is the driver's kind.
const Kind = "entra"

// Public endpoints.
const (
	DefaultAuthority = "https://login.microsoftonline.com"
	DefaultGraph     = "https://graph.microsoft.com/v1.0"
)

// markNew is the mark of an account created but never given a password by Watchword.
const markNew = driver.MarkManaged + " (no password yet)"

// Config is one client tenant.
type Config struct {
	TenantID string // the directory (tenant) ID
	ClientID string // the app registration's application (client) ID
	// Certs and Key are the app's certificate credential (confidential.CertFromPEM reads a PEM file's pair).
	Certs []*x509.Certificate
	Key   crypto.PrivateKey
	// UPNDomain is the verified domain accounts are created in: name@UPNDomain.
	UPNDomain string
	// UsageLocation is the two-letter country code set on new users (licensing needs one).
	UsageLocation string
	// Verify turns on verification by the password grant; off, Verify only reads the account's state from Graph
	// and trusts Graph's 204 to the password write.
	Verify bool
	// VerifyClientID is the public client the password grant signs in with ("Allow public client flows" on);
	// empty: ClientID. VerifyScope is the delegated scope it asks for (default "openid").
	VerifyClientID, VerifyScope string
	// Answers overrides entries of DefaultAnswers (verify.go).
	Answers map[int]Answer

	// AuthorityURL and GraphURL replace Microsoft's hosts: for tests only.
	AuthorityURL, GraphURL string
	// HTTPClient carries the TLS trust (tests: the test CA); default: the system's roots.
	HTTPClient *http.Client
	// Retry bounds the retries (default DefaultRetry); Sleep waits between them (default clock.Sleep) and Now
	// is the clock for HTTP-date Retry-After and replication bounds (default time.Now).
	Retry Retry
	Sleep func(ctx context.Context, d time.Duration) bool
	Now   func() time.Time
}

// Driver manages the accounts of one tenant. It is safe for one goroutine at a time, like every driver.
type Driver struct {
	cfg     Config
	g       *graph
	answers map[int]Answer

	mu      sync.Mutex
	ids     map[string]string   // account name → object id of the users this driver created (replication)
	written map[string]written  // account name → the password this driver last wrote, hashed, and when
	roles   map[string]roleInfo // role display name (lower case) → definition; nil until read
	rolesAt time.Time           // when roles was read
}

// rolesFor is how long the role definitions read are trusted: a custom role an admin adds is seen within it.
const rolesFor = 10 * time.Minute

type roleInfo struct{ id, name string }

var (
	_ driver.Driver          = (*Driver)(nil)
	_ driver.TemporaryAccess = (*Driver)(nil)
)

// New checks cfg; nothing is sent until the first call.
func New(cfg Config) (*Driver, error) {
	var errs []error
	for what, v := range map[string]string{"tenant ID": cfg.TenantID, "client ID": cfg.ClientID, "UPN domain": cfg.UPNDomain} {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("entra driver: the %s is required", what))
		}
	}
	if len(cfg.Certs) == 0 || cfg.Key == nil {
		errs = append(errs, errors.New("entra driver: the app's certificate and key are required"))
	}
	if cfg.UsageLocation != "" && (len(cfg.UsageLocation) != 2 || strings.ToUpper(cfg.UsageLocation) != cfg.UsageLocation) {
		errs = append(errs, fmt.Errorf("entra driver: usage location %q: want a two-letter ISO country code in capitals, e.g. GB", cfg.UsageLocation))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.AuthorityURL == "" {
		cfg.AuthorityURL = DefaultAuthority
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultGraph
	}
	for _, u := range []string{cfg.AuthorityURL, cfg.GraphURL} {
		if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
			return nil, fmt.Errorf("entra driver: %q: want an https URL", u)
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Retry == (Retry{}) {
		cfg.Retry = DefaultRetry
	}
	if cfg.Sleep == nil {
		cfg.Sleep = clock.Sleep
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.VerifyClientID == "" {
		cfg.VerifyClientID = cfg.ClientID
	}
	if cfg.VerifyScope == "" {
		cfg.VerifyScope = "openid"
	}
	cred, err := confidential.NewCredFromCert(cfg.Certs, cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("entra driver: the app's certificate: %w", err)
	}
	authority := strings.TrimRight(cfg.AuthorityURL, "/") + "/" + cfg.TenantID
	d := &Driver{cfg: cfg, answers: answers(cfg.Answers), ids: map[string]string{}, written: map[string]written{}}
	d.g = &graph{base: strings.TrimRight(cfg.GraphURL, "/"), hc: cfg.HTTPClient, retry: cfg.Retry, sleep: cfg.Sleep, now: cfg.Now,
		newApp: func() (confidential.Client, error) {
			// Instance discovery asks login.microsoftonline.com about the authority's host; the agent talks to one
			// configured authority and nothing else.
			return confidential.New(authority, cfg.ClientID, cred, confidential.WithHTTPClient(cfg.HTTPClient),
				confidential.WithInstanceDiscovery(false))
		}}
	return d, nil
}

func (d *Driver) Kind() string                  { return Kind }
func (d *Driver) PasswordRules() rotation.Rules { return rotation.RulesAD } // three of four classes, ASCII
func (d *Driver) Close() error {
	d.cfg.HTTPClient.CloseIdleConnections()
	return nil
}

// ValidateName refuses what could not be the local part of a UPN and a mailNickname, or could be misread in a
// path or an OData filter: 1 to 64 letters, digits, '.', '_' and '-', no dot first, last or doubled.
func ValidateName(name string) error {
	switch {
	case name == "" || len(name) > 64:
		return fmt.Errorf("account %q: %w: 1 to 64 characters", name, driver.ErrInvalidName)
	case strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "":
		return fmt.Errorf("account %q: %w: only letters, digits, '.', '_' and '-'", name, driver.ErrInvalidName)
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
		return fmt.Errorf("account %q: %w: a dot first, last or doubled", name, driver.ErrInvalidName)
	}
	return nil
}

func (d *Driver) ValidateName(name string) error { return ValidateName(name) }

// UPN is the account's user principal name.
func (d *Driver) UPN(name string) string { return name + "@" + d.cfg.UPNDomain }

// user is what the driver reads of an account.
type user struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	AccountEnabled    bool   `json:"accountEnabled"`
	EmployeeType      string `json:"employeeType"`
	UserType          string `json:"userType"`
	OnPremSync        *bool  `json:"onPremisesSyncEnabled"`
}

const userSelect = "?$select=id,userPrincipalName,accountEnabled,employeeType,userType,onPremisesSyncEnabled"

func (u *user) managed() (managed, adopted bool) { return driver.Marked(u.EmployeeType) }
func (u *user) hasPassword() bool                { return strings.TrimSpace(u.EmployeeType) != markNew }

// find reads the account; found is false when the tenant has none. A user this driver created is read by its
// id, and its 404s are retried for a while: Graph may not show a new user yet.
func (d *Driver) find(ctx context.Context, name string) (*user, bool, error) {
	d.mu.Lock()
	id := d.ids[name]
	d.mu.Unlock()
	var u user
	key, retry := url.PathEscape(d.UPN(name)), false
	if id != "" {
		key, retry = id, true
	}
	err := d.g.do(ctx, call{method: http.MethodGet, path: "/users/" + key + userSelect, out: &u, retry404: retry})
	if statusOf(err) == http.StatusNotFound {
		d.mu.Lock()
		delete(d.ids, name)
		d.mu.Unlock()
		if id != "" { // gone for good, or renamed: look again by name
			return d.find(ctx, name)
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("look up account %q: %w", name, err)
	}
	return &u, true, nil
}

// protected names why u is never managed, marked or not: "" when it is not.
func (d *Driver) protected(ctx context.Context, name string, u *user) (string, error) {
	switch {
	case u.OnPremSync != nil && *u.OnPremSync:
		return "synchronized from on-premises Active Directory", nil
	case strings.EqualFold(u.UserType, "Guest"):
		return "a guest user", nil
	}
	if m, _ := u.managed(); m {
		return "", nil
	}
	// An unmarked user holding a role is one of the tenant's own admins.
	roles, groups, err := d.current(ctx, name, u)
	if err != nil {
		return "", err
	}
	for _, r := range roles {
		return fmt.Sprintf("holds the directory role %q", r.name), nil
	}
	for _, g := range groups {
		if g.Assignable {
			return fmt.Sprintf("member of the role-assignable group %q", g.Name), nil
		}
	}
	return "", nil
}

// managedUser finds name and checks that Watchword may change it; found is false when it does not exist.
func (d *Driver) managedUser(ctx context.Context, name string) (*user, bool, error) {
	u, found, err := d.find(ctx, name)
	if err != nil || !found {
		return nil, found, err
	}
	if _, err := d.own(ctx, name, u, false); err != nil {
		return nil, false, err
	}
	return u, true, nil
}

// own checks that Watchword may manage u, adopting an unmarked, unprivileged one when adopt says so.
func (d *Driver) own(ctx context.Context, name string, u *user, adopt bool) (adopted bool, err error) {
	why, err := d.protected(ctx, name, u)
	if err != nil {
		return false, err
	}
	if why != "" {
		return false, fmt.Errorf("account %q: %w: %s, never managed", name, driver.ErrProtected, why)
	}
	if m, _ := u.managed(); m {
		return false, nil
	}
	if !adopt {
		return false, fmt.Errorf("account %q (%s): %w (employeeType is not %q): adopt it in the Console or change the naming format",
			name, u.UserPrincipalName, driver.ErrNotManaged, driver.MarkManaged)
	}
	if err := d.g.do(ctx, call{method: http.MethodPatch, path: "/users/" + u.ID, body: map[string]any{"employeeType": driver.MarkAdopted}}); err != nil {
		return false, fmt.Errorf("mark %q adopted: %w", name, err)
	}
	u.EmployeeType = driver.MarkAdopted
	return true, nil
}

// throwaway is the password a user is created with: Entra has no user without one. Nobody ever learns it; the
// account stays disabled until Watchword sets its own.
func throwaway() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%*+-=?@^_~"
	b := make([]byte, 64)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[k.Int64()]
	}
	return "Aa1!" + string(b)
}

// create adds the user disabled and marked, and remembers its id so that the next calls find it while Graph
// replicates it. A user of that name that appeared meanwhile (a lost answer, a race) is read back and must be
// Watchword's.
func (d *Driver) create(ctx context.Context, a driver.Account) (*user, error) {
	display := a.DisplayName
	if display == "" {
		display = a.Name
	}
	body := map[string]any{"accountEnabled": false, "displayName": display, "mailNickname": a.Name,
		"userPrincipalName": d.UPN(a.Name), "employeeType": markNew,
		"passwordProfile": map[string]any{"password": throwaway(), "forceChangePasswordNextSignIn": false}}
	if d.cfg.UsageLocation != "" {
		body["usageLocation"] = d.cfg.UsageLocation
	}
	var u user
	err := d.g.do(ctx, call{method: http.MethodPost, path: "/users", body: body, out: &u})
	var ge *GraphError
	if errors.As(err, &ge) && ge.Status == http.StatusBadRequest && slices.Contains(ge.Details, "ObjectConflict") {
		// Already there: wait for it to be readable and check it is ours.
		deadline := d.cfg.Now().Add(d.cfg.Retry.Visible)
		for wait := d.cfg.Retry.Base / 4; ; wait *= 2 {
			got, found, ferr := d.managedUser(ctx, a.Name)
			if ferr != nil || found {
				return got, ferr
			}
			if !d.cfg.Now().Before(deadline) || !d.cfg.Sleep(ctx, max(wait, time.Millisecond)) {
				return nil, fmt.Errorf("create account %q: it exists but cannot be read: %w", a.Name, err)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create account %q: %w", a.Name, err)
	}
	u.EmployeeType, u.AccountEnabled, u.UserType = markNew, false, "Member"
	d.mu.Lock()
	d.ids[a.Name] = u.ID
	d.mu.Unlock()
	return &u, nil
}

// findOrCreate finds a's account, creating it when missing; an existing one must be Watchword's or adopted now.
func (d *Driver) findOrCreate(ctx context.Context, a driver.Account, rep *driver.Report) (*user, error) {
	u, found, err := d.find(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	if found {
		rep.Adopted, err = d.own(ctx, a.Name, u, a.Adopt)
		return u, err
	}
	u, err = d.create(ctx, a)
	rep.Created = err == nil
	return u, err
}

func (d *Driver) setEnabled(ctx context.Context, u *user, on bool) error {
	if err := d.g.do(ctx, call{method: http.MethodPatch, path: "/users/" + u.ID, body: map[string]any{"accountEnabled": on}, retry404: true}); err != nil {
		return err
	}
	u.AccountEnabled = on
	return nil
}

// rights checks a's name, finds or creates its account and makes its rights exactly want.
func (d *Driver) rights(ctx context.Context, a driver.Account, want []string, disabling bool, rep *driver.Report) (*user, error) {
	if err := ValidateName(a.Name); err != nil {
		return nil, err
	}
	u, err := d.findOrCreate(ctx, a, rep)
	if err != nil {
		return nil, err
	}
	if err := d.syncRights(ctx, a.Name, u, want, rep); err != nil {
		if disabling {
			return nil, fmt.Errorf("disable %q: %w", a.Name, err)
		}
		return nil, err
	}
	return u, nil
}

// Ensure creates the account when missing (disabled), makes its rights exactly a.Groups, and enables it when
// Watchword already gave it a password (unless a.HoldDisabled).
func (d *Driver) Ensure(ctx context.Context, a driver.Account) (driver.Report, error) {
	var rep driver.Report
	u, err := d.rights(ctx, a, a.Groups, false, &rep)
	if err != nil {
		return rep, err
	}
	switch {
	case !u.hasPassword():
		rep.NeedsPassword = true
	case !u.AccountEnabled && a.HoldDisabled:
		rep.Held = true
	case !u.AccountEnabled:
		if err := d.setEnabled(ctx, u, true); err != nil {
			return rep, fmt.Errorf("enable account %q: %w", a.Name, err)
		}
		rep.Enabled = true
	}
	return rep, nil
}

// EnsureDisabled creates the account when missing, strips its rights and disables it; it never enables it.
func (d *Driver) EnsureDisabled(ctx context.Context, a driver.Account) (driver.Report, error) {
	var rep driver.Report
	u, err := d.rights(ctx, a, nil, true, &rep)
	if err != nil {
		return rep, err
	}
	rep.NeedsPassword = !u.hasPassword()
	return rep, d.lock(ctx, a.Name, u, &rep)
}

// lock disables an enabled account and says so in rep.
func (d *Driver) lock(ctx context.Context, name string, u *user, rep *driver.Report) error {
	if !u.AccountEnabled {
		return nil
	}
	if err := d.setEnabled(ctx, u, false); err != nil {
		return fmt.Errorf("disable %q: %w", name, err)
	}
	rep.Disabled = true
	return nil
}

// Disable strips the rights and disables the account. A missing account is as disabled as it gets.
func (d *Driver) Disable(ctx context.Context, name string) (driver.Report, error) {
	var rep driver.Report
	if err := ValidateName(name); err != nil {
		return rep, err
	}
	u, found, err := d.managedUser(ctx, name)
	if err != nil || !found {
		return rep, err
	}
	if err := d.syncRights(ctx, name, u, nil, &rep); err != nil {
		return rep, fmt.Errorf("disable %q: %w", name, err)
	}
	return rep, d.lock(ctx, name, u, &rep)
}

// Delete strips the rights of an account Watchword created and deletes the user (Entra keeps it restorable for
// 30 days). An adopted account is refused; a missing one is already gone.
func (d *Driver) Delete(ctx context.Context, name string) (driver.Report, error) {
	var rep driver.Report
	if err := ValidateName(name); err != nil {
		return rep, err
	}
	u, found, err := d.managedUser(ctx, name)
	if err != nil || !found {
		return rep, err
	}
	if _, adopted := u.managed(); adopted {
		return rep, fmt.Errorf("delete %q: %w: adopted, it existed before Watchword and is never deleted", name, driver.ErrNotManaged)
	}
	if err := d.syncRights(ctx, name, u, nil, &rep); err != nil {
		return rep, fmt.Errorf("delete %q: %w", name, err)
	}
	err = d.g.do(ctx, call{method: http.MethodDelete, path: "/users/" + u.ID, retry404: d.knownID(name)})
	if err != nil && statusOf(err) != http.StatusNotFound {
		return rep, fmt.Errorf("delete %q: %w", name, err)
	}
	d.mu.Lock()
	delete(d.ids, name)
	delete(d.written, name)
	d.mu.Unlock()
	rep.Deleted = true
	return rep, nil
}

func (d *Driver) knownID(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ids[name] != ""
}

// Enable enables an account Watchword gave a password, its rights left as they are.
func (d *Driver) Enable(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	u, found, err := d.managedUser(ctx, name)
	switch {
	case err != nil:
		return fmt.Errorf("enable %q: %w", name, err)
	case !found:
		return fmt.Errorf("enable %q: %w", name, driver.ErrNoAccount)
	case !u.hasPassword():
		return fmt.Errorf("enable %q: it has no password", name)
	case u.AccountEnabled:
		return nil
	}
	if err := d.setEnabled(ctx, u, true); err != nil {
		return fmt.Errorf("enable %q: %w", name, err)
	}
	return nil
}

// group is a group as the driver reads it.
type group struct {
	ID         string `json:"id"`
	Name       string `json:"displayName"`
	Assignable bool   `json:"isAssignableToRole"`
}

// assignment is a role assignment as the driver reads it.
type assignment struct {
	ID     string `json:"id"`
	RoleID string `json:"roleDefinitionId"`
	Scope  string `json:"directoryScopeId"`
}

type heldRole struct{ assignmentID, roleID, name string }

// roleDefs reads the tenant's role definitions, again after rolesFor.
func (d *Driver) roleDefs(ctx context.Context) (map[string]roleInfo, error) {
	d.mu.Lock()
	r, at := d.roles, d.rolesAt
	d.mu.Unlock()
	if r != nil && d.cfg.Now().Sub(at) < rolesFor {
		return r, nil
	}
	var out struct {
		Value []struct{ ID, DisplayName string }
	}
	if err := d.g.do(ctx, call{method: http.MethodGet, path: "/roleManagement/directory/roleDefinitions?$select=id,displayName", out: &out}); err != nil {
		return nil, fmt.Errorf("read the directory roles: %w", err)
	}
	r = map[string]roleInfo{}
	for _, v := range out.Value {
		r[strings.ToLower(v.DisplayName)] = roleInfo{id: v.ID, name: v.DisplayName}
	}
	d.mu.Lock()
	d.roles, d.rolesAt = r, d.cfg.Now()
	d.mu.Unlock()
	return r, nil
}

// current reads the roles assigned to u and the groups it is a direct member of.
func (d *Driver) current(ctx context.Context, name string, u *user) ([]heldRole, []group, error) {
	defs, err := d.roleDefs(ctx)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]string{}
	for _, r := range defs {
		byID[r.id] = r.name
	}
	var as struct{ Value []assignment }
	if err := d.g.do(ctx, call{method: http.MethodGet, path: "/roleManagement/directory/roleAssignments?$filter=" +
		url.QueryEscape("principalId eq '"+u.ID+"'"), out: &as}); err != nil {
		return nil, nil, fmt.Errorf("read the roles of %q: %w", name, err)
	}
	var roles []heldRole
	for _, a := range as.Value {
		n := byID[a.RoleID]
		if n == "" {
			n = a.RoleID
		}
		roles = append(roles, heldRole{assignmentID: a.ID, roleID: a.RoleID, name: n})
	}
	var gs struct{ Value []group }
	if err := d.g.do(ctx, call{method: http.MethodGet, path: "/users/" + u.ID + "/memberOf/microsoft.graph.group?$select=id,displayName,isAssignableToRole",
		out: &gs, retry404: d.knownID(name)}); err != nil {
		return nil, nil, fmt.Errorf("read the groups of %q: %w", name, err)
	}
	return roles, gs.Value, nil
}

// findGroup resolves a right to a role-assignable group by display name; nil when there is none.
func (d *Driver) findGroup(ctx context.Context, name string) (*group, error) {
	var out struct{ Value []group }
	q := "/groups?$filter=" + url.QueryEscape("displayName eq '"+strings.ReplaceAll(name, "'", "''")+"'") + "&$select=id,displayName,isAssignableToRole"
	if err := d.g.do(ctx, call{method: http.MethodGet, path: q, out: &out}); err != nil {
		return nil, fmt.Errorf("look up group %q: %w", name, err)
	}
	for _, g := range out.Value {
		if g.Assignable && strings.EqualFold(g.Name, name) {
			return &g, nil
		}
	}
	return nil, nil
}

// syncRights makes u's roles and groups exactly want (names); a name that is neither a role nor a
// role-assignable group is reported missing. Nothing is removed while adding failed.
func (d *Driver) syncRights(ctx context.Context, name string, u *user, want []string, rep *driver.Report) error {
	roles, groups, err := d.current(ctx, name, u)
	if err != nil {
		return err
	}
	defs, err := d.roleDefs(ctx)
	if err != nil {
		return err
	}
	wantRoles, wantGroups := map[string]bool{}, map[string]bool{}
	var errs []error
	for _, w := range want {
		if r, ok := defs[strings.ToLower(w)]; ok {
			wantRoles[r.id] = true
			if slices.ContainsFunc(roles, func(h heldRole) bool { return h.roleID == r.id }) {
				continue
			}
			err := d.g.do(ctx, call{method: http.MethodPost, path: "/roleManagement/directory/roleAssignments", retry404: d.knownID(name),
				body: map[string]string{"principalId": u.ID, "roleDefinitionId": r.id, "directoryScopeId": "/"}})
			if err != nil && !conflict(err) {
				errs = append(errs, fmt.Errorf("assign the role %q to %q: %w", r.name, name, err))
			} else {
				rep.Added = append(rep.Added, r.name)
			}
			continue
		}
		g, err := d.findGroup(ctx, w)
		switch {
		case err != nil:
			errs = append(errs, err)
		case g == nil:
			rep.Missing = append(rep.Missing, w)
		default:
			wantGroups[g.ID] = true
			if slices.ContainsFunc(groups, func(h group) bool { return h.ID == g.ID }) {
				continue
			}
			err := d.g.do(ctx, call{method: http.MethodPost, path: "/groups/" + g.ID + "/members/$ref", retry404: d.knownID(name),
				body: map[string]string{"@odata.id": strings.TrimRight(DefaultGraph, "/") + "/directoryObjects/" + u.ID}})
			if err != nil && statusOf(err) != http.StatusBadRequest { // 400: already a member
				errs = append(errs, fmt.Errorf("add %q to the group %q: %w", name, g.Name, err))
			} else {
				rep.Added = append(rep.Added, g.Name)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // never strip while the wanted set is uncertain
	}
	for _, h := range roles {
		if wantRoles[h.roleID] {
			continue
		}
		err := d.g.do(ctx, call{method: http.MethodDelete, path: "/roleManagement/directory/roleAssignments/" + url.PathEscape(h.assignmentID)})
		if err != nil && statusOf(err) != http.StatusNotFound {
			errs = append(errs, fmt.Errorf("remove the role %q from %q: %w", h.name, name, err))
		} else {
			rep.Removed = append(rep.Removed, h.name)
		}
	}
	for _, g := range groups {
		if wantGroups[g.ID] {
			continue
		}
		err := d.g.do(ctx, call{method: http.MethodDelete, path: "/groups/" + g.ID + "/members/" + u.ID + "/$ref"})
		if err != nil && statusOf(err) != http.StatusNotFound {
			errs = append(errs, fmt.Errorf("remove %q from the group %q: %w", name, g.Name, err))
		} else {
			rep.Removed = append(rep.Removed, g.Name)
		}
	}
	return errors.Join(errs...)
}

// conflict: Graph's answer to an assignment that already exists.
func conflict(err error) bool {
	var ge *GraphError
	return errors.As(err, &ge) && ge.Status == http.StatusBadRequest && strings.Contains(ge.Message, "conflicting object")
}
