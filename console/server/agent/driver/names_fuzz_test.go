package driver_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/driver/linux"
	"github.com/watchword/watchword/console/server/agent/driver/openldap"
)

// FuzzDriverNames feeds arbitrary account names, as a compromised or buggy hub could put in a plan, to every
// driver's name check. The drivers escape filters and DNs anyway; this is the second line: a name a driver accepts
// carries no LDAP filter, DN or shell metacharacter and is valid UTF-8.
func FuzzDriverNames(f *testing.F) {
	for _, s := range []string{"alice-tm", "*)(uid=*", "admin)(|(objectClass=*", "a,cn=admins", "-rf", "root:x:0:0",
		"a\x00b", "é", "\xff", "Administrator", "a b", "..", "krbtgt", strings.Repeat("a", 33)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for kind, check := range map[string]func(string) error{"ad": ad.ValidateName, "ldap": openldap.ValidateName, "linux": linux.ValidateName} {
			if check(name) != nil {
				continue
			}
			bad := "*\\\x00\"/[]:;|=,+?<>\n\r\t"
			if kind != "ad" { // AD allows parentheses in a sAMAccountName; the driver escapes its filters
				bad += "()"
			}
			if !utf8.ValidString(name) || strings.ContainsAny(name, bad) {
				t.Fatalf("%s accepted %q", kind, name)
			}
			if kind == "linux" && (strings.HasPrefix(name, "-") || strings.ContainsAny(name, " $`'&")) {
				t.Fatalf("linux accepted %q", name)
			}
		}
	})
}
