package rotation

import (
	"errors"
	"fmt"
	"math"

	"github.com/sethvargo/go-password/password"
)

// MinEntropyBits is the least strength a hub accepts for a tenant's policy, as [Policy.EntropyBits] counts it.
// 80 bits is beyond any offline search of a stolen hash today, even of a fast unsalted one (NTLM), with margin.
const MinEntropyBits = 80

// ErrWeakPolicy: the policy's passwords would be weaker than [MinEntropyBits].
var ErrWeakPolicy = errors.New("password policy too weak")

// alphabets returns the sizes of the alphabets the generator draws the policy's letters, digits and symbols from.
func (p Policy) alphabets() (letters, digits, symbols int) {
	lower, upper, dig := password.LowerLetters, password.UpperLetters, password.Digits
	if p.NoAmbiguous {
		lower, upper, dig = strip(lower, Ambiguous), strip(upper, Ambiguous), strip(dig, Ambiguous)
	}
	letters = len(lower)
	if !p.NoUpper {
		letters += len(upper)
	}
	return letters, len(dig), distinct(p.symbolSet())
}

// distinct counts the different characters of s: a symbol set that repeats one adds nothing.
func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// EntropyBits is the strength of the policy's passwords in bits, counted conservatively: each character adds
// log2 of the size of the alphabet it is drawn from (letters, digits or symbols, as NoUpper, NoAmbiguous and the
// symbol set leave them), and nothing is counted for where the digits and symbols fall. A target's rules that
// reject some candidates take a negligible part of that away.
func (p Policy) EntropyBits() float64 {
	letters, digits, symbols := p.alphabets()
	bits := float64(p.Length-p.Digits-p.Symbols) * math.Log2(float64(letters))
	if p.Digits > 0 {
		bits += float64(p.Digits) * math.Log2(float64(digits))
	}
	if p.Symbols > 0 && symbols > 0 {
		bits += float64(p.Symbols) * math.Log2(float64(symbols))
	}
	return bits
}

// CheckEntropy refuses a policy weaker than [MinEntropyBits], with an error (wrapping [ErrWeakPolicy]) that says
// what to raise: the length that would do with the policy's other settings, and the shorter one that would do with
// upper case allowed when the policy leaves it out.
func (p Policy) CheckEntropy() error {
	bits := p.EntropyBits()
	if bits >= MinEntropyBits {
		return nil
	}
	fix := fmt.Sprintf("raise the length to %d", p.lengthFor(MinEntropyBits))
	if p.NoUpper {
		up := p
		up.NoUpper = false
		if n := up.lengthFor(MinEntropyBits); n == p.Length {
			fix += " or allow upper case"
		} else {
			fix += fmt.Sprintf(", or to %d with upper case allowed", n)
		}
	}
	return fmt.Errorf("%w: about %d bits; at least %d: %s", ErrWeakPolicy, int(bits), MinEntropyBits, fix)
}

// lengthFor is the least length, no shorter than the policy's, whose passwords reach bits with the policy's
// other settings; the added characters are letters.
func (p Policy) lengthFor(bits float64) int {
	q := p
	for q.EntropyBits() < bits && q.Length < 1024 {
		q.Length++
	}
	return q.Length
}
