package seal

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// Test vectors live in testdata/*.txt: "key: value" header lines, a blank
// line, then the payload. Every vector has "kind" (envelope, publickey,
// fingerprint, identity) and "expect" (success, wrong key, tampered,
// wrong context, malformed). Envelope payloads are ASCII-armored age files.
// readVectors is the one reader: TestVectors checks them, and every Fuzz*
// test is seeded from them.
//
// Regenerate with: go test ./shared/seal -run TestVectors -update

var update = flag.Bool("update", false, "regenerate testdata/*.txt vectors")

type vector struct {
	name    string
	header  map[string]string
	payload []byte
}

func (v vector) get(t testing.TB, key string) string {
	t.Helper()
	s, ok := v.header[key]
	if !ok {
		t.Fatalf("vector %s: no %q header", v.name, key)
	}
	return s
}

// expectErr maps a vector's expect value to the sentinel error.
func (v vector) expectErr(t testing.TB) error {
	t.Helper()
	switch e := v.get(t, "expect"); e {
	case "success":
		return nil
	case "wrong key":
		return ErrWrongKey
	case "tampered":
		return ErrTampered
	case "wrong context":
		return ErrWrongContext
	case "malformed":
		return ErrMalformed
	default:
		t.Fatalf("vector %s: unknown expect %q", v.name, e)
		return nil
	}
}

func parseVector(name string, data []byte) (vector, error) {
	v := vector{name: name, header: map[string]string{}}
	r := bufio.NewReader(bytes.NewReader(data))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return v, errors.New("no blank line after the header")
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			break
		}
		k, val, ok := strings.Cut(line, ": ")
		if !ok {
			k, ok = strings.CutSuffix(line, ":")
			if !ok {
				return v, errors.New("header line without ': '")
			}
		}
		if _, dup := v.header[k]; dup {
			return v, errors.New("duplicate header " + k)
		}
		v.header[k] = val
	}
	payload, err := io.ReadAll(r)
	if err != nil {
		return v, err
	}
	v.payload = payload
	if v.header["kind"] == "envelope" {
		// Armored, except for deliberately unparseable vectors.
		if dec, err := io.ReadAll(armor.NewReader(bytes.NewReader(payload))); err == nil {
			v.payload = dec
		}
	}
	return v, nil
}

// readVectors returns the vectors of one kind, failing the test if there are
// none, so that a renamed directory cannot silently skip them.
func readVectors(t testing.TB, kind string) []vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := parseVector(filepath.Base(f), data)
		if err != nil {
			t.Fatalf("vector %s: %v", f, err)
		}
		if v.header["kind"] == kind {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		t.Fatalf("no %s vectors in testdata", kind)
	}
	return vs
}

func (v vector) context(t testing.TB) Context {
	n, err := strconv.ParseInt(v.get(t, "version"), 10, 64)
	if err != nil {
		t.Fatalf("vector %s: version: %v", v.name, err)
	}
	return Context{Tenant: v.get(t, "tenant"), Agent: v.get(t, "agent"), Account: v.get(t, "account"), Version: n}
}

// identity parses the vector's identity: a Watchword device identity or a
// bare age hybrid identity (the tenant's recovery key).
func (v vector) identity(t testing.TB) age.Identity {
	s := v.get(t, "identity")
	if strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-") {
		id, err := age.ParseHybridIdentity(s)
		if err != nil {
			t.Fatalf("vector %s: %v", v.name, err)
		}
		return id
	}
	id, err := ParseIdentity(s)
	if err != nil {
		t.Fatalf("vector %s: %v", v.name, err)
	}
	return id
}

