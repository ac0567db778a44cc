package agent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// fakeHub records calls; stageErr makes Stage fail.
type fakeHub struct {
	mu        sync.Mutex
	plans     chan *wire.Plan
	planErr   error
	stageErr  error
	staged    []int64
	stagedOf  []int64  // the account of each staged version
	envelopes [][]byte // and its envelope
	sigs      [][]byte // and the agent's signature over it
	reports   []wire.AccountReport
	polls     int
	last      *wire.Plan
}

func (h *fakeHub) PlanWait(ctx context.Context, since int64, wait time.Duration) (*wire.Plan, error) {
	h.mu.Lock()
	h.polls++
	err := h.planErr
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case p := <-h.plans:
		h.mu.Lock()
		h.last = p
		h.mu.Unlock()
		return p, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(20 * time.Millisecond):
		// A long poll that timed out: the same plan, unchanged.
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.last == nil {
			return &wire.Plan{Revision: since}, nil
		}
		// As the real hub: once rotated and disabled, nothing is due any more.
		p := *h.last
		p.Accounts = slices.Clone(p.Accounts)
		for i := range p.Accounts {
			p.Accounts[i].Due, p.Accounts[i].CurrentVersion = false, 1
		}
		p.Disable, p.Changed = nil, false
		h.last = &p
		return &p, nil
	}
}

func (h *fakeHub) StageSigned(_ context.Context, id, version int64, env, sig []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stageErr != nil {
		return h.stageErr
	}
	h.staged = append(h.staged, version)
	h.stagedOf = append(h.stagedOf, id)
	h.envelopes = append(h.envelopes, env)
	h.sigs = append(h.sigs, sig)
	return nil
}
func (h *fakeHub) Confirm(context.Context, int64, int64) error { return nil }
func (h *fakeHub) Fail(context.Context, int64, int64, string) error {
	return nil
}
func (h *fakeHub) ReportAccounts(_ context.Context, r []wire.AccountReport) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reports = append(h.reports, r...)
	return nil
}

// fakeDriver is an in-memory target that counts its calls.
type fakeDriver struct {
	mu       sync.Mutex
	pw       map[string]string
	groups   map[string][]string
	disabled map[string]bool
	sets     int
	ensures  int
	known    []string // groups that exist
}

func newFakeDriver() *fakeDriver {
	return &fakeDriver{pw: map[string]string{}, groups: map[string][]string{}, disabled: map[string]bool{}, known: []string{"ops", "dev"}}
}

func (d *fakeDriver) Kind() string                  { return "fake" }
func (d *fakeDriver) ValidateName(string) error     { return nil }
func (d *fakeDriver) PasswordRules() rotation.Rules { return rotation.RulesAD }
func (d *fakeDriver) Close() error                  { return nil }
func (d *fakeDriver) Ensure(_ context.Context, a driver.Account) (driver.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ensures++
	var rep driver.Report
	var g []string
	for _, x := range a.Groups {
		if slices.Contains(d.known, x) {
			g = append(g, x)
		} else {
			rep.Missing = append(rep.Missing, x)
		}
	}
	d.groups[a.Name] = g
	_, has := d.pw[a.Name]
	rep.NeedsPassword = !has
	d.disabled[a.Name] = !has
	return rep, nil
}
func (d *fakeDriver) SetPassword(_ context.Context, name, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sets++
	d.pw[name] = pw
	d.disabled[name] = false
	return nil
}
func (d *fakeDriver) Verify(_ context.Context, name, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pw[name] != pw {
		return driver.ErrBadPassword
	}
	return nil
}
func (d *fakeDriver) Disable(_ context.Context, name string) (driver.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.disabled[name] = true
	d.groups[name] = nil
	return driver.Report{Disabled: true}, nil
}

func (d *fakeDriver) Delete(_ context.Context, name string) (driver.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, had := d.pw[name]
	rep := driver.Report{Deleted: had, Removed: d.groups[name]}
	delete(d.pw, name)
	delete(d.groups, name)
	delete(d.disabled, name)
	return rep, nil
}

func testPlan(t *testing.T) *wire.Plan {
	t.Helper()
	tech, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return &wire.Plan{ClientGUID: "00000000-0000-0000-0000-000000000001", AgentID: 7, Revision: 3,
		Recovery: rec.Public().Recipient().String(), Policy: wire.DefaultPolicy(),
		Accounts: []wire.PlanAccount{
			{AccountID: 1, Username: "alice", AccountName: "alice-tm", Groups: []string{"ops", "ghost"}, Due: true,
				DueReason: wire.DueNew, Recipients: []string{tech.Public().Recipient().String()}},
			{AccountID: 2, Username: "bob", AccountName: "bob-tm", Groups: []string{"dev"}, Due: true,
				DueReason: wire.DueNew, Recipients: []string{tech.Public().Recipient().String()}},
		},
		Disable: []wire.PlanDisable{{AccountID: 3, AccountName: "carol-tm"}},
	}
}

