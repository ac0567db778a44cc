package seal

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
)

// ageCLI builds the real age command, v1.3.2, from the module proxy (or the
// module cache) once per test binary. Without network or cache the tests
// that need it skip, except under CI=true where they fail.
var ageCLI = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "watchword-age-cli-")
	if err != nil {
		return "", err
	}
	ageCLIDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", "filippo.io/age/cmd/age@v1.3.2")
	// Outside this module, so its go.mod plays no part.
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err: err, out: out}
	}
	return filepath.Join(dir, "age"), nil
})

// ageCLIDir is removed by TestMain after the tests.
var ageCLIDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if ageCLIDir != "" {
		os.RemoveAll(ageCLIDir)
	}
	os.Exit(code)
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string {
	return "go install filippo.io/age/cmd/age@v1.3.2: " + e.err.Error() + "\n" + string(e.out)
}

func needAgeCLI(t *testing.T) string {
	t.Helper()
	bin, err := ageCLI()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the age CLI is required under CI: %v", err)
		}
		t.Skipf("age CLI unavailable: %v", err)
	}
	return bin
}

// ageDecrypt runs `age -d -i keyfile envfile` and returns its stdout.
func ageDecrypt(t *testing.T, bin, key string, env []byte) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	keyFile, envFile := filepath.Join(dir, "recovery.key"), filepath.Join(dir, "envelope.age")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envFile, env, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-d", "-i", keyFile, envFile)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &buildError{err: err, out: stderr.Bytes()}
	}
	return stdout.Bytes(), nil
}

// TestBreakGlassWithAgeCLI: the MSP owner opens an envelope with the plain
// age command and the offline recovery identity, and sees which account the
// password belongs to.
func TestBreakGlassWithAgeCLI(t *testing.T) {
	bin := needAgeCLI(t)
	device, recovery, stranger := genIdentity(t), newRecovery(t), newRecovery(t)
	secret := []byte("Br3ak-Gl@ss-64-bytes-0123456789abcdefghijklmnopqrstuvwxyzABCDEF!")
	env, err := Seal(secret, testCtx, device.Public(), recovery.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	want := append(testCtx.header(), secret...)

	got, err := ageDecrypt(t, bin, recovery.String(), env)
	if err != nil {
		t.Fatalf("age -d with the recovery identity: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("age -d printed %q, want %q", got, want)
	}
	// The device's age key inside its identity works with the CLI too.
	got, err = ageDecrypt(t, bin, device.AgeIdentity().String(), env)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("age -d with the device's age key: %q, %v", got, err)
	}
	if got, err := ageDecrypt(t, bin, stranger.String(), env); err == nil {
		t.Fatalf("age -d with another recovery identity printed %q", got)
	}
}

// TestBreakGlassVector opens the committed recovery vector (armored) with the
// age CLI, so a change of format that breaks old envelopes shows.
func TestBreakGlassVector(t *testing.T) {
	bin := needAgeCLI(t)
	for _, v := range readVectors(t, "envelope") {
		if v.name != "envelope-recovery.txt" {
			continue
		}
		id, ok := v.identity(t).(*age.HybridIdentity)
		if !ok {
			t.Fatal("recovery vector's identity is not an age hybrid identity")
		}
		got, err := ageDecrypt(t, bin, id.String(), v.payload)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := parsePlaintext(got)
		if err != nil || c != v.context(t) {
			t.Fatalf("age -d output %q: context %v, %v", got, c, err)
		}
		return
	}
	t.Fatal("no envelope-recovery.txt vector")
}
