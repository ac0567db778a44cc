package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// signedHub is a hub that relays a signed authority: the fake hub's plans and stages, plus the updates an owner
// signed and the agent's receipts.
type signedHub struct {
	*fakeHub
	mu       sync.Mutex
	updates  [][]byte
	fetchErr error
	reports  []wire.AgentAuthorityReport
	fetches  int
}

func (h *signedHub) Authority(_ context.Context, since int64) (*wire.AuthorityResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fetches++
	if h.fetchErr != nil {
		return nil, h.fetchErr
	}
	// Two updates a batch, to walk the More loop.
	from := int(since + 1)
	to := min(len(h.updates), from+2)
	return &wire.AuthorityResponse{Updates: slices.Clone(h.updates[from:to]), More: to < len(h.updates)}, nil
}

func (h *signedHub) ReportAuthority(_ context.Context, r wire.AgentAuthorityReport) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reports = append(h.reports, r)
	return nil
}

func (h *signedHub) lastReport(t *testing.T) wire.AgentAuthorityReport {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reports) == 0 {
		t.Fatal("no authority report")
	}
	return h.reports[len(h.reports)-1]
}

// signedTenant is a tenant whose owner signs its authority: alice approved, agent 7 enrolled with the fake
// driver kind, a right naming ops and dev granted to every tech on every agent.
type signedTenant struct {
	t        *testing.T
	owner    *seal.Identity
	recovery *seal.Identity
	alice    *seal.Identity
	state    *authority.State
	hub      *signedHub
}

const testGUID = "00000000-0000-0000-0000-000000000001"

func newSignedTenant(t *testing.T) *signedTenant {
	st := &signedTenant{t: t, owner: newIdentity(t), recovery: newIdentity(t), alice: newIdentity(t),
		state: &authority.State{}, hub: &signedHub{fakeHub: &fakeHub{}}}
	st.sign(authority.SetAdmin(st.owner.Public().AuthKey(), wire.RoleOwner, "Olivia", ""),
		authority.SetRecovery(st.recovery.Public().Recipient().String()),
		authority.SetNaming("{username}-{abbrev}", "tm"),
		authority.SetGroup(authority.TechGroup, 1, wire.AllTechs, true, nil),
		authority.SetGroup(authority.AgentGroup, 2, wire.AllDomains, true, nil),
		authority.SetRight(3, "Ops", map[string][]string{"fake": {"ops", "dev"}}),
		authority.SetTriplet(4, 1, 2, 3))
	st.sign(authority.ApproveTech(8, "alice", "", st.alice.Public()),
		authority.EnrollAgent(7, "target", "fake", newIdentity(t).Public().AuthKey()))
	return st
}

