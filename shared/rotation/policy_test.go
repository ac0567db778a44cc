package rotation_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/watchword/watchword/shared/rotation"
)

func TestGenerateMeetsPolicy(t *testing.T) {
	p := rotation.Policy{Length: 20, Digits: 3, Symbols: 2, NoAmbiguous: true, Rules: rotation.RulesAD}
	seen := map[string]bool{}
	for range 500 {
		pw, err := p.Generate("bob-ctso", "Bob Builder")
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 20 {
			t.Fatalf("length %d, want 20", len(pw))
		}
		var digits, symbols int
		for _, r := range pw {
			switch {
			case unicode.IsDigit(r):
				digits++
			case !unicode.IsLetter(r):
				symbols++
				if !strings.ContainsRune(rotation.DefaultSymbols, r) {
					t.Fatalf("symbol %q outside the default set", r)
				}
			}
			if strings.ContainsRune(rotation.Ambiguous, r) {
				t.Fatalf("ambiguous character %q with NoAmbiguous", r)
			}
		}
		if digits != 3 || symbols != 2 {
			t.Fatalf("%d digits %d symbols, want 3 and 2", digits, symbols)
		}
		if err := rotation.CheckAD(pw, "bob-ctso", "Bob Builder"); err != nil {
			t.Fatal(err)
		}
		if seen[pw] {
			t.Fatal("the same password twice")
		}
		seen[pw] = true
	}
}

func TestCheckAD(t *testing.T) {
	cases := []struct {
		pw    string
		names []string
		ok    bool
	}{
		{"Abcdefg1", nil, true},
		{"abcdefg1!", nil, true},
		{"abcdefgh", nil, false}, // one class
		{"abcdefg1", nil, false}, // two classes
		{"ABCDEFG!", nil, false}, // two classes
		{"xxBob-Ctso9!", []string{"bob-ctso"}, false},
		{"xxBo9!", []string{"bo"}, true}, // names of two characters are not checked
		{"Xbuilder9!", []string{"bob", "Bob Builder"}, false},
		{"Xbui9!zzQ", []string{"bob", "Bob Builder"}, true},
	}
	for _, c := range cases {
		err := rotation.CheckAD(c.pw, c.names...)
		if (err == nil) != c.ok {
			t.Errorf("CheckAD(%q, %q) = %v, want ok=%v", c.pw, c.names, err, c.ok)
		}
		if err != nil && strings.Contains(err.Error(), c.pw) {
			t.Errorf("error quotes the password: %v", err)
		}
	}
}

func TestGenerateRegeneratesUntilSatisfied(t *testing.T) {
	// Lower-case letters and digits only can never give AD's three classes: refused up front.
	p := rotation.Policy{Length: 12, Digits: 2, NoUpper: true, Rules: rotation.RulesAD}
	if _, err := p.Generate("x"); !errors.Is(err, rotation.ErrBadPolicy) {
		t.Fatalf("err %v, want ErrBadPolicy", err)
	}
	// No letters at all: every candidate has two classes; the bounded loop gives up rather than spin.
	p = rotation.Policy{Length: 12, Digits: 2, Symbols: 10, SymbolSet: "#", Rules: rotation.RulesAD}
	if _, err := p.Generate("acct"); !errors.Is(err, rotation.ErrUnsatisfiable) {
		t.Fatalf("err %v, want ErrUnsatisfiable", err)
	}
	// Four letters and eight digits: three classes only when the letters mix cases (7 candidates in 8).
	// Generate must only ever return those.
	p = rotation.Policy{Length: 12, Digits: 8, Rules: rotation.RulesAD}
	for range 200 {
		pw, err := p.Generate("acct")
		if err != nil {
			t.Fatal(err)
		}
		if rotation.CheckAD(pw, "acct") != nil {
			t.Fatal("returned a password that fails the rules")
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	bad := []rotation.Policy{
		{Length: 4},
		{Length: 200},
		{Length: 12, Digits: 6, Symbols: 7},
		{Length: 12, Digits: -1},
		{Length: 12, Symbols: 1, SymbolSet: "a"},
		{Length: 12, Symbols: 1, SymbolSet: "|", NoAmbiguous: true},
	}
	for _, p := range bad {
		if err := p.Validate(); !errors.Is(err, rotation.ErrBadPolicy) {
			t.Errorf("Validate(%+v) = %v, want ErrBadPolicy", p, err)
		}
	}
	if err := rotation.DefaultPolicy(rotation.RulesAD).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSchedule(t *testing.T) {
	s := rotation.Schedule{Interval: 24 * time.Hour, Jitter: time.Hour}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	offsets := map[time.Duration]bool{}
	for i := range 1000 {
		key := "tenant/agent/" + string(rune('a'+i%26)) + strings.Repeat("x", i)
		o := s.Offset(key)
		if o < 0 || o >= time.Hour {
			t.Fatalf("offset %s outside [0, 1h)", o)
		}
		if o != s.Offset(key) {
			t.Fatal("offset not deterministic")
		}
		offsets[o.Truncate(time.Minute)] = true
		if next := s.NextDue(t0, key); next.After(t0.Add(24*time.Hour)) || next.Before(t0.Add(23*time.Hour)) {
			t.Fatalf("next due %s outside the window", next)
		}
	}
	if len(offsets) < 50 {
		t.Fatalf("1000 accounts fall in only %d distinct minutes: not spread", len(offsets))
	}
	// jitter is capped at half the interval, so a password never waits longer than the interval nor rotates at once
	wild := rotation.Schedule{Interval: time.Hour, Jitter: 10 * time.Hour}
	if o := wild.Offset("k"); o >= 30*time.Minute {
		t.Fatalf("offset %s not capped", o)
	}

	key := "k1"
	next := s.NextDue(t0, key)
	cases := []struct {
		now  time.Time
		st   rotation.AccountState
		want rotation.Reason
	}{
		{t0, rotation.AccountState{Key: key}, rotation.DueNew},
		{t0.Add(time.Minute), rotation.AccountState{Key: key, Confirmed: t0}, rotation.NotDue},
		{next.Add(-time.Second), rotation.AccountState{Key: key, Confirmed: t0}, rotation.NotDue},
		{next, rotation.AccountState{Key: key, Confirmed: t0}, rotation.DueSchedule},
		{t0.Add(time.Minute), rotation.AccountState{Key: key, Confirmed: t0, RotateNow: true}, rotation.DueOnDemand},
		{t0.Add(time.Minute), rotation.AccountState{Key: key, Confirmed: t0, Unconfirmed: true}, rotation.DueRecovery},
	}
	for i, c := range cases {
		if got, _ := s.Due(c.now, c.st); got != c.want {
			t.Errorf("case %d: Due = %s, want %s", i, got, c.want)
		}
	}

	tenant := rotation.Schedule{Interval: 30 * 24 * time.Hour, Jitter: 6 * time.Hour}
	if got := rotation.EffectiveSchedule(tenant, rotation.Schedule{}); got != tenant {
		t.Fatalf("no override: %+v", got)
	}
	if got := rotation.EffectiveSchedule(tenant, rotation.Schedule{Interval: 24 * time.Hour}); got.Interval != 24*time.Hour || got.Jitter != 6*time.Hour {
		t.Fatalf("override: %+v", got)
	}
	if err := (rotation.Schedule{Interval: time.Second}).Validate(); err == nil {
		t.Fatal("a one-second interval validated")
	}
}