func newTestRunner(t *testing.T, h HubClient, d *fakeDriver) *Runner {
	t.Helper()
	r, err := New(Config{Hub: h, NewDriver: func() (driver.Driver, error) { return d, nil }, Parallelism: 1,
		Retry: time.Hour, Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSyncEnsuresRotatesDisablesAndReportsMissingGroups(t *testing.T) {
	h, d := &fakeHub{}, newFakeDriver()
	r := newTestRunner(t, h, d)
	plan := testPlan(t)
	sum := r.Sync(context.Background(), plan)
	if sum.Rotated != 2 || sum.Disabled != 1 || sum.Failed != 0 || !slices.Equal(sum.Missing, []string{"ghost"}) {
		t.Fatalf("summary: %+v", sum)
	}
	if !slices.Equal(h.staged, []int64{1, 1}) || d.sets != 2 || !d.disabled["carol-tm"] {
		t.Fatalf("staged %v, sets %d, disabled %v", h.staged, d.sets, d.disabled)
	}
	byID := map[int64]wire.AccountReport{}
	for _, rep := range h.reports {
		byID[rep.AccountID] = rep
	}
	if byID[1].State != wire.AccountPresent || !strings.Contains(byID[1].Error, "ghost") || byID[2].Error != "" ||
		byID[3].State != wire.AccountDisabled {
		t.Fatalf("reports: %+v", h.reports)
	}

	// The same plan with nothing due costs the target nothing; a change of groups does.
	for i := range plan.Accounts {
		plan.Accounts[i].Due, plan.Accounts[i].CurrentVersion = false, 1
	}
	plan.Disable = nil
	ensures := d.ensures
	if sum := r.Sync(context.Background(), plan); sum.Ensured+sum.Rotated+sum.Deferred != 0 || d.ensures != ensures {
		t.Fatalf("unchanged plan: %+v, ensures %d → %d", sum, ensures, d.ensures)
	}
	plan.Accounts[1].Groups = []string{"ops"}
	if sum := r.Sync(context.Background(), plan); sum.Ensured != 1 || sum.Rotated != 0 || !slices.Equal(d.groups["bob-tm"], []string{"ops"}) {
		t.Fatalf("changed groups: %+v, groups %v", sum, d.groups)
	}
}

// TestNeverRotatesWithoutStaging: when the hub cannot take the envelope, nothing is set on the target, and the
// rest of the pass does not try.
func TestNeverRotatesWithoutStaging(t *testing.T) {
	h, d := &fakeHub{stageErr: errors.New("dial tcp 127.0.0.1:1: connection refused")}, newFakeDriver()
	r := newTestRunner(t, h, d)
	sum := r.Sync(context.Background(), testPlan(t))
	if d.sets != 0 {
		t.Fatalf("%d passwords set while the hub could not stage", d.sets)
	}
	if !sum.HubDown || sum.Rotated != 0 || sum.Failed+sum.Deferred != 2 {
		t.Fatalf("summary: %+v", sum)
	}
}

// A refusal by the hub (it answered) is not an outage: the other accounts still rotate.
func TestHubRefusalIsNotAnOutage(t *testing.T) {
	refusal := &hubclient.Error{Status: 400, Wire: wire.Error{Code: wire.CodeInvalid, Field: "version", Message: "must exceed"}}
	h, d := &fakeHub{stageErr: refusal}, newFakeDriver()
	r := newTestRunner(t, h, d)
	sum := r.Sync(context.Background(), testPlan(t))
	if sum.HubDown || sum.Failed != 2 || d.sets != 0 {
		t.Fatalf("summary: %+v, sets %d", sum, d.sets)
	}
	// Failed accounts wait for their retry time instead of being hammered on every poll.
	if sum := r.Sync(context.Background(), testPlan(t)); sum.Deferred != 2 || sum.Failed != 0 {
		t.Fatalf("second pass: %+v", sum)
	}
}

func TestRunBacksOffAndKeepsLastPlan(t *testing.T) {
	h, d := &fakeHub{plans: make(chan *wire.Plan, 1)}, newFakeDriver()
	r := newTestRunner(t, h, d)
	plan := testPlan(t)
	h.plans <- plan
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Rotated < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	h.mu.Lock()
	h.planErr = errors.New("connection refused")
	h.mu.Unlock()
	for r.Stats().PollErrors < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Rotated != 2 || st.PollErrors < 5 {
		t.Fatalf("stats: %+v", st)
	}
	if last := r.LastPlan(); last == nil || last.Revision != plan.Revision || len(last.Accounts) != 2 {
		t.Fatalf("the last plan was dropped during the outage: %+v", last)
	}
}

func TestBackoffGrowsWithJitterAndCaps(t *testing.T) {
	b := Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	var got []time.Duration
	for range 8 {
		got = append(got, b.Next())
	}
	for i, d := range got {
		ceil := min(10*time.Millisecond<<i, 80*time.Millisecond)
		if d < 10*time.Millisecond || d > ceil {
			t.Fatalf("wait %d = %s, want in [10ms, %s]", i, d, ceil)
		}
	}
	if b.Failures() != 8 {
		t.Fatalf("failures %d", b.Failures())
	}
	// Jitter: many draws at the cap are not all equal.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[b.Next()] = true
	}
	if len(seen) < 5 {
		t.Fatalf("no jitter: %v", seen)
	}
	b.Reset()
	if d := b.Next(); d != 10*time.Millisecond {
		t.Fatalf("after reset: %s", d)
	}
}

// TestDefaultBackoffResumesAfterAFailover: however long the hub or its database was away, an agent asks again
// within 15 s, so rotations resume soon after a database failover (about ten seconds under Patroni).
func TestDefaultBackoffResumesAfterAFailover(t *testing.T) {
	b := DefaultBackoff()
	for i := range 40 {
		if d := b.Next(); d > 15*time.Second {
			t.Fatalf("wait after %d failures = %s, want at most 15s", i+1, d)
		}
	}
}

func TestLockIsExclusiveAndReleased(t *testing.T) {
	dir := t.TempDir()
	l1, err := AcquireLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireLock(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := AcquireLock(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}

func TestClipKeepsUTF8(t *testing.T) {
	s := strings.Repeat("é", 400)
	c := clip(s)
	if len(c) > 500 || !strings.HasSuffix(c, "…") || strings.ContainsRune(c, '\uFFFD') {
		t.Fatalf("clip: %d bytes", len(c))
	}
}
