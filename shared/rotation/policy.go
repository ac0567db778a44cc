package rotation

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/sethvargo/go-password/password"
)

// Rules names the complexity rules a target enforces on top of the [Policy] itself.
type Rules int

const (
	// RulesNone: the target accepts any password the policy generates (OpenLDAP without a checker, Linux).
	RulesNone Rules = iota
	// RulesAD: Active Directory's "password must meet complexity requirements": characters from at least three
	// of the four classes (upper, lower, digit, other), and neither the account name nor any 3+ character token
	// of the display name, case-insensitively.
	RulesAD
)

func (r Rules) String() string {
	switch r {
	case RulesNone:
		return "none"
	case RulesAD:
		return "ad"
	}
	return fmt.Sprintf("rules(%d)", int(r))
}

// Character sets. The default symbols leave out quotes, backslash, colon, comma, semicolon, space and the
// backtick: characters that a person re-typing the password, a shell, chpasswd ("user:password") or an LDIF/CSV
// export would trip on, while keeping the password as strong per character as needed.
const (
	DefaultSymbols = "!#$%&*+-=?@^_~"
	// Ambiguous are characters that read alike in many fonts; NoAmbiguous leaves them out.
	Ambiguous = "0Oo1lI|`'\""
)

// Policy is how passwords are generated. The zero value is not usable; start from [DefaultPolicy].
type Policy struct {
	Length      int    // total characters
	Digits      int    // exactly this many digits
	Symbols     int    // exactly this many symbols
	NoUpper     bool   // lower-case letters only
	NoAmbiguous bool   // leave out [Ambiguous]
	SymbolSet   string // symbols to draw from; empty means DefaultSymbols
	Rules       Rules  // the target's own complexity rules, checked on every candidate
}

// DefaultPolicy is 24 characters with 4 digits and 4 symbols under the given target rules: about 140 bits.
func DefaultPolicy(rules Rules) Policy {
	return Policy{Length: 24, Digits: 4, Symbols: 4, NoAmbiguous: true, Rules: rules}
}

// MaxAttempts bounds the regeneration loop: a policy whose candidates keep failing the target's rules is a
// configuration error, reported with [ErrUnsatisfiable] rather than looped on forever.
const MaxAttempts = 100

// The bounds of a password's length, for every policy: the hub refuses a tenant policy outside them and Validate
// refuses to generate outside them. Below MinLength no mix of classes reaches the entropy floor; above MaxLength
// some targets truncate or refuse.
const (
	MinLength = 12
	MaxLength = 128
)

// Sentinel errors.
var (
	ErrBadPolicy     = errors.New("invalid password policy")
	ErrUnsatisfiable = errors.New("password policy cannot satisfy the target's complexity rules")
	ErrComplexity    = errors.New("password does not meet complexity rules")
)

// Validate reports a policy that cannot produce a password or one too weak to be worth setting.
func (p Policy) Validate() error {
	switch {
	case p.Length < MinLength || p.Length > MaxLength:
		return fmt.Errorf("%w: length %d not in [%d, %d]", ErrBadPolicy, p.Length, MinLength, MaxLength)
	case p.Digits < 0 || p.Symbols < 0:
		return fmt.Errorf("%w: negative digit or symbol count", ErrBadPolicy)
	case p.Digits+p.Symbols > p.Length:
		return fmt.Errorf("%w: %d digits + %d symbols exceed length %d", ErrBadPolicy, p.Digits, p.Symbols, p.Length)
	}
	for _, r := range p.SymbolSet {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' {
			return fmt.Errorf("%w: symbol set holds %q", ErrBadPolicy, r)
		}
	}
	if p.Symbols > 0 && p.symbolSet() == "" {
		return fmt.Errorf("%w: no symbols left to draw from", ErrBadPolicy)
	}
	if p.Rules == RulesAD {
		classes := 1 // lower
		if !p.NoUpper {
			classes++
		}
		if p.Digits > 0 {
			classes++
		}
		if p.Symbols > 0 {
			classes++
		}
		if classes < 3 {
			return fmt.Errorf("%w: AD needs three character classes, policy yields %d", ErrBadPolicy, classes)
		}
	}
	return nil
}

func (p Policy) symbolSet() string {
	s := p.SymbolSet
	if s == "" {
		s = DefaultSymbols
	}
	if p.NoAmbiguous {
		s = strip(s, Ambiguous)
	}
	return s
}

func strip(s, drop string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(drop, r) {
			return -1
		}
		return r
	}, s)
}

func (p Policy) generator() (*password.Generator, error) {
	in := &password.GeneratorInput{
		LowerLetters: password.LowerLetters,
		UpperLetters: password.UpperLetters,
		Digits:       password.Digits,
		Symbols:      p.symbolSet(),
	}
	if p.NoAmbiguous {
		in.LowerLetters = strip(in.LowerLetters, Ambiguous)
		in.UpperLetters = strip(in.UpperLetters, Ambiguous)
		in.Digits = strip(in.Digits, Ambiguous)
	}
	if in.Symbols == "" {
		// go-password substitutes its own set for an empty one; Validate has refused Symbols > 0 already.
		in.Symbols = "-"
	}
	return password.NewGenerator(in)
}

// Generate returns a new password for the account named names[0] (further names: its display name and the
// like, which AD also forbids inside the password). Candidates that break the target's rules are regenerated, at
// most [MaxAttempts] times.
func (p Policy) Generate(names ...string) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	g, err := p.generator()
	if err != nil {
		return "", fmt.Errorf("password generator: %w", err)
	}
	for range MaxAttempts {
		pw, err := g.Generate(p.Length, p.Digits, p.Symbols, p.NoUpper, true)
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		if p.Check(pw, names...) == nil {
			return pw, nil
		}
	}
	return "", fmt.Errorf("%w (%s rules, %d attempts)", ErrUnsatisfiable, p.Rules, MaxAttempts)
}

// Check reports whether pw meets the target's rules for the given account names.
func (p Policy) Check(pw string, names ...string) error {
	switch p.Rules {
	case RulesAD:
		return CheckAD(pw, names...)
	}
	return nil
}

// CheckAD applies Active Directory's complexity rules. names[0] is the sAMAccountName, which must not appear in
// the password when longer than two characters; later names (display name) are split on AD's delimiters and
// every token of three or more characters must not appear. The error never quotes the password.
func CheckAD(pw string, names ...string) error {
	var upper, lower, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{upper, lower, digit, other} {
		if b {
			n++
		}
	}
	if n < 3 {
		return fmt.Errorf("%w: %d of 4 character classes, AD needs 3", ErrComplexity, n)
	}
	low := strings.ToLower(pw)
	for i, name := range names {
		if i == 0 {
			if len(name) > 2 && strings.Contains(low, strings.ToLower(name)) {
				return fmt.Errorf("%w: contains the account name", ErrComplexity)
			}
			continue
		}
		for _, tok := range strings.FieldsFunc(name, func(r rune) bool { return strings.ContainsRune(",.-_# \t", r) }) {
			if len(tok) >= 3 && strings.Contains(low, strings.ToLower(tok)) {
				return fmt.Errorf("%w: contains part of the display name", ErrComplexity)
			}
		}
	}
	return nil
}
