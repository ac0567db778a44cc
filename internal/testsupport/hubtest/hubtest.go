// Package hubtest runs a real hub in-process for tests: a temporary SQLite store (or a fresh PostgreSQL schema when
// WATCHWORD_HUB_TEST_DB names a server), the real handler over httptest TLS with the hub's own pinned certificate,
// and typed hubclient clients for an owner admin, techs and agents. Other packages' tests (the agent, the
// TechClient and Console view-models) use it to talk to something real:
//
//	h := hubtest.New(t)
//	tech, _ := h.ActiveTech("alice")
//	agent, _, agentID := h.NewAgent("contoso.local", "ad")
package hubtest

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Harness is a running hub with one tenant and its owner.
type Harness struct {
	T        testing.TB
	Hub      *hub.Hub
	Store    store.Store
	DBPath   string // the SQLite file; "" when the store is PostgreSQL (DBEnvVar)
	URL      string
	GUID     string
	Invite   wire.Invite
	Owner    *hubclient.Client // the tenant's owner admin
	OwnerID  *seal.Identity
	Recovery *seal.Identity // its Public().Recipient() is the tenant's recovery recipient
	HubKey   *seal.Identity // the hub's own key, which the invite pins (Replica serves another hub with it)
	Clock    *Clock
	Logs     *SyncBuffer // the hub's JSON logs
	ctx      context.Context
	cfg      hub.Config
	pgDSN    string // the PostgreSQL schema's DSN, when DBEnvVar is set
}

// DBEnvVar names the variable that, set to a PostgreSQL DSN, makes New open the hub's store in a fresh schema of
// that server (dropped when the test ends) instead of a SQLite file: the hub's suite runs on both engines.
const DBEnvVar = "WATCHWORD_HUB_TEST_DB"

// RequireSQLite skips the test when the store is PostgreSQL: it reaches into the SQLite file itself (why says
// what for), which has no PostgreSQL counterpart.
func (h *Harness) RequireSQLite(why string) {
	h.T.Helper()
	if h.DBPath == "" {
		h.T.Skipf("the store is PostgreSQL (%s): this test %s", DBEnvVar, why)
	}
}

// PostgresDSN is the DSN of the harness's PostgreSQL schema ("" on SQLite): what the parts of another hub process on
// the same database connect to, such as the replicas' change feed.
func (h *Harness) PostgresDSN() string { return h.pgDSN }

// OpenStore opens the harness's database again, as a restarted hub does; it is closed when the test ends.
func (h *Harness) OpenStore() store.Store {
	h.T.Helper()
	dsn := h.pgDSN
	if dsn == "" {
		dsn = h.DBPath
	}
	st, err := store.OpenURL(h.ctx, dsn, store.Options{AllowAsyncReplication: true})
	if err != nil {
		h.T.Fatalf("hubtest: open the store again: %v", err)
	}
	h.T.Cleanup(func() { st.Close() })
	return st
}

// Replica is a second hub over the harness's store with the same key, on its own address: what another
// watchword-hub process on the same database is to a client that holds both URLs.
type Replica struct {
	Hub *hub.Hub
	URL string
	srv *httptest.Server
}

// Replica starts one; it stops when the test ends, or earlier with Kill.
func (h *Harness) Replica() *Replica {
	h.T.Helper()
	r := &Replica{Hub: hub.New(h.Store, h.HubKey, h.cfg)}
	tlsCfg, err := hubserve.TLSConfig(r.Hub)
	if err != nil {
		h.T.Fatalf("hubtest: replica: %v", err)
	}
	r.srv = httptest.NewUnstartedServer(r.Hub.Handler())
	r.srv.TLS = tlsCfg
	base, cancel := context.WithCancel(context.Background())
	r.srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	r.srv.StartTLS()
	r.URL = r.srv.URL
	h.T.Cleanup(func() {
		cancel()
		r.srv.Close()
	})
	return r
}

// Kill stops the replica as a killed process stops: every connection dropped at once, long polls included, and
// nothing listening on its address any more.
func (r *Replica) Kill() {
	r.srv.Listener.Close()
	r.srv.CloseClientConnections()
}