func newIdentity(t *testing.T) *seal.Identity {
	t.Helper()
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// sign appends an update of ops signed by the owner to the hub's log.
func (st *signedTenant) sign(ops ...authority.Op) {
	st.t.Helper()
	var b []byte
	st.state, b = signNext(st.t, st.state, testGUID, st.owner, ops...)
	st.hub.mu.Lock()
	st.hub.updates = append(st.hub.updates, b)
	st.hub.mu.Unlock()
}

// signNext signs the update of ops after state's head (a genesis before one) with admin's key, and returns the
// state after it and its encoding.
func signNext(t *testing.T, state *authority.State, tenant string, admin *seal.Identity, ops ...authority.Op) (*authority.State, []byte) {
	t.Helper()
	u := authority.New(tenant, 0, authority.Hash{}, authority.Hash{}, time.Unix(1e9, 0), ops...)
	if state.Started() {
		u = authority.New(tenant, state.Seq+1, state.Head, state.Genesis, time.Unix(1e9, 0), ops...)
	}
	if err := u.Sign(admin.Signer()); err != nil {
		t.Fatal(err)
	}
	next, err := state.Apply(u)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return next, b
}

func (st *signedTenant) anchor() authority.Anchor {
	return authority.Anchor{Tenant: testGUID, Genesis: st.state.Genesis}
}

// plan is what an honest hub plans for agent 7 at the log's head: alice's account due, carol's to disable.
func (st *signedTenant) plan() *wire.Plan {
	return &wire.Plan{ClientGUID: testGUID, AgentID: 7, Driver: "fake", Revision: 3,
		Recovery: st.recovery.Public().Recipient().String(), Policy: wire.DefaultPolicy(),
		Accounts: []wire.PlanAccount{{AccountID: 1, TechID: 8, Username: "alice", AccountName: "alice-tm",
			Groups: []string{"ops"}, Due: true, DueReason: wire.DueNew, Recipients: []string{st.alice.Public().Recipient().String()}}},
		Disable:   []wire.PlanDisable{{AccountID: 3, TechID: 9, AccountName: "carol-tm"}},
		Authority: &wire.AuthorityHead{Seq: st.state.Seq, Hash: st.state.Head.String()},
	}
}

func (st *signedTenant) runner(t *testing.T, d *fakeDriver, file string) *Runner {
	t.Helper()
	r, err := New(Config{Hub: st.hub, NewDriver: func() (driver.Driver, error) { return d, nil }, Parallelism: 1,
		Retry: time.Hour, Authority: &AuthorityPin{Anchor: st.anchor(), File: file, Hub: st.hub}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPinnedRunnerActsOnVerifiedPlans: an honest signed plan is acted on and its head reported once, and the
// verified chain is kept on disk for the agent's owner only.
func TestPinnedRunnerActsOnVerifiedPlans(t *testing.T) {
	st := newSignedTenant(t)
	for range 3 { // more updates than one batch of the fake hub
		st.sign(authority.SetNaming("{username}-{abbrev}", "tm"))
	}
	d := newFakeDriver()
	file := filepath.Join(t.TempDir(), "authority.cbor")
	r := st.runner(t, d, file)
	sum := r.Sync(context.Background(), st.plan())
	if sum.Refused || sum.Rotated != 1 || sum.Disabled != 1 || d.sets != 1 {
		t.Fatalf("honest plan: %+v, sets %d", sum, d.sets)
	}
	rep := st.hub.lastReport(t)
	if rep.Refusal != "" || rep.Head == nil || rep.Head.Seq != st.state.Seq || rep.Head.Hash != st.state.Head.String() {
		t.Fatalf("receipt: %+v", rep)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept chain: %v %v", fi, err)
	}
	// The same head again is neither fetched nor reported again.
	fetches, reports := st.hub.fetches, len(st.hub.reports)
	if sum := r.Sync(context.Background(), st.plan()); sum.Refused {
		t.Fatalf("same plan again: %+v", sum)
	}
	if st.hub.fetches != fetches || len(st.hub.reports) != reports {
		t.Fatalf("unchanged head: %d fetches, %d reports after %d, %d", st.hub.fetches, len(st.hub.reports), fetches, reports)
	}
	// A new signed update is a new receipt.
	st.sign(authority.SetNaming("{username}-{abbrev}", "tm"))
	if sum := r.Sync(context.Background(), st.plan()); sum.Refused {
		t.Fatalf("after a signed update: %+v", sum)
	}
	if rep := st.hub.lastReport(t); rep.Head.Seq != st.state.Seq || len(st.hub.reports) != reports+1 {
		t.Fatalf("receipt after the update: %+v (%d reports)", rep, len(st.hub.reports))
	}
}

// TestPinnedRunnerRefusesUnsignedPlans: each change a hub could make on its own is refused whole — nothing
// ensured, staged or set, the disables still carried out — and reported; the honest plan clears the refusal.
func TestPinnedRunnerRefusesUnsignedPlans(t *testing.T) {
	thief := newIdentity(t)
	stolen := thief.Public().Recipient().String()
	for name, attack := range map[string]func(p *wire.Plan){
		"no signed authority": func(p *wire.Plan) { p.Authority = nil },
		"recovery swapped":    func(p *wire.Plan) { p.Recovery = stolen },
		"device added":        func(p *wire.Plan) { p.Accounts[0].Recipients = append(p.Accounts[0].Recipients, stolen) },
		"group added":         func(p *wire.Plan) { p.Accounts[0].Groups = append(p.Accounts[0].Groups, "Enterprise Admins") },
		"naming changed":      func(p *wire.Plan) { p.Accounts[0].AccountName = "alice" },
		"unapproved tech": func(p *wire.Plan) {
			p.Accounts = append(p.Accounts, wire.PlanAccount{AccountID: 2, TechID: 66, Username: "mallory",
				AccountName: "mallory-tm", Due: true, DueReason: wire.DueNew, Recipients: []string{stolen}})
		},
		"head not served": func(p *wire.Plan) { p.Authority.Seq++ },
		"bad head":        func(p *wire.Plan) { p.Authority.Hash = "nonsense" },
	} {
		t.Run(name, func(t *testing.T) {
			st := newSignedTenant(t)
			d := newFakeDriver()
			r := st.runner(t, d, filepath.Join(t.TempDir(), "authority.cbor"))
			p := st.plan()
			attack(p)
			sum := r.Sync(context.Background(), p)
			if !sum.Refused || sum.HubDown || sum.Ensured+sum.Rotated != 0 || d.ensures+d.sets != 0 || len(st.hub.staged) != 0 {
				t.Fatalf("%s: %+v, ensures %d, sets %d, staged %v", name, sum, d.ensures, d.sets, st.hub.staged)
			}
			if sum.Disabled != 1 || !d.disabled["carol-tm"] {
				t.Fatalf("%s: the plan's disables were not carried out: %+v", name, sum)
			}
			rep := st.hub.lastReport(t)
			if rep.Refusal == "" || strings.Contains(rep.Refusal, stolen) || strings.ContainsAny(rep.Refusal, "\n\r") {
				t.Fatalf("%s: refusal %q", name, rep.Refusal)
			}
			if r.Stats().Refused != 1 {
				t.Fatalf("stats: %+v", r.Stats())
			}
			// Refused again, reported once.
			n := len(st.hub.reports)
			r.Sync(context.Background(), p)
			if len(st.hub.reports) != n {
				t.Fatalf("%s: the same refusal reported again", name)
			}
			// The honest plan is acted on and clears the refusal.
			if sum := r.Sync(context.Background(), st.plan()); sum.Refused || sum.Rotated != 1 {
				t.Fatalf("%s, then the honest plan: %+v", name, sum)
			}
			if rep := st.hub.lastReport(t); rep.Refusal != "" || rep.Head == nil {
				t.Fatalf("%s: not cleared: %+v", name, rep)
			}
		})
	}
}

// TestPinnedRunnerRefusesRollbackAndForeignHistory: a head older than one verified, a history from another
// genesis and an update nobody trusted signed are refused, across a restart too.
func TestPinnedRunnerRefusesRollbackAndForeignHistory(t *testing.T) {
	st := newSignedTenant(t)
	old := st.plan()
	st.sign(authority.SetNaming("{username}-{abbrev}", "tm"))
	d := newFakeDriver()
	file := filepath.Join(t.TempDir(), "authority.cbor")
	r := st.runner(t, d, file)
	if sum := r.Sync(context.Background(), st.plan()); sum.Refused {
		t.Fatalf("honest plan: %+v", sum)
	}
	if sum := r.Sync(context.Background(), old); !sum.Refused || !strings.Contains(st.hub.lastReport(t).Refusal, "older") {
		t.Fatalf("rollback: %+v, %+v", sum, st.hub.lastReport(t))
	}
	// A restarted agent remembers its head.
	r = st.runner(t, d, file)
	if sum := r.Sync(context.Background(), old); !sum.Refused {
		t.Fatalf("rollback after a restart: %+v", sum)
	}
	if sum := r.Sync(context.Background(), st.plan()); sum.Refused {
		t.Fatalf("honest plan after a restart: %+v", sum)
	}

	// A hub that swaps in another genesis (signed by a key of its own) is refused from the first update.
	forged := newSignedTenant(t)
	d2 := newFakeDriver()
	r2, err := New(Config{Hub: forged.hub, NewDriver: func() (driver.Driver, error) { return d2, nil },
		Authority: &AuthorityPin{Anchor: st.anchor(), File: filepath.Join(t.TempDir(), "authority.cbor"), Hub: forged.hub}})
	if err != nil {
		t.Fatal(err)
	}
	if sum := r2.Sync(context.Background(), forged.plan()); !sum.Refused || d2.ensures+d2.sets != 0 ||
		!strings.Contains(forged.hub.lastReport(t).Refusal, "genesis") {
		t.Fatalf("another genesis: %+v, %+v", sum, forged.hub.lastReport(t))
	}

	// An update signed by a key the chain does not trust stops the chain at the head before it.
	st.hub.mu.Lock()
	u := authority.New(testGUID, st.state.Seq+1, st.state.Head, st.state.Genesis, time.Unix(1e9, 0), authority.SetNaming("{username}", ""))
	if err := u.Sign(newIdentity(t).Signer()); err != nil {
		t.Fatal(err)
	}
	b, _ := u.Encode()
	st.hub.updates = append(st.hub.updates, b)
	st.hub.mu.Unlock()
	p := st.plan()
	p.Authority.Seq++
	p.Accounts[0].AccountName = "alice"
	if sum := r.Sync(context.Background(), p); !sum.Refused || !strings.Contains(st.hub.lastReport(t).Refusal, "not signed") {
		t.Fatalf("unsigned update: %+v, %+v", sum, st.hub.lastReport(t))
	}
	if seq, _ := r.pin.chain.Head(); seq != st.state.Seq {
		t.Fatalf("the chain moved to %d past the unsigned update", seq)
	}
}

// TestPinnedRunnerRefusesABrokenChainFile: a kept chain that does not verify, or is another anchor's, refuses
// every plan with a clear reason; the runner never starts over from what the hub serves.
func TestPinnedRunnerRefusesABrokenChainFile(t *testing.T) {
	st := newSignedTenant(t)
	other := newSignedTenant(t)
	foreign := authority.NewChain(other.anchor())
	if _, err := foreign.Advance(other.hub.updates...); err != nil {
		t.Fatal(err)
	}
	foreignBytes, err := foreign.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"corrupted": []byte("not a chain"),
		"foreign":   foreignBytes,
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "authority.cbor")
			if err := os.WriteFile(file, content, 0o600); err != nil {
				t.Fatal(err)
			}
			d := newFakeDriver()
			r := st.runner(t, d, file)
			sum := r.Sync(context.Background(), st.plan())
			if !sum.Refused || d.ensures+d.sets != 0 || st.hub.fetches != 0 {
				t.Fatalf("%s: %+v, ensures %d, fetches %d", name, sum, d.ensures, st.hub.fetches)
			}
			if rep := st.hub.lastReport(t); !strings.Contains(rep.Refusal, file) || rep.Head != nil {
				t.Fatalf("%s: report %+v", name, rep)
			}
			if b, _ := os.ReadFile(file); string(b) != string(content) {
				t.Fatalf("%s: the kept chain was overwritten", name)
			}
		})
	}
}

