// Package keystore keeps a device's private keys: in the OS keyring where
// there is one, in a passphrase-sealed file where there is not.
//
// The OS keyring is reached through zalando/go-keyring: the Secret Service
// over D-Bus on Linux (gnome-keyring, KWallet), the Keychain on macOS and the
// Credential Manager on Windows. A headless Linux box often has none, or has
// one that is locked and would need a graphical prompt. Every keyring failure
// (no D-Bus, no Secret Service, locked collection, no answer within
// [Options.Timeout]) makes the [Store] fall back to a file in the directory
// the caller chose, sealed with age's scrypt passphrase recipient and written
// with mode 0600. A secret is never written to disk unsealed.
//
// Save and Load report the [Backend] they used, and Probe says which one is in
// use and why, so the application can tell the user where their key lives:
//
//	st, _ := keystore.New(keystore.Options{Service: "watchword-techclient", Dir: dir, Passphrase: ask})
//	id, backend, err := keystore.LoadOrCreateIdentity(st, "device")
//	// show backend.Describe() in the settings view
//
// The fallback file is a plain age file, so `age -d device.age` opens it with
// the passphrase should the application ever be unable to.
package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"time"

	"filippo.io/age"
	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/seal"
	"github.com/zalando/go-keyring"
)

// Sentinel errors for errors.Is.
var (
	// ErrNotFound: no secret of that name in the keyring or the file store.
	ErrNotFound = errors.New("not found")
	// ErrKeyringUnavailable: the OS keyring did not answer or refused; the
	// store uses the passphrase file instead.
	ErrKeyringUnavailable = errors.New("os keyring unavailable")
	// ErrNoPassphrase: the file store is needed but no passphrase was given.
	ErrNoPassphrase = errors.New("no passphrase")
	// ErrWrongPassphrase: the passphrase does not open the sealed file.
	ErrWrongPassphrase = errors.New("wrong passphrase")
)

// Backend says where a secret is kept.
type Backend string

const (
	// BackendKeyring is the OS keyring.
	BackendKeyring Backend = "keyring"
	// BackendFile is a passphrase-sealed file.
	BackendFile Backend = "file"
)

// Describe returns a sentence for the user naming where keys are kept.
func (b Backend) Describe() string {
	switch b {
	case BackendKeyring:
		switch runtime.GOOS {
		case "darwin":
			return "Your device key is kept in the macOS Keychain."
		case "windows":
			return "Your device key is kept in the Windows Credential Manager."
		default:
			return "Your device key is kept in the system keyring (Secret Service)."
		}
	case BackendFile:
		return "No system keyring is available: your device key is kept in a file sealed with your passphrase."
	}
	return "Your device key's location is unknown."
}

// Keyring is the part of an OS keyring the store uses. Get returns an error
// wrapping keyring.ErrNotFound (zalando/go-keyring) when there is no such item;
// any other error means the keyring is unavailable.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// OSKeyring is the real OS keyring through zalando/go-keyring.
//
// On Linux and the BSDs it first checks that a D-Bus session bus is
// advertised (DBUS_SESSION_BUS_ADDRESS, or a socket at $XDG_RUNTIME_DIR/bus).
// Without one, the D-Bus library would "autolaunch" a bus with dbus-launch,
// and that bus would start a gnome-keyring-daemon: two daemons that outlive
// the application on a headless machine, for a keyring that is locked anyway.
type OSKeyring struct{}

var _ Keyring = OSKeyring{}

func (OSKeyring) Get(service, user string) (string, error) {
	if err := sessionBus(); err != nil {
		return "", err
	}
	return keyring.Get(service, user)
}

func (OSKeyring) Set(service, user, secret string) error {
	if err := sessionBus(); err != nil {
		return err
	}
	return keyring.Set(service, user, secret)
}

func (OSKeyring) Delete(service, user string) error {
	if err := sessionBus(); err != nil {
		return err
	}
	return keyring.Delete(service, user)
}

// errNoSessionBus: go-keyring would need D-Bus and none is advertised.
var errNoSessionBus = errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus does not exist)")

func sessionBus() error {
	switch runtime.GOOS {
	case "darwin", "windows", "ios", "android", "plan9", "js", "wasip1":
		return nil
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		if fi, err := os.Stat(filepath.Join(dir, "bus")); err == nil && fi.Mode().Type() == os.ModeSocket {
			return nil
		}
	}
	return errNoSessionBus
}

