package hub

import (
	"strings"
	"testing"
)

// TestOpenAPIEveryRouteDescribed: every row of the route table names its body and answer types in routeDocs, and
// routeDocs describes no route the table lacks.
func TestOpenAPIEveryRouteDescribed(t *testing.T) {
	_, undescribed := endpoints()
	if len(undescribed) > 0 {
		t.Errorf("routes without a routeDocs row (openapi.go): %s", strings.Join(undescribed, ", "))
	}
	inTable := map[string]bool{}
	for _, rt := range routes() {
		key := rt.method + " " + rt.path
		inTable[key] = true
		if d, ok := routeDocs[key]; ok && strings.Contains(rt.path, "{action}") != (len(d.actions) > 0) {
			t.Errorf("%s: an {action} wildcard needs the actions its handler takes, and only it has them", key)
		}
	}
	for key := range routeDocs {
		if !inTable[key] {
			t.Errorf("routeDocs describes %s, which the route table lacks", key)
		}
	}
}
