package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/tmpfs"
	"github.com/watchword/watchword/shared/wire"
)

// The fake driver's JIT side: a disabled account without groups, its password checked without enabling it.
func (d *fakeDriver) EnsureDisabled(_ context.Context, a driver.Account) (driver.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, has := d.pw[a.Name]
	rep := driver.Report{NeedsPassword: !has, Disabled: !d.disabled[a.Name]}
	d.disabled[a.Name], d.groups[a.Name] = true, nil
	return rep, nil
}

func (d *fakeDriver) SetDisabledPassword(_ context.Context, name, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.disabled[name] {
		return errors.New("set disabled password: the account is enabled")
	}
	d.sets++
	d.pw[name] = pw
	return nil
}

func (d *fakeDriver) VerifyDisabled(_ context.Context, name, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.disabled[name] {
		return errors.New("verify disabled: the account is enabled")
	}
	if d.pw[name] != pw {
		return driver.ErrBadPassword
	}
	return nil
}

// Enable enables an account that has a password.
func (d *fakeDriver) Enable(_ context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, has := d.pw[name]; !has {
		return errors.New("enable: no password")
	}
	d.disabled[name] = false
	return nil
}

func (d *fakeDriver) state(name string) (disabled bool, groups []string, pw string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.disabled[name], d.groups[name], d.pw[name]
}

// recoveryHub is a fakeHub that also stages recovery-only versions, and records which were.
type recoveryHub struct {
	fakeHub
	rmu          sync.Mutex
	recoveryOnly []int64
}

