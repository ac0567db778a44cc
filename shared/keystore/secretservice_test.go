package keystore

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSecretService runs against the real OS keyring. `make test` provides a
// throwaway gnome-keyring Secret Service through
// scripts/with-secret-service.sh; by hand:
//
//	scripts/with-secret-service.sh go test ./shared/keystore -run SecretService -v
//
// Without a reachable keyring the test skips, or fails when CI=true.
func TestSecretService(t *testing.T) {
	service := "watchword-test-" + strconv.Itoa(os.Getpid())
	s, err := New(Options{
		Service: service,
		Dir:     filepath.Join(t.TempDir(), "keys"),
		Timeout: 10 * time.Second,
		// No passphrase: a fallback to the file would fail loudly.
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := s.Probe(); b != BackendKeyring {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Secret Service under CI (run through scripts/with-secret-service.sh): %v", err)
		}
		t.Skipf("no OS keyring: %v", err)
	}
	t.Cleanup(func() { s.Delete("device") })

	id, b, err := LoadOrCreateIdentity(s, "device")
	if err != nil {
		t.Fatal(err)
	}
	if b != BackendKeyring {
		t.Fatalf("backend %s, want keyring", b)
	}
	if _, err := os.Stat(s.Path("device")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file was written although the keyring works: %v", err)
	}

	// Read it back with libsecret's own tool, not through go-keyring.
	if tool, err := exec.LookPath("secret-tool"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, tool, "lookup", "service", service, "username", "device").Output()
		if err != nil {
			t.Fatalf("secret-tool lookup: %v", err)
		}
		if strings.TrimSpace(string(out)) != id.String() {
			t.Fatal("secret-tool reads another value than the one stored")
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("secret-tool (libsecret-tools) missing under CI")
	}

	again, b, err := LoadOrCreateIdentity(s, "device")
	if err != nil || b != BackendKeyring || again.String() != id.String() {
		t.Fatalf("reload: %s, %v", b, err)
	}
	if err := s.Delete("device"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load("device"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load after Delete: %v, want ErrNotFound", err)
	}
}
