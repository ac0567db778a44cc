package faults_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// requiredFuzz names, for every decoder of hostile input, the fuzz target that must exist (package dir/FuzzName).
// make soak runs each of them for minutes (scripts/soak.sh).
var requiredFuzz = []string{
	"shared/wire/FuzzParseInvite",      // invite strings
	"shared/wire/FuzzWireJSON",         // wire JSON bodies, decoded strictly
	"shared/seal/FuzzParsePublicKey",   // public keys
	"shared/seal/FuzzParseFingerprint", // fingerprints typed by an admin
	"shared/seal/FuzzParseIdentity",    // identities read from the keystore
	"shared/seal/FuzzOpen",             // envelopes
	"shared/seal/FuzzParsePlaintext",   // the context header inside an envelope
	"console/server/hub/FuzzAPIBody",   // every request body through the hub's handler
	"shared/entitle/FuzzNaming",        // naming formats
	"console/server/agent/driver/FuzzDriverNames",
	"console/server/hub/FuzzParseTechCSV",       // CSV import of techs
	"shared/authority/FuzzDecode",               // signed authority updates relayed by the hub
	"console/server/hub/hubserve/FuzzProxyConn", // PROXY protocol headers before the hub's TLS
}

// TestFuzzInventory finds every Fuzz target in the repository, checks that each decoder has its target, and prints
// the count for the summary.
func TestFuzzInventory(t *testing.T) {
	root := moduleRoot(t)
	found := map[string]bool{}
	fset := token.NewFileSet()
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Fuzz") {
				found[filepath.ToSlash(rel)+"/"+fn.Name.Name] = true
			}
		}
		return nil
	})
	for _, want := range requiredFuzz {
		if !found[want] {
			t.Errorf("decoder fuzz target %s is missing", want)
		}
	}
	fuzzTargets.Store(int64(len(found)))
	t.Logf("fuzz targets: %v", found)
}
