package entra

import (
	"strings"
	"testing"

	"github.com/watchword/watchword/shared/entitle"
)

// TestHubPlansOnlyNamesTheDriverTakes: the hub's naming rule for entra (shared/entitle) and the driver's agree, so
// a planned account is never refused on arrival at the agent.
func TestHubPlansOnlyNamesTheDriverTakes(t *testing.T) {
	names := []string{"alice-ctso", "Alice.Smith_x", "a", "o'brien", "a~b", "a!b", "a#b", "a^b", "a b", "a@b",
		".a", "a.", "a..b", "", strings.Repeat("a", 64), strings.Repeat("a", 65), "ä", "a/b"}
	for _, n := range names {
		hub, drv := entitle.ValidName("entra", n) == nil, ValidateName(n) == nil
		if hub != drv {
			t.Errorf("%q: the hub accepts it %v, the driver %v", n, hub, drv)
		}
	}
}
