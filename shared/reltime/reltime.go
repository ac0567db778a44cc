// Package reltime says how long ago something happened in the words every Watchword screen uses: "just now",
// "12 min ago", "3 h ago", "4 days ago". The TechClient and the Console both render with it, so that a rotation
// reads the same on a technician's device and on the MSP's Console. It imports no UI toolkit, and the caller
// passes now: the words depend on nothing but the two times.
package reltime

import (
	"fmt"
	"time"
)

// Recent is how long before now t was, when that is under two days: "just now" under a minute, then whole
// minutes ("12 min ago"), then whole hours ("47 h ago"); "never" for the zero time. ok is false for anything older,
// which a caller shows as it likes (a date, or Ago's count of days). A t after now reads "just now".
func Recent(now, t time.Time) (s string, ok bool) {
	if t.IsZero() {
		return "never", true
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now", true
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute)), true
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour)), true
	}
	return "", false
}

// Ago is Recent, with whole days ("4 days ago") from two days on.
func Ago(now, t time.Time) string {
	if s, ok := Recent(now, t); ok {
		return s
	}
	return fmt.Sprintf("%d days ago", int(now.Sub(t)/(24*time.Hour)))
}
