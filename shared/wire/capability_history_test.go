package wire

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCapabilityHistory holds CapabilityVersion to the capabilities declared beside it: every Cap constant is at
// most CapabilityVersion (a hub that announces less than it can do makes clients skip a feature it serves), and the
// history has one line per number.
func TestCapabilityHistory(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "wire.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: nil, Error: func(error) {}}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	conf.Check("wire", fset, []*ast.File{f}, info) // wire.go alone: errors from other files' names are expected
	var doc string
	caps := map[string]int64{}
	for id, obj := range info.Defs {
		c, ok := obj.(*types.Const)
		if !ok || c.Val().Kind() != constant.Int {
			continue
		}
		v, _ := constant.Int64Val(c.Val())
		if strings.HasPrefix(id.Name, "Cap") {
			caps[id.Name] = v
		}
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Doc == nil {
			continue
		}
		for _, s := range g.Specs {
			if v, ok := s.(*ast.ValueSpec); ok && v.Names[0].Name == "CapabilityVersion" {
				doc = g.Doc.Text()
			}
		}
	}
	if doc == "" || len(caps) == 0 {
		t.Fatalf("found no CapabilityVersion history (%d Cap constants)", len(caps))
	}
	for name, v := range caps {
		if v > CapabilityVersion {
			t.Errorf("%s = %d is above CapabilityVersion %d", name, v, CapabilityVersion)
		}
	}
	for n := 1; n <= CapabilityVersion; n++ {
		if !regexp.MustCompile(`(?m)^\s*` + strconv.Itoa(n) + `: `).MatchString(doc) {
			t.Errorf("the history has no line for %d", n)
		}
	}
}
