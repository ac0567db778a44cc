package wire

import (
	"strings"
	"testing"
	"time"
)

func TestValidJITReason(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" = valid
	}{
		{"ticket 4711: printer GPO", ""},
		{"été – café", ""},
		{"", "required"},
		{"   ", "required"},
		{"line\nbreak", "control"},
		{"bell\a", "control"},
		{"\xff\xfe", "UTF-8"},
		{strings.Repeat("é", MaxJITReason), ""},
		{strings.Repeat("é", MaxJITReason+1), "at most"},
	} {
		err := ValidJITReason(tc.in)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ValidJITReason(%q) = %v, want valid", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("ValidJITReason(%q) = %v, want an error about %q", tc.in, err, tc.want)
		}
	}
}

func TestPlanJITActive(t *testing.T) {
	now := time.Now()
	var none *PlanJIT
	for _, tc := range []struct {
		j    *PlanJIT
		want bool
	}{
		{none, false},
		{&PlanJIT{Enabled: false, ExpiresAt: now.Add(time.Hour)}, false},
		{&PlanJIT{Enabled: true, ExpiresAt: now.Add(time.Hour)}, true},
		{&PlanJIT{Enabled: true, ExpiresAt: now}, false}, // expiry itself is closed
		{&PlanJIT{Enabled: true}, false},
	} {
		if got := tc.j.Active(now); got != tc.want {
			t.Errorf("%+v.Active = %v, want %v", tc.j, got, tc.want)
		}
	}
	if TechJITPath(7, ActionJITDone) != "/v1/tech/jit/7/done" || AdminJITPath(9, ActionJITApprove) != "/v1/admin/jit/9/approve" {
		t.Error("JIT paths changed")
	}
}
