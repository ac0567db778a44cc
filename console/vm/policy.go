package vm

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/hubclient"
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
	{wire.DriverEntra, "Entra ID"},
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
			if err := entitle.CheckName(d.Kind, name); err != nil {
				c.Problem = err.Error()
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// SavePolicy replaces the tenant's policy; a new naming format is signed (with the signed abbreviation).
func (a *App) SavePolicy(ctx context.Context, p wire.Policy) error {
	return a.signed(ctx, "save policy", func(api *hubclient.Client) error {
		_, err := api.SetPolicy(ctx, p)
		return err
	}, func(state *authority.State) ([]authority.Op, error) {
		if state.Naming == p.NamingFormat {
			return nil, nil
		}
		return []authority.Op{authority.SetNaming(p.NamingFormat, state.Abbrev)}, nil
	})
}

// DescribePolicy says in one line what the policy does.
func DescribePolicy(p wire.Policy) string {
	classes := "upper and lower case"
	if p.NoUpper {
		classes = "lower case"
	}
	after := "a reveal or copy does not trigger a rotation"
	if p.RotateAfterUseSeconds > 0 {
		after = "rotated " + FormatDuration(p.RotateAfterUseSeconds) + " after each reveal or copy"
	}
	return fmt.Sprintf("Every %s, a %d-character password (%s, at least %d digits and %d symbols); %s; the last %d passwords of each account kept.",
		FormatInterval(p.IntervalSeconds), p.Length, classes, p.Digits, p.Symbols, after, p.History())
}

// FormatDuration renders seconds for people: "8 h", "90 min", "2 days", "1 h 30 min".
func FormatDuration(sec int64) string {
	d := time.Duration(sec) * time.Second
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%d h %d min", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%d min", d/time.Minute)
}

// PolicyForm is the policy screen's fields as the admin typed them.
type PolicyForm struct {
	IntervalHours, Length, Digits, Symbols string
	AfterUseHours                          string // hours after a reveal or copy; 0 turns it off
	HistoryDepth                           string // passwords kept per account
	NoUpper, NoAmbiguous                   bool
	NamingFormat                           string
}

// FormOf fills the policy form from a policy.
func FormOf(p wire.Policy) PolicyForm {
	return PolicyForm{IntervalHours: hours(p.IntervalSeconds), Length: strconv.Itoa(p.Length), Digits: strconv.Itoa(p.Digits),
		Symbols: strconv.Itoa(p.Symbols), AfterUseHours: hours(p.RotateAfterUseSeconds), HistoryDepth: strconv.Itoa(p.History()),
		NoUpper: p.NoUpper, NoAmbiguous: p.NoAmbiguous, NamingFormat: p.NamingFormat}
}

func hours(sec int64) string { return strconv.FormatFloat(float64(sec)/3600, 'f', -1, 64) }

// ParseHours reads a number of hours ("8", "0.5") as seconds; field names it in the error.
func ParseHours(field, s string) (int64, error) {
	h, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || h < 0 || math.IsInf(h, 0) || math.IsNaN(h) {
		return 0, fmt.Errorf("%s: %q is not a number of hours", field, s)
	}
	return int64(math.Round(h * 3600)), nil
}

// Policy reads the form; the hub checks the ranges when it is saved.
func (f PolicyForm) Policy() (wire.Policy, error) {
	p := wire.Policy{NoUpper: f.NoUpper, NoAmbiguous: f.NoAmbiguous, NamingFormat: f.NamingFormat}
	var err error
	if p.IntervalSeconds, err = ParseHours("rotation interval", f.IntervalHours); err != nil {
		return p, err
	}
	if p.RotateAfterUseSeconds, err = ParseHours("rotate after use", f.AfterUseHours); err != nil {
		return p, err
	}
	for _, n := range []struct {
		field string
		s     string
		dst   *int
	}{{"length", f.Length, &p.Length}, {"digits", f.Digits, &p.Digits}, {"symbols", f.Symbols, &p.Symbols},
		{"password history", f.HistoryDepth, &p.HistoryDepth}} {
		v, err := strconv.Atoi(strings.TrimSpace(n.s))
		if err != nil {
			return p, fmt.Errorf("%s: %q is not a whole number", n.field, n.s)
		}
		*n.dst = v
	}
	return p, nil
}

// AfterUseOverride renders an AgentGroup's rotate-after-use override for its form: empty when it inherits.
func AfterUseOverride(g *wire.Group) string {
	if g == nil || g.RotateAfterUseSeconds == nil {
		return ""
	}
	return hours(*g.RotateAfterUseSeconds)
}

// ParseAfterUseOverride reads an AgentGroup's override field: empty inherits the tenant's policy (nil), 0 turns
// rotate-after-use off for the group, else hours.
func ParseAfterUseOverride(s string) (*int64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	v, err := ParseHours("rotate after use", s)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// DescribeAfterUse says what rotate-after-use does on an AgentGroup's agents.
func DescribeAfterUse(g *wire.Group, p wire.Policy) string {
	switch {
	case g != nil && g.RotateAfterUseSeconds != nil && *g.RotateAfterUseSeconds == 0:
		return "Rotate after use is off for this group's agents (unless another group of an agent turns it on)."
	case g != nil && g.RotateAfterUseSeconds != nil:
		return "A revealed or copied password rotates " + FormatDuration(*g.RotateAfterUseSeconds) + " after use on this group's agents."
	case p.RotateAfterUseSeconds == 0:
		return "Inherits the tenant's policy: rotate after use is off."
	}
	return "Inherits the tenant's policy: a revealed or copied password rotates " + FormatDuration(p.RotateAfterUseSeconds) + " after use."
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
