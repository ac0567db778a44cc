// Package keyringtest is the OS keyring of tests: an in-memory keystore.Keyring, so that no test of the
// TechClient, the Console or the keystore ever reads or writes a real Secret Service, Keychain or Credential
// Manager. It answers as go-keyring does (keyring.ErrNotFound for a name it does not hold, on Get and on Delete),
// so the keystore's handling of a missing entry is exercised as it is against the real one.
//
//	ring := keyringtest.New()
//	app := vm.New(vm.Options{Dir: t.TempDir(), Keyring: ring})
//	secrets := ring.Secrets() // what the app stored, to look for on disk
package keyringtest

import (
	"sync"

	"github.com/zalando/go-keyring"
)

// Memory is an in-memory OS keyring, safe for concurrent use. Its zero value is not usable: call New.
type Memory struct {
	mu sync.Mutex
	m  map[string]string
}

// New returns an empty keyring.
func New() *Memory { return &Memory{m: map[string]string{}} }

func key(service, user string) string { return service + "/" + user }

// Get returns the secret stored for user under service, or keyring.ErrNotFound.
func (k *Memory) Get(service, user string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key(service, user)]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

// Set stores secret for user under service, replacing what was there.
func (k *Memory) Set(service, user, secret string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key(service, user)] = secret
	return nil
}

// Delete removes the secret of user under service, or answers keyring.ErrNotFound when there is none.
func (k *Memory) Delete(service, user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[key(service, user)]; !ok {
		return keyring.ErrNotFound
	}
	delete(k.m, key(service, user))
	return nil
}

// Secrets returns every secret the keyring holds, in no particular order: a test looks for them where they must
// not be (files on disk, logs).
func (k *Memory) Secrets() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]string, 0, len(k.m))
	for _, v := range k.m {
		out = append(out, v)
	}
	return out
}
