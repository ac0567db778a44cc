package agentcli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/watchword/watchword/console/server/agent/agentcli"
)

// The command line itself is tested by the scripts in testdata (script_test.go); this is the secret reader they
// cannot reach on its own.
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
