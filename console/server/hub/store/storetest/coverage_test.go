package storetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/server/hub/store"
)

// TestEveryMethodCalled fails when a method of store.Store or store.Tx (with the aggregate interfaces Tx embeds)
// is called by no case of the suite: a method added to the contract needs a case before it is done.
func TestEveryMethodCalled(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
	if len(files) == 0 {
		t.Fatal("no suite sources found")
	}
	called, err := calledMethods(files)
	if err != nil {
		t.Fatal(err)
	}
	methods := interfaceMethods(reflect.TypeFor[store.Store](), reflect.TypeFor[store.Tx]())
	if !slices.Contains(methods, "Store.Write") || !slices.Contains(methods, "Tx.CreateTenant") {
		t.Fatalf("the methods found by reflection miss Store.Write or Tx.CreateTenant: %v", methods)
	}
	if missing := uncalled(methods, called); len(missing) > 0 {
		t.Errorf("%d of %d store methods are called by no case of the suite: %s", len(missing), len(methods), strings.Join(missing, ", "))
	}
}

// TestUncalledReportsMissing checks the check: a source that calls one of two methods leaves the other reported.
func TestUncalledReportsMissing(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "x.go")
	writeFile(t, src, "package x\n\nimport \"store\"\n\nfunc f(tx store.Tx) { tx.Tenants(); _ = store.Agent{} }\n")
	called, err := calledMethods([]string{src})
	if err != nil {
		t.Fatal(err)
	}
	got := uncalled([]string{"Tx.Tenants", "Tx.Agent"}, called)
	if !slices.Equal(got, []string{"Tx.Agent"}) {
		t.Fatalf("uncalled: %v, want [Tx.Agent] (a package-qualified name is no call)", got)
	}
}

// interfaceMethods names every method of the interface types as "Type.Method".
func interfaceMethods(types ...reflect.Type) []string {
	var out []string
	for _, it := range types {
		for i := range it.NumMethod() {
			out = append(out, it.Name()+"."+it.Method(i).Name)
		}
	}
	return out
}

// calledMethods collects the names selected on a value in the files: x.M(...) and method values x.M, but not
// pkg.Name. A name counts whatever x is, which is enough here: the suite calls nothing else by a store method's name.
func calledMethods(files []string) (map[string]bool, error) {
	fset := token.NewFileSet()
	called := map[string]bool{}
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		imports := map[string]bool{}
		for _, im := range f.Imports {
			p := strings.Trim(im.Path.Value, `"`)
			if im.Name != nil {
				imports[im.Name.Name] = true
			} else {
				imports[p[strings.LastIndex(p, "/")+1:]] = true
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && imports[id.Name] {
				return true
			}
			called[sel.Sel.Name] = true
			return true
		})
	}
	return called, nil
}

// uncalled lists the methods ("Type.Method") whose name is not in called.
func uncalled(methods []string, called map[string]bool) []string {
	var out []string
	for _, m := range methods {
		if !called[m[strings.IndexByte(m, '.')+1:]] {
			out = append(out, m)
		}
	}
	return out
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
