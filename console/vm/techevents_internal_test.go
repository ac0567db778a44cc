package vm

import (
	"errors"
	"testing"
)

// TestDetailFields: a detail reads as the hub writes it, quoted values with spaces and "=" inside included; a key
// twice or text that is not key=value is refused, so a forged detail cannot show a person one value and the
// check another.
func TestDetailFields(t *testing.T) {
	f, err := detailFields(`version=3 name="alice devsig=x \"q\"" devsig=AbC+/= signedat=2026-12-07T12:01:30Z`)
	if err != nil || f["version"] != "3" || f["name"] != `alice devsig=x "q"` || f["devsig"] != "AbC+/=" || f["signedat"] != "2026-12-07T12:01:30Z" || len(f) != 4 {
		t.Fatalf("fields %q, %v", f, err)
	}
	for _, bad := range []string{`version=1 version=2`, `version=1 stray`, `name="open`, `name="a"b`, `=1`} {
		if _, err := detailFields(bad); !errors.Is(err, errDetail) {
			t.Errorf("%q: %v, want errDetail", bad, err)
		}
	}
}
