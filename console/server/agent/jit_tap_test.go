package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// tapDriver is the fake driver with Temporary Access Passes: one per account, issued with a code that counts up.
type tapDriver struct {
	*fakeDriver
	tmu       sync.Mutex
	codes     map[string]string // account → its current pass
	issued    []string          // every code issued
	lifetimes []time.Duration
	revoked   []string // accounts, in order
	revokeErr error
	// disabledAtRevoke says, per revoke, whether the account was still enabled then (revoked before the disable).
	enabledAtRevoke []bool
}

func newTapDriver() *tapDriver {
	return &tapDriver{fakeDriver: newFakeDriver(), codes: map[string]string{}}
}

func (d *tapDriver) IssueTemporaryAccess(_ context.Context, name string, lifetime time.Duration) (string, time.Time, error) {
	d.tmu.Lock()
	defer d.tmu.Unlock()
	code := "TapCode#" + string(rune('A'+len(d.issued))) + "-secret"
	d.codes[name] = code
	d.issued = append(d.issued, code)
	d.lifetimes = append(d.lifetimes, lifetime)
	// Entra's shortest pass is ten minutes: longer than a short window.
	return code, tapNow.Add(max(lifetime, 10*time.Minute)), nil
}

func (d *tapDriver) RevokeTemporaryAccess(_ context.Context, name string) error {
	d.tmu.Lock()
	defer d.tmu.Unlock()
	if d.revokeErr != nil {
		return d.revokeErr
	}
	disabled, _, _ := d.state(name)
	d.enabledAtRevoke = append(d.enabledAtRevoke, !disabled)
	delete(d.codes, name)
	d.revoked = append(d.revoked, name)
	return nil
}

var _ driver.TemporaryAccess = (*tapDriver)(nil)

// tapNow is the fixed instant of these tests, in UTC as the hub's times come.
var tapNow = time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC)

// tapHub is a hub that stages recovery-only versions and stores passes.
type tapHub struct {
	recoveryHub
	tapErr error
	taps   []wire.JITTAPRequest
}

func (h *tapHub) StoreJITTAP(_ context.Context, req wire.JITTAPRequest) error {
	h.rmu.Lock()
	defer h.rmu.Unlock()
	if h.tapErr != nil {
		return h.tapErr
	}
	h.taps = append(h.taps, req)
	return nil
}

// tapPlan is one JIT account of a tech whose device is tech, its window open for a minute (grant 9) or closed.
func tapPlan(tech, rec *seal.Identity, open bool) *wire.Plan {
	a := wire.PlanAccount{AccountID: 1, TechID: 5, Username: "alice", AccountName: "alice-tm", Groups: []string{"ops"},
		Recipients: []string{tech.Public().Recipient().String()}, Due: true, DueReason: wire.DueJITStart,
		JIT: &wire.PlanJIT{Enabled: open, GrantID: 9}}
	if open {
		a.JIT.ExpiresAt = tapNow.Add(time.Minute)
	} else {
		a.Groups, a.Recipients, a.DueReason = nil, nil, wire.DueJITEnd
	}
	return &wire.Plan{ClientGUID: "00000000-0000-0000-0000-000000000001", AgentID: 7, Revision: 3,
		Recovery: rec.Public().Recipient().String(), Policy: wire.DefaultPolicy(), Accounts: []wire.PlanAccount{a}}
}

