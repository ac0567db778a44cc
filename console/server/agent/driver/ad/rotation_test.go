package ad_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/rotation/rotationtest"
)

func jobFor(name string, last int64) rotation.Job {
	return rotationtest.Job(rotation.Ref{Tenant: "tenant-test", Agent: "test.lan", Account: name}, last)
}

// lockoutCounter wraps the driver's Verify to count lockouts seen anywhere in a test.
type lockoutCounter struct {
	*ad.Driver
	lockouts atomic.Int64
}

func (l *lockoutCounter) Verify(ctx context.Context, name, pw string) error {
	err := l.Driver.Verify(ctx, name, pw)
	if errors.Is(err, driver.ErrLockedOut) {
		l.lockouts.Add(1)
	}
	return err
}

// faultyTarget injects target errors around the real set: before it is sent, or after it was applied.
type faultyTarget struct {
	rotation.Target
	before, after bool
}

func (f *faultyTarget) SetPassword(ctx context.Context, name, pw string) error {
	if f.before {
		return errors.New("injected: connection refused before the set")
	}
	if err := f.Target.SetPassword(ctx, name, pw); err != nil {
		return err
	}
	if f.after {
		return errors.New("injected: reply lost after the set")
	}
	return nil
}

// TestRotationInvariant runs the rotation cycle against the Samba DC with crashes at every step boundary and
// target failures on both sides of the set, and checks after each that the account's real password (a bind) is
// one that a stored envelope opens with the tech's identity.
func TestRotationInvariant(t *testing.T) {
	d, cfg := newDriver(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name := testName(t, cfg)
	if _, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops"}}); err != nil {
		t.Fatal(err)
	}
	target := &lockoutCounter{Driver: d}
	hub := rotationtest.NewHub()
	tech, _ := rotationtest.Keys()
	ref := jobFor(name, 0).Ref
	good := &rotation.Rotator{Hub: hub, Target: target}
	if _, err := good.Rotate(ctx, jobFor(name, 0)); err != nil {
		t.Fatalf("first rotation: %v", err)
	}
	check := func(when string) {
		t.Helper()
		if _, err := rotationtest.CheckInvariant(ctx, hub.Versions(ref), ref, tech, target.Verify); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	check("after the first rotation")

	const perPoint = 3
	trials := 0
	for _, p := range rotation.Points {
		for trial := range perPoint {
			crashing := &rotation.Rotator{Hub: hub, Target: target, Hook: rotationtest.CrashAt(p)}
			res, err := crashing.Rotate(ctx, jobFor(name, hub.LastVersion(ref)))
			if res.State != rotation.StateCrashed {
				t.Fatalf("%s trial %d: state %s (%v), want crashed", p, trial, res.State, err)
			}
			check(fmt.Sprintf("after a crash %s (trial %d)", p, trial))
			if _, err := good.RotateFresh(ctx, jobFor(name, hub.LastVersion(ref)), 3); err != nil {
				t.Fatalf("%s trial %d: recovery: %v", p, trial, err)
			}
			check(fmt.Sprintf("after recovering from %s (trial %d)", p, trial))
			trials++
		}
	}
	for _, f := range []*faultyTarget{{before: true}, {after: true}} {
		r := &rotation.Rotator{Hub: hub, Target: &faultyTarget{Target: target, before: f.before, after: f.after}}
		res, _ := r.Rotate(ctx, jobFor(name, hub.LastVersion(ref)))
		if res.State != rotation.StateUnresolved {
			t.Fatalf("injected set failure (before %v): state %s, want unresolved", f.before, res.State)
		}
		check(fmt.Sprintf("after an injected set failure (before %v)", f.before))
		if _, err := good.RotateFresh(ctx, jobFor(name, hub.LastVersion(ref)), 3); err != nil {
			t.Fatal(err)
		}
		check("after the fresh rotation")
	}
	t.Logf("crash points: %d, trials: %d, lockouts: %d", len(rotation.Points), trials, target.lockouts.Load())
	if n := target.lockouts.Load(); n != 0 {
		t.Fatalf("%d lockouts", n)
	}
}

// TestRotationRealLogins logs in as a user would, not by LDAP bind: after each of two rotations through the real
// cycle, the password the tech's envelope opens logs in over Kerberos (kinit) and SMB with NTLM (smbclient), the
// previous one is refused over both, and once the account is disabled its password is refused over both too.
func TestRotationRealLogins(t *testing.T) {
	d, cfg := newDriver(t)
	env := targets.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := testName(t, cfg)
	if _, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{"wwt-ops"}}); err != nil {
		t.Fatal(err)
	}
	hub := rotationtest.NewHub()
	tech, _ := rotationtest.Keys()
	ref := jobFor(name, 0).Ref
	r := &rotation.Rotator{Hub: hub, Target: d}
	logins := []struct {
		name  string
		login func(context.Context, targets.Env, string, string) error
	}{{"kerberos", targets.KerberosLogin}, {"smb", targets.SMBLogin}}

	var current string
	for round := 1; round <= 2; round++ {
		if _, err := r.Rotate(ctx, jobFor(name, hub.LastVersion(ref))); err != nil {
			t.Fatalf("rotation %d: %v", round, err)
		}
		opened, err := rotationtest.OpenAll(hub.Versions(ref), ref, tech)
		if err != nil || len(opened) != round {
			t.Fatalf("rotation %d: opened %d envelopes: %v", round, len(opened), err)
		}
		previous := current
		current = opened[0].Password
		if previous != "" && previous != opened[1].Password {
			t.Fatalf("rotation %d: the envelope before the newest does not hold the previous password", round)
		}
		for _, l := range logins {
			start := time.Now()
			if err := l.login(ctx, env, name, current); err != nil {
				t.Fatalf("rotation %d: %s login with the new password: %v", round, l.name, err)
			}
			t.Logf("rotation %d: %s login with the new password: %v", round, l.name, time.Since(start).Round(time.Millisecond))
			if previous == "" {
				continue
			}
			start = time.Now()
			err := l.login(ctx, env, name, previous)
			if !errors.Is(err, driver.ErrBadPassword) {
				t.Fatalf("rotation %d: %s login with the previous password: %v, want refused (%v)", round, l.name, err, driver.ErrBadPassword)
			}
			t.Logf("rotation %d: %s login with the previous password refused in %v: %v", round, l.name, time.Since(start).Round(time.Millisecond), err)
		}
	}

	if _, err := d.Disable(ctx, name); err != nil {
		t.Fatal(err)
	}
	for _, l := range logins {
		if err := l.login(ctx, env, name, current); !errors.Is(err, driver.ErrDisabled) {
			t.Fatalf("%s login on the disabled account: %v, want %v", l.name, err, driver.ErrDisabled)
		}
	}
}

