package seal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Every parser has a fuzz test seeded from the testdata vectors (through
// readVectors). Run one longer with, for example:
//
//	go test ./shared/seal -run '^$' -fuzz FuzzOpen -fuzztime 30s

func FuzzParsePublicKey(f *testing.F) {
	for _, v := range readVectors(f, "publickey") {
		f.Add(string(v.payload))
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePublicKey(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Whatever parses must round-trip to the same canonical string.
		if p.String() != strings.TrimSpace(s) {
			t.Fatalf("String() = %q, input %q", p.String(), s)
		}
		again, err := ParsePublicKey(p.String())
		if err != nil || !again.Equal(p) || again.Fingerprint() != p.Fingerprint() {
			t.Fatalf("re-parse differs: %v", err)
		}
	})
}

func FuzzParseFingerprint(f *testing.F) {
	for _, v := range readVectors(f, "fingerprint") {
		f.Add(string(v.payload))
	}
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Separators are ignored, digits are not: the rendering's digits are
		// exactly the input's.
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
		if strings.ReplaceAll(fp.String(), " ", "") != digits {
			t.Fatalf("ParseFingerprint(%q) renders as %q", s, fp)
		}
	})
}

func FuzzParseIdentity(f *testing.F) {
	for _, v := range readVectors(f, "identity") {
		f.Add(string(v.payload))
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIdentity(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			assertNoLeak(t, err.Error(), s)
			return
		}
		if id.String() != strings.TrimSpace(s) {
			t.Fatalf("String() does not round-trip")
		}
	})
}

// FuzzOpen feeds envelopes (age parsing, stanza unwrapping, payload and the
// context header) to Open with the vectors' device identity.
func FuzzOpen(f *testing.F) {
	vs := readVectors(f, "envelope")
	id := vs[0].identity(f)
	ctx := vs[0].context(f)
	var genuine [][]byte
	for _, v := range vs {
		f.Add(v.payload)
		if v.get(f, "expect") == "success" {
			genuine = append(genuine, v.payload)
		}
	}
	f.Fuzz(func(t *testing.T, env []byte) {
		secret, err := Open(env, ctx, id)
		if err == nil {
			// Only the genuine envelopes open (age is not malleable).
			for _, g := range genuine {
				if bytes.Equal(g, env) {
					return
				}
			}
			t.Fatalf("a modified envelope opened to %q", secret)
		}
		if secret != nil {
			t.Fatal("secret returned along with an error")
		}
		for _, s := range []error{ErrWrongKey, ErrTampered, ErrMalformed, ErrWrongContext} {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error %v wraps no sentinel", err)
	})
}

// FuzzParsePlaintext fuzzes the context header parser directly, seeded with
// headers of the vectors' contexts.
func FuzzParsePlaintext(f *testing.F) {
	for _, v := range readVectors(f, "envelope") {
		f.Add(append(v.context(f).header(), "secret"...))
	}
	f.Fuzz(func(t *testing.T, pt []byte) {
		c, secret, err := parsePlaintext(pt)
		if err != nil {
			return
		}
		// A parsed header re-renders exactly: one context, one encoding.
		if got := append(c.header(), secret...); !bytes.Equal(got, pt) {
			t.Fatalf("header %q re-renders as %q", pt, got)
		}
	})
}
