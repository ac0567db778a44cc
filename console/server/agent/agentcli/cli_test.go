package agentcli_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/agentcli"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

func TestHelp(t *testing.T) {
	var out, errw bytes.Buffer
	if err := agentcli.Main(context.Background(), nil, &out, &errw); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("no command: %v", err)
	}
	if !strings.Contains(errw.String(), "watchword-agent enroll") {
		t.Fatalf("usage: %s", errw.String())
	}
	out.Reset()
	if err := agentcli.Main(context.Background(), []string{"help", "enroll"}, &out, &errw); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"-hub", "-token-file", "-bind-password-file", "-passphrase-env", "-state-dir"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("enroll help lacks %s", f)
		}
	}
	if err := agentcli.Main(context.Background(), []string{"frobnicate"}, &out, &errw); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// Secrets have no command-line flag: only files and environment variables.
func TestSecretsNeverOnTheCommandLine(t *testing.T) {
	for _, f := range []string{"--bind-password", "--passphrase"} {
		var out, errw bytes.Buffer
		err := agentcli.Main(context.Background(), []string{"enroll", f, "hunter2"}, &out, &errw)
		if err == nil || !strings.Contains(err.Error(), "flag provided but not defined") {
			t.Errorf("%s on the command line: %v", f, err)
		}
	}
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	os.WriteFile(path, []byte("from-file\n"), 0o600)
	if v, err := (agentcli.Secret{File: path}).Read("x"); err != nil || v != "from-file" {
		t.Fatalf("file: %q, %v", v, err)
	}
	t.Setenv("WW_TEST_SECRET", "from-env")
	if v, err := (agentcli.Secret{Env: "WW_TEST_SECRET"}).Read("x"); err != nil || v != "from-env" {
		t.Fatalf("env: %q, %v", v, err)
	}
	if _, err := (agentcli.Secret{File: path, Env: "WW_TEST_SECRET"}).Read("x"); err == nil {
		t.Fatal("both sources accepted")
	}
	if _, err := (agentcli.Secret{Env: "WW_TEST_UNSET_SECRET"}).Read("x"); err == nil {
		t.Fatal("unset variable accepted")
	}
}

func TestEnrollValidation(t *testing.T) {
	var out, errw bytes.Buffer
	err := agentcli.Main(context.Background(), []string{"enroll", "--hub", "nonsense", "--driver", "exchange"}, &out, &errw)
	if err == nil {
		t.Fatal("bad enrollment accepted")
	}
	for _, want := range []string{"--hub", "token", "--name", "passphrase", "--driver"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

// TestEnrollStoresNoSecretAndLocks enrolls against a real hub, then checks what the state directory holds and
// that a second agent cannot work the same directory.
func TestEnrollStoresNoSecretAndLocks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := hubtest.New(t)
	tok, err := h.Owner.CreateEnrollmentToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	const bindPw, passphrase = "bind-Secret-4711", "passphrase-Secret-0815"
	t.Setenv("WW_TEST_PASSPHRASE", passphrase)
	bindFile := filepath.Join(dir, "bind")
	os.WriteFile(bindFile, []byte(bindPw), 0o600)
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte(tok.Token+"\n"), 0o600)
	args := []string{"enroll", "--hub", h.Invite.String(), "--token-file", tokFile, "--name", "contoso.local", "--driver", "ad",
		"--ldap-url", "ldaps://127.0.0.1:636", "--base-dn", "DC=test,DC=lan", "--ou", "OU=Watchword,DC=test,DC=lan",
		"--bind-dn", "CN=Administrator,CN=Users,DC=test,DC=lan", "--bind-password-file", bindFile,
		"--passphrase-env", "WW_TEST_PASSPHRASE", "--state-dir", state, "--kdf-work-factor", "10"}
	var out, errw bytes.Buffer
	if err := agentcli.Main(ctx, args, &out, &errw); err != nil {
		t.Fatalf("enroll: %v\n%s", err, errw.String())
	}
	if !strings.Contains(out.String(), "enrolled agent") {
		t.Fatalf("output: %s", out.String())
	}
	cfg, err := agentcli.LoadConfig(state)
	if err != nil {
		t.Fatal(err)
	}
	agents, err := h.Owner.Agents(ctx)
	if err != nil || len(agents) != 1 || agents[0].ID != cfg.AgentID || agents[0].Driver != wire.DriverAD || agents[0].Name != "contoso.local" {
		t.Fatalf("hub agents: %+v, %v (config %+v)", agents, err, cfg)
	}
	// Nothing secret in the state directory in the clear; the config and the identity are the owner's only.
	filepath.WalkDir(state, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, s := range []string{bindPw, passphrase, tok.Token} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret", p)
			}
		}
		if fi, _ := d.Info(); fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s mode %v", p, fi.Mode().Perm())
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(state, "keys", agentcli.IdentityName+".age")); err != nil {
		t.Fatalf("identity file: %v", err)
	}
	// A second enrollment into the same directory is refused; the token is spent anyway.
	if err := agentcli.Main(ctx, args, &out, &errw); err == nil || !strings.Contains(err.Error(), "already holds agent") {
		t.Fatalf("second enroll: %v", err)
	}
	// Another process holding the lock keeps run away from the target.
	lock, err := agent.AcquireLock(state)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	err = agentcli.Main(ctx, []string{"run", "--state-dir", state}, &out, &errw)
	if !errors.Is(err, agent.ErrLocked) {
		t.Fatalf("run beside a lock holder: %v", err)
	}
	// A wrong passphrase is a clear error, not a new identity.
	lock.Release()
	t.Setenv("WW_TEST_PASSPHRASE", "wrong")
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := agentcli.Main(rctx, []string{"run", "--state-dir", state}, &out, &errw); err == nil || !strings.Contains(err.Error(), "identity") {
		t.Fatalf("run with a wrong passphrase: %v", err)
	}
}
