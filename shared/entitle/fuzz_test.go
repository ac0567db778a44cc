package entitle

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNaming renders arbitrary naming formats and usernames for every driver kind. Whatever a driver kind
// accepts must be free of the metacharacters of the place the name goes: LDAP filters and DNs (AD, OpenLDAP),
// shell and passwd fields (Linux). CheckFormat must never panic and Name must be deterministic.
func FuzzNaming(f *testing.F) {
	for _, s := range [][2]string{
		{DefaultFormat, "alice"}, {"{username:3}{abbrev}", "bob"}, {"adm-{username}", "carol"},
		{"{username}*)(uid=*", "dave"}, {"{username:0}", "x"}, {"{username:99}", "x"}, {"{{username}}", "e"},
		{"{username}\x00", "f"}, {"{username},cn=admins", "g"}, {"{abbrev}", "h"}, {"{username}", "é"},
		{"{username}", "administrator"}, {"{username:5}", "administrator2"}, {"{username}$", "web01"}, {"{username:6}", "krbtgt_1"},
	} {
		f.Add(s[0], s[1], "tm")
	}
	f.Fuzz(func(t *testing.T, format, username, abbrev string) {
		ferr := CheckFormat(format)
		n := Naming{Format: format, Abbrev: abbrev}
		name := n.Name(username)
		if again := n.Name(username); again != name {
			t.Fatalf("Name(%q) not deterministic: %q then %q", username, name, again)
		}
		if ferr == nil && !strings.Contains(format, "{username") {
			t.Fatalf("format %q without {username} accepted", format)
		}
		// A format without a fixed part renders the username alone: the tenant's abbreviation cannot show.
		if ferr == nil && !HasFixedPart(format) && (Naming{Format: format, Abbrev: abbrev + "q"}).Name(username) != name {
			t.Fatalf("format %q has no fixed part but its names depend on the abbreviation", format)
		}
		for _, driver := range []string{"ad", "ldap", "linux"} {
			if ValidName(driver, name) != nil {
				continue
			}
			// A built-in or privileged principal's name, in any case, is never a valid account name.
			if err := CheckName(driver, name); Reserved(strings.ToUpper(name)) && !errors.Is(err, ErrReserved) {
				t.Fatalf("%s: %q is reserved but CheckName says %v", driver, name, err)
			}
			// AD allows parentheses in a sAMAccountName (the driver escapes filters); LDAP uids and Linux names
			// allow none of these.
			bad := "*\\\x00\"/[]:;|=,+?<>@\n\r"
			if driver != "ad" {
				bad += "()"
			}
			if !utf8.ValidString(name) || strings.ContainsAny(name, bad) {
				t.Fatalf("%s accepted %q (format %q, username %q)", driver, name, format, username)
			}
			if driver == "linux" && (strings.ContainsAny(name, " .$`'&") || strings.HasPrefix(name, "-")) {
				t.Fatalf("linux accepted %q", name)
			}
		}
	})
}
