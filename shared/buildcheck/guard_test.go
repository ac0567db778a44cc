package buildcheck

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// A rule forbids every package matching Pkgs from depending, directly or not, on any import path with one of
// the Forbidden prefixes.
type rule struct {
	Name      string
	Pkgs      []string
	Forbidden []string
}

var rules = []rule{
	{
		Name: "shared packages and headless binaries never import Fyne",
		Pkgs: []string{
			"github.com/watchword/watchword/shared/...",
			"github.com/watchword/watchword/console/server/...",
		},
		Forbidden: []string{"fyne.io/", "github.com/go-gl/"},
	},
	{
		Name: "wire types, crypto and the signed authority never import SQL, LDAP or SSH",
		Pkgs: []string{
			"github.com/watchword/watchword/shared/wire/...",
			"github.com/watchword/watchword/shared/seal/...",
			"github.com/watchword/watchword/shared/keystore/...",
			"github.com/watchword/watchword/shared/authority/...",
		},
		Forbidden: []string{"database/sql", "modernc.org/sqlite", "github.com/go-ldap/", "golang.org/x/crypto/ssh"},
	},
	{
		Name:      "wire types do no I/O",
		Pkgs:      []string{"github.com/watchword/watchword/shared/wire/..."},
		Forbidden: []string{"net/http", "database/sql", "os/exec"},
	},
}

func TestImportGuards(t *testing.T) {
	for _, r := range rules {
		t.Run(r.Name, func(t *testing.T) {
			for pkg, deps := range depsOf(t, r.Pkgs) {
				if bad := violations(deps, r.Forbidden); len(bad) > 0 {
					if len(bad) > 3 {
						bad = append(bad[:3], fmt.Sprintf("and %d more", len(bad)-3))
					}
					t.Errorf("%s imports %s", pkg, strings.Join(bad, ", "))
				}
			}
		})
	}
}

// violations returns the deps that start with one of the forbidden prefixes.
func violations(deps, forbidden []string) []string {
	var bad []string
	for _, d := range deps {
		for _, f := range forbidden {
			if d == strings.TrimSuffix(f, "/") || strings.HasPrefix(d, f) {
				bad = append(bad, d)
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func TestViolationsCatchesFyne(t *testing.T) {
	got := violations([]string{"fmt", "fyne.io/fyne/v2/widget", "database/sql/driver", "github.com/go-gl/glfw/v3.3/glfw"},
		[]string{"fyne.io/", "database/sql", "github.com/go-gl/"})
	want := []string{"database/sql/driver", "fyne.io/fyne/v2/widget", "github.com/go-gl/glfw/v3.3/glfw"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("violations = %v, want %v", got, want)
	}
}

// depsOf lists, for every package matching patterns, all its transitive imports.
func depsOf(t *testing.T, patterns []string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-e", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}, patterns...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && !strings.HasPrefix(f[0], "pattern ") {
			m[f[0]] = f[1:]
		}
	}
	if len(m) == 0 {
		t.Fatalf("go list %v matched no package", patterns)
	}
	return m
}
