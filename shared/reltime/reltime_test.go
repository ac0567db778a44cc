package reltime_test

import (
	"testing"
	"time"

	"github.com/watchword/watchword/shared/reltime"
)

func TestAgo(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(time.Hour), "just now"},
		{now.Add(-30 * time.Second), "just now"},
		{now.Add(-12 * time.Minute), "12 min ago"},
		{now.Add(-59*time.Minute - 59*time.Second), "59 min ago"},
		{now.Add(-3 * time.Hour), "3 h ago"},
		{now.Add(-47*time.Hour - 59*time.Minute), "47 h ago"},
		{now.Add(-48 * time.Hour), "2 days ago"},
		{now.Add(-100 * time.Hour), "4 days ago"},
	}
	for _, c := range cases {
		if got := reltime.Ago(now, c.t); got != c.want {
			t.Errorf("Ago(now, now%+v) = %q, want %q", c.t.Sub(now), got, c.want)
		}
	}
}

func TestRecentLeavesOlderTimesToTheCaller(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if s, ok := reltime.Recent(now, now.Add(-3*time.Hour)); !ok || s != "3 h ago" {
		t.Fatalf("3 h before: %q, %v", s, ok)
	}
	if s, ok := reltime.Recent(now, now.Add(-48*time.Hour)); ok {
		t.Fatalf("2 days before: %q, ok; want not ok, for the caller's own rendering", s)
	}
	if s, ok := reltime.Recent(now, time.Time{}); !ok || s != "never" {
		t.Fatalf("zero time: %q, %v", s, ok)
	}
}
