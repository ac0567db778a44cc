// Package rotationtest holds in-memory fakes of the hub and of a target for tests and benchmarks of the rotation
// cycle, the invariant check that every fault-injection test ends with (the password on the target is one that a
// stored, not failed, envelope opens), and what those tests share: the keys, a job sealed to them, a crash hook.
package rotationtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"filippo.io/age"

	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
)

// VersionStatus is a stored version's standing at the fake hub.
type VersionStatus int

const (
	Staged VersionStatus = iota
	Confirmed
	Failed
)

func (s VersionStatus) String() string {
	return [...]string{"staged", "confirmed", "failed"}[s]
}

// Version is one stored envelope.
type Version struct {
	Version  int64
	Envelope []byte
	Status   VersionStatus
	Reason   string
}

// ErrConflict is returned by Stage for a version the hub already holds.
var ErrConflict = errors.New("version already staged")

// Hub is an in-memory [rotation.Hub]. The Err* hooks, when set, make the matching call fail before it changes
// anything (StageErrAfter: after it stored the envelope, as a lost reply would).
type Hub struct {
	mu       sync.Mutex
	versions map[rotation.Ref][]*Version

	StageErr      func(rotation.Staged) error
	StageErrAfter func(rotation.Staged) error
	ConfirmErr    func(rotation.Ref, int64) error
	FailErr       func(rotation.Ref, int64) error

	Calls struct{ Stage, Confirm, Fail int }
}

var _ rotation.Hub = (*Hub)(nil)

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{versions: map[rotation.Ref][]*Version{}} }

func (h *Hub) find(ref rotation.Ref, v int64) *Version {
	for _, x := range h.versions[ref] {
		if x.Version == v {
			return x
		}
	}
	return nil
}

func (h *Hub) Stage(_ context.Context, s rotation.Staged) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Calls.Stage++
	if h.StageErr != nil {
		if err := h.StageErr(s); err != nil {
			return err
		}
	}
	if h.find(s.Ref, s.Version) != nil {
		return fmt.Errorf("stage %q version %d: %w", s.Account, s.Version, ErrConflict)
	}
	h.versions[s.Ref] = append(h.versions[s.Ref], &Version{Version: s.Version, Envelope: slices.Clone(s.Envelope)})
	if h.StageErrAfter != nil {
		return h.StageErrAfter(s)
	}
	return nil
}

func (h *Hub) Confirm(_ context.Context, ref rotation.Ref, v int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Calls.Confirm++
	if h.ConfirmErr != nil {
		if err := h.ConfirmErr(ref, v); err != nil {
			return err
		}
	}
	x := h.find(ref, v)
	if x == nil {
		return fmt.Errorf("confirm %q version %d: not staged", ref.Account, v)
	}
	if x.Status == Failed {
		return fmt.Errorf("confirm %q version %d: marked failed", ref.Account, v)
	}
	x.Status = Confirmed
	return nil
}

func (h *Hub) Fail(_ context.Context, ref rotation.Ref, v int64, reason string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Calls.Fail++
	if h.FailErr != nil {
		if err := h.FailErr(ref, v); err != nil {
			return err
		}
	}
	x := h.find(ref, v)
	if x == nil {
		return nil // never stored: nothing to mark
	}
	if x.Status == Confirmed {
		return fmt.Errorf("fail %q version %d: already confirmed", ref.Account, v)
	}
	x.Status, x.Reason = Failed, reason
	return nil
}

// Versions returns copies of the account's stored versions, oldest first.
func (h *Hub) Versions(ref rotation.Ref) []Version {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Version
	for _, x := range h.versions[ref] {
		out = append(out, *x)
	}
	return out
}

// LastVersion is the highest stored version of the account, whatever its status (what a plan would carry).
func (h *Hub) LastVersion(ref rotation.Ref) int64 {
	var last int64
	for _, v := range h.Versions(ref) {
		last = max(last, v.Version)
	}
	return last
}

// Target is an in-memory [rotation.Target]: account → password, with failure hooks.
type Target struct {
	mu        sync.Mutex
	passwords map[string]string
	history   map[string][]string

	SetErr      func(account string) error // before applying
	SetErrAfter func(account string) error // after applying (a lost reply)
	VerifyErr   func(account string) error
	BadVerifies int // verifications with a password other than the current one: what lockout counts
	SetCalls    int
	VerifyCalls int
}

var _ rotation.Target = (*Target)(nil)

// NewTarget returns a target without accounts.
func NewTarget() *Target {
	return &Target{passwords: map[string]string{}, history: map[string][]string{}}
}