// BenchmarkDriverSetVerify is the bare driver loop: set a new password and bind with it.
func BenchmarkDriverSetVerify(b *testing.B) {
	d, cfg := newDriver(b)
	ctx := context.Background()
	name := testName(b, cfg)
	if _, err := d.Ensure(ctx, driver.Account{Name: name}); err != nil {
		b.Fatal(err)
	}
	policy := rotation.DefaultPolicy(d.PasswordRules())
	for b.Loop() {
		pw, err := policy.Generate(name)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.SetPassword(ctx, name, pw); err != nil {
			b.Fatal(err)
		}
		if err := d.Verify(ctx, name, pw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}

// BenchmarkCycleMemHub is the full cycle (generate, seal to tech + recovery, stage, set, verify, confirm) with
// the in-memory hub: the cost the cycle adds over the bare driver loop.
func BenchmarkCycleMemHub(b *testing.B) {
	d, cfg := newDriver(b)
	ctx := context.Background()
	name := testName(b, cfg)
	if _, err := d.Ensure(ctx, driver.Account{Name: name}); err != nil {
		b.Fatal(err)
	}
	hub := rotationtest.NewHub()
	r := &rotation.Rotator{Hub: hub, Target: d}
	var last int64
	rotationtest.Keys()
	for b.Loop() {
		res, err := r.Rotate(ctx, jobFor(name, last))
		if err != nil {
			b.Fatal(err)
		}
		last = res.Version
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}

// BenchmarkCycleMemHubParallel runs the cycle on 4 accounts at once (one driver connection each): rotations per
// second per agent at a parallelism of 4 against one DC.
func BenchmarkCycleMemHubParallel(b *testing.B) {
	const par = 4
	_, cfg := newDriver(b)
	rotationtest.Keys()
	hub := rotationtest.NewHub()
	var next atomic.Int64
	names := make([]string, par*8)
	for i := range names {
		names[i] = testName(b, cfg)
	}
	b.SetParallelism(max(1, par/2)) // GOMAXPROCS is 2 here: 2×2 = 4 goroutines
	b.RunParallel(func(pb *testing.PB) {
		d, err := ad.New(cfg)
		if err != nil {
			b.Error(err)
			return
		}
		defer d.Close()
		ctx := context.Background()
		name := names[next.Add(1)-1]
		if _, err := d.Ensure(ctx, driver.Account{Name: name}); err != nil {
			b.Error(err)
			return
		}
		r := &rotation.Rotator{Hub: hub, Target: d}
		var last int64
		for pb.Next() {
			res, err := r.Rotate(ctx, jobFor(name, last))
			if err != nil {
				b.Error(err)
				return
			}
			last = res.Version
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}
