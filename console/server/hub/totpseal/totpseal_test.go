package totpseal_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/watchword/watchword/console/server/hub/totpseal"
	"github.com/watchword/watchword/shared/seal"
)

// TestSealOpen: a sealed secret opens for its tenant's tech under the same key only; a clear one (an older hub's)
// is returned as it is; the errors never carry the stored value.
func TestSealOpen(t *testing.T) {
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	s := totpseal.New(id)
	const secret = "JBSWY3DPEHPK3PXP"
	stored, err := s.Seal(1, 7, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, totpseal.Prefix) || strings.Contains(stored, secret) || !totpseal.Sealed(stored) {
		t.Fatalf("stored form %q", stored)
	}
	if got, err := s.Open(1, 7, stored); err != nil || got != secret {
		t.Fatalf("open: %q, %v", got, err)
	}
	other, _ := seal.GenerateIdentity()
	for name, open := range map[string]func() (string, error){
		"another tech":   func() (string, error) { return s.Open(1, 8, stored) },
		"another tenant": func() (string, error) { return s.Open(2, 7, stored) },
		"another key":    func() (string, error) { return totpseal.New(other).Open(1, 7, stored) },
		"malformed":      func() (string, error) { return s.Open(1, 7, totpseal.Prefix+"!!") },
	} {
		got, err := open()
		if got != "" || !errors.Is(err, totpseal.ErrUnopenable) || strings.Contains(err.Error(), stored[len(totpseal.Prefix):]) {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	if got, err := s.Open(1, 7, secret); err != nil || got != secret || totpseal.Sealed(secret) {
		t.Errorf("a clear secret: %q, %v", got, err)
	}
}