func (t *Target) SetPassword(_ context.Context, account, password string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.SetCalls++
	if t.SetErr != nil {
		if err := t.SetErr(account); err != nil {
			return err
		}
	}
	t.passwords[account] = password
	t.history[account] = append(t.history[account], password)
	if t.SetErrAfter != nil {
		return t.SetErrAfter(account)
	}
	return nil
}

// ErrBadPassword is what Verify returns for a wrong password.
var ErrBadPassword = errors.New("invalid credentials")

func (t *Target) Verify(_ context.Context, account, password string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.VerifyCalls++
	if t.VerifyErr != nil {
		if err := t.VerifyErr(account); err != nil {
			return err
		}
	}
	if cur, ok := t.passwords[account]; !ok || cur != password {
		t.BadVerifies++
		return fmt.Errorf("verify %q: %w", account, ErrBadPassword)
	}
	return nil
}

// Password returns what the target holds for account (tests only).
func (t *Target) Password(account string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.passwords[account]
	return p, ok
}

// History returns every password ever set on account, in order.
func (t *Target) History(account string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.history[account])
}

// Opened is one envelope that opened.
type Opened struct {
	Version  int64
	Status   VersionStatus
	Password string
}

// OpenAll opens every stored, not-failed envelope of ref with identity, newest first. An envelope that does not
// open is an error: the hub must hold nothing its owner cannot read.
func OpenAll(versions []Version, ref rotation.Ref, identity age.Identity) ([]Opened, error) {
	var out []Opened
	var errs []error
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		if v.Status == Failed {
			continue
		}
		ctx := seal.Context{Tenant: ref.Tenant, Agent: ref.Agent, Account: ref.Account, Version: v.Version}
		pw, err := seal.Open(v.Envelope, ctx, identity)
		if err != nil {
			errs = append(errs, fmt.Errorf("open %q version %d: %w", ref.Account, v.Version, err))
			continue
		}
		out = append(out, Opened{Version: v.Version, Status: v.Status, Password: string(pw)})
	}
	return out, errors.Join(errs...)
}

// CheckInvariant is the no-lockout invariant: verify (bind / login) finds that the target's password is one that
// a stored, not-failed envelope opens. It tries the newest envelopes first and stops at the first success, so a
// lockout-counting target sees as few wrong attempts as possible. It returns the matching version.
func CheckInvariant(ctx context.Context, versions []Version, ref rotation.Ref, identity age.Identity,
	verify func(ctx context.Context, account, password string) error) (int64, error) {
	var errs []error
	tried := 0
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		if v.Status == Failed {
			continue
		}
		opened, err := OpenAll(versions[i:i+1], ref, identity)
		if err != nil {
			return 0, err
		}
		tried++
		if err := verify(ctx, ref.Account, opened[0].Password); err != nil {
			errs = append(errs, fmt.Errorf("version %d (%s): %w", v.Version, v.Status, err))
			continue
		}
		return v.Version, nil
	}
	return 0, fmt.Errorf("invariant broken for %q: no stored envelope opens the target's password (%d tried): %w",
		ref.Account, tried, errors.Join(errs...))
}

// Keys returns a tech's identity and the recovery identity, generated once per test binary: generating hybrid
// keys costs more than most tests.
func Keys() (*seal.Identity, *age.HybridIdentity) { return keys() }

var keys = sync.OnceValues(func() (*seal.Identity, *age.HybridIdentity) {
	tech, err := seal.GenerateIdentity()
	if err != nil {
		panic(err)
	}
	recovery, err := age.GenerateHybridIdentity()
	if err != nil {
		panic(err)
	}
	return tech, recovery
})

// Job is a rotation of ref after version last, sealed to the tech and the recovery identity of [Keys], with the
// default policy for Active Directory's rules.
func Job(ref rotation.Ref, last int64) rotation.Job {
	tech, recovery := Keys()
	return rotation.Job{
		Ref:         ref,
		LastVersion: last,
		Recipients:  []age.Recipient{tech.Public().Recipient()},
		Recovery:    recovery.Recipient(),
		Policy:      rotation.DefaultPolicy(rotation.RulesAD),
	}
}

// CrashAt is a [rotation.Hook] that stops the cycle at point p, as a kill -9 there would.
func CrashAt(p rotation.Point) rotation.Hook {
	return func(_ context.Context, at rotation.Point, _ rotation.Ref, _ int64) error {
		if at == p {
			return errors.New("kill -9")
		}
		return nil
	}
}
