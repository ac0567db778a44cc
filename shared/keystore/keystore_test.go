package keystore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/watchword/watchword/internal/testsupport/keyringtest"
)

// brokenRing fails as go-keyring does without a usable Secret Service.
type brokenRing struct{}

var errBroken = errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'")

func (brokenRing) Get(string, string) (string, error) { return "", errBroken }
func (brokenRing) Set(string, string, string) error   { return errBroken }
func (brokenRing) Delete(string, string) error        { return errBroken }

// hangingRing never answers, like a keyring waiting on an unlock prompt.
type hangingRing struct{ release chan struct{} }

func (h hangingRing) Get(string, string) (string, error) { <-h.release; return "", errBroken }
func (h hangingRing) Set(string, string, string) error   { <-h.release; return errBroken }
func (h hangingRing) Delete(string, string) error        { <-h.release; return errBroken }

const testSecret = "WW1SECRET.not-a-real-key-but-treated-as-one.AGE-SECRET-KEY-PQ-1TESTTESTTEST"

func fixedPassphrase(p string) func(bool) (string, error) {
	return func(bool) (string, error) { return p, nil }
}

func newStore(t *testing.T, ring Keyring, pass func(bool) (string, error)) *Store {
	t.Helper()
	s, err := New(Options{
		Service:          "watchword-test",
		Dir:              filepath.Join(t.TempDir(), "keys"),
		Keyring:          ring,
		Passphrase:       pass,
		ScryptWorkFactor: 10, // fast tests; the default is 18
		Timeout:          2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeyringPreferred(t *testing.T) {
	ring := keyringtest.New()
	s := newStore(t, ring, nil) // no passphrase needed with a keyring
	if b, err := s.Probe(); b != BackendKeyring || err != nil {
		t.Fatalf("Probe = %s, %v", b, err)
	}
	b, err := s.Save("device", testSecret)
	if err != nil || b != BackendKeyring {
		t.Fatalf("Save = %s, %v", b, err)
	}
	if v, _ := ring.Get("watchword-test", "device"); v != testSecret {
		t.Fatal("secret not in the keyring")
	}
	if _, err := os.Stat(s.Path("device")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file was written although the keyring works: %v", err)
	}
	v, b, err := s.Load("device")
	if err != nil || v != testSecret || b != BackendKeyring {
		t.Fatalf("Load = %s, %v", b, err)
	}
	if err := s.Delete("device"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load("device"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete("device"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestFileFallback(t *testing.T) {
	var creates []bool
	pass := func(create bool) (string, error) {
		creates = append(creates, create)
		return "correct horse", nil
	}
	s := newStore(t, brokenRing{}, pass)

	b, err := s.Probe()
	if b != BackendFile || !errors.Is(err, ErrKeyringUnavailable) || !strings.Contains(err.Error(), "unlock") {
		t.Fatalf("Probe = %s, %v; want file and the keyring's reason", b, err)
	}
	b, err = s.Save("device", testSecret)
	if err != nil || b != BackendFile {
		t.Fatalf("Save = %s, %v", b, err)
	}
	fi, err := os.Stat(s.Path("device"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(s.Path("device")))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, %v; want 0700", di.Mode().Perm(), err)
	}
	data, err := os.ReadFile(s.Path("device"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("AGE-SECRET-KEY")) || bytes.Contains(data, []byte("not-a-real-key")) {
		t.Fatal("the secret is written in clear")
	}
	// The file is a standard age passphrase file: age opens it.
	id, _ := age.NewScryptIdentity("correct horse")
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		t.Fatalf("age cannot open the file: %v", err)
	}
	if got, _ := io.ReadAll(r); string(got) != testSecret {
		t.Fatal("file does not hold the secret")
	}
	entries, _ := os.ReadDir(filepath.Dir(s.Path("device")))
	if len(entries) != 1 {
		t.Fatalf("dir holds %d entries, want 1 (no temporary files left)", len(entries))
	}

	v, b, err := s.Load("device")
	if err != nil || v != testSecret || b != BackendFile {
		t.Fatalf("Load = %s, %v", b, err)
	}
	if fmt.Sprint(creates) != "[true false]" {
		t.Fatalf("passphrase asked with create = %v, want [true false]", creates)
	}

	wrong := newStore(t, brokenRing{}, fixedPassphrase("wrong horse"))
	wrong.o.Dir = s.o.Dir
	if _, _, err := wrong.Load("device"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Load with a wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	for name, p := range map[string]func(bool) (string, error){"nil": nil, "empty": fixedPassphrase("")} {
		none := newStore(t, brokenRing{}, p)
		none.o.Dir = s.o.Dir
		if _, _, err := none.Load("device"); !errors.Is(err, ErrNoPassphrase) {
			t.Errorf("Load with %s passphrase: %v, want ErrNoPassphrase", name, err)
		}
		if _, err := none.Save("other", testSecret); !errors.Is(err, ErrNoPassphrase) {
			t.Errorf("Save with %s passphrase: %v, want ErrNoPassphrase", name, err)
		}
	}
	cancelled := newStore(t, brokenRing{}, func(bool) (string, error) { return "", errors.New("user cancelled") })
	cancelled.o.Dir = s.o.Dir
	if _, _, err := cancelled.Load("device"); err == nil || !strings.Contains(err.Error(), "user cancelled") {
		t.Errorf("Load with a cancelled prompt: %v", err)
	}

	if err := s.Delete("device"); !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("Delete with a broken keyring: %v, want ErrKeyringUnavailable", err)
	}
	if _, _, err := s.Load("device"); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("Load after Delete: %v, want ErrNotFound and ErrKeyringUnavailable", err)
	}
}

func TestErrorsDoNotLeak(t *testing.T) {
	s := newStore(t, brokenRing{}, fixedPassphrase("correct horse"))
	if _, err := s.Save("device", testSecret); err != nil {
		t.Fatal(err)
	}
	// Corrupt the file: the error must not carry key material or passphrase.
	path := s.Path("device")
	data, _ := os.ReadFile(path)
	data[len(data)-3] ^= 1
	os.WriteFile(path, data, 0o600)
	_, _, err := s.Load("device")
	if err == nil {
		t.Fatal("Load of a corrupted file succeeded")
	}
	for _, bad := range []string{"not-a-real-key", "correct horse", "AGE-SECRET-KEY"} {
		if strings.Contains(err.Error(), bad) {
			t.Fatalf("error %q contains %q", err, bad)
		}
	}
}

func TestHangingKeyringFallsBack(t *testing.T) {
	h := hangingRing{release: make(chan struct{})}
	defer close(h.release)
	s := newStore(t, h, fixedPassphrase("pw"))
	s.o.Timeout = 100 * time.Millisecond
	start := time.Now()
	b, err := s.Save("device", testSecret)
	if err != nil || b != BackendFile {
		t.Fatalf("Save = %s, %v", b, err)
	}
	v, b, err := s.Load("device")
	if err != nil || v != testSecret || b != BackendFile {
		t.Fatalf("Load = %s, %v", b, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v with a hanging keyring", d)
	}
	if _, err := s.Probe(); !errors.Is(err, ErrKeyringUnavailable) || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("Probe: %v", err)
	}
}

// TestKeyringComesBack: a key saved to a file while the keyring was down is
// still found, and saving again once the keyring works removes the file.
func TestKeyringComesBack(t *testing.T) {
	down := newStore(t, brokenRing{}, fixedPassphrase("pw"))
	if b, err := down.Save("device", testSecret); err != nil || b != BackendFile {
		t.Fatalf("Save = %s, %v", b, err)
	}
	up := newStore(t, keyringtest.New(), fixedPassphrase("pw"))
	up.o.Dir = down.o.Dir
	v, b, err := up.Load("device")
	if err != nil || v != testSecret || b != BackendFile {
		t.Fatalf("Load = %s, %v", b, err)
	}
	if b, err := up.Save("device", v); err != nil || b != BackendKeyring {
		t.Fatalf("Save = %s, %v", b, err)
	}
	if _, err := os.Stat(up.Path("device")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old file kept: %v", err)
	}
}

func TestLoadOrCreateIdentity(t *testing.T) {
	for name, ring := range map[string]Keyring{"keyring": keyringtest.New(), "file": brokenRing{}, "disabled": NoKeyring} {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, ring, fixedPassphrase("pw"))
			id, b, err := LoadOrCreateIdentity(s, "device")
			if err != nil {
				t.Fatal(err)
			}
			want := BackendKeyring
			if name != "keyring" {
				want = BackendFile
			}
			if b != want {
				t.Fatalf("backend %s, want %s", b, want)
			}
			again, b2, err := LoadOrCreateIdentity(s, "device")
			if err != nil || b2 != b {
				t.Fatalf("second load: %s, %v", b2, err)
			}
			if again.Public().ID() != id.Public().ID() || again.String() != id.String() {
				t.Fatal("second load returned another identity")
			}
		})
	}
}

func TestBadNames(t *testing.T) {
	s := newStore(t, keyringtest.New(), nil)
	for _, name := range []string{"", "../x", ".hidden", "a/b", strings.Repeat("a", 65), "sp ace"} {
		if _, err := s.Save(name, "x"); err == nil {
			t.Errorf("Save(%q) succeeded", name)
		}
	}
	if _, err := New(Options{Dir: "x"}); err == nil {
		t.Error("New without a service succeeded")
	}
	if _, err := New(Options{Service: "x"}); err == nil {
		t.Error("New without a directory succeeded")
	}
}

func TestDescribe(t *testing.T) {
	if !strings.Contains(BackendFile.Describe(), "passphrase") || BackendKeyring.Describe() == BackendFile.Describe() {
		t.Fatal("Describe does not tell the backends apart")
	}
}

// TestNoKeyringProcess runs the real go-keyring (OSKeyring) in child
// processes without a usable D-Bus: the store must notice and use the
// passphrase file.
func TestNoKeyringProcess(t *testing.T) {
	if os.Getenv("WW_KEYSTORE_CHILD") == "no-keyring" {
		noKeyringChild(t)
		return
	}
	for name, env := range map[string]func(dir string) []string{
		// A bus address whose socket does not exist: go-keyring's own error.
		"dead bus": func(dir string) []string {
			return []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(dir, "no-such-bus")}
		},
		// No bus at all: refused before D-Bus would autolaunch a daemon.
		"no bus": func(dir string) []string {
			return []string{"DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR=" + dir, "DISPLAY="}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestNoKeyringProcess$", "-test.v")
			cmd.Env = append(os.Environ(), "WW_KEYSTORE_CHILD=no-keyring", "WW_KEYSTORE_DIR="+dir)
			cmd.Env = append(cmd.Env, env(dir)...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !bytes.Contains(out, []byte("backend=file")) {
				t.Fatalf("child did not report the file backend:\n%s", out)
			}
			t.Logf("child:\n%s", out)
			if _, err := os.Stat(filepath.Join(dir, "keys", "device.age")); err != nil {
				t.Fatalf("no sealed file: %v", err)
			}
		})
	}
}

func noKeyringChild(t *testing.T) {
	s, err := New(Options{
		Service:          "watchword-test-no-keyring",
		Dir:              filepath.Join(os.Getenv("WW_KEYSTORE_DIR"), "keys"),
		Passphrase:       fixedPassphrase("pw"),
		ScryptWorkFactor: 10,
		Timeout:          10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Probe()
	if b != BackendFile || !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("Probe = %s, %v", b, err)
	}
	t.Logf("probe: %v", err)
	id, b, err := LoadOrCreateIdentity(s, "device")
	if err != nil {
		t.Fatal(err)
	}
	if b != BackendFile {
		t.Fatalf("backend %s, want file", b)
	}
	fmt.Printf("backend=%s id=%s\n", b, id.Public().ID())
}
