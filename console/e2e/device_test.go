package e2e_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
	tvm "github.com/watchword/watchword/techclient/vm"
)

// device is one technician's TechClient: the view-model its screens render, with its own directory and keyring.
type device struct {
	username, org string
	dir           string
	ring          *keyringtest.Memory
	app           *tvm.App
	techID        int64
}

func newDevice(dir, username, org string) *device {
	d := &device{username: username, org: org, dir: dir, ring: keyringtest.New()}
	d.app = tvm.New(tvm.Options{Dir: dir, Keyring: d.ring, ScryptWorkFactor: 10, Do: func(f func()) { f() },
		Settings: func() tvm.Settings { s := tvm.DefaultSettings(); s.LockAfter = 0; return s },
		Wait:     10 * time.Second, Retry: 200 * time.Millisecond, Tick: time.Second})
	d.app.Start()
	return d
}

// register fills in the first-run form with the invite, as a technician pastes it, and waits for Pending.
func (d *device) register(ctx context.Context, inv wire.Invite) error {
	if _, err := waitFor(10*time.Second, func() bool { return d.app.Current() == tvm.StateUnregistered }); err != nil {
		return fmt.Errorf("%s: first-run screen: %w (state %s)", d.username, err, d.app.Current())
	}
	err := d.app.Register(ctx, tvm.Registration{Invite: inv.String(), Username: d.username, DisplayName: d.username,
		Email: d.username + "@example.com", Organization: d.org})
	if err != nil {
		return fmt.Errorf("register %s: %w", d.username, err)
	}
	if d.app.Current() != tvm.StatePending {
		return fmt.Errorf("register %s: state %s, want pending", d.username, d.app.Current())
	}
	return nil
}

// enrol confirms the authenticator on the enrol screen a co-managed tech meets once active, with the code an
// authenticator app computes from the key the screen shows.
func (d *device) enrol(ctx context.Context, timeout time.Duration) error {
	var secret string
	if _, err := waitFor(timeout, func() bool {
		secret, _ = d.app.TOTPSecret.Get()
		return d.app.Current() == tvm.StateEnrol && secret != ""
	}); err != nil {
		return fmt.Errorf("%s: enrol screen: %w (state %s)", d.username, err, d.app.Current())
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		return err
	}
	if err := d.app.SubmitCode(ctx, code); err != nil {
		return fmt.Errorf("%s: confirm the authenticator: %w", d.username, err)
	}
	return nil
}

func (d *device) fingerprint() string { s, _ := d.app.Fingerprint.Get(); return s }

// identity reads the device key from the device's keyring: only for proving what the hub refuses to this device.
func (d *device) identity() (*seal.Identity, error) {
	st, err := keystore.New(keystore.Options{Service: "watchword-techclient", Dir: d.dir, Keyring: d.ring})
	if err != nil {
		return nil, err
	}
	v, _, err := st.Load("device")
	if err != nil {
		return nil, err
	}
	return seal.ParseIdentity(v)
}

// rows are the accounts the TechClient lists.
func (d *device) rows() []*tvm.Row { return d.app.Visible() }

// row returns the listed account on host, or nil.
func (d *device) row(host string) *tvm.Row {
	for _, r := range d.rows() {
		if r.Host == host {
			return r
		}
	}
	return nil
}

// hosts waits until the TechClient lists exactly one confirmed account on each of hosts and nothing else.
func (d *device) hosts(timeout time.Duration, hosts ...string) (time.Duration, error) {
	el, err := waitFor(timeout, func() bool {
		rs := d.rows()
		if len(rs) != len(hosts) {
			return false
		}
		for _, h := range hosts {
			if r := d.row(h); r == nil || !r.Confirmed || r.Rotating {
				return false
			}
		}
		return true
	})
	if err != nil {
		return el, fmt.Errorf("%s lists %v, want one confirmed account on each of %v: %w", d.username, d.rows(), hosts, err)
	}
	return el, nil
}

// reveal opens the shown password of the account on host, as the Reveal button does (and reports it).
func (d *device) reveal(host string) (string, *tvm.Row, error) {
	r := d.row(host)
	if r == nil {
		return "", nil, fmt.Errorf("%s has no account on %s", d.username, host)
	}
	pw, err := d.app.Reveal(r.AccountID)
	if err != nil {
		return "", r, fmt.Errorf("%s reveal on %s: %w", d.username, host, err)
	}
	d.app.Hide()
	reveals.Add(1)
	return pw, r, nil
}

// reveals counts the passwords revealed in the run: each is a credential.reveal event in the audit log.
var reveals atomic.Int64

// waitFor polls cond every 2 ms for up to d; it returns how long it took.
func waitFor(d time.Duration, cond func() bool) (time.Duration, error) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), nil
		}
		if time.Since(start) > d {
			return time.Since(start), fmt.Errorf("not within %v", d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