func (h *recoveryHub) StageRecoveryOnlySigned(ctx context.Context, id, version int64, env, sig []byte) error {
	if err := h.fakeHub.StageSigned(ctx, id, version, env, sig); err != nil {
		return err
	}
	h.rmu.Lock()
	h.recoveryOnly = append(h.recoveryOnly, version)
	h.rmu.Unlock()
	return nil
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func jitPlan(t *testing.T, now time.Time, open bool) *wire.Plan {
	p := testPlan(t)
	p.Disable = nil
	a := p.Accounts[0]
	a.Groups = []string{"ops"}
	a.JIT = &wire.PlanJIT{Enabled: open, GrantID: 9}
	if open {
		a.JIT.ExpiresAt = now.Add(time.Minute)
		a.DueReason = wire.DueJITStart
	} else {
		a.Groups, a.Recipients = nil, nil
	}
	p.Accounts = []wire.PlanAccount{a}
	return p
}

// TestJITClosedAccount: outside its window the account is created disabled, gets no groups, and its password is
// staged recovery-only and verified without enabling it.
func TestJITClosedAccount(t *testing.T) {
	d, h := newFakeDriver(), &recoveryHub{fakeHub: fakeHub{plans: make(chan *wire.Plan, 1)}}
	r := newTestRunner(t, h, d)
	sum := r.Sync(context.Background(), jitPlan(t, time.Now(), false))
	if sum.Rotated != 1 || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	disabled, groups, pw := d.state("alice-tm")
	if !disabled || len(groups) != 0 || pw == "" {
		t.Fatalf("closed account: disabled %v groups %v password set %v", disabled, groups, pw != "")
	}
	if len(h.recoveryOnly) != 1 || len(h.staged) != 1 {
		t.Fatalf("staged %v, recovery-only %v", h.staged, h.recoveryOnly)
	}
	if len(h.reports) != 1 || h.reports[0].State != wire.AccountDisabled {
		t.Fatalf("reports %+v", h.reports)
	}
	// A hub client that cannot stage recovery-only versions rotates nothing.
	d2, plain := newFakeDriver(), &fakeHub{plans: make(chan *wire.Plan, 1)}
	if sum := newTestRunner(t, plain, d2).Sync(context.Background(), jitPlan(t, time.Now(), false)); sum.Rotated != 0 || sum.Failed != 1 {
		t.Fatalf("summary without recovery-only staging %+v", sum)
	}
	if _, _, pw := d2.state("alice-tm"); pw != "" || len(plain.staged) != 0 {
		t.Fatal("a password was set or staged sealed the wrong way")
	}
}

// TestJITExpiryAfterRestartWithoutHub: a window the agent learnt before it stopped is closed at expiry by the next
// run, from its state file and its own clock, while the hub does not answer at all.
func TestJITExpiryAfterRestartWithoutHub(t *testing.T) {
	// A fixed instant in UTC, as the hub's times come. In the machine's zone, when its offset has seconds, the
	// expiry would not survive jit.json exactly (RFC 3339 offsets have none) and would move by those seconds.
	clock := &testClock{t: time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC)}
	file := filepath.Join(t.TempDir(), "jit.json")
	d := newFakeDriver()
	h := &recoveryHub{fakeHub: fakeHub{plans: make(chan *wire.Plan, 1)}}
	cfg := Config{Hub: h, NewDriver: func() (driver.Driver, error) { return d, nil }, Parallelism: 1, Retry: time.Hour,
		Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, Now: clock.Now, JITStateFile: file}
	r1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum := r1.Sync(context.Background(), jitPlan(t, clock.Now(), true)); sum.Rotated != 1 || sum.Failed != 0 {
		t.Fatalf("open window pass %+v", sum)
	}
	if disabled, groups, _ := d.state("alice-tm"); disabled || len(groups) != 1 {
		t.Fatalf("open window: disabled %v groups %v", disabled, groups)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	// r1 "crashes": nothing of it runs any more. r2 starts with the hub down and the window still open.
	down := &recoveryHub{fakeHub: fakeHub{planErr: errors.New("connection refused")}}
	cfg.Hub = down
	r2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r2.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(300 * time.Millisecond)
	if disabled, _, _ := d.state("alice-tm"); disabled {
		t.Fatal("the restarted agent closed the window before its expiry")
	}
	clock.Add(time.Minute)
	deadline := time.Now().Add(3 * time.Second)
	for {
		disabled, groups, _ := d.state("alice-tm")
		if w, err := loadJIT(file); disabled && len(groups) == 0 && err == nil && len(w) == 0 { // forgotten only once closed
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not closed 3 s after expiry without the hub: disabled %v groups %v", disabled, groups)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(down.staged) != 0 {
		t.Fatal("staged without a hub")
	}
}

// TestJITWindowForgottenWhenStanding: an account whose triplet became standing during a window is not disabled at
// the old expiry.
func TestJITWindowForgottenWhenStanding(t *testing.T) {
	clock := &testClock{t: time.Now()}
	file := filepath.Join(t.TempDir(), "jit.json")
	d, h := newFakeDriver(), &recoveryHub{fakeHub: fakeHub{plans: make(chan *wire.Plan, 1)}}
	r, err := New(Config{Hub: h, NewDriver: func() (driver.Driver, error) { return d, nil }, Parallelism: 1, Retry: time.Hour,
		Now: clock.Now, JITStateFile: file})
	if err != nil {
		t.Fatal(err)
	}
	p := jitPlan(t, clock.Now(), true)
	r.Sync(context.Background(), p)
	if w, _ := loadJIT(file); len(w) != 1 {
		t.Fatalf("windows %+v", w)
	}
	p.Accounts[0].JIT, p.Accounts[0].Due = nil, false
	r.Sync(context.Background(), p)
	if w, _ := loadJIT(file); len(w) != 0 {
		t.Fatalf("a standing account's window is still kept: %+v", w)
	}
}

// TestSaveJITFullDisk: saving the windows on a full disk fails with an error, and the windows saved before stay
// readable, so a restarted agent still closes them at their expiry. Needs root (tmpfs.Mount).
func TestSaveJITFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, "64k")
	file := filepath.Join(dir, "jit.json")
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	before := map[int64]jitWindow{7: {AccountID: 7, AccountName: "jit-admin", ExpiresAt: expires}}
	if err := saveJIT(file, before); err != nil {
		t.Fatal(err)
	}
	tmpfs.Fill(t, dir, "filler")

	after := map[int64]jitWindow{7: before[7], 8: {AccountID: 8, AccountName: "jit-dba", ExpiresAt: expires}}
	if err := saveJIT(file, after); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("save on a full disk: %v; want ENOSPC", err)
	}
	got, err := loadJIT(file)
	if err != nil || !reflect.DeepEqual(got, before) {
		t.Fatalf("windows after the failed save: %+v, %v; want %+v", got, err, before)
	}
}

var _ driver.Driver = (*fakeDriver)(nil)
