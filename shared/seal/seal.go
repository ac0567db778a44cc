package seal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
)

// Context binds an envelope to where it belongs. [Open] rejects an envelope
// presented under another context with [ErrWrongContext].
type Context struct {
	Tenant  string // client GUID
	Agent   string // agent ID
	Account string // account name on the target
	Version int64
}

// String renders c for messages; none of its fields is secret.
func (c Context) String() string {
	return fmt.Sprintf("tenant %q agent %q account %q version %d", c.Tenant, c.Agent, c.Account, c.Version)
}

// envelopeMagic is the first line of every plaintext. A break-glass
// `age -d` shows it, and the context lines after it, above the password.
const envelopeMagic = "watchword-envelope/1"

func (c Context) validate() error {
	for _, f := range []struct{ name, v string }{{"tenant", c.Tenant}, {"agent", c.Agent}, {"account", c.Account}} {
		if !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, unicode.IsControl) {
			return fmt.Errorf("context %s %q: not printable text", f.name, f.v)
		}
	}
	if c.Version < 0 {
		return fmt.Errorf("context version %d: negative", c.Version)
	}
	return nil
}

// header is the plaintext prefix that binds an envelope to c.
func (c Context) header() []byte {
	return fmt.Appendf(nil, "%s\ntenant: %s\nagent: %s\naccount: %s\nversion: %d\n\n",
		envelopeMagic, c.Tenant, c.Agent, c.Account, c.Version)
}

// parsePlaintext splits an opened plaintext into its context and secret.
func parsePlaintext(pt []byte) (Context, []byte, error) {
	head, secret, ok := bytes.Cut(pt, []byte("\n\n"))
	if !ok {
		return Context{}, nil, errors.New("no context header")
	}
	lines := strings.Split(string(head), "\n")
	if len(lines) != 5 || lines[0] != envelopeMagic {
		return Context{}, nil, errors.New("not a " + envelopeMagic + " header")
	}
	var c Context
	var version string
	for i, f := range []struct {
		key string
		v   *string
	}{{"tenant", &c.Tenant}, {"agent", &c.Agent}, {"account", &c.Account}, {"version", &version}} {
		v, ok := strings.CutPrefix(lines[i+1], f.key+": ")
		if !ok {
			return Context{}, nil, fmt.Errorf("context line %d: want %s", i+2, f.key)
		}
		*f.v = v
	}
	n, err := strconv.ParseInt(version, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != version {
		return Context{}, nil, errors.New("context version: not an integer")
	}
	c.Version = n
	if err := c.validate(); err != nil {
		return Context{}, nil, err
	}
	return c, secret, nil
}

// pqAll wraps the file key for every recipient as one age recipient. It
// refuses a recipient that does not carry age's "postquantum" label, so a
// classic recipient can never weaken an envelope, and it wraps for the
// recipients in parallel: each hybrid wrap is an ML-KEM encapsulation and two
// X25519 operations, the bulk of the cost of Seal.
type pqAll []age.Recipient

var _ age.RecipientWithLabels = pqAll(nil)

func (p pqAll) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	s, _, err := p.WrapWithLabels(fileKey)
	return s, err
}

func (p pqAll) WrapWithLabels(fileKey []byte) ([]*age.Stanza, []string, error) {
	stanzas := make([][]*age.Stanza, len(p))
	errs := make([]error, len(p))
	var wg sync.WaitGroup
	for i, r := range p {
		wrap := func() {
			rl, ok := r.(age.RecipientWithLabels)
			if !ok {
				errs[i] = fmt.Errorf("recipient %d: not post-quantum", i)
				return
			}
			s, labels, err := rl.WrapWithLabels(fileKey)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("recipient %d: %w", i, err)
			case !slices.Contains(labels, "postquantum"):
				errs[i] = fmt.Errorf("recipient %d: not post-quantum", i)
			default:
				stanzas[i] = s
			}
		}
		if i == len(p)-1 {
			wrap() // the last one on this goroutine
			continue
		}
		wg.Go(wrap)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return slices.Concat(stanzas...), []string{"postquantum"}, nil
}

// MaxSecretSize bounds the secret in an envelope. Envelopes carry passwords;
// the bound keeps a hostile envelope from making Open read without end.
const MaxSecretSize = 1 << 20

