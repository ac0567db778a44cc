package seal

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func genIdentity(t testing.TB) *Identity {
	t.Helper()
	id, err := GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func newRecovery(t testing.TB) *age.HybridIdentity {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var testCtx = Context{Tenant: "5f0c3d2e-8a41-4b7e-9d55-1c2b3a4d5e6f", Agent: "contoso.local", Account: "alice-ctso", Version: 3}

func TestRoundTrip(t *testing.T) {
	alice, aliceLaptop, bob := genIdentity(t), genIdentity(t), genIdentity(t)
	recovery := newRecovery(t)
	secrets := [][]byte{
		{},
		[]byte("x"),
		bytes.Repeat([]byte("p"), 64),
		[]byte("with\n\nblank lines\n\nand\x00nul"),
		bytes.Repeat([]byte{0xff, 0x00, '\n'}, 30000), // spans several age chunks
	}
	for _, secret := range secrets {
		env, err := Seal(secret, testCtx, alice.Public(), aliceLaptop.Public().Recipient(), recovery.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(env, secret) && len(secret) > 2 {
			t.Fatalf("envelope contains the secret in clear")
		}
		for name, id := range map[string]age.Identity{"device": alice, "second device": aliceLaptop, "recovery": recovery} {
			got, err := Open(env, testCtx, id)
			if err != nil {
				t.Fatalf("Open with %s: %v", name, err)
			}
			if !bytes.Equal(got, secret) {
				t.Fatalf("Open with %s = %q, want %q", name, got, secret)
			}
		}
		if _, err := Open(env, testCtx, bob); !errors.Is(err, ErrWrongKey) {
			t.Fatalf("Open with bob's identity: %v, want ErrWrongKey", err)
		}
	}
}

// tryCounter is an identity that counts the stanzas it tries, each one a
// hybrid decapsulation.
type tryCounter struct {
	id    *age.HybridIdentity
	tries int
}

func (c *tryCounter) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		c.tries++
		k, err := c.id.Unwrap([]*age.Stanza{s})
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		return k, err
	}
	return nil, age.ErrIncorrectIdentity
}

// TestRecoveryOpensItsOwnStanzaFirst: the recovery recipient is sealed last,
// so opening with the recovery identity decapsulates its own stanza only, not
// every device's before it.
func TestRecoveryOpensItsOwnStanzaFirst(t *testing.T) {
	alice, aliceLaptop, recovery := genIdentity(t), genIdentity(t), newRecovery(t)
	secret := []byte("S3cret!")
	env, err := Seal(secret, testCtx, alice.Public(), aliceLaptop.Public(), recovery.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	c := &tryCounter{id: recovery}
	got, err := Open(env, testCtx, c)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open with the recovery identity = %q, %v", got, err)
	}
	if c.tries != 1 {
		t.Fatalf("the recovery identity tried %d stanzas, want 1 (its own, the last)", c.tries)
	}
	// A stranger still tries them all and is told so.
	stranger := &tryCounter{id: newRecovery(t)}
	if _, err := Open(env, testCtx, stranger); !errors.Is(err, ErrWrongKey) || stranger.tries != 3 {
		t.Fatalf("Open with a stranger: %v after %d tries, want ErrWrongKey after 3", err, stranger.tries)
	}
}

// TestEnvelopeIsPlainAge checks the break-glass promise at the library level:
// age.Decrypt with the recovery identity alone shows the context header and
// the secret.
func TestEnvelopeIsPlainAge(t *testing.T) {
	device, recovery := genIdentity(t), newRecovery(t)
	env, err := Seal([]byte("S3cret!"), testCtx, device.Public(), recovery.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(env), recovery)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := io.ReadAll(r)
	want := "watchword-envelope/1\ntenant: " + testCtx.Tenant + "\nagent: contoso.local\naccount: alice-ctso\nversion: 3\n\nS3cret!"
	if string(pt) != want {
		t.Fatalf("plaintext = %q, want %q", pt, want)
	}
}

func TestSwappedContext(t *testing.T) {
	device := genIdentity(t)
	env, err := Seal([]byte("pw"), testCtx, device.Public())
	if err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Context){
		"tenant":       func(c *Context) { c.Tenant += "x" },
		"agent":        func(c *Context) { c.Agent = "fabrikam.local" },
		"account":      func(c *Context) { c.Account = "bob-ctso" },
		"version":      func(c *Context) { c.Version++ },
		"older":        func(c *Context) { c.Version = 0 },
		"account case": func(c *Context) { c.Account = strings.ToUpper(c.Account) },
		"empty":        func(c *Context) { *c = Context{} },
	} {
		c := testCtx
		mod(&c)
		got, err := Open(env, c, device)
		if !errors.Is(err, ErrWrongContext) {
			t.Errorf("%s: Open error = %v, want ErrWrongContext", name, err)
		}
		if got != nil {
			t.Errorf("%s: Open returned the secret", name)
		}
	}
}