// noKeyring is the Keyring of a store told to use files only.
type noKeyring struct{}

var errDisabled = errors.New("disabled by configuration")

func (noKeyring) Get(string, string) (string, error) { return "", errDisabled }
func (noKeyring) Set(string, string, string) error   { return errDisabled }
func (noKeyring) Delete(string, string) error        { return errDisabled }

// NoKeyring makes a store use the passphrase file only.
var NoKeyring Keyring = noKeyring{}

// Options configure a [Store].
type Options struct {
	// Service names the application in the keyring, e.g. "watchword-techclient".
	Service string
	// Dir holds the passphrase-sealed fallback files; created with mode 0700.
	Dir string
	// Keyring defaults to [OSKeyring]; tests inject their own, [NoKeyring]
	// disables it.
	Keyring Keyring
	// Passphrase asks the user for the passphrase of the fallback file; create
	// is true when a new file is about to be sealed (ask twice). Nil means no
	// passphrase can be had, and the file store fails with ErrNoPassphrase.
	Passphrase func(create bool) (string, error)
	// ScryptWorkFactor is the log2 scrypt cost for new files; 0 means
	// [DefaultScryptWorkFactor]. A file records its own, so opening does not
	// depend on it (age accepts up to 22).
	ScryptWorkFactor int
	// Timeout bounds each keyring call, so a keyring waiting on a prompt that
	// nobody will answer cannot hang the application; 0 means 10 seconds.
	Timeout time.Duration
}

// Store keeps named secrets in the OS keyring or, failing that, in sealed
// files. It is safe for concurrent use if its Keyring and Passphrase are.
type Store struct {
	o Options
}

// New returns a store for o. It does not touch the keyring or the disk yet.
func New(o Options) (*Store, error) {
	if o.Service == "" {
		return nil, errors.New("keystore: empty service name")
	}
	if o.Dir == "" {
		return nil, fmt.Errorf("keystore %q: empty fallback directory", o.Service)
	}
	if o.Keyring == nil {
		o.Keyring = OSKeyring{}
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return &Store{o: o}, nil
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("keystore: secret name %q: use 1-64 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

// ring runs one keyring call with the store's timeout. A call that times out
// keeps running in its goroutine; the keyring library offers no way to cancel.
func (s *Store) ring(op func(Keyring) (string, error)) (string, error) {
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := op(s.o.Keyring)
		ch <- result{v, err}
	}()
	t := time.NewTimer(s.o.Timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		return "", fmt.Errorf("no answer within %v", s.o.Timeout)
	}
}

func (s *Store) unavailable(err error) error {
	return fmt.Errorf("keystore %q: %w: %v", s.o.Service, ErrKeyringUnavailable, err)
}

// probeUser is a name no secret uses: looking it up tells a working keyring
// (not found) from a broken one (any other error).
const probeUser = "watchword-keystore-probe"

// Probe reports which backend the store uses now. When it is the file, the
// error (wrapping ErrKeyringUnavailable) says why the keyring cannot be used,
// for the user to read.
func (s *Store) Probe() (Backend, error) {
	_, err := s.ring(func(k Keyring) (string, error) { return k.Get(s.o.Service, probeUser) })
	if err == nil || errors.Is(err, keyring.ErrNotFound) {
		return BackendKeyring, nil
	}
	return BackendFile, s.unavailable(err)
}

// Save stores secret under name, in the keyring if it answers, else in the
// sealed file, and reports which.
func (s *Store) Save(name, secret string) (Backend, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	_, kerr := s.ring(func(k Keyring) (string, error) { return "", k.Set(s.o.Service, name, secret) })
	if kerr == nil {
		// A file left from a time without keyring would shadow nothing, but
		// it would keep an old key around: remove it.
		if rerr := os.Remove(s.path(name)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return BackendKeyring, fmt.Errorf("keystore %q: remove old file %q: %w", s.o.Service, name, rerr)
		}
		return BackendKeyring, nil
	}
	if err := s.saveFile(name, secret); err != nil {
		return BackendFile, errors.Join(err, s.unavailable(kerr))
	}
	return BackendFile, nil
}

// Load returns the secret saved under name and where it was found. It looks
// in the keyring first, then in the sealed file. A name in neither gives an
// error wrapping ErrNotFound.
func (s *Store) Load(name string) (string, Backend, error) {
	if err := checkName(name); err != nil {
		return "", "", err
	}
	v, kerr := s.ring(func(k Keyring) (string, error) { return k.Get(s.o.Service, name) })
	if kerr == nil {
		return v, BackendKeyring, nil
	}
	v, err := s.loadFile(name)
	if err != nil {
		if errors.Is(err, ErrNotFound) && !errors.Is(kerr, keyring.ErrNotFound) {
			// Not in a file, and the keyring could not say: report both.
			return "", BackendFile, errors.Join(err, s.unavailable(kerr))
		}
		return "", BackendFile, err
	}
	return v, BackendFile, nil
}

// Delete removes name from the keyring and the file store. Deleting a name
// that is in neither is not an error; a keyring that does not answer is
// (ErrKeyringUnavailable), even though the file is removed, because the name
// may still be in it.
func (s *Store) Delete(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	var errs []error
	_, err := s.ring(func(k Keyring) (string, error) { return "", k.Delete(s.o.Service, name) })
	if err != nil && !errors.Is(err, keyring.ErrNotFound) && !errors.Is(err, errDisabled) {
		errs = append(errs, s.unavailable(err))
	}
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("keystore %q: delete file %q: %w", s.o.Service, name, err))
	}
	return errors.Join(errs...)
}