// maxHeaderSize bounds the context header Open accepts.
const maxHeaderSize = 16 << 10

// Seal seals secret, bound to ctx, to every recipient: the device keys of the
// technician and, last, the tenant's recovery recipient. Every recipient must
// be post-quantum ([*PublicKey], [*age.HybridRecipient]). The envelope is an
// age file in the binary format, with one stanza per recipient in their order.
func Seal(secret []byte, ctx Context, recipients ...age.Recipient) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("seal envelope: no recipients")
	}
	if err := ctx.validate(); err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	if h := ctx.header(); len(h) > maxHeaderSize {
		return nil, fmt.Errorf("seal envelope: context of %d bytes, more than %d", len(h), maxHeaderSize)
	}
	if len(secret) > MaxSecretSize {
		return nil, fmt.Errorf("seal envelope: secret of %d bytes, more than %d", len(secret), MaxSecretSize)
	}
	for i, r := range recipients {
		if r == nil {
			return nil, fmt.Errorf("seal envelope: recipient %d: nil", i)
		}
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, pqAll(recipients))
	if err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	if _, err := w.Write(ctx.header()); err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	if _, err := w.Write(secret); err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	return buf.Bytes(), nil
}

// Open opens an envelope with identity and checks that it is bound to ctx.
// Errors wrap [ErrMalformed], [ErrWrongKey], [ErrTampered] or
// [ErrWrongContext].
func Open(envelope []byte, ctx Context, identity age.Identity) ([]byte, error) {
	if identity == nil {
		return nil, errors.New("open envelope: nil identity")
	}
	// One age.Decrypt, with the identity behind a probe that notes how far
	// age got, to tell the failures apart without matching age's error
	// strings: an envelope whose header does not parse never reaches the
	// identity. (Extracting the header, unwrapping it, then decrypting with
	// the file key parsed the header three times and checked its MAC twice.)
	//
	// age tries an identity on the stanzas in order, and each try is a full
	// hybrid decapsulation (ML-KEM-768 and X25519), even for a stanza that
	// turns out to be someone else's: a device's Identity has its stanza among
	// the first, the recovery identity (any other identity) has its stanza
	// last, so it tries them from the last instead of paying one
	// decapsulation per device first. The order changes only the cost.
	_, device := identity.(*Identity)
	p := &probe{id: identity, lastFirst: !device}
	r, err := age.Decrypt(bytes.NewReader(envelope), p)
	if err != nil {
		if !p.offered {
			return nil, fmt.Errorf("open envelope: %w: bad age header", ErrMalformed)
		}
		if _, ok := errors.AsType[*age.NoIdentityMatchError](err); ok {
			return nil, fmt.Errorf("open envelope: %w", ErrWrongKey)
		}
		if !p.unwrapped {
			// A stanza that is ours but does not decode.
			return nil, fmt.Errorf("open envelope: %w: header", ErrTampered)
		}
		return nil, fmt.Errorf("open envelope: %w: header MAC or payload", ErrTampered)
	}
	pt, err := io.ReadAll(io.LimitReader(r, maxHeaderSize+MaxSecretSize+1))
	if err != nil {
		return nil, fmt.Errorf("open envelope: %w: payload", ErrTampered)
	}
	if len(pt) > maxHeaderSize+MaxSecretSize {
		return nil, fmt.Errorf("open envelope: %w: larger than %d bytes", ErrMalformed, maxHeaderSize+MaxSecretSize)
	}
	got, secret, err := parsePlaintext(pt)
	if err != nil {
		return nil, fmt.Errorf("open envelope: %w: %v", ErrMalformed, err)
	}
	if got != ctx {
		return nil, fmt.Errorf("open envelope: %w: sealed for %s, want %s", ErrWrongContext, got, ctx)
	}
	return secret, nil
}

// probe passes an envelope's stanzas to an identity, from the last one if
// lastFirst, and notes what age got to.
type probe struct {
	id        age.Identity
	lastFirst bool
	offered   bool // the header parsed: the stanzas were offered
	unwrapped bool // the identity found its stanza and returned a file key
}

func (p *probe) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	p.offered = true
	if p.lastFirst {
		stanzas = slices.Clone(stanzas)
		slices.Reverse(stanzas)
	}
	k, err := p.id.Unwrap(stanzas)
	p.unwrapped = err == nil
	return k, err
}
