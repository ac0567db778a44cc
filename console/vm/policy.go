package vm

import (
	"context"
	"fmt"
	"slices"

	"github.com/watchword/watchword/console/hub/entitle"
	"github.com/watchword/watchword/shared/wire"
)

// NameCheck is one line of the naming preview: the account name of a sample tech on one kind of target.
type NameCheck struct {
	Driver   string
	Username string
	Name     string
	Problem  string // empty when the name is valid there (e.g. AD's 20-character sAMAccountName limit)
}

// Drivers are the target kinds names are checked for, with how people call them.
var Drivers = []struct{ Kind, Label string }{
	{wire.DriverAD, "Active Directory"},
	{wire.DriverLinux, "Linux"},
	{wire.DriverLDAP, "OpenLDAP"},
}

// PreviewNames renders format for the sample usernames (the current techs' shortest and longest, or examples)
// and checks each name on every driver kind. A format error comes back alone.
func (a *App) PreviewNames(format string) ([]NameCheck, error) {
	if err := entitle.CheckFormat(format); err != nil {
		return nil, err
	}
	s := a.Snapshot()
	naming := entitle.Naming{Format: format, Abbrev: s.Tenant.Abbrev}
	samples := []string{}
	for _, t := range s.Techs {
		samples = append(samples, t.Username)
	}
	slices.SortFunc(samples, func(x, y string) int { return len(x) - len(y) })
	if len(samples) > 2 {
		samples = []string{samples[0], samples[len(samples)-1]}
	}
	if len(samples) == 0 {
		samples = []string{"alice", "christopher.vandenberg"}
	}
	var out []NameCheck
	for _, u := range samples {
		name := naming.Name(u)
		for _, d := range Drivers {
			c := NameCheck{Driver: d.Label, Username: u, Name: name}
			if err := entitle.ValidName(d.Kind, name); err != nil {
				c.Problem = err.Error()
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// SavePolicy replaces the tenant's policy.
func (a *App) SavePolicy(ctx context.Context, p wire.Policy) error {
	return a.do(ctx, "save policy", func(api API) error {
		_, err := api.SetPolicy(ctx, p)
		return err
	})
}

// DescribePolicy says in one line what the policy does.
func DescribePolicy(p wire.Policy) string {
	classes := "upper and lower case"
	if p.NoUpper {
		classes = "lower case"
	}
	return fmt.Sprintf("Every %s, a %d-character password (%s, at least %d digits and %d symbols).",
		FormatInterval(p.IntervalSeconds), p.Length, classes, p.Digits, p.Symbols)
}

// FormatInterval renders seconds as days or hours.
func FormatInterval(sec int64) string {
	switch {
	case sec%86400 == 0 && sec >= 86400:
		if sec == 86400 {
			return "day"
		}
		return fmt.Sprintf("%d days", sec/86400)
	case sec%3600 == 0:
		return fmt.Sprintf("%d hours", sec/3600)
	default:
		return fmt.Sprintf("%d minutes", sec/60)
	}
}