func TestVectors(t *testing.T) {
	if *update {
		generateVectors(t)
	}
	t.Run("envelope", func(t *testing.T) {
		for _, v := range readVectors(t, "envelope") {
			t.Run(v.name, func(t *testing.T) {
				got, err := Open(v.payload, v.context(t), v.identity(t))
				want := v.expectErr(t)
				if want == nil {
					if err != nil {
						t.Fatalf("Open: %v", err)
					}
					if secret, _ := hex.DecodeString(v.get(t, "secret-hex")); !bytes.Equal(got, secret) {
						t.Fatalf("Open = %x, want %s", got, v.get(t, "secret-hex"))
					}
					return
				}
				if !errors.Is(err, want) {
					t.Fatalf("Open error = %v, want %v", err, want)
				}
				if got != nil {
					t.Fatalf("Open returned a secret along with error %v", err)
				}
			})
		}
	})
	t.Run("publickey", func(t *testing.T) {
		for _, v := range readVectors(t, "publickey") {
			t.Run(v.name, func(t *testing.T) {
				p, err := ParsePublicKey(string(v.payload))
				if want := v.expectErr(t); want != nil {
					if !errors.Is(err, want) {
						t.Fatalf("ParsePublicKey error = %v, want %v", err, want)
					}
					return
				}
				if err != nil {
					t.Fatalf("ParsePublicKey: %v", err)
				}
				if got := p.String(); got != strings.TrimSpace(string(v.payload)) {
					t.Errorf("String does not round-trip")
				}
				if got, want := p.Fingerprint().String(), v.get(t, "fingerprint"); got != want {
					t.Errorf("Fingerprint = %s, want %s", got, want)
				}
				if got, want := p.ID(), v.get(t, "id"); got != want {
					t.Errorf("ID = %s, want %s", got, want)
				}
			})
		}
	})
	t.Run("fingerprint", func(t *testing.T) {
		for _, v := range readVectors(t, "fingerprint") {
			t.Run(v.name, func(t *testing.T) {
				f, err := ParseFingerprint(string(v.payload))
				if want := v.expectErr(t); want != nil {
					if !errors.Is(err, want) {
						t.Fatalf("ParseFingerprint error = %v, want %v", err, want)
					}
					return
				}
				if err != nil {
					t.Fatalf("ParseFingerprint: %v", err)
				}
				if got, want := hex.EncodeToString(f[:]), v.get(t, "hex"); got != want {
					t.Errorf("ParseFingerprint = %s, want %s", got, want)
				}
			})
		}
	})
	t.Run("identity", func(t *testing.T) {
		for _, v := range readVectors(t, "identity") {
			t.Run(v.name, func(t *testing.T) {
				id, err := ParseIdentity(string(v.payload))
				if want := v.expectErr(t); want != nil {
					if !errors.Is(err, want) {
						t.Fatalf("ParseIdentity error = %v, want %v", err, want)
					}
					assertNoLeak(t, err.Error(), string(v.payload))
					return
				}
				if err != nil {
					t.Fatalf("ParseIdentity: %v", err)
				}
				if id.String() != strings.TrimSpace(string(v.payload)) {
					t.Errorf("String does not round-trip")
				}
				if got, want := id.Public().String(), v.get(t, "public"); got != want {
					t.Errorf("Public = %s, want %s", got, want)
				}
			})
		}
	})
}

// assertNoLeak fails if msg contains any 12-character run of secret that
// looks like key material (letters and digits).
func assertNoLeak(t testing.TB, msg, secret string) {
	t.Helper()
	const n = 12
	for i := 0; i+n <= len(secret); i++ {
		chunk := secret[i : i+n]
		if strings.ContainsFunc(chunk, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }) {
			continue
		}
		if strings.Contains(msg, chunk) {
			t.Fatalf("message %q contains key material %q", msg, chunk)
		}
	}
}

