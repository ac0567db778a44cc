package wire

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const testPin = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"

func TestInviteRoundTrip(t *testing.T) {
	in := Invite{HubURL: "https://hub.example.com:8443", ClientGUID: "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", HubPin: testPin}
	s := in.String()
	if !strings.HasPrefix(s, InvitePrefix) {
		t.Fatalf("invite %q lacks prefix", s)
	}
	out, err := ParseInvite("  " + s + "\n")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if out != in {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
}

func TestInviteRejects(t *testing.T) {
	good := Invite{HubURL: "https://127.0.0.1:1", ClientGUID: "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", HubPin: testPin}
	cases := map[string]string{
		"no prefix":   strings.TrimPrefix(good.String(), InvitePrefix),
		"not base64":  InvitePrefix + "!!!",
		"http":        Invite{HubURL: "http://h", ClientGUID: good.ClientGUID, HubPin: testPin}.String(),
		"userinfo":    Invite{HubURL: "https://u:p@h", ClientGUID: good.ClientGUID, HubPin: testPin}.String(),
		"bad guid":    Invite{HubURL: good.HubURL, ClientGUID: "not-a-guid", HubPin: testPin}.String(),
		"upper guid":  Invite{HubURL: good.HubURL, ClientGUID: strings.ToUpper(good.ClientGUID), HubPin: testPin}.String(),
		"bad pin":     Invite{HubURL: good.HubURL, ClientGUID: good.ClientGUID, HubPin: "ABC"}.String(),
		"extra field": InvitePrefix + "eyJ1IjoiaHR0cHM6Ly9oIiwieCI6MX0",
		"empty":       "",
	}
	for name, s := range cases {
		if _, err := ParseInvite(s); !errors.Is(err, ErrBadInvite) {
			t.Errorf("%s: ParseInvite(%q) = %v, want ErrBadInvite", name, s, err)
		}
	}
}

func FuzzParseInvite(f *testing.F) {
	f.Add(Invite{HubURL: "https://h:1", ClientGUID: "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", HubPin: testPin}.String())
	f.Add(InvitePrefix + "e30")
	f.Add(Invite{HubURL: "https://h:1", ClientGUID: "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", HubPin: testPin,
		Authority: strings.Repeat("ab", 32)}.String())
	f.Add(Invite{HubURL: "https://a:1", ClientGUID: "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", HubPin: testPin,
		OtherURLs: "https://b:1 https://[::1]:8443/hub"}.String())
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInvite(s)
		if err != nil {
			if !errors.Is(err, ErrBadInvite) {
				t.Fatalf("error %v does not wrap ErrBadInvite", err)
			}
			return
		}
		// Whatever parses must survive a round trip and still validate.
		again, err := ParseInvite(inv.String())
		if err != nil || again != inv {
			t.Fatalf("round trip of %+v: %+v, %v", inv, again, err)
		}
	})
}

// TestInviteAuthority: an invite may carry the genesis hash of the tenant's signed authority, which round-trips;
// an invite without it (as every invite before it) parses as before and its string is unchanged; a malformed
// hash is refused.
func TestInviteAuthority(t *testing.T) {
	const genesis = "5f0c3d2e8a414b7e9d551c2b3a4d5e6f5f0c3d2e8a414b7e9d551c2b3a4d5e6f"
	old := Invite{HubURL: "https://hub.example.com:8443", ClientGUID: "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", HubPin: testPin}
	// The string an invite without an authority had before the field existed.
	const before = "watchword-invite:eyJ1IjoiaHR0cHM6Ly9odWIuZXhhbXBsZS5jb206ODQ0MyIsImMiOiIwYjVlNmEzYy0xZjJkLTRlNWYtOGE5Yi0wYzFkMmUzZjRhNWIiLCJwIjoiYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoyMzQ1NjdhYmNkZWZnaGlqa2xtbm9wcXJzdCJ9"
	if old.String() != before {
		t.Fatalf("an invite without an authority renders %q, was %q", old.String(), before)
	}
	if got, err := ParseInvite(before); err != nil || got != old {
		t.Fatalf("old invite: %+v, %v", got, err)
	}
	in := old
	in.Authority = genesis
	if got, err := ParseInvite(in.String()); err != nil || got != in {
		t.Fatalf("invite with an authority: %+v, %v", got, err)
	}
	for _, bad := range []string{"abc", strings.ToUpper(genesis), genesis[:63] + "g", genesis + "0"} {
		in.Authority = bad
		if _, err := ParseInvite(in.String()); !errors.Is(err, ErrBadInvite) {
			t.Errorf("authority %q: %v, want ErrBadInvite", bad, err)
		}
	}
}

// TestInviteSeveralURLs: an invite carries more addresses of the same hub, in order, and round-trips; an invite
// without them renders as before (TestInviteAuthority holds the string); every address is checked as HubURL is,
// and a list with a repeat, an empty entry or more than MaxHubURLs is refused.
func TestInviteSeveralURLs(t *testing.T) {
	base := Invite{ClientGUID: "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", HubPin: testPin}
	in := base.WithURLs(" https://hub-a.example:8443/ ", "https://hub-b.example:8443", "", "https://hub-a.example:8443", "https://10.0.0.7:8443")
	want := []string{"https://hub-a.example:8443", "https://hub-b.example:8443", "https://10.0.0.7:8443"}
	if strings.Join(in.URLs(), ",") != strings.Join(want, ",") || in.HubURL != want[0] {
		t.Fatalf("WithURLs: %+v, URLs %q", in, in.URLs())
	}
	got, err := ParseInvite(in.String())
	if err != nil || got != in {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if one := base.WithURLs("https://h:1"); one.OtherURLs != "" || len(one.URLs()) != 1 {
		t.Fatalf("one URL: %+v", one)
	}
	if same := in.WithURLs(); same != in {
		t.Fatalf("WithURLs() changed the invite: %+v", same)
	}
	if got := SplitURLs("https://a:1, https://b:1\nhttps://c:1,,\r\n"); strings.Join(got, "|") != "https://a:1|https://b:1|https://c:1" {
		t.Fatalf("SplitURLs: %q", got)
	}
	many := make([]string, MaxHubURLs+1)
	for i := range many {
		many[i] = fmt.Sprintf("https://h%d:8443", i)
	}
	if _, err := ParseInvite(base.WithURLs(many[:MaxHubURLs]...).String()); err != nil {
		t.Fatalf("%d URLs: %v", MaxHubURLs, err)
	}
	for name, other := range map[string]string{
		"http":           "http://b:1",
		"credentials":    "https://u:p@b:1",
		"query":          "https://b:1/?x=1",
		"repeat":         "https://a:1",
		"double space":   "https://b:1  https://c:1",
		"trailing space": "https://b:1 ",
		"too many":       strings.Join(many[1:], " "),
	} {
		inv := base
		inv.HubURL, inv.OtherURLs = "https://a:1", other
		if _, err := ParseInvite(inv.String()); !errors.Is(err, ErrBadInvite) {
			t.Errorf("%s: %q: %v, want ErrBadInvite", name, other, err)
		}
	}
}
