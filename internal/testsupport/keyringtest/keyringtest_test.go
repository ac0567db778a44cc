package keyringtest_test

import (
	"errors"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/watchword/watchword/internal/testsupport/keyringtest"
	"github.com/watchword/watchword/shared/keystore"
)

var _ keystore.Keyring = (*keyringtest.Memory)(nil)

func TestMemoryAnswersAsTheOSKeyring(t *testing.T) {
	k := keyringtest.New()
	if _, err := k.Get("svc", "device"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("get of an empty keyring: %v, want keyring.ErrNotFound", err)
	}
	if err := k.Set("svc", "device", "AGE-SECRET-KEY-1"); err != nil {
		t.Fatal(err)
	}
	if err := k.Set("other", "device", "AGE-SECRET-KEY-2"); err != nil {
		t.Fatal(err)
	}
	if v, err := k.Get("svc", "device"); err != nil || v != "AGE-SECRET-KEY-1" {
		t.Fatalf("get: %q, %v", v, err)
	}
	if got := k.Secrets(); len(got) != 2 {
		t.Fatalf("secrets: %d, want 2 (one a service)", len(got))
	}
	if err := k.Delete("svc", "device"); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete("svc", "device"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("second delete: %v, want keyring.ErrNotFound", err)
	}
	if v, err := k.Get("other", "device"); err != nil || v != "AGE-SECRET-KEY-2" {
		t.Fatalf("another service's secret after a delete: %q, %v", v, err)
	}
}