// generateVectors writes testdata/*.txt afresh from new random keys.
func generateVectors(t *testing.T) {
	old, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, f := range old {
		os.Remove(f)
	}
	write := func(name string, header [][2]string, payload []byte) {
		var b bytes.Buffer
		for _, h := range header {
			b.WriteString(h[0] + ": " + h[1] + "\n")
		}
		b.WriteString("\n")
		b.Write(payload)
		if err := os.WriteFile(filepath.Join("testdata", name+".txt"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	armored := func(env []byte) []byte {
		var b bytes.Buffer
		w := armor.NewWriter(&b)
		w.Write(env)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	ctxHeader := func(c Context) [][2]string {
		return [][2]string{{"tenant", c.Tenant}, {"agent", c.Agent}, {"account", c.Account}, {"version", strconv.FormatInt(c.Version, 10)}}
	}

	device, err := GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	ctx := Context{Tenant: "5f0c3d2e-8a41-4b7e-9d55-1c2b3a4d5e6f", Agent: "contoso.local", Account: "alice-ctso", Version: 7}
	secret := []byte("correct horse battery staple 9!Q")
	env, err := Seal(secret, ctx, device.Public(), recovery.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	envelope := func(name, expect, comment string, id string, c Context, payload []byte) {
		h := [][2]string{{"kind", "envelope"}, {"expect", expect}, {"comment", comment}, {"identity", id}}
		h = append(h, ctxHeader(c)...)
		if expect == "success" {
			h = append(h, [2]string{"secret-hex", hex.EncodeToString(secret)})
		}
		write(name, h, payload)
	}
	envelope("envelope-device", "success", "opened by the technician's device", device.String(), ctx, armored(env))
	envelope("envelope-recovery", "success", "opened by the tenant's recovery identity (break glass)", recovery.String(), ctx, armored(env))
	envelope("envelope-wrong-key", "wrong key", "another device's identity", other.String(), ctx, armored(env))
	for _, f := range []struct {
		name string
		mod  func(*Context)
	}{
		{"tenant", func(c *Context) { c.Tenant = "0d6a1e7b-0000-4000-8000-000000000000" }},
		{"agent", func(c *Context) { c.Agent = "fabrikam.local" }},
		{"account", func(c *Context) { c.Account = "bob-ctso" }},
		{"version", func(c *Context) { c.Version = 8 }},
	} {
		c := ctx
		f.mod(&c)
		envelope("envelope-wrong-context-"+f.name, "wrong context", "opened under another "+f.name, device.String(), c, armored(env))
	}
	tampered := bytes.Clone(env)
	tampered[len(tampered)-5] ^= 0x01
	envelope("envelope-tampered-payload", "tampered", "one bit flipped in the payload's last chunk", device.String(), ctx, armored(tampered))
	tampered = bytes.Clone(env)
	i := bytes.Index(tampered, []byte("\n--- ")) + len("\n--- ")
	tampered[i] = map[bool]byte{true: 'B', false: 'A'}[tampered[i] == 'A']
	envelope("envelope-tampered-mac", "tampered", "first character of the header MAC changed", device.String(), ctx, armored(tampered))
	tampered = bytes.Clone(env)
	// The recovery stanza is the second; its last body line precedes "---".
	i = bytes.Index(tampered, []byte("\n--- ")) - 2
	tampered[i] = map[bool]byte{true: 'B', false: 'A'}[tampered[i] == 'A']
	envelope("envelope-tampered-other-stanza", "tampered", "the recovery stanza changed: the device still unwraps, the header MAC fails", device.String(), ctx, armored(tampered))
	envelope("envelope-truncated", "tampered", "last payload byte cut off", device.String(), ctx, armored(env[:len(env)-1]))
	envelope("envelope-garbage", "malformed", "not an age file", device.String(), ctx, []byte("hello, this is not age\n"))
	envelope("envelope-empty", "malformed", "empty input", device.String(), ctx, nil)
	// A valid age file to the device whose plaintext lacks the context header.
	var raw bytes.Buffer
	w, _ := age.Encrypt(&raw, device.Public())
	w.Write([]byte("just a password"))
	w.Close()
	envelope("envelope-no-context", "malformed", "an age file to the device without the watchword-envelope/1 header", device.String(), ctx, armored(raw.Bytes()))

	pub := device.Public()
	write("publickey-valid", [][2]string{{"kind", "publickey"}, {"expect", "success"}, {"fingerprint", pub.Fingerprint().String()}, {"id", pub.ID()}}, []byte(pub.String()))
	s := pub.String()
	for name, bad := range map[string]string{
		"truncated":      s[:len(s)-1],
		"wrong-prefix":   "ww2pub" + strings.TrimPrefix(s, "ww1pub"),
		"upper-case":     strings.ToUpper(s),
		"short-auth-key": strings.Replace(s, "."+b64.EncodeToString(pub.auth)+".", "."+b64.EncodeToString(pub.auth[:31])+".", 1),
		"no-recipient":   strings.SplitAfter(s, ".")[0] + strings.SplitAfter(s, ".")[1],
		"classic-recipient": strings.SplitAfter(s, ".")[0] + strings.SplitAfter(s, ".")[1] +
			"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
	} {
		write("publickey-"+name, [][2]string{{"kind", "publickey"}, {"expect", "malformed"}}, []byte(bad))
	}

	f := pub.Fingerprint()
	fp := func(name, expect, payload string) {
		h := [][2]string{{"kind", "fingerprint"}, {"expect", expect}}
		if expect == "success" {
			h = append(h, [2]string{"hex", hex.EncodeToString(f[:])})
		}
		write("fingerprint-"+name, h, []byte(payload))
	}
	fp("spaces", "success", f.String())
	fp("dashes", "success", strings.ReplaceAll(f.String(), " ", "-"))
	fp("lines", "success", strings.Join(f.Lines(), "\n")+"\n")
	fp("compact", "success", strings.ReplaceAll(f.String(), " ", ""))
	fp("short", "malformed", f.String()[:len(f.String())-1])
	fp("long", "malformed", f.String()+"0")
	fp("letter", "malformed", "a"+f.String()[1:])
	fp("out-of-range", "malformed", "65536"+f.String()[5:])

	write("identity-valid", [][2]string{{"kind", "identity"}, {"expect", "success"}, {"public", pub.String()}}, []byte(device.String()))
	ids := device.String()
	parts := strings.Split(ids, ".")
	for name, bad := range map[string]string{
		"truncated":    ids[:len(ids)-1],
		"public-key":   pub.String(),
		"bare-age":     parts[2],
		"bad-checksum": parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + map[bool]string{true: "Q", false: "P"}[parts[2][len(parts[2])-1] == 'P'],
		"short-seed":   parts[0] + "." + parts[1][:len(parts[1])-2] + "." + parts[2],
		"classic-age":  parts[0] + "." + parts[1] + "." + "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
		"wrong-prefix": "WW2SECRET." + parts[1] + "." + parts[2],
		"extra-field":  ids + ".x",
	} {
		write("identity-"+name, [][2]string{{"kind", "identity"}, {"expect", "malformed"}}, []byte(bad))
	}
}