// TestTamperEveryByte flips one bit at every position of an envelope: each
// must fail, with a sentinel, and flips in the payload with ErrTampered.
func TestTamperEveryByte(t *testing.T) {
	device, recovery := genIdentity(t), newRecovery(t)
	env, err := Seal(bytes.Repeat([]byte("k"), 64), testCtx, device.Public(), recovery.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := age.ExtractHeader(bytes.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[error]int{}
	for i := range env {
		mod := bytes.Clone(env)
		mod[i] ^= 0x04
		_, err := Open(mod, testCtx, device)
		var sentinel error
		for _, s := range []error{ErrWrongKey, ErrTampered, ErrMalformed} {
			if errors.Is(err, s) {
				sentinel = s
			}
		}
		switch {
		case err == nil:
			t.Fatalf("byte %d flipped: Open succeeded", i)
		case sentinel == nil:
			t.Fatalf("byte %d flipped: error %v wraps no sentinel", i, err)
		case i >= len(hdr) && sentinel != ErrTampered:
			t.Fatalf("payload byte %d flipped: error %v, want ErrTampered", i, err)
		}
		counts[sentinel]++
	}
	t.Logf("%d bytes: %d tampered, %d malformed, %d wrong key", len(env), counts[ErrTampered], counts[ErrMalformed], counts[ErrWrongKey])
}

func TestTruncated(t *testing.T) {
	device := genIdentity(t)
	env, err := Seal([]byte("pw"), testCtx, device.Public())
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(env) {
		if _, err := Open(env[:n], testCtx, device); err == nil {
			t.Fatalf("Open of the first %d bytes succeeded", n)
		} else if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Open of the first %d bytes: %v, want ErrTampered or ErrMalformed", n, err)
		}
	}
	if _, err := Open(append(bytes.Clone(env), 0), testCtx, device); !errors.Is(err, ErrTampered) {
		t.Fatalf("Open with a trailing byte: %v, want ErrTampered", err)
	}
}

func TestSealRefuses(t *testing.T) {
	device := genIdentity(t)
	classic, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	scrypt, err := age.NewScryptRecipient("pass")
	if err != nil {
		t.Fatal(err)
	}
	scrypt.SetWorkFactor(2)
	for name, tc := range map[string]struct {
		ctx        Context
		recipients []age.Recipient
	}{
		"no recipients":       {testCtx, nil},
		"nil recipient":       {testCtx, []age.Recipient{device.Public(), nil}},
		"classic only":        {testCtx, []age.Recipient{classic.Recipient()}},
		"classic mixed in":    {testCtx, []age.Recipient{device.Public(), classic.Recipient()}},
		"scrypt":              {testCtx, []age.Recipient{scrypt}},
		"unlabelled":          {testCtx, []age.Recipient{unlabelled{device.Public().Recipient()}}},
		"newline in account":  {Context{Tenant: "t", Agent: "a", Account: "x\nversion: 9", Version: 1}, []age.Recipient{device.Public()}},
		"newline in tenant":   {Context{Tenant: "t\n", Agent: "a", Account: "x", Version: 1}, []age.Recipient{device.Public()}},
		"control in agent":    {Context{Tenant: "t", Agent: "a\x1b[2J", Account: "x", Version: 1}, []age.Recipient{device.Public()}},
		"invalid utf-8":       {Context{Tenant: "t", Agent: "a", Account: "\xff", Version: 1}, []age.Recipient{device.Public()}},
		"negative version":    {Context{Tenant: "t", Agent: "a", Account: "x", Version: -1}, []age.Recipient{device.Public()}},
		"recovery is classic": {testCtx, []age.Recipient{device.Public(), classic.Recipient()}},
		"huge context":        {Context{Tenant: strings.Repeat("t", maxHeaderSize)}, []age.Recipient{device.Public()}},
	} {
		env, err := Seal([]byte("pw"), tc.ctx, tc.recipients...)
		if err == nil || env != nil {
			t.Errorf("%s: Seal succeeded", name)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error %q contains the secret", name, err)
		}
	}
}

func TestSizeLimits(t *testing.T) {
	device := genIdentity(t)
	if _, err := Seal(make([]byte, MaxSecretSize+1), testCtx, device.Public()); err == nil {
		t.Fatal("Seal of a secret over MaxSecretSize succeeded")
	}
	env, err := Seal(make([]byte, MaxSecretSize), testCtx, device.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(env, testCtx, device); err != nil || len(got) != MaxSecretSize {
		t.Fatalf("Open of a MaxSecretSize secret: %d bytes, %v", len(got), err)
	}
	// An oversized envelope made with age directly is refused, not read whole.
	var buf bytes.Buffer
	w, _ := age.Encrypt(&buf, device.Public())
	w.Write(testCtx.header())
	w.Write(make([]byte, MaxSecretSize+maxHeaderSize))
	w.Close()
	if _, err := Open(buf.Bytes(), testCtx, device); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Open of an oversized envelope: %v, want ErrMalformed", err)
	}
}

// unlabelled hides WrapWithLabels, as age suggests for bypassing its
// post-quantum check; Seal must still refuse it.
type unlabelled struct{ r age.Recipient }

func (u unlabelled) Wrap(k []byte) ([]*age.Stanza, error) { return u.r.Wrap(k) }

func TestOpenRefusesNilIdentity(t *testing.T) {
	if _, err := Open([]byte("x"), testCtx, nil); err == nil {
		t.Fatal("Open with a nil identity succeeded")
	}
}

func TestIdentityRoundTrip(t *testing.T) {
	id := genIdentity(t)
	back, err := ParseIdentity(id.String())
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != id.String() || !back.Public().Equal(id.Public()) {
		t.Fatal("ParseIdentity(String()) differs")
	}
	if !back.Signer().Equal(id.Signer()) {
		t.Fatal("auth key differs after round trip")
	}
	// The age part is the standard age secret key, usable by the age CLI.
	if !strings.Contains(id.String(), id.AgeIdentity().String()) {
		t.Fatal("serialisation does not contain the age secret key")
	}
	if id.String() == genIdentity(t).String() {
		t.Fatal("two identities are equal")
	}
}

func TestIdentityRedacted(t *testing.T) {
	id := genIdentity(t)
	secret := id.String()
	seed := b64.EncodeToString(id.Signer().Seed())
	ageKey := id.AgeIdentity().String()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, arg := range []any{id, *id, []*Identity{id}, struct{ ID *Identity }{id}} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, seed) || strings.Contains(out, ageKey) || strings.Contains(strings.ToUpper(out), ageKey) {
				t.Errorf("fmt %s of %T leaks the secret: %s", verb, arg, out)
			}
		}
	}
	if out := fmt.Sprint(id); !strings.Contains(out, id.Public().ID()) || !strings.Contains(out, "REDACTED") {
		t.Errorf("redacted form %q should name the key ID", out)
	}
	_ = secret
}

