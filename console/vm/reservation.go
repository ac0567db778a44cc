package vm

import (
	"fmt"
	"strings"

	"github.com/watchword/watchword/shared/wire"
)

// ReservationText says, for a pending tech who registered under a username a CSV import reserved, what the import
// recorded beside what the device typed, field by field, and the TechGroups the tech joins when approved; "" for
// any other tech. The hub matched the reservation on its email, so the email differs at most in case.
func ReservationText(t wire.Tech) string {
	r := t.Reservation
	if r == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Registered under a username reserved by CSV import %d (the email matched). Reserved vs typed:", r.ImportID)
	field := func(name, reserved, typed string) {
		show := func(s string) string {
			if s == "" {
				return "none"
			}
			return fmt.Sprintf("%q", s)
		}
		if reserved == typed {
			fmt.Fprintf(&b, "\n%s: %s (typed the same)", name, show(reserved))
			return
		}
		fmt.Fprintf(&b, "\n%s: reserved %s, typed %s", name, show(reserved), show(typed))
	}
	field("Name", t.DisplayName, r.TypedDisplayName)
	field("Email", t.Email, r.TypedEmail)
	field("Organization", t.Organization, r.TypedOrganization)
	if len(r.Groups) == 0 {
		b.WriteString("\nTechGroups at approval: none.")
	} else {
		b.WriteString("\nTechGroups at approval: " + strings.Join(r.Groups, ", ") + ".")
	}
	return b.String()
}