// Clock is the hub's clock: real time plus an offset tests can advance.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the shifted time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Bytes returns a copy of what was written.
func (s *SyncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// Option adjusts the hub's configuration.
type Option func(*hub.Config)

// WithConfig lets a test change the hub's configuration (rate limits, waits).
func WithConfig(fn func(*hub.Config)) Option { return Option(fn) }

// New starts a hub with one tenant whose owner has claimed it. Everything stops when the test ends.
func New(t testing.TB, opts ...Option) *Harness {
	t.Helper()
	ctx := context.Background()
	h := &Harness{T: t, Clock: &Clock{}, Logs: &SyncBuffer{}, ctx: ctx}
	var st store.Store
	var err error
	if dsn := os.Getenv(DBEnvVar); dsn != "" {
		// The test server is a single node: no standby can be synchronous, so the durability check is waived.
		h.pgDSN = targets.PostgresSchema(t, dsn)
		st, err = store.OpenURL(ctx, h.pgDSN, store.Options{Migrate: true, AllowAsyncReplication: true})
	} else {
		h.DBPath = filepath.Join(t.TempDir(), "hub.db")
		st, err = store.Open(ctx, h.DBPath)
	}
	if err != nil {
		t.Fatalf("hubtest: open store: %v", err)
	}
	h.Store = st
	hubID := mustIdentity(t)
	h.HubKey = hubID
	cfg := hub.Config{
		Logger:    slog.New(slog.NewJSONHandler(h.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:       h.Clock.Now,
		RateBurst: 1000,
		RateEvery: time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	h.cfg = cfg
	h.Hub = hub.New(st, hubID, cfg)
	tlsCfg, err := hubserve.TLSConfig(h.Hub)
	if err != nil {
		t.Fatalf("hubtest: %v", err)
	}
	srv := httptest.NewUnstartedServer(h.Hub.Handler())
	srv.TLS = tlsCfg
	base, cancel := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.StartTLS()
	h.URL = srv.URL
	t.Cleanup(func() {
		cancel() // ends long polls so Close does not wait for them
		srv.Close()
		st.Close()
	})

	h.Recovery = mustIdentity(t)
	nt, err := h.Hub.CreateTenant(ctx, hub.TenantSpec{Name: "Test MSP", Abbrev: "tm", Recovery: h.Recovery.Public().Recipient().String()})
	if err != nil {
		t.Fatalf("hubtest: create tenant: %v", err)
	}
	h.GUID = nt.GUID
	h.Invite = h.Hub.Invite(h.URL, h.GUID)
	h.OwnerID = mustIdentity(t)
	h.Owner = h.Client(h.OwnerID)
	if _, err := h.Owner.Claim(ctx, nt.OwnerToken, "Owner"); err != nil {
		t.Fatalf("hubtest: claim owner: %v", err)
	}
	return h
}

func mustIdentity(t testing.TB) *seal.Identity {
	t.Helper()
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatalf("hubtest: identity: %v", err)
	}
	return id
}

// Seal seals secret for a plan account as an agent does: to the tech's recipients and the tenant's recovery.
func Seal(t testing.TB, p *wire.Plan, a wire.PlanAccount, version int64, secret string) []byte {
	t.Helper()
	var rcpts []age.Recipient
	for _, s := range append([]string{p.Recovery}, a.Recipients...) {
		r, err := seal.ParseRecipient(s)
		if err != nil {
			t.Fatalf("hubtest: recipient %q: %v", s, err)
		}
		rcpts = append(rcpts, r)
	}
	env, err := seal.Seal([]byte(secret), hubclient.SealContext(p.ClientGUID, p.AgentID, a.AccountName, version), rcpts...)
	if err != nil {
		t.Fatalf("hubtest: seal: %v", err)
	}
	return env
}

// SignEnvelope is the agent's signature over the envelope statement of version of a plan account, as the agent's
// runner signs every version it stages (hubclient's StageSigned sends it).
func (a *Agent) SignEnvelope(p *wire.Plan, pa wire.PlanAccount, version int64, envelope []byte) []byte {
	return authority.SignEnvelope(a.Identity.Signer(),
		authority.NewEnvelopeStatement(p.ClientGUID, p.AgentID, pa.AccountID, pa.AccountName, version, envelope))
}

// NewIdentity generates a device identity.
func (h *Harness) NewIdentity() *seal.Identity { return mustIdentity(h.T) }

// Client returns a client of the harness's tenant authenticating as id.
func (h *Harness) Client(id *seal.Identity) *hubclient.Client {
	h.T.Helper()
	c, err := hubclient.New(h.Invite, id, hubclient.WithTimeout(10*time.Second))
	if err != nil {
		h.T.Fatalf("hubtest: client: %v", err)
	}
	h.T.Cleanup(c.Close)
	return c
}

// Tech is a registered tech device.
type Tech struct {
	*hubclient.Client
	ID       int64
	Identity *seal.Identity
}

// NewTech registers a new device as a pending tech.
func (h *Harness) NewTech(username string) *Tech {
	h.T.Helper()
	id := mustIdentity(h.T)
	c := h.Client(id)
	st, err := c.Register(h.ctx, wire.RegisterRequest{Username: username, DisplayName: username, Email: username + "@example.com"})
	if err != nil {
		h.T.Fatalf("hubtest: register %q: %v", username, err)
	}
	return &Tech{Client: c, ID: st.TechID, Identity: id}
}

// ActiveTech registers and approves a tech.
func (h *Harness) ActiveTech(username string) *Tech {
	h.T.Helper()
	t := h.NewTech(username)
	if _, err := h.Owner.ApproveTech(h.ctx, t.ID); err != nil {
		h.T.Fatalf("hubtest: approve %q: %v", username, err)
	}
	return t
}

// ApproveCoManaged approves tech id with the override the hub asks for while the All triplet (or one like it)
// gives AllTechs every domain: for tests of a co-managed tech whose subject is not the onboarding's order. A tech
// that needs no override is approved plainly.
func (h *Harness) ApproveCoManaged(ctx context.Context, id int64) (*wire.Tech, error) {
	h.T.Helper()
	allTechs, allDomains := h.AllGroups()
	trips, err := h.Owner.Triplets(ctx)
	if err != nil {
		return nil, err
	}
	techs, err := h.Owner.Techs(ctx, "")
	if err != nil {
		return nil, err
	}
	var place wire.ApproveRequest
	for _, t := range techs {
		if t.ID != id || !t.CoManaged {
			continue
		}
		for _, tr := range trips {
			if tr.TechGroupID == allTechs && tr.AgentGroupID == allDomains {
				place.OverrideTriplets = append(place.OverrideTriplets, tr.ID)
			}
		}
	}
	return h.Owner.ApproveTechAs(ctx, id, place)
}

// AddTechs writes an active tech for each of users straight into the store (registration is rate limited and
// not what a benchmark measures); one device key serves them all, only the key IDs differ.
func (h *Harness) AddTechs(users ...string) {
	h.T.Helper()
	pub := h.NewIdentity().Public()
	err := h.Store.Write(h.ctx, func(tx store.Tx) error {
		tn, err := tx.Tenant(h.GUID)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, u := range users {
			if err := tx.CreateTech(&store.Tech{TenantID: tn.ID, Username: u, DisplayName: u, Email: u + "@example.com",
				Status: wire.TechActive, PublicKey: pub.String(), KeyID: "bench-" + u, Fingerprint: "f",
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.T.Fatalf("hubtest: add techs: %v", err)
	}
}

// AllGroups returns the IDs of the built-in AllTechs and AllDomains groups, for a test's triplets.
func (h *Harness) AllGroups() (allTechs, allDomains int64) {
	h.T.Helper()
	tgs, err := h.Owner.TechGroups(h.ctx)
	if err != nil {
		h.T.Fatalf("hubtest: tech groups: %v", err)
	}
	ags, err := h.Owner.AgentGroups(h.ctx)
	if err != nil {
		h.T.Fatalf("hubtest: agent groups: %v", err)
	}
	for _, g := range tgs {
		if g.Name == wire.AllTechs {
			allTechs = g.ID
		}
	}
	for _, g := range ags {
		if g.Name == wire.AllDomains {
			allDomains = g.ID
		}
	}
	return allTechs, allDomains
}

// Agent is an enrolled agent.
type Agent struct {
	*hubclient.Client
	ID       int64
	Identity *seal.Identity
}

// NewAgent enrolls a new agent with an "approve on use" token: it is active at once and joins AllDomains.
func (h *Harness) NewAgent(name, driver string) *Agent {
	h.T.Helper()
	tok, err := h.Owner.CreateEnrollmentTokenWith(h.ctx, wire.TokenRequest{ApproveOnUse: true})
	if err != nil {
		h.T.Fatalf("hubtest: enrollment token: %v", err)
	}
	id := mustIdentity(h.T)
	c := h.Client(id)
	resp, err := c.Enroll(h.ctx, wire.EnrollRequest{Token: tok.Token, Name: name, Driver: driver, Version: "test"})
	if err != nil {
		h.T.Fatalf("hubtest: enroll %q: %v", name, err)
	}
	return &Agent{Client: c, ID: resp.AgentID, Identity: id}
}