func tapIdentities(t *testing.T) (tech, rec, agentKey *seal.Identity) {
	t.Helper()
	var ids [3]*seal.Identity
	for i := range ids {
		id, err := seal.GenerateIdentity()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids[0], ids[1], ids[2]
}

// TestJITTemporaryAccessPass: an open window on an agent configured for passes gets one, issued for the rest of
// the window after the account is enabled, sealed to the tech and the recovery recipient under the pass's own
// context, signed like a staged version, and stored at the hub once; closing the window revokes it before the
// account is disabled; the code is in no log line, report or state file.
func TestJITTemporaryAccessPass(t *testing.T) {
	tech, rec, key := tapIdentities(t)
	d, h := newTapDriver(), &tapHub{recoveryHub: recoveryHub{fakeHub: fakeHub{plans: make(chan *wire.Plan, 1)}}}
	var logs bytes.Buffer
	file := filepath.Join(t.TempDir(), "jit.json")
	r, err := New(Config{Hub: h, NewDriver: func() (driver.Driver, error) { return d, nil }, Parallelism: 1, Retry: time.Hour,
		Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, Now: func() time.Time { return tapNow },
		JITStateFile: file, TemporaryAccess: true, Key: key.Signer(),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	plan := tapPlan(tech, rec, true)
	if sum := r.Sync(context.Background(), plan); sum.Rotated != 1 || sum.Failed != 0 {
		t.Fatalf("open window pass %+v", sum)
	}
	if len(d.issued) != 1 || d.lifetimes[0] != time.Minute || len(h.taps) != 1 {
		t.Fatalf("issued %d passes (lifetimes %v), stored %d", len(d.issued), d.lifetimes, len(h.taps))
	}
	code, tap := d.issued[0], h.taps[0]
	if tap.GrantID != 9 || tap.AccountID != 1 || !tap.ExpiresAt.Equal(tapNow.Add(time.Minute)) {
		t.Fatalf("stored pass %+v: want grant 9, account 1, the window's end (not the target's longer lifetime)", tap)
	}
	tctx := hubclient.SealContext(plan.ClientGUID, plan.AgentID, wire.TAPAccount("alice-tm"), 9)
	for who, id := range map[string]*seal.Identity{"tech": tech, "recovery": rec} {
		if got, err := seal.Open(tap.Envelope, tctx, id); err != nil || string(got) != code {
			t.Fatalf("the %s opens the pass: %v", who, err)
		}
	}
	if _, err := seal.Open(tap.Envelope, hubclient.SealContext(plan.ClientGUID, plan.AgentID, "alice-tm", 9), tech); !errors.Is(err, seal.ErrWrongContext) {
		t.Fatalf("the pass opens as a password: %v", err)
	}
	state := &authority.State{Tenant: plan.ClientGUID, Genesis: authority.Hash{1},
		Agents: map[int64]authority.Agent{plan.AgentID: {Key: key.Public().AuthKey()}}}
	st := authority.NewEnvelopeStatement(plan.ClientGUID, plan.AgentID, 1, wire.TAPAccount("alice-tm"), 9, tap.Envelope)
	if err := state.VerifyEnvelope(st, tap.Signature); err != nil {
		t.Fatalf("the pass's statement: %v", err)
	}
	if disabled, groups, _ := d.state("alice-tm"); disabled || len(groups) != 1 {
		t.Fatalf("open window: disabled %v groups %v", disabled, groups)
	}

	// A resync of the same window issues nothing again.
	r.mu.Lock()
	r.lastFull = time.Time{}
	r.applied = map[int64]string{}
	r.mu.Unlock()
	plan.Accounts[0].Due, plan.Accounts[0].CurrentVersion = false, 1
	if sum := r.Sync(context.Background(), plan); sum.Failed != 0 || len(d.issued) != 1 || len(h.taps) != 1 {
		t.Fatalf("resync %+v: issued %d, stored %d", sum, len(d.issued), len(h.taps))
	}

	// The plan closes the window (the tech's Done): the pass goes first, then the roles and the account.
	closed := tapPlan(tech, rec, false)
	closed.Accounts[0].CurrentVersion = 1
	if sum := r.Sync(context.Background(), closed); sum.Failed != 0 {
		t.Fatalf("closing pass %+v", sum)
	}
	if len(d.revoked) != 1 || !d.enabledAtRevoke[0] || d.codes["alice-tm"] != "" {
		t.Fatalf("revoked %v (enabled then: %v)", d.revoked, d.enabledAtRevoke)
	}
	if disabled, groups, _ := d.state("alice-tm"); !disabled || len(groups) != 0 {
		t.Fatalf("closed window: disabled %v groups %v", disabled, groups)
	}
	if w, err := loadJIT(file); err != nil || len(w) != 0 {
		t.Fatalf("window kept after the close: %+v %v", w, err)
	}
	var reports bytes.Buffer
	for _, rep := range h.reports {
		reports.WriteString(rep.Error)
	}
	for where, blob := range map[string][]byte{"log": logs.Bytes(), "reports": reports.Bytes()} {
		if bytes.Contains(blob, []byte(code)) {
			t.Fatalf("the pass's code is in the %s", where)
		}
	}
	if !bytes.Contains(logs.Bytes(), []byte("temporary access pass issued")) || !bytes.Contains(logs.Bytes(), []byte("temporary access pass revoked")) {
		t.Fatalf("the log says nothing of the pass:\n%s", logs.String())
	}
}

// TestJITTemporaryAccessPassExpiry: at expiry by the agent's own clock the pass is revoked and the account
// disabled; a revoke that fails still disables the account and keeps the window until a revoke succeeds.
func TestJITTemporaryAccessPassExpiry(t *testing.T) {
	tech, rec, _ := tapIdentities(t)
	d, h := newTapDriver(), &tapHub{recoveryHub: recoveryHub{fakeHub: fakeHub{plans: make(chan *wire.Plan, 1)}}}
	clock := &testClock{t: tapNow}
	r, err := New(Config{Hub: h, NewDriver: func() (driver.Driver, error) { return d, nil }, Parallelism: 1, Retry: time.Hour,
		Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, Now: clock.Now, TemporaryAccess: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum := r.Sync(context.Background(), tapPlan(tech, rec, true)); sum.Failed != 0 || len(h.taps) != 1 {
		t.Fatalf("open window pass %+v, stored %d", sum, len(h.taps))
	}
	if len(h.taps[0].Signature) != 0 {
		t.Fatal("signed without a key")
	}
	clock.Add(time.Minute)
	r.jitMu.Lock()
	w := r.windows[1]
	r.jitMu.Unlock()
	if w.TAPGrant != 9 || !w.TAPStored {
		t.Fatalf("window record %+v", w)
	}
	d.revokeErr = errors.New("graph: 503")
	if err := r.expireJIT(context.Background(), w); err == nil {
		t.Fatal("a failed revoke reported no error")
	}
	if disabled, groups, _ := d.state("alice-tm"); !disabled || len(groups) != 0 {
		t.Fatalf("a failed revoke kept the account: disabled %v groups %v", disabled, groups)
	}
	r.jitMu.Lock()
	_, kept := r.windows[1]
	r.jitMu.Unlock()
	if !kept {
		t.Fatal("the window was forgotten with its pass still on the target")
	}
	d.revokeErr = nil
	if err := r.expireJIT(context.Background(), w); err != nil || len(d.revoked) != 1 {
		t.Fatalf("second expiry: %v, revoked %v", err, d.revoked)
	}
	r.jitMu.Lock()
	_, kept = r.windows[1]
	r.jitMu.Unlock()
	if kept {
		t.Fatal("the window outlives its close")
	}
}

// TestJITTemporaryAccessPassHubRefuses: a pass the hub does not store is revoked at once and issued again at the
// next pass; an agent not configured for passes, or a driver without them, issues none.
func TestJITTemporaryAccessPassHubRefuses(t *testing.T) {
	tech, rec, _ := tapIdentities(t)
	d, h := newTapDriver(), &tapHub{recoveryHub: recoveryHub{fakeHub: fakeHub{plans: make(chan *wire.Plan, 1)}}}
	h.tapErr = errors.New("connection reset")
	r, err := New(Config{Hub: h, NewDriver: func() (driver.Driver, error) { return d, nil }, Parallelism: 1, Retry: time.Hour,
		Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, Now: func() time.Time { return tapNow }, TemporaryAccess: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum := r.Sync(context.Background(), tapPlan(tech, rec, true)); sum.Failed != 1 {
		t.Fatalf("a pass the hub refused: %+v", sum)
	}
	if len(d.issued) != 1 || len(d.revoked) != 1 || d.codes["alice-tm"] != "" {
		t.Fatalf("issued %d, revoked %v", len(d.issued), d.revoked)
	}
	h.tapErr = nil
	r.mu.Lock()
	r.retryAt = map[int64]time.Time{}
	r.mu.Unlock()
	p := tapPlan(tech, rec, true)
	p.Accounts[0].Due, p.Accounts[0].CurrentVersion = false, 1
	if sum := r.Sync(context.Background(), p); sum.Failed != 0 || len(d.issued) != 2 || len(h.taps) != 1 {
		t.Fatalf("retry %+v: issued %d, stored %d", sum, len(d.issued), len(h.taps))
	}

	for name, cfg := range map[string]struct {
		on  bool
		drv driver.Driver
	}{"not configured": {false, newTapDriver()}, "a driver without passes": {true, newFakeDriver()}} {
		h := &tapHub{recoveryHub: recoveryHub{fakeHub: fakeHub{plans: make(chan *wire.Plan, 1)}}}
		r, err := New(Config{Hub: h, NewDriver: func() (driver.Driver, error) { return cfg.drv, nil }, Parallelism: 1,
			Retry: time.Hour, Now: func() time.Time { return tapNow }, TemporaryAccess: cfg.on})
		if err != nil {
			t.Fatal(err)
		}
		if sum := r.Sync(context.Background(), tapPlan(tech, rec, true)); sum.Failed != 0 || sum.Rotated != 1 || len(h.taps) != 0 {
			t.Fatalf("%s: %+v, stored %d passes", name, sum, len(h.taps))
		}
	}
}
