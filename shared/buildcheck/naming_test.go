package buildcheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// otherHubNames are names the hub's key ID went by before "hub fingerprint" became its one name (the invite's JSON
// field, "p", and the Go field HubPin are wire names and stay).
// No \b before "hub": in a Go string it may follow an escaped newline ("\nHub key pin").
var otherHubNames = regexp.MustCompile(`(?i)hub (key )?pin\b|hub key's fingerprint`)

// TestOneNameForTheHubFingerprint: what users read — the apps' code (their strings and comments), the CLI, the
// docs and the scripts — calls the hub's key ID the hub fingerprint, as the TechClient's form asks for it.
func TestOneNameForTheHubFingerprint(t *testing.T) {
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || (strings.HasPrefix(n, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if (ext != ".go" && ext != ".md" && ext != ".sh") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := otherHubNames.FindString(line); m != "" {
				t.Errorf("%s:%d says %q: call it the hub fingerprint", strings.TrimPrefix(path, root+"/"), i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