// TestPinnedRunnerBacksOffWhenTheAuthorityIsUnreachable: a fetch that fails in transit acts on nothing and is
// an outage, not a refusal to report.
func TestPinnedRunnerBacksOffWhenTheAuthorityIsUnreachable(t *testing.T) {
	st := newSignedTenant(t)
	st.hub.fetchErr = errors.New("dial tcp 127.0.0.1:1: connection refused")
	d := newFakeDriver()
	r := st.runner(t, d, filepath.Join(t.TempDir(), "authority.cbor"))
	sum := r.Sync(context.Background(), st.plan())
	if !sum.Refused || !sum.HubDown || d.sets != 0 || len(st.hub.reports) != 0 {
		t.Fatalf("unreachable: %+v, sets %d, reports %v", sum, d.sets, st.hub.reports)
	}
	// A hub that answers but refuses to serve the authority is a refusal.
	st.hub.fetchErr = &hubclient.Error{Status: 404, Wire: wire.Error{Code: wire.CodeNotFound, Message: "no route"}}
	if sum := r.Sync(context.Background(), st.plan()); !sum.Refused || sum.HubDown || st.hub.lastReport(t).Refusal == "" {
		t.Fatalf("refused by the hub: %+v", sum)
	}
}

// TestUnpinnedRunnerNeedsNoAuthority: without a pin the runner acts on a plan with or without a head, as before.
func TestUnpinnedRunnerNeedsNoAuthority(t *testing.T) {
	st := newSignedTenant(t)
	d := newFakeDriver()
	r := newTestRunner(t, st.hub, d)
	p := st.plan()
	p.Authority = nil
	if sum := r.Sync(context.Background(), p); sum.Refused || sum.Rotated != 1 || len(st.hub.reports) != 0 || st.hub.fetches != 0 {
		t.Fatalf("unpinned: %+v", sum)
	}
}
