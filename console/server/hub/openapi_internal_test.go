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
		inTable[rt.method+" "+rt.path] = true
	}
	for key := range routeDocs {
		if !inTable[key] {
			t.Errorf("routeDocs describes %s, which the route table lacks", key)
		}
	}
}