// Path returns the fallback file for name (it may not exist).
func (s *Store) Path(name string) string { return s.path(name) }

func (s *Store) path(name string) string { return filepath.Join(s.o.Dir, name+".age") }

func (s *Store) passphrase(create bool) (string, error) {
	if s.o.Passphrase == nil {
		return "", fmt.Errorf("keystore %q: %w", s.o.Service, ErrNoPassphrase)
	}
	p, err := s.o.Passphrase(create)
	if err != nil {
		return "", fmt.Errorf("keystore %q: passphrase: %w", s.o.Service, err)
	}
	if p == "" {
		return "", fmt.Errorf("keystore %q: %w", s.o.Service, ErrNoPassphrase)
	}
	return p, nil
}

func (s *Store) saveFile(name, secret string) error {
	pass, err := s.passphrase(true)
	if err != nil {
		return err
	}
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return fmt.Errorf("keystore %q: seal %q: %w", s.o.Service, name, err)
	}
	wf := s.o.ScryptWorkFactor
	if wf <= 0 {
		wf = DefaultScryptWorkFactor
	}
	r.SetWorkFactor(wf)
	// Seal in memory first: nothing unsealed ever reaches the disk.
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err == nil {
		_, err = io.WriteString(w, secret)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return fmt.Errorf("keystore %q: seal %q: %w", s.o.Service, name, err)
	}
	if err := os.MkdirAll(s.o.Dir, 0o700); err != nil {
		return fmt.Errorf("keystore %q: %w", s.o.Service, err)
	}
	if err := atomicfile.Write(s.path(name), buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("keystore %q: %w", s.o.Service, err)
	}
	return nil
}

func (s *Store) loadFile(name string) (string, error) {
	data, err := os.ReadFile(s.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("keystore %q: secret %q: %w", s.o.Service, name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("keystore %q: %w", s.o.Service, err)
	}
	pass, err := s.passphrase(false)
	if err != nil {
		return "", err
	}
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return "", fmt.Errorf("keystore %q: open %q: %w", s.o.Service, name, err)
	}
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		if _, ok := errors.AsType[*age.NoIdentityMatchError](err); ok {
			return "", fmt.Errorf("keystore %q: open %q: %w", s.o.Service, name, ErrWrongPassphrase)
		}
		return "", fmt.Errorf("keystore %q: open %q: %w", s.o.Service, name, err)
	}
	v, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("keystore %q: open %q: %w", s.o.Service, name, err)
	}
	return string(v), nil
}

// LoadOrCreateIdentity loads the device identity saved under name, or, on a
// first run, generates one on this device and saves it. It reports where the
// identity is kept.
func LoadOrCreateIdentity(s *Store, name string) (*seal.Identity, Backend, error) {
	v, b, err := s.Load(name)
	if err == nil {
		id, err := seal.ParseIdentity(v)
		if err != nil {
			return nil, b, fmt.Errorf("keystore %q: identity %q: %w", s.o.Service, name, err)
		}
		return id, b, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, b, err
	}
	id, err := seal.GenerateIdentity()
	if err != nil {
		return nil, "", err
	}
	b, err = s.Save(name, id.String())
	if err != nil {
		return nil, b, err
	}
	return id, b, nil
}