func TestParseIdentityErrorsDoNotLeak(t *testing.T) {
	s := genIdentity(t).String()
	for i := 0; i < len(s); i += 7 {
		bad := s[:i] + "!" + s[i+1:]
		_, err := ParseIdentity(bad)
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseIdentity with byte %d changed: %v, want ErrMalformed", i, err)
		}
		assertNoLeak(t, err.Error(), bad)
	}
}

func TestPublicKey(t *testing.T) {
	a, b := genIdentity(t), genIdentity(t)
	pa := a.Public()
	back, err := ParsePublicKey("  " + pa.String() + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(pa) || back.Fingerprint() != pa.Fingerprint() || back.ID() != pa.ID() {
		t.Fatal("ParsePublicKey(String()) differs")
	}
	if back.Recipient().String() != a.AgeIdentity().Recipient().String() {
		t.Fatal("recipient differs from the identity's")
	}
	if pa.ID() != KeyID(pa.AuthKey()) {
		t.Fatal("ID != KeyID(AuthKey())")
	}
	// The fingerprint covers both keys: swapping either one changes it.
	pb := b.Public()
	mixed1 := &PublicKey{rcpt: pa.rcpt, auth: pb.auth}
	mixed2 := &PublicKey{rcpt: pb.rcpt, auth: pa.auth}
	fps := map[Fingerprint]bool{pa.Fingerprint(): true, pb.Fingerprint(): true, mixed1.Fingerprint(): true, mixed2.Fingerprint(): true}
	if len(fps) != 4 {
		t.Fatal("fingerprint does not depend on both keys")
	}
	if mixed2.ID() != pa.ID() {
		t.Fatal("KeyID should depend on the auth key only")
	}
}

func TestKeyID(t *testing.T) {
	// Known answer, from Python: base32(sha256(bytes(32))).lower().rstrip("=").
	id := KeyID(make(ed25519.PublicKey, ed25519.PublicKeySize))
	if want := "mzuhvlpymk6xo3epygfy5h4oeaejofefn3rdhm4qfjmr2dk7fesq"; id != want {
		t.Fatalf("KeyID(zero) = %s, want %s", id, want)
	}
	if id != strings.ToLower(id) || len(id) != 52 || strings.Contains(id, "=") {
		t.Fatalf("KeyID %q: want 52 lowercase characters without padding", id)
	}
}

func TestFingerprintRendering(t *testing.T) {
	var f Fingerprint
	for i := range f {
		f[i] = byte(i * 37)
	}
	s := f.String()
	groups := strings.Fields(s)
	if len(groups) != 16 {
		t.Fatalf("%q: %d groups, want 16", s, len(groups))
	}
	for _, g := range groups {
		if len(g) != 5 || strings.Trim(g, "0123456789") != "" {
			t.Fatalf("%q: group %q is not 5 digits", s, g)
		}
	}
	if groups[0] != "00037" { // bytes 0x00 0x25
		t.Fatalf("first group %q, want 00037", groups[0])
	}
	if len(f.Lines()) != 4 || strings.Join(f.Lines(), " ") != s {
		t.Fatalf("Lines = %q", f.Lines())
	}
	for _, in := range []string{s, strings.ReplaceAll(s, " ", "-"), strings.Join(f.Lines(), "\r\n"), strings.ReplaceAll(s, " ", "")} {
		got, err := ParseFingerprint(in)
		if err != nil || got != f {
			t.Fatalf("ParseFingerprint(%q) = %v, %v", in, got, err)
		}
	}
	var max Fingerprint
	for i := range max {
		max[i] = 0xff
	}
	if got, err := ParseFingerprint(max.String()); err != nil || got != max {
		t.Fatalf("all-ones fingerprint: %v, %v", got, err)
	}
}

func TestTLSMutualAuth(t *testing.T) {
	hub, tech := genIdentity(t), genIdentity(t)
	hubCert, err := hub.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	techCert, err := tech.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{hubCert},
		ClientAuth:   tls.RequireAnyClientCert,
		MinVersion:   tls.VersionTLS13,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				tc := c.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					peers <- "handshake: " + err.Error()
					return
				}
				pub, err := PeerKey(tc.ConnectionState().PeerCertificates[0])
				if err != nil {
					peers <- err.Error()
					return
				}
				peers <- KeyID(pub)
				io.WriteString(c, "ok")
			}(c)
		}
	}()
	dial := func(pin string) error {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{
			Certificates:          []tls.Certificate{techCert},
			InsecureSkipVerify:    true, // no CA: the pin below is the check
			VerifyPeerCertificate: VerifyPeerKeyID(pin),
			MinVersion:            tls.VersionTLS13,
		})
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(c)
		return err
	}
	if err := dial(hub.Public().ID()); err != nil {
		t.Fatalf("dial with the right pin: %v", err)
	}
	select {
	case got := <-peers:
		if got != tech.Public().ID() {
			t.Fatalf("hub saw peer %q, want %s", got, tech.Public().ID())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hub saw no peer")
	}
	err = dial(tech.Public().ID())
	if !errors.Is(err, ErrUnexpectedPeer) {
		t.Fatalf("dial with a wrong pin: %v, want ErrUnexpectedPeer", err)
	}
}

func TestPeerKeyRefusesOtherKeys(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ecdsa"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if _, err := PeerKey(cert); err == nil {
		t.Fatal("PeerKey accepted an ECDSA certificate")
	}
	if _, err := PeerKey(nil); err == nil {
		t.Fatal("PeerKey accepted nil")
	}
	if err := VerifyPeerKeyID("x")([][]byte{der}, nil); err == nil {
		t.Fatal("VerifyPeerKeyID accepted an ECDSA certificate")
	}
	own, _ := genIdentity(t).TLSCertificate()
	pub, err := PeerKey(own.Leaf)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("PeerKey of own certificate: %v", err)
	}
}

func TestParseRecipient(t *testing.T) {
	r := newRecovery(t).Recipient()
	got, err := ParseRecipient(r.String())
	if err != nil || got.String() != r.String() {
		t.Fatalf("ParseRecipient: %v", err)
	}
	classic, _ := age.GenerateX25519Identity()
	for _, bad := range []string{"", classic.Recipient().String(), strings.ToUpper(r.String()), r.String()[:100], r.String() + "q"} {
		if _, err := ParseRecipient(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseRecipient(%.20q…): %v, want ErrMalformed", bad, err)
		}
	}
}
