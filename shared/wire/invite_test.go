package wire

import (
	"errors"
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
