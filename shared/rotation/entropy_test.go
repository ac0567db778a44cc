package rotation

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestPolicyEntropy: the strength of a policy counts each character by the alphabet it is drawn from, and a policy
// under MinEntropyBits is refused with the length (and the upper-case alternative) that would do.
func TestPolicyEntropy(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Policy
		bits float64 // expected, to 0.01
		err  string  // "" when accepted
	}{
		{"default", DefaultPolicy(RulesNone), 16*math.Log2(48) + 4*math.Log2(8) + 4*math.Log2(14), ""},
		{"12 lower case, no ambiguous", Policy{Length: 12, NoUpper: true, NoAmbiguous: true}, 12 * math.Log2(24),
			"about 55 bits; at least 80: raise the length to 18, or to 15 with upper case allowed"},
		{"12 lower case", Policy{Length: 12, NoUpper: true}, 12 * math.Log2(26),
			"about 56 bits; at least 80: raise the length to 18, or to 15 with upper case allowed"},
		{"12 mixed with digits and symbols", Policy{Length: 12, Digits: 2, Symbols: 2}, 8*math.Log2(52) + 2*math.Log2(10) + 2*math.Log2(14),
			"about 59 bits; at least 80: raise the length to 16"},
		{"digits only", Policy{Length: 16, Digits: 16}, 16 * math.Log2(10),
			"about 53 bits; at least 80: raise the length to 21"},
		{"upper case alone would do", Policy{Length: 15, NoUpper: true}, 15 * math.Log2(26),
			"about 70 bits; at least 80: raise the length to 18 or allow upper case"},
		{"14 mixed, just short", Policy{Length: 14}, 14 * math.Log2(52), "about 79 bits; at least 80: raise the length to 15"},
		{"one symbol repeated in the set", Policy{Length: 20, NoUpper: true, Symbols: 8, SymbolSet: "!!!!"}, 12 * math.Log2(26),
			"about 56 bits; at least 80: raise the length to 26, or to 23 with upper case allowed"},
		{"15 mixed", Policy{Length: 15}, 15 * math.Log2(52), ""},
		{"18 lower case", Policy{Length: 18, NoUpper: true}, 18 * math.Log2(26), ""},
		{"24 lower case, no ambiguous", Policy{Length: 24, NoUpper: true, NoAmbiguous: true}, 24 * math.Log2(24), ""},
	} {
		if got := c.p.EntropyBits(); math.Abs(got-c.bits) > 0.01 {
			t.Errorf("%s: EntropyBits = %.2f, want %.2f", c.name, got, c.bits)
		}
		err := c.p.CheckEntropy()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.err != "" && (!errors.Is(err, ErrWeakPolicy) || !strings.HasSuffix(err.Error(), c.err)):
			t.Errorf("%s: CheckEntropy = %v, want ErrWeakPolicy ending %q", c.name, err, c.err)
		}
		if c.err != "" {
			// The length the error names is enough, and one less is not.
			if n := c.p.lengthFor(MinEntropyBits); n <= c.p.Length {
				t.Errorf("%s: lengthFor = %d", c.name, n)
			} else {
				q := c.p
				q.Length = n
				if q.CheckEntropy() != nil {
					t.Errorf("%s: length %d still refused", c.name, n)
				}
				q.Length = n - 1
				if q.CheckEntropy() == nil {
					t.Errorf("%s: length %d, one less than named, accepted", c.name, n-1)
				}
			}
		}
	}
}
